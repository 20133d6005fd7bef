"""``irr downscale`` / ``irr upscale``: the rescaler as a tool, the same pixels a --scale file gives."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

import codec
from bitstream.errors import InputError, WeightsMismatchError
from codec import rescaling
from codec.cli import main
from tests.conftest import photo_like


def _png(im: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(rescaling.save_png(im)))


@pytest.mark.parametrize("scale", [2, 4])
def test_the_lr_and_the_restore_are_what_a_scale_file_stores_and_decodes(scale):
    rgb = photo_like(37, 53, seed=scale)  # odd sizes: the LR is ceil(H / scale) x ceil(W / scale)
    lr = _png(rescaling.downscale(rgb, scale))
    data = codec.encode(rgb, lossless=True, scale=scale)
    assert np.array_equal(np.asarray(lr), codec.decode_array(data, thumbnail=True))
    restored = rescaling.upscale(lr)
    assert np.array_equal(np.asarray(restored), codec.decode_array(data, temperature=0.0, device="cpu"))
    assert json.loads(lr.info[rescaling.METADATA_KEY])["width"] == 53


def test_gray_alpha_and_the_colour_profile_come_back():
    gray = photo_like(20, 30, channels=1, seed=1)[..., 0]
    buf = io.BytesIO()
    Image.fromarray(gray, "L").save(buf, "PNG", icc_profile=b"gray-icc")
    lr = _png(rescaling.downscale(io.BytesIO(buf.getvalue())))
    assert lr.mode == "L" and lr.size == (15, 10) and lr.info["icc_profile"] == b"gray-icc"
    back = _png(rescaling.upscale(lr))
    assert back.mode == "L" and back.size == (30, 20) and back.info["icc_profile"] == b"gray-icc"

    rgba = np.concatenate([photo_like(20, 30, seed=2), np.full((20, 30, 1), 200, np.uint8)], axis=2)
    back = rescaling.upscale(_png(rescaling.downscale(rgba)))
    assert back.mode == "RGBA" and np.asarray(back)[..., 3].min() == 200


def test_an_lr_without_its_metadata_needs_the_scale_and_a_wrong_one_is_refused():
    lr = _png(rescaling.downscale(photo_like(24, 32, seed=3)))
    bare = Image.fromarray(np.asarray(lr))
    with pytest.raises(InputError, match="--scale"):
        rescaling.upscale(bare)
    assert rescaling.upscale(bare, 2).size == (32, 24)
    with pytest.raises(InputError, match="contradicts"):
        rescaling.upscale(lr, 4)
    lr.info[rescaling.METADATA_KEY] = "{not json"
    with pytest.raises(InputError, match="damaged"):
        rescaling.upscale(lr)
    good = json.loads(_png(rescaling.downscale(photo_like(24, 32, seed=3))).info[rescaling.METADATA_KEY])
    lr.info[rescaling.METADATA_KEY] = json.dumps({**good, "weights_sha256": "00" * 32})
    with pytest.raises(WeightsMismatchError):
        rescaling.upscale(lr)
    lr.info[rescaling.METADATA_KEY] = json.dumps({**good, "model": "irr-level"})
    with pytest.raises(InputError, match="not a rescaler"):
        rescaling.upscale(lr)
    cropped = Image.fromarray(np.asarray(lr)[:-1])
    cropped.info[rescaling.METADATA_KEY] = json.dumps(good)
    with pytest.raises(InputError, match="metadata says"):
        rescaling.upscale(cropped)


def test_the_cli_round_trip_and_its_refusals(tmp_path, capsys):
    src = tmp_path / "a.png"
    Image.fromarray(photo_like(30, 40, seed=4)).save(src)
    small, back = tmp_path / "small.png", tmp_path / "back.png"
    assert main(["downscale", str(src), "-o", str(small)]) == 0
    assert main(["upscale", str(small), "-o", str(back)]) == 0
    assert Image.open(back).size == (40, 30)
    assert main(["upscale", str(small), "-o", str(back)]) == 1  # exists: -f
    assert main(["upscale", str(small), "-o", str(tmp_path / "back.jpg")]) == 2
    assert main(["downscale", str(src), "-o", str(src), "-f"]) == 1  # never its own input
    assert Image.open(src).size == (40, 30)
    Image.open(small).convert("RGB").save(tmp_path / "small.jpg", quality=90)
    assert main(["upscale", str(tmp_path / "small.jpg"), "-o", str(tmp_path / "j.png")]) == 1
    assert "give --scale" in capsys.readouterr().err
    assert main(["upscale", str(tmp_path / "small.jpg"), "-o", str(tmp_path / "j.png"), "--scale", "2"]) == 0


def test_the_tools_say_what_they_drop_as_warning_lines(tmp_path, capsys):
    fake_cmyk = bytearray(128)
    fake_cmyk[16:20], fake_cmyk[36:40] = b"CMYK", b"acsp"
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(16, 16)).save(src, icc_profile=bytes(fake_cmyk))
    assert main(["downscale", str(src), "-o", str(tmp_path / "lr.png")]) == 0
    assert f"irr: warning: {src}: the ICC profile (CMYK)" in capsys.readouterr().err
    assert main(["upscale", str(tmp_path / "lr.png"), "-o", str(tmp_path / "back.png"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
