"""The encoder's bytes do not drift: a fixed set of images, qualities and modes encodes to the
SHA-256 recorded in ``golden/encoder-identity.json`` (made once with ``python -m
tests.test_encoder_identity``, before the restructuring it guards; never regenerated to make a
change pass). Models are pinned so that a new default model does not count as drift."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import codec
from tests.conftest import photo_like

RECORD = Path(__file__).parent / "golden" / "encoder-identity.json"


def _image(name: str) -> np.ndarray:
    if name == "rgb":
        return photo_like(48, 64, seed=1)
    if name == "odd":
        return photo_like(37, 53, seed=2)
    if name == "gray":
        return photo_like(40, 56, channels=1, seed=3)[..., 0]
    if name == "rgba":
        return photo_like(40, 48, channels=4, seed=4)
    raise KeyError(name)


CASES = {  # name -> (image, encode options)
    "rgb-level-q5": ("rgb", {"quality": 5}),
    "rgb-level-q20-detail": ("rgb", {"quality": 20, "detail": True}),
    "rgb-level-q50": ("rgb", {"quality": 50}),
    "rgb-level-q90-t05": ("rgb", {"quality": 90, "temperature": 0.5, "seed": 3}),
    "rgb-level-q50-laplace2": ("rgb", {"quality": 50, "entropy_model": "w97-laplace-2"}),
    "odd-level-q75": ("odd", {"quality": 75}),
    "gray-level-q60": ("gray", {"quality": 60}),
    "rgba-level-q80": ("rgba", {"quality": 80}),
    "rgb-direct-q50": ("rgb", {"quality": 50, "scale": 1}),
    "odd-direct-lossless": ("odd", {"lossless": True}),
    "rgba-direct-lossless": ("rgba", {"lossless": True, "scale": 1}),
    "rgb-x2-q60": ("rgb", {"quality": 60, "scale": 2}),
    "odd-x4-q40": ("odd", {"quality": 40, "scale": 4}),
    "rgb-x2-lossless": ("rgb", {"lossless": True, "scale": 2}),
    # added 2026-12-04 (the others unchanged): the second x2 rescaler and entropy model, named
    "rgb-x2r2-q60": ("rgb", {"quality": 60, "scale": 2, "network_revision": 2}),
    "odd-level-q75-adaptive2": ("odd", {"quality": 75, "entropy_model": "w97-adaptive-2"}),
    # added 2026-12-08: the entropy model whose detail planes are coded apart, named
    "rgb-level-q80-adaptive3": ("rgb", {"quality": 80, "entropy_model": "w97-adaptive-3"}),
}
PINNED = {"network_revision": 1}
LEVEL_DEFAULT_ENTROPY = "w97-adaptive-1"
STEP_AT_50 = 22.63  # the quality scale's constant when the record was made (recalibrated since)


def encode_case(name: str) -> bytes:
    from bitstream.container import DEFAULT_MAX_PIXELS
    from codec.api import encode_pixels
    from codec.pixels import load
    from codec.settings import EncodeSettings

    image, options = CASES[name]
    options = {**PINNED, **options}
    if options.get("scale") is None and not options.get("lossless"):
        options.setdefault("entropy_model", LEVEL_DEFAULT_ENTROPY)
    settings = EncodeSettings.checked(options.pop("quality", codec.settings.DEFAULT_QUALITY), **options)
    return encode_pixels(load(_image(image), DEFAULT_MAX_PIXELS), dataclasses.replace(settings, step_at_50=STEP_AT_50))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_encoder_writes_the_recorded_bytes(name):
    recorded = json.loads(RECORD.read_text())
    assert hashlib.sha256(encode_case(name)).hexdigest() == recorded[name]


if __name__ == "__main__":  # records cases not yet recorded; a recorded hash is never rewritten
    recorded = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    new = {n: hashlib.sha256(encode_case(n)).hexdigest() for n in sorted(CASES) if n not in recorded}
    RECORD.write_text(json.dumps(dict(sorted({**recorded, **new}.items())), indent=1) + "\n")
