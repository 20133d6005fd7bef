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
