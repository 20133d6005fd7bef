"""The public API: round trips of real and odd images, metadata, errors, reproducibility."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import codec
import codec.settings
from bench.metrics import psnr
from bitstream.container import IrrFile, pack, unpack
from tests.conftest import photo_like


@pytest.fixture(scope="module")
def sample_rgb(request) -> np.ndarray:
    from importlib import resources

    with Image.open(str(resources.files("codec") / "samples" / "coffee.png")) as im:
        return np.asarray(im.convert("RGB"))[:200, :300].copy()


def bicubic_rescaling(x: np.ndarray, scale: int) -> np.ndarray:
    """The classical baseline of a rescaler: bicubic down, then bicubic up (nothing quantised)."""
    h, w = x.shape[:2]
    small = Image.fromarray(x).resize((w // scale, h // scale), Image.BICUBIC)
    return np.asarray(small.resize((w, h), Image.BICUBIC))


@pytest.mark.parametrize("scale", [2, 4])
def test_a_rescaler_beats_bicubic_rescaling_on_a_real_photo(sample_rgb, scale):
    data = codec.encode(sample_rgb, quality=90, scale=scale)
    out = codec.decode_array(data)
    assert out.shape == sample_rgb.shape and out.dtype == np.uint8
    assert 8 * len(data) / (300 * 200) < 8.0
    # r1 measured 30.99 / 27.65 dB against bicubic's 30.19 / 27.14 here: the network must run and help
    assert psnr(sample_rgb, out) > psnr(sample_rgb, bicubic_rescaling(sample_rgb, scale))


@pytest.mark.parametrize("revision", [None, 1])
def test_lossless_lr_is_stored_exactly_and_is_the_lr_of_the_revision_the_header_names(sample_rgb, revision):
    from codec import models
    from codec.modes.rescaler import downscale as _downscale

    data = codec.encode(sample_rgb, lossless=True, scale=2, network_revision=revision)
    meta = codec.info(data)
    assert meta["lossless_lr"] and meta["quality"] == 100
    named = meta["model_revision"]
    assert named == (revision or models.latest_revision("irr-x2"))
    thumb = codec.decode_array(data, thumbnail=True)
    assert np.array_equal(thumb, _downscale(sample_rgb, 2, revision=named))


@pytest.mark.parametrize("shape", [(1, 1, 3), (9, 11, 1), (33, 17, 3), (31, 45, 4)])
def test_lossless_without_a_scale_stores_the_image_itself(shape):
    x = photo_like(*shape)
    data = codec.encode(x, lossless=True)
    meta = codec.info(data)
    assert meta["scale"] == 1 and meta["container_version"] == "1.1" and meta["model"] == "none"
    assert np.array_equal(codec.decode_array(data), x)


@pytest.mark.parametrize("quality", [1, 30, 75, 99])
def test_every_lossy_default_file_goes_through_the_learned_level(quality):
    meta = codec.info(codec.encode(photo_like(40, 56), quality=quality))
    assert (meta["kind"], meta["model"], meta["container_version"], meta["scale"]) == ("level", "irr-level", "1.2", 2)
    assert (meta["detail_stream_bytes"] > 0) == (quality >= codec.settings.DETAIL_FROM_QUALITY)  # the IRN mode below
    lossless = codec.info(codec.encode(photo_like(40, 56), quality=100))
    assert (lossless["kind"], lossless["container_version"]) == ("none", "1.1")


def test_quality_is_monotone_in_bytes_and_psnr_over_the_whole_range(sample_rgb):
    qualities = (1, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 90, 95, 99)
    sizes, scores = [], []
    for q in qualities:
        data = codec.encode(sample_rgb, quality=q)
        sizes.append(len(data))
        scores.append(psnr(sample_rgb, codec.decode_array(data)))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert scores == sorted(scores)
    assert len(codec.encode(sample_rgb, quality=100)) > sizes[-1]


def test_a_scale_one_file_that_names_a_network_is_refused():
    import dataclasses

    f = unpack(codec.encode(photo_like(8, 8), scale=1))
    x2 = unpack(codec.encode(photo_like(8, 8), scale=2)).header
    forged = dataclasses.replace(f.header, model_name=x2.model_name, model_revision=x2.model_revision, weights_sha256=x2.weights_sha256)
    with pytest.raises(codec.FormatError, match="scale 2, this one says 1"):
        codec.decode(pack(IrrFile(forged, f.lr_stream)))


def test_higher_quality_costs_more_bytes_and_gives_higher_psnr(sample_rgb):
    sizes, scores = [], []
    for q in (10, 30, 60, 90):
        data = codec.encode(sample_rgb, quality=q)
        sizes.append(len(data))
        scores.append(psnr(sample_rgb, codec.decode_array(data)))
    assert sizes == sorted(sizes) and scores == sorted(scores)


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (3, 5, 3), (7, 1, 3), (33, 17, 3), (31, 45, 4), (9, 11, 1), (9, 11)])
@pytest.mark.parametrize("scale", [1, 2, 4])
def test_any_size_and_channel_count_round_trips_without_crop(shape, scale):
    channels = shape[2] if len(shape) == 3 else 1
    x = photo_like(shape[0], shape[1], channels)
    if len(shape) == 2:
        x = x[..., 0]
    out = codec.decode_array(codec.encode(x, scale=scale))
    assert out.shape == (shape[0], shape[1], channels)
    if channels == 4:
        assert np.array_equal(out[..., 3], x[..., 3])  # alpha is lossless


def test_gray_pil_image_decodes_gray(sample_rgb):
    im = Image.fromarray(sample_rgb).convert("L")
    out = codec.decode(codec.encode(im))
    assert out.mode == "L" and out.size == im.size
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=75)
    # the default quality's promise, on a gray photo: at least JPEG quality 75's PSNR (38.5 vs 35.7 dB)
    assert psnr(np.asarray(im), np.asarray(out)) >= psnr(np.asarray(im), np.asarray(Image.open(buf)))


def test_rgba_alpha_is_lossless():
    x = photo_like(20, 30, 4)
    x[..., 3] = np.arange(30, dtype=np.uint8)[None, :] * 8
    out = codec.decode(codec.encode(Image.fromarray(x, "RGBA")))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], x[..., 3])


def hand_built_exif(orientation: int) -> bytes:
    """Big-endian EXIF with IFD0's tags out of order (Software, Make, Orientation) and a second IFD:
    what Pillow's own writer would reorder and drop."""
    software, make = b"irr test suite\x00", b"irr camera\x00"
    ifd0, n0 = 8, 3
    data = ifd0 + 2 + 12 * n0 + 4
    ifd1 = data + len(software) + len(make)
    entries = (
        (0x0131).to_bytes(2, "big") + (2).to_bytes(2, "big") + len(software).to_bytes(4, "big") + data.to_bytes(4, "big"),
        (0x010F).to_bytes(2, "big") + (2).to_bytes(2, "big") + len(make).to_bytes(4, "big")
        + (data + len(software)).to_bytes(4, "big"),
        (0x0112).to_bytes(2, "big") + (3).to_bytes(2, "big") + (1).to_bytes(4, "big") + orientation.to_bytes(2, "big") + bytes(2),
    )
    tiff = b"MM\x00\x2a" + ifd0.to_bytes(4, "big") + n0.to_bytes(2, "big") + b"".join(entries) + ifd1.to_bytes(4, "big")
    tiff += software + make
    tiff += (1).to_bytes(2, "big") + (0x0100).to_bytes(2, "big") + (4).to_bytes(2, "big") + (1).to_bytes(4, "big")
    tiff += (640).to_bytes(4, "big") + bytes(4)
    return b"Exif\x00\x00" + tiff


