"""What irr carries beside the pixels (XMP, text, dpi, ICC, EXIF), what it converts, what it refuses."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

import codec
from codec.cli import main
from codec.pixels import MetadataWarning
from tests.conftest import photo_like
from tests.icc import cmyk_profile, gray_profile

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def _png_with_everything() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "harbour")
    info.add_itxt("Description", "caf\u00e9 at dusk")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    buf = io.BytesIO()
    Image.fromarray(photo_like(16, 24)).save(buf, "PNG", pnginfo=info, dpi=(300, 150), icc_profile=b"icc" * 50)
    return buf.getvalue()


def test_xmp_text_and_dpi_survive_encode_and_decode():
    out = codec.decode(codec.encode(io.BytesIO(_png_with_everything()), scale=1))
    assert out.info["xmp"] == XMP and out.info["Title"] == "harbour" and out.info["Description"] == "caf\u00e9 at dusk"
    assert out.info["dpi"] == pytest.approx((300, 150), abs=0.1) and out.info["icc_profile"] == b"icc" * 50


def test_metadata_kinds_are_selected():
    data = codec.encode(io.BytesIO(_png_with_everything()), scale=1, metadata="xmp,dpi")
    meta = codec.info(data)
    assert meta["icc_profile_bytes"] == 0 and meta["xmp_bytes"] == len(XMP) and meta["text_records"] == 0
    assert meta["dpi"] == pytest.approx([300, 150], abs=0.1)
    none = codec.info(codec.encode(io.BytesIO(_png_with_everything()), scale=1, metadata="none"))
    assert none["xmp_bytes"] == 0 and none["dpi"] is None
    with pytest.raises(codec.InputError, match="unknown metadata kind 'gps'"):
        codec.encode(photo_like(8, 8), metadata=["icc", "gps"])


def test_the_cli_writes_metadata_where_the_output_format_holds_it(tmp_path, capsys):
    src, irr = tmp_path / "in.png", tmp_path / "x.irr"
    src.write_bytes(_png_with_everything())
    assert main(["encode", str(src), "-o", str(irr), "--scale", "1"]) == 0
    for name in ("out.png", "out.jpg", "out.webp", "out.tif"):
        assert main(["decode", str(irr), "-o", str(tmp_path / name)]) == 0
        back = Image.open(tmp_path / name)
        back.load()
        assert back.info.get("xmp") in (XMP, XMP.decode()), name
    assert Image.open(tmp_path / "out.png").info["Title"] == "harbour"
    assert Image.open(tmp_path / "out.jpg").info["dpi"] == pytest.approx((300, 150), abs=1)
    capsys.readouterr()
    assert main(["decode", str(irr), "-o", str(tmp_path / "out.ppm")]) == 0
    said = capsys.readouterr().err
    assert "ICC profile, XMP, text, resolution (dpi) not written: .ppm has no place for it" in said


def test_the_cli_selects_metadata(tmp_path):
    src, irr = tmp_path / "in.png", tmp_path / "x.irr"
    src.write_bytes(_png_with_everything())
    assert main(["encode", str(src), "-o", str(irr), "--scale", "1", "--metadata", "icc"]) == 0
    meta = codec.info(irr.read_bytes())
    assert meta["icc_profile_bytes"] == 150 and meta["xmp_bytes"] == 0
    assert main(["encode", str(src), "-o", str(irr), "-f", "--scale", "1", "--strip-metadata"]) == 0
    assert codec.info(irr.read_bytes())["icc_profile_bytes"] == 0
    assert main(["encode", str(src), "-o", str(irr), "-f", "--metadata", "colour"]) == 2


def test_cmyk_is_converted_through_its_profile():
    profile = cmyk_profile()
    cmyk = Image.fromarray(np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 255, 0, 0], [0, 0, 0, 255]]] * 4, np.uint8), "CMYK")
    cmyk.info["icc_profile"] = profile
    expected = ImageCms.profileToProfile(cmyk, ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                         ImageCms.createProfile("sRGB"), outputMode="RGB")
    out = codec.decode(codec.encode(cmyk, lossless=True, scale=1))
    assert np.array_equal(np.asarray(out), np.asarray(expected))
    assert np.abs(np.asarray(out).astype(int) - np.asarray(cmyk.convert("RGB"))).max() > 50  # not the naive formula
    assert "icc_profile" not in out.info


def test_gray_with_alpha_is_converted_through_its_gray_profile():
    la = Image.fromarray(photo_like(8, 8, 4)).convert("LA")
    la.info["icc_profile"] = gray_profile(1.0)  # linear gray: mid-gray is much lighter in sRGB
    out = codec.decode(codec.encode(la, lossless=True, scale=1))
    gray, rgba = np.asarray(la), np.asarray(out)
    assert out.mode == "RGBA" and "icc_profile" not in out.info
    assert np.array_equal(rgba[..., 3], gray[..., 1])
    mid = gray[..., 0] == np.median(gray[..., 0])
    assert (rgba[..., 0][mid] > gray[..., 0][mid] + 20).all()


def test_a_profile_of_another_colour_space_is_dropped_with_a_warning():
    fake_cmyk = bytearray(128)
    fake_cmyk[16:20], fake_cmyk[36:40] = b"CMYK", b"acsp"
    im = Image.fromarray(photo_like(8, 8))
    im.info["icc_profile"] = bytes(fake_cmyk)  # on RGB pixels: no viewer could use it
    with pytest.warns(MetadataWarning, match="CMYK"):
        out = codec.decode(codec.encode(im, scale=1))
    assert "icc_profile" not in out.info


def test_animation_is_refused():
    frames = [Image.fromarray(photo_like(8, 8, seed=s)) for s in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(codec.InputError, match="3 frames"):
        codec.encode(io.BytesIO(buf.getvalue()))


def test_deep_samples_follow_a_rule_that_does_not_depend_on_the_data():
    ramp = np.arange(0, 65536, 257, dtype=np.int32).reshape(16, 16)  # 0..65535 in 16-bit steps
    for top in (255, 256, 65535):  # the brightest sample never changes how the others map
        a = ramp.copy()
        a[0, 0] = top
        out = codec.decode_array(codec.encode(Image.fromarray(a, "I"), lossless=True, scale=1))
        assert np.array_equal(out[..., 0].ravel()[1:], np.arange(1, 256))
    floats = Image.fromarray((np.arange(256, dtype=np.float32) / 255).reshape(16, 16), "F")
    out = codec.decode_array(codec.encode(floats, lossless=True, scale=1))
    assert np.array_equal(out[..., 0].ravel(), np.arange(256))  # floats on [0, 1], not left almost black
    with pytest.raises(codec.InputError, match=r"outside \[0, 1\]"):
        codec.encode(Image.fromarray(np.full((4, 4), 2.0, np.float32), "F"))
    with pytest.raises(codec.InputError, match="outside 0..65535"):
        codec.encode(Image.fromarray(np.full((4, 4), 70000, np.int32), "I"))


def test_warnings_reach_the_cli_as_one_line(tmp_path, capsys):
    fake_cmyk = bytearray(128)
    fake_cmyk[16:20], fake_cmyk[36:40] = b"CMYK", b"acsp"
    src = tmp_path / "in.png"
    Image.fromarray(photo_like(8, 8)).save(src, icc_profile=bytes(fake_cmyk))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the CLI must handle it, not the test's filter
        assert main(["encode", str(src), "-o", str(tmp_path / "x.irr"), "--scale", "1"]) == 0
    assert f"irr: warning: {src}: the ICC profile (CMYK) does not describe" in capsys.readouterr().err


def test_text_survives_an_applied_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate to display: the pixels are transposed on the way in
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "upright")
    buf = io.BytesIO()
    Image.fromarray(photo_like(8, 12)).save(buf, "PNG", pnginfo=info, exif=exif.tobytes(), dpi=(72, 72))
    out = codec.decode(codec.encode(io.BytesIO(buf.getvalue()), scale=1))
    assert out.size == (8, 12) and out.info["Title"] == "upright" and out.info["dpi"] == pytest.approx((72, 72), abs=0.1)


def test_a_jpeg_comment_travels_as_text(tmp_path):
    src, irr = tmp_path / "in.jpg", tmp_path / "x.irr"
    Image.fromarray(photo_like(16, 16)).save(src, quality=90, comment=b"shot on film")
    assert main(["encode", str(src), "-o", str(irr), "--scale", "1"]) == 0
    assert main(["decode", str(irr), "-o", str(tmp_path / "out.jpg")]) == 0
    assert main(["decode", str(irr), "-o", str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.jpg").info["comment"] == b"shot on film"
    assert Image.open(tmp_path / "out.png").info["Comment"] == "shot on film"


def test_metadata_a_jpeg_cannot_hold_is_one_error_line_and_huge_dpi_survives(tmp_path, capsys):
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x>" + "a" * 70_000 + "</x>")  # over JPEG's 64 KB segment
    src, irr = tmp_path / "in.png", tmp_path / "x.irr"
    Image.fromarray(photo_like(8, 8)).save(src, pnginfo=info, dpi=(4800, 4800))
    assert main(["encode", str(src), "-o", str(irr), "--scale", "1"]) == 0
    capsys.readouterr()
    assert main(["decode", str(irr), "-o", str(tmp_path / "out.jpg")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("irr: error:") and "cannot hold this file's metadata" in err and err.count("\n") == 1
    assert codec.info(irr.read_bytes())["dpi"] == pytest.approx([4800, 4800], abs=0.1)


def test_a_tiff_output_keeps_exif_beside_xmp(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "irr camera"
    buf = io.BytesIO()
    Image.fromarray(photo_like(8, 8)).save(buf, "PNG", exif=exif.tobytes(), pnginfo=_xmp_info())
    irr = tmp_path / "x.irr"
    irr.write_bytes(codec.encode(io.BytesIO(buf.getvalue()), scale=1))
    assert main(["decode", str(irr), "-o", str(tmp_path / "out.tif")]) == 0
    back = Image.open(tmp_path / "out.tif")
    back.load()
    assert back.info["xmp"] == XMP and back.getexif()[0x010F] == "irr camera"


def _xmp_info() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return info
