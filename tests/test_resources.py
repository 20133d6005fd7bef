"""The memory estimate that refuses decodes up front is an upper bound of what a decode really takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import codec
from codec import models, resources
from bitstream.container import unpack
from tests.conftest import photo_like

MEASURE = textwrap.dedent("""
    import gc, json, sys
    import codec
    from codec import models

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    data = open(sys.argv[1], "rb").read()
    models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))
    models.load_model("irr-x2", 1)
    codec.decode_array(codec.encode(__import__("numpy").zeros((16, 16, 3), "uint8")))  # warm every path
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the current RSS: the decode's own peak is measured
    before = status("VmRSS")
    codec.decode_array(data, device="cpu")
    print(json.dumps({"grew": status("VmHWM") - before}))
""")



@pytest.mark.slow
@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's /proc/self/clear_refs")
@pytest.mark.parametrize("scale", [None, 1, 2], ids=["level", "direct", "x2"])
def test_the_decode_estimate_bounds_the_measured_peak(tmp_path, scale):
    data = codec.encode(photo_like(1024, 1536), quality=80, scale=scale)
    path = tmp_path / "x.irr"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
    grew = json.loads(out.stdout)["grew"]
    header = unpack(data).header
    estimate = resources.decode_bytes(header, models.kind_of(header.model_name), len(data)) - resources.BASE_BYTES
    assert grew <= estimate, f"measured {grew / 2**20:.0f} MiB, estimated {estimate / 2**20:.0f} MiB"
    assert estimate < 6 * max(grew, 1 << 20), "the estimate is so loose it would refuse decodes that fit"