def test_icc_and_exif_are_carried_byte_for_byte():
    exif = hand_built_exif(orientation=1)
    buf = io.BytesIO()
    Image.fromarray(photo_like(16, 24)).save(buf, "JPEG", quality=95, icc_profile=b"fake-icc-profile-bytes", exif=exif)
    out = codec.decode(codec.encode(Image.open(io.BytesIO(buf.getvalue()))))
    assert out.info["icc_profile"] == b"fake-icc-profile-bytes"
    assert out.info["exif"] == exif  # a second IFD and the tags' order survive


def test_an_applied_orientation_changes_only_the_orientation_bytes():
    exif = hand_built_exif(orientation=6)  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    Image.fromarray(photo_like(16, 24)).save(buf, "JPEG", quality=95, exif=exif)
    out = codec.decode(codec.encode(Image.open(io.BytesIO(buf.getvalue())), quality=100))
    assert out.size == (16, 24)  # the pixels were turned upright
    changed = [i for i, (a, b) in enumerate(zip(out.info["exif"], exif)) if a != b]
    assert len(out.info["exif"]) == len(exif) and len(changed) == 1
    assert out.getexif()[0x0112] == 1 and out.getexif()[0x010F] == "irr camera"


def test_metadata_can_be_stripped():
    buf = io.BytesIO()
    Image.fromarray(photo_like(16, 16)).save(buf, "PNG", icc_profile=b"icc")
    meta = codec.info(codec.encode(Image.open(io.BytesIO(buf.getvalue())), metadata="none"))
    assert meta["icc_profile_bytes"] == 0 and meta["exif_bytes"] == 0


