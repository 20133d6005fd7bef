"""The Pillow plugin: open and save by extension, lazy decoding, draft thumbnails, fall-through."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import codec
import codec.pillow  # noqa: F401  (registers the plugin)
from tests.conftest import photo_like


def test_save_and_open_round_trip(tmp_path):
    x = photo_like(30, 44)
    path = tmp_path / "a.irr"
    Image.fromarray(x).save(path, quality=90, scale=2)
    with Image.open(path) as im:
        assert im.format == "IRR" and im.size == (44, 30) and im.mode == "RGB"
        assert im.info["irr_quality"] == 90
        out = np.asarray(im)
    assert np.array_equal(out, codec.decode_array(path.read_bytes()))  # the plugin is the API's decode, exactly


def test_open_reads_only_the_header_until_load(tmp_path):
    path = tmp_path / "a.irr"
    path.write_bytes(codec.encode(photo_like(16, 16)))
    with Image.open(path) as im:
        assert im._im is None  # nothing decoded yet
        im.load()
        assert im._im is not None


def test_draft_gives_the_lr_without_the_network(tmp_path):
    data = codec.encode(photo_like(40, 60), scale=4)
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (15, 10))
        assert im.size == (15, 10)
        assert np.array_equal(np.asarray(im), codec.decode_array(data, thumbnail=True))


def test_thumbnail_uses_draft(tmp_path):
    data = codec.encode(photo_like(64, 64), scale=2)
    with Image.open(io.BytesIO(data)) as im:
        im.thumbnail((20, 20))
        assert im.size == (20, 20)


def test_other_formats_still_open(tmp_path):
    path = tmp_path / "b.png"
    Image.fromarray(photo_like(8, 8)).save(path)
    with Image.open(path) as im:
        assert im.format == "PNG"


def test_extension_and_mime_are_registered():
    assert Image.registered_extensions()[".irr"] == "IRR"
    assert Image.MIME["IRR"] == "image/x-irr"


def test_corrupt_file_is_an_os_error_as_pillow_users_expect(tmp_path):
    data = bytearray(codec.encode(photo_like(16, 16)))
    data[-20] ^= 0xFF
    path = tmp_path / "bad.irr"
    path.write_bytes(bytes(data))
    with pytest.raises(OSError):
        with Image.open(path) as im:
            im.load()


@pytest.mark.parametrize("options", [{"quality": 50.5}, {"scale": 3}, {"lossless": "yes"}, {"detail": 2}])
def test_bad_save_options_are_an_os_error_naming_the_option(tmp_path, options):
    with pytest.raises(OSError, match=next(iter(options))):
        Image.fromarray(photo_like(16, 16)).save(tmp_path / "x.irr", **options)
    assert not (tmp_path / "x.irr").exists() or (tmp_path / "x.irr").stat().st_size == 0


def test_info_is_complete_after_open():
    buf = io.BytesIO()
    Image.fromarray(photo_like(16, 16)).save(buf, "PNG", icc_profile=b"profile", dpi=(200, 200))
    data = codec.encode(io.BytesIO(buf.getvalue()), scale=1)
    with Image.open(io.BytesIO(data)) as im:
        assert im._im is None and im.info["icc_profile"] == b"profile"
        assert im.info["dpi"] == pytest.approx((200, 200), abs=0.1)


@pytest.mark.parametrize("damage", ["truncate", "zdat", "iccp"])
def test_verify_checks_the_whole_file_without_decoding(damage):
    buf = io.BytesIO()
    Image.fromarray(photo_like(40, 40)).save(buf, "PNG", icc_profile=b"profile" * 20)
    data = bytearray(codec.encode(io.BytesIO(buf.getvalue()), quality=90))
    assert b"ZDAT" in data
    if damage == "truncate":
        data = data[:-30]
    else:
        at = data.index(damage.upper().encode() if damage == "zdat" else b"iCCP") + 12
        data[at] ^= 0x01
    with Image.open(io.BytesIO(bytes(data))) as im:
        with pytest.raises(SyntaxError, match="broken .irr file"):
            im.verify()
        assert im._im is None
    with Image.open(io.BytesIO(codec.encode(photo_like(8, 8)))) as good:
        good.verify()


def test_save_honours_metadata_keywords_and_refuses_unknown_ones(tmp_path):
    im = Image.fromarray(photo_like(16, 16))
    im.info["icc_profile"] = b"own"
    exif = Image.Exif()
    exif[0x010F] = "irr test"
    im.save(tmp_path / "a.irr", icc_profile=b"given", exif=exif, xmp=b"<xmp/>", scale=1)
    with Image.open(tmp_path / "a.irr") as back:
        assert back.info["icc_profile"] == b"given" and back.info["xmp"] == b"<xmp/>"
        assert back.getexif()[0x010F] == "irr test"
    im.save(tmp_path / "b.irr", icc_profile=None, scale=1)
    assert "icc_profile" not in Image.open(tmp_path / "b.irr").info
    with pytest.raises(OSError, match="unknown save option 'bogus'"):
        im.save(tmp_path / "c.irr", bogus=1)
