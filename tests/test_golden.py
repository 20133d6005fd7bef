"""Every golden file of every container version still decodes: old files never break."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import codec
from codec.models import ENTROPY_MODELS

GOLDEN = Path(__file__).parent / "golden"
INDEX = {stem: entry for f in sorted(GOLDEN.glob("v*.json")) for stem, entry in json.loads(f.read_text()).items()}


@pytest.mark.parametrize("version", ["v1", "v1.1", "v1.2"])
def test_there_are_golden_files_for_every_container_version(version):
    assert any(stem.startswith(f"{version}-") for stem in INDEX)


@pytest.mark.parametrize("stem", sorted(INDEX))
def test_golden_file_decodes_as_recorded(stem):
    data = (GOLDEN / f"{stem}.irr").read_bytes()
    entry = INDEX[stem]
    info = codec.info(data)
    assert {key: info[key] for key in entry["info"]} == entry["info"]  # fields added later are extra keys
    # The stored LR is bit-exact: the thumbnail, or for a scale-1 file, whose thumbnail is now its
    # decode halved, the decode itself (it stores the image as its LR).
    lr = codec.decode_array(data, thumbnail=info["scale"] != 1)
    assert hashlib.sha256(lr.tobytes()).hexdigest() == entry["lr_sha256"]
    decoded = codec.decode(data, temperature=0.0, device="cpu")
    expected = Image.open(GOLDEN / f"{stem}.png")
    assert decoded.mode == expected.mode and decoded.size == expected.size
    assert np.abs(np.asarray(decoded).astype(int) - np.asarray(expected)).max() <= 1


@pytest.mark.parametrize("stem", sorted(stem for stem, entry in INDEX.items() if entry["info"]["temperature"] > 0))
def test_golden_file_decodes_at_its_own_temperature_as_recorded(stem):
    """A change in torch's random stream (or in how the draw is made) would change every such decode."""
    decoded = codec.decode((GOLDEN / f"{stem}.irr").read_bytes(), device="cpu")
    expected = Image.open(GOLDEN / f"{stem}-t.png")
    assert np.abs(np.asarray(decoded).astype(int) - np.asarray(expected)).max() <= 1


@pytest.mark.parametrize("model", sorted(ENTROPY_MODELS))
def test_every_entropy_model_has_a_realistic_golden_file(model):
    """At least 256x256 with the full level count; segmented models with a stream over 2^20 symbols."""
    large = [entry["info"] for entry in INDEX.values()
             if entry["info"]["entropy_model"] == model and min(entry["info"]["lr_width"], entry["info"]["lr_height"]) >= 256]
    assert large
    if model != "w53-laplace-1":
        assert any(info["width"] * info["height"] * 3 * (0.75 if info["kind"] == "level" else 1) > 2**20
                   for info in large if "kind" in info or info["scale"] == 1)