def test_exif_orientation_is_applied_to_the_pixels():
    x = photo_like(10, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "PNG", exif=exif.tobytes())
    out = codec.decode(codec.encode(Image.open(io.BytesIO(buf.getvalue()))))
    assert out.size == (10, 20)
    assert out.getexif().get(0x0112) == 1


def test_sixteen_bit_input_is_reduced_to_eight_bits():
    x = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 32).astype(np.uint16)
    im = Image.fromarray(x)
    assert im.mode == "I;16"
    out = codec.decode_array(codec.encode(im, quality=100))
    expected = np.round(x / 65535 * 255)
    assert out.shape == (32, 64, 1) and np.array_equal(out[..., 0], expected)  # lossless after the rounding


def test_decode_is_reproducible_and_seed_and_temperature_matter(sample_rgb):
    data = codec.encode(sample_rgb[:64, :64], quality=95, scale=2, temperature=0.5, seed=3)
    a, b = codec.decode_array(data), codec.decode_array(data)
    assert np.array_equal(a, b)
    assert codec.info(data)["temperature"] == 0.5 and codec.info(data)["seed"] == 3
    assert not np.array_equal(a, codec.decode_array(data, seed=4))
    assert not np.array_equal(a, codec.decode_array(data, temperature=0.0))


def test_encoding_is_deterministic(sample_rgb):
    assert codec.encode(sample_rgb, quality=70) == codec.encode(sample_rgb, quality=70)


def test_decode_tensor_matches_array():
    data = codec.encode(photo_like(16, 24))
    t = codec.decode_tensor(data)
    assert t.shape == (3, 16, 24) and t.dtype == torch.float32
    assert np.array_equal((t * 255).round().to(torch.uint8).permute(1, 2, 0).numpy(), codec.decode_array(data))


def test_weights_mismatch_is_refused():
    f = unpack(codec.encode(photo_like(8, 8), scale=2))
    import dataclasses

    forged = IrrFile(dataclasses.replace(f.header, weights_sha256=bytes(32)), f.lr_stream)
    with pytest.raises(codec.WeightsMismatchError, match="weights"):
        codec.decode(pack(forged))


def test_unknown_model_revision_is_refused():
    f = unpack(codec.encode(photo_like(8, 8), scale=2))
    import dataclasses

    forged = IrrFile(dataclasses.replace(f.header, model_revision=999), f.lr_stream)
    with pytest.raises(codec.WeightsMismatchError, match="revision 999"):
        codec.decode(pack(forged))


def test_payload_that_decodes_to_the_wrong_image_is_caught_by_its_checksum():
    f = unpack(codec.encode(photo_like(16, 16), scale=1))
    table, body = f.lr_stream[:4], f.lr_stream[4:]  # one segment: keep its length, reverse its bytes
    forged = IrrFile(f.header, table + bytes(reversed(body)))  # valid chunk CRC, wrong content
    with pytest.raises(codec.ChecksumError, match="LR image"):
        codec.decode(pack(forged))


