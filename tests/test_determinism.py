"""Same file, same pixels: across thread counts, oneDNN on/off, default dtypes, processes and runs.

One child process per configuration decodes every test file and encodes the test image in every
mode (a process per case would start the interpreter and torch 21 times)."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import codec
from codec.pixels import psnr
from tests.conftest import photo_like

ROOT = str(Path(__file__).parent.parent)
SCALES = {"level": None, "x2": 2, "direct": 1}
# (threads, oneDNN, torch's default dtype); encoding is checked in the float32 ones.
CONFIGURATIONS = [(1, True, "float32"), (2, True, "float32"), (2, False, "float32"), (1, True, "float64")]

CHILD = textwrap.dedent("""
    import pickle, sys, torch
    torch.set_num_threads({threads})
    torch.backends.mkldnn.enabled = {mkldnn}
    torch.set_default_dtype(torch.{default_dtype})
    import codec
    from tests.test_determinism import SCALES, outcome
    files, x, encode = pickle.load(sys.stdin.buffer)
    result = {{"decoded": {{name: outcome(data) for name, data in files.items()}},
              "encoded": {{name: codec.encode(x, scale=SCALES[name]) for name in SCALES}} if encode else {{}}}}
    pickle.dump(result, sys.stdout.buffer)
""")


def symbols_digest(data: bytes) -> str:
    """SHA-256 of everything a file's entropy decoding produces: the LR (rescaler, scale 1) or every
    quantised coefficient of the learned level's pyramid, LR and detail (z) symbols alike."""
    from codec.api import read_stored

    s = read_stored(data)
    if s.kind != "level":
        return hashlib.sha256(s.content.tobytes()).hexdigest()
    digest = hashlib.sha256()
    for ll, bands in s.content.planes_q:
        digest.update(ll.tobytes())
        for level in bands:
            for band in level:
                digest.update(band.tobytes())
    return digest.hexdigest()


def outcome(data: bytes) -> tuple[str, str, np.ndarray]:
    """(the LR's digest, every symbol's digest, the decoded pixels) of a file, at its own temperature."""
    lr = codec.decode_array(data, thumbnail=True)
    return hashlib.sha256(lr.tobytes()).hexdigest(), symbols_digest(data), codec.decode_array(data, device="cpu")


def image() -> np.ndarray:
    return photo_like(96, 136)


@lru_cache(maxsize=1)
def files() -> dict[str, bytes]:
    """A file per mode, at temperature 0.5: the draw of what the quantiser discarded (or z) must not
    depend on the configuration either."""
    return {name: codec.encode(image(), quality=70, scale=scale, temperature=0.5, seed=3) for name, scale in SCALES.items()}


@lru_cache(maxsize=None)
def child(configuration: tuple[int, bool, str]) -> dict:
    threads, mkldnn, default_dtype = configuration
    code = CHILD.format(threads=threads, mkldnn=mkldnn, default_dtype=default_dtype)
    payload = pickle.dumps((files(), image(), default_dtype == "float32"))
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True, cwd=ROOT)
    return pickle.loads(out.stdout)


@pytest.mark.parametrize("configuration", CONFIGURATIONS, ids=lambda c: f"{c[0]}t-{'dnn' if c[1] else 'ref'}-{c[2]}")
@pytest.mark.parametrize("name", SCALES)
def test_lr_is_identical_and_pixels_agree_in_every_configuration(configuration, name):
    """The LR and every decoded symbol (the learned level's z included) are bit-exact everywhere;
    the network's float output may move a pixel by one level (oneDNN and the reference kernels sum
    in other orders), never more."""
    lr, symbols, px = outcome(files()[name])
    there_lr, there_symbols, there_px = child(configuration)["decoded"][name]
    assert (there_lr, there_symbols) == (lr, symbols)
    assert np.abs(there_px.astype(int) - px).max() <= 1


def test_integer_encoding_is_identical_in_every_configuration():
    """Scale 1 is integer arithmetic end to end: the same bytes whatever the threads or kernels."""
    encodings = {child(c)["encoded"]["direct"] for c in CONFIGURATIONS if c[2] == "float32"}
    assert encodings == {codec.encode(image(), scale=1)}


@pytest.mark.parametrize("name", ["level", "x2"])
def test_network_encodings_agree_in_every_configuration_up_to_float_rounding(name):
    """A network's float output is rounded to the integers that are coded; another summation order
    can move a value across a rounding boundary, so the bytes may differ (that is not luck-proof).
    What must hold: every such file decodes, and to the same image up to those few roundings."""
    decoded = [codec.decode_array(child(c)["encoded"][name], device="cpu") for c in CONFIGURATIONS if c[2] == "float32"]
    assert len(decoded) == 3
    for other in decoded[1:]:
        assert psnr(decoded[0], other) > 50
