"""Every golden file of every container version still decodes: old files never break."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import codec

GOLDEN = Path(__file__).parent / "golden"
INDEX = {stem: entry for f in sorted(GOLDEN.glob("v*.json")) for stem, entry in json.loads(f.read_text()).items()}


@pytest.mark.parametrize("version", ["v1", "v1.1"])
def test_there_are_golden_files_for_every_container_version(version):
    assert any(stem.startswith(f"{version}-") for stem in INDEX)


@pytest.mark.parametrize("stem", sorted(INDEX))
def test_golden_file_decodes_as_recorded(stem):
    data = (GOLDEN / f"{stem}.irr").read_bytes()
    entry = INDEX[stem]
    assert codec.info(data) == entry["info"]
    lr = codec.decode_array(data, thumbnail=True)
    assert hashlib.sha256(lr.tobytes()).hexdigest() == entry["lr_sha256"]  # the LR is bit-exact
    decoded = codec.decode(data, temperature=0.0, device="cpu")
    expected = Image.open(GOLDEN / f"{stem}.png")
    assert decoded.mode == expected.mode and decoded.size == expected.size
    assert np.abs(np.asarray(decoded).astype(int) - np.asarray(expected)).max() <= 1