def test_a_learned_level_payload_with_other_content_fails_its_segment_checksum():
    f = unpack(codec.encode(photo_like(32, 32)))
    head = 12 + 8  # the bin shifts of 24 classes, then one segment: keep them, its length and CRC
    table, body = f.lr_stream[:head], f.lr_stream[head:]
    forged = IrrFile(f.header, table + bytes(reversed(body)), minor=f.minor, detail_stream=f.detail_stream)
    with pytest.raises(codec.ChecksumError, match="segment 1 of 1 of the LR stream"):
        codec.decode(pack(forged))


@pytest.mark.parametrize("bad", [b"", b"hello", bytes(100)])
def test_garbage_input_raises_irr_error(bad):
    with pytest.raises(codec.IrrError):
        codec.decode(bad)


@pytest.mark.parametrize("kwargs", [
    {"quality": 0}, {"quality": 101}, {"quality": 50.5}, {"quality": "75"}, {"quality": True}, {"scale": 3},
    {"scale": 0}, {"scale": "2"}, {"scale": True}, {"temperature": -1.0}, {"temperature": float("nan")},
    {"temperature": "warm"}, {"seed": -1}, {"seed": 2**32}, {"seed": 1.5}, {"lossless": "yes"}, {"metadata": 1}, {"metadata": "icc,gps"},
    {"max_pixels": 0}, {"max_pixels": 1.5}, {"detail": "no"}, {"network_revision": "1"},
    {"entropy_model": "w97-laplace-1"}, {"entropy_model": 2}, {"entropy_model": "w97-laplace-2", "scale": 1},
])
def test_bad_encode_arguments_raise_input_error(kwargs):
    with pytest.raises(codec.InputError, match=next(iter(kwargs))):
        codec.encode(photo_like(8, 8), **kwargs)


@pytest.mark.parametrize("kwargs", [
    {"temperature": -0.5}, {"temperature": "hot"}, {"seed": -1}, {"seed": 0.5}, {"thumbnail": "yes"},
    {"max_pixels": -5}, {"device": 3}, {"device": "tpu"}, {"dtype": "half"}, {"tile": 0}, {"tile": 2.5},
])
def test_bad_decode_arguments_raise_input_error(kwargs):
    data = codec.encode(photo_like(16, 16))
    with pytest.raises(codec.InputError):
        codec.api.decode_file(data, **kwargs)


def test_decode_and_info_take_bytes_only():
    for call in (codec.decode, codec.info):
        with pytest.raises(codec.InputError, match="bytes"):
            call(5)


@pytest.mark.parametrize("image", [np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4), np.float32), "no/such/file.png", 42])
def test_bad_images_raise_input_error(image):
    with pytest.raises(codec.InputError):
        codec.encode(image)


def test_pixel_limit_guards_encode_and_decode():
    x = photo_like(40, 40)
    with pytest.raises(codec.LimitError):
        codec.encode(x, max_pixels=1000)
    with pytest.raises(codec.LimitError):
        codec.decode(codec.encode(x), max_pixels=1000)


def test_cuda_request_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(codec.InputError, match="CUDA"):
        codec.decode(codec.encode(photo_like(8, 8)), device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_decode_matches_cpu_lr_and_is_close_in_pixels(sample_rgb):
    data = codec.encode(sample_rgb)
    cpu = codec.decode_array(data, device="cpu")
    gpu = codec.decode_array(data, device="cuda")
    assert np.array_equal(codec.decode_array(data, thumbnail=True, device="cuda"), codec.decode_array(data, thumbnail=True))
    assert np.abs(cpu.astype(int) - gpu).max() <= 1


@pytest.mark.parametrize("scale", [2, 4])
def test_tiled_decode_matches_whole_image_decode(sample_rgb, scale):
    data = codec.encode(sample_rgb, quality=90, scale=scale, temperature=0.5, seed=9)
    whole = codec.api.decode_file(data, tile=None).array
    tiled = codec.api.decode_file(data, tile=24).array
    assert psnr(whole, tiled) > 45.0


def test_tiled_encode_matches_whole_image_encode(sample_rgb):
    from codec.modes.rescaler import downscale as _downscale

    whole = _downscale(sample_rgb, 2, tile=None)
    tiled = _downscale(sample_rgb, 2, tile=40)
    assert whole.shape == tiled.shape == (100, 150, 3)
    assert np.abs(whole.astype(int) - tiled).max() <= 2


def test_half_precision_is_refused_on_the_cpu():
    with pytest.raises(codec.InputError, match="CUDA"):
        codec.decode(codec.encode(photo_like(8, 8)), device="cpu", dtype=torch.float16)


def test_gray_with_alpha_becomes_rgba_and_cmyk_becomes_rgb():
    la = Image.fromarray(photo_like(12, 14, 4)).convert("LA")
    out = codec.decode(codec.encode(la))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], np.asarray(la.getchannel("A")))
    cmyk = Image.fromarray(photo_like(12, 14)).convert("CMYK")
    assert codec.decode(codec.encode(cmyk)).mode == "RGB"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_half_precision_cuda_decode_is_close_to_float32(sample_rgb):
    data = codec.encode(sample_rgb)
    full = codec.decode_array(data, device="cuda")
    half = np.asarray(codec.decode(data, device="cuda", dtype=torch.float16))
    assert psnr(full, half) > 40


