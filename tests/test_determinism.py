"""Same file, same pixels: across thread counts, oneDNN on/off, processes and runs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import pytest

import codec
from tests.conftest import photo_like

DECODE = textwrap.dedent("""
    import hashlib, sys, torch
    torch.set_num_threads({threads})
    torch.backends.mkldnn.enabled = {mkldnn}
    import codec
    data = sys.stdin.buffer.read()
    lr = codec.decode_array(data, thumbnail=True)
    px = codec.decode_array(data, temperature=0.0, device="cpu")
    print(hashlib.sha256(lr.tobytes()).hexdigest(), hashlib.sha256(px.tobytes()).hexdigest())
""")


@pytest.fixture(scope="module", params=[2, 1], ids=["x2", "direct"])
def encoded(request) -> bytes:
    return codec.encode(photo_like(96, 136), quality=70, scale=request.param)


@pytest.mark.parametrize("threads,mkldnn", [(1, True), (2, True), (2, False)])
def test_lr_and_pixels_are_identical_in_every_configuration(encoded, threads, mkldnn):
    here = codec.decode_array(encoded, thumbnail=True), codec.decode_array(encoded, temperature=0.0, device="cpu")
    expected = " ".join(hashlib.sha256(a.tobytes()).hexdigest() for a in here)
    code = DECODE.format(threads=threads, mkldnn=mkldnn)
    out = subprocess.run([sys.executable, "-c", code], input=encoded, capture_output=True, check=True)
    assert out.stdout.decode().strip() == expected


@pytest.mark.parametrize("scale", [2, 1])
def test_encoding_is_identical_across_thread_counts(scale):
    x = photo_like(64, 80)
    code = textwrap.dedent("""
        import sys, torch, numpy as np
        torch.set_num_threads({threads})
        import codec
        x = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(64, 80, 3)
        sys.stdout.buffer.write(codec.encode(x, scale={scale}))
    """)
    outs = {subprocess.run([sys.executable, "-c", code.format(threads=t, scale=scale)], input=x.tobytes(),
                           capture_output=True, check=True).stdout for t in (1, 2)}
    assert len(outs) == 1 and outs.pop() == codec.encode(x, scale=scale)
