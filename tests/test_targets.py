"""Rate targets (cwebp's -size and -psnr): the file meets the target and a quality step beyond it would not."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import codec
import codec.pillow  # noqa: F401 (registers the plugin)
from codec.cli import main
from codec.pixels import psnr
from tests.conftest import photo_like

IMAGE = photo_like(48, 64, seed=5)


def test_size_target_is_the_largest_file_that_fits():
    sizes = {q: len(codec.encode(IMAGE, quality=q)) for q in range(1, 101)}
    budget = (sizes[60] + sizes[61]) // 2
    data = codec.encode(IMAGE, target_bytes=budget)
    assert len(data) <= budget
    assert len(data) == max(n for n in sizes.values() if n <= budget)


def test_psnr_target_is_the_smallest_file_that_reaches_it():
    data = codec.encode(IMAGE, target_psnr=34.0)
    quality = codec.info(data)["quality"]
    assert psnr(IMAGE, codec.decode_array(data)) >= 34.0
    lower = codec.encode(IMAGE, quality=quality - 1)  # one step down: misses the target, or is no smaller
    assert psnr(IMAGE, codec.decode_array(lower)) < 34.0 or len(lower) >= len(data)


def test_unreachable_targets_and_contradictions_are_input_errors():
    with pytest.raises(codec.InputError, match="no file fits in 10 bytes"):
        codec.encode(IMAGE, target_bytes=10)
    with pytest.raises(codec.InputError, match="no file reaches 90"):
        codec.encode(IMAGE, target_psnr=90, scale=2)
    with pytest.raises(codec.InputError, match="cannot both be given"):
        codec.encode(IMAGE, target_bytes=1000, quality=50)
    with pytest.raises(codec.InputError, match="target_psnr"):
        codec.encode(IMAGE, target_psnr=0)


def test_cli_and_pillow_take_the_targets(tmp_path, capsys):
    src, out = tmp_path / "in.png", tmp_path / "x.irr"
    Image.fromarray(IMAGE).save(src)
    assert main(["encode", str(src), "-o", str(out), "--size", "1500"]) == 0
    assert out.stat().st_size <= 1500
    assert main(["encode", str(src), "-o", str(out), "--size", "1500", "-q", "40"]) == 2
    assert main(["encode", str(src), "-o", str(out), "--psnr", "30", "--lossless"]) == 2
    buf = io.BytesIO()
    Image.fromarray(IMAGE).save(buf, "IRR", target_bytes=1500)
    assert len(buf.getvalue()) == out.stat().st_size