def test_palette_images_become_rgb_or_rgba():
    x = photo_like(12, 12)
    pal = Image.fromarray(x).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    assert codec.decode(codec.encode(pal)).mode == "RGB"
    pal.info["transparency"] = 0
    out = codec.decode(codec.encode(pal))
    assert out.mode == "RGBA"
    expected_alpha = np.where(np.asarray(pal) == 0, 0, 255)
    assert np.array_equal(np.asarray(out)[..., 3], expected_alpha)


def test_decoding_that_cannot_fit_in_memory_is_refused_up_front(monkeypatch):
    from codec import resources

    data = codec.encode(photo_like(64, 64))
    monkeypatch.setattr(resources, "available_bytes", lambda: 1000)
    with pytest.raises(codec.LimitError, match="memory"):
        codec.decode(data)


def test_a_tiny_forged_file_declaring_a_big_image_fails_at_its_first_segment():
    """Bounded work: random payload under a valid 3-segment table is caught when segment 1 ends,
    not after decoding 2048 x 2048 x 3 symbols."""
    import dataclasses
    import zlib

    f = unpack(codec.encode(photo_like(32, 32)))
    header = dataclasses.replace(f.header, width=2048, height=2048)
    sizes = (100, 100, 100)
    shifts = bytes([0x88]) * 12  # zero bin shifts for the 24 classes of the LR
    table = shifts + b"".join(n.to_bytes(4, "big") + bytes(4) for n in sizes)
    forged = IrrFile(header, table + np.random.default_rng(0).bytes(sum(sizes)), minor=f.minor)
    data = pack(forged)
    assert len(data) < 1000
    with pytest.raises(codec.ChecksumError, match="segment 1 of 3 of the LR stream"):
        codec.decode(data)
    assert zlib.crc32(data) == zlib.crc32(pack(forged))  # nothing about the file was changed by decoding


def test_max_pixels_is_the_one_limit_for_inputs(tmp_path, monkeypatch):
    path = tmp_path / "x.png"
    Image.fromarray(photo_like(64, 64)).save(path)
    with pytest.raises(codec.LimitError, match="exceeds the limit of 1000"):
        codec.encode(path, max_pixels=1000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow's own limit, far below the image
    assert codec.info(codec.encode(path, max_pixels=10**6))["width"] == 64
    assert Image.MAX_IMAGE_PIXELS == 100  # restored after the read


def test_the_learned_level_codes_with_an_older_entropy_model_when_asked():
    """The ablation row of the benchmarks: the same file but for its entropy model, which its header names."""
    from codec import models

    x = photo_like(48, 64)
    old, new = codec.encode(x, quality=60, entropy_model="w97-laplace-2"), codec.encode(x, quality=60)
    assert codec.info(old)["entropy_model"] == "w97-laplace-2" and codec.info(new)["entropy_model"] == models.LEVEL_ENTROPY_MODEL
    assert np.array_equal(codec.decode_array(old, thumbnail=True).shape, codec.decode_array(new, thumbnail=True).shape)
    assert psnr(codec.decode_array(old), x) > 25 and psnr(codec.decode_array(new), x) > 25
