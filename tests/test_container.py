"""The .irr container v1: round trip, every field, and every documented failure."""

from __future__ import annotations

import dataclasses
import struct
import zlib

import pytest

from bitstream.container import SIGNATURE, Header, IrrFile, pack, unpack
from bitstream.errors import (
    ChecksumError,
    FormatError,
    LimitError,
    TruncatedError,
    UnsupportedVersionError,
)


def make_header(**changes) -> Header:
    fields = dict(
        width=33, height=17, channels=3, scale=2, quality=80, lr_step=700, model_name="irr-x2",
        model_revision=3, weights_sha256=bytes(range(32)), temperature_milli=600, seed=123456789,
        entropy_model="w53-laplace-1", tables_sha256=bytes(range(32, 64)), lr_crc32=0xDEADBEEF,
        alpha_crc32=0,
    )
    fields.update(changes)
    return Header(**fields)


def make_file(**changes) -> IrrFile:
    return IrrFile(make_header(**changes), lr_stream=b"\x01\x02\x03\x04" * 5)


def chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, length) of each chunk, walked independently of the reader under test."""
    out, pos = [], 12
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        out.append((pos, data[pos + 4 : pos + 8], length))
        pos += 12 + length
    return out


def test_round_trip_keeps_every_header_field():
    f = make_file()
    f.icc_profile = b"icc-bytes"
    f.exif = b"Exif\x00\x00MM"
    back = unpack(pack(f))
    assert back.header == f.header
    assert back.lr_stream == f.lr_stream
    assert back.icc_profile == b"icc-bytes" and back.exif == b"Exif\x00\x00MM"
    assert back.minor == 0 and back.alpha_stream is None


@pytest.mark.parametrize("field,value", [
    ("width", 1), ("height", 1 << 20), ("channels", 1), ("scale", 4), ("quality", 100), ("lr_step", 65535),
    ("model_name", "x" * 255), ("model_revision", 65535), ("temperature_milli", 65535), ("seed", 2**32 - 1),
    ("lr_crc32", 0), ("entropy_model", "e"),
])
def test_each_field_survives_its_extremes(field, value):
    changes = {field: value}
    if field == "height":
        changes["width"] = 1
    f = make_file(**changes)
    assert getattr(unpack(pack(f)).header, field) == value


def test_alpha_chunk_round_trips_with_four_channels():
    f = IrrFile(make_header(channels=4, alpha_crc32=7), b"lr", alpha_stream=b"alpha")
    back = unpack(pack(f))
    assert back.alpha_stream == b"alpha" and back.header.alpha_crc32 == 7


def test_signature_is_png_style():
    data = pack(make_file())
    assert data[:8] == SIGNATURE == b"\x89IRR\r\n\x1a\n"


def test_wrong_magic_is_not_an_irr_file():
    with pytest.raises(FormatError, match="not an .irr file"):
        unpack(b"\x89PNG\r\n\x1a\n" + bytes(100))


@pytest.mark.parametrize("mangle", [
    lambda d: d.replace(b"\r\n", b"\n", 1),  # CRLF -> LF
    lambda d: d[:4] + d[4:8].replace(b"\n", b"\r\n") + d[8:],  # LF -> CRLF
])
def test_text_mode_damage_is_named(mangle):
    with pytest.raises(FormatError, match="text-mode"):
        unpack(mangle(pack(make_file())))


def test_cleared_high_bit_is_named():
    data = pack(make_file())
    with pytest.raises(FormatError, match="7-bit"):
        unpack(b"\x09" + data[1:])


def test_unknown_major_version_is_refused_clearly():
    data = bytearray(pack(make_file()))
    data[8] = 2
    with pytest.raises(UnsupportedVersionError, match="version 2.0 is not supported"):
        unpack(bytes(data))


def test_newer_minor_version_is_accepted_and_its_ancillary_chunks_skipped():
    f = make_file()
    f.minor = 7
    f.unknown_chunks = [(b"nEWx", b"future metadata")]
    back = unpack(pack(f))
    assert back.minor == 7 and back.unknown_chunks == [(b"nEWx", b"future metadata")]
    assert back.header == f.header


def test_unknown_critical_chunk_is_refused():
    f = make_file()
    f.unknown_chunks = [(b"NEWX", b"must understand")]
    with pytest.raises(FormatError, match="unknown critical chunk NEWX"):
        unpack(pack(f))


def test_reserved_flags_must_be_zero():
    data = bytearray(pack(make_file()))
    data[11] = 1
    with pytest.raises(FormatError, match="reserved flags"):
        unpack(bytes(data))


def test_bad_crc_in_each_chunk_is_detected():
    f = make_file(channels=4)
    f.alpha_stream = b"alpha"
    f.icc_profile, f.exif = b"icc", b"exif"
    data = pack(f)
    seen = set()
    for offset, kind, length in chunks(data):
        seen.add(kind)
        for target in range(offset + 4, offset + 12 + length):  # type, data and CRC bytes
            damaged = bytearray(data)
            damaged[target] ^= 0x10
            with pytest.raises(FormatError):  # ChecksumError, or a type no longer valid
                unpack(bytes(damaged))
        damaged = bytearray(data)
        damaged[offset + 8 + length] ^= 0xFF  # the CRC itself
        with pytest.raises(ChecksumError, match=kind.decode()):
            unpack(bytes(damaged))
    assert seen == {b"IHDR", b"iCCP", b"eXIf", b"LRDT", b"ALPH", b"IEND"}


def test_truncation_at_every_byte_is_reported():
    data = pack(make_file())
    for n in range(len(data)):
        with pytest.raises(TruncatedError):
            unpack(data[:n])


def test_trailing_data_after_iend_is_refused():
    with pytest.raises(FormatError, match="trailing data"):
        unpack(pack(make_file()) + b"x")


@pytest.mark.parametrize("changes,error", [
    ({"width": 0}, LimitError),
    ({"width": (1 << 20) + 1}, LimitError),
    ({"width": 1 << 20, "height": 1 << 20}, LimitError),
    ({"channels": 2}, FormatError),
    ({"scale": 3}, FormatError),
    ({"quality": 0}, FormatError),
    ({"lr_step": 255}, FormatError),
])
def test_invalid_header_values_are_refused_before_anything_is_allocated(changes, error):
    good = pack(make_file())
    bad_header = dataclasses.replace(make_header(), **changes)
    # Build the bad IHDR by hand: pack() refuses to write it.
    from bitstream.container import IHDR, _chunk

    raw = IHDR.build({**dataclasses.asdict(bad_header), "color_transform": bad_header.color_transform})
    offset, _, length = chunks(good)[0]
    data = good[:offset] + _chunk(b"IHDR", raw) + good[offset + 12 + length :]
    with pytest.raises(error):
        unpack(data)


def test_pixel_limit_is_configurable():
    data = pack(make_file(width=1000, height=1000))
    assert unpack(data).header.width == 1000
    with pytest.raises(LimitError, match="exceeds the limit of 999999"):
        unpack(data, max_pixels=999_999)


def test_stream_longer_than_any_valid_one_is_refused():
    f = IrrFile(make_header(width=2, height=2), lr_stream=bytes(5000))
    with pytest.raises(LimitError, match="LRDT"):
        unpack(pack(f))


def test_oversized_chunk_length_is_truncation_not_allocation():
    data = bytearray(pack(make_file()))
    offset = chunks(bytes(data))[-2][0]  # LRDT
    data[offset : offset + 4] = struct.pack(">I", 0x7FFFFFFF)
    with pytest.raises(TruncatedError):
        unpack(bytes(data))


@pytest.mark.parametrize("order", [
    [b"LRDT", b"IHDR", b"IEND"],
    [b"IHDR", b"IHDR", b"LRDT", b"IEND"],
    [b"IHDR", b"IEND"],
    [b"IHDR", b"LRDT", b"LRDT", b"IEND"],
    [b"IHDR", b"LRDT", b"eXIf", b"IEND"],
])
def test_chunk_order_rules(order):
    from bitstream.container import IHDR, MAJOR, Preamble, _chunk

    ihdr = IHDR.build({**dataclasses.asdict(make_header()), "color_transform": 1})
    body = {b"IHDR": ihdr, b"LRDT": b"abc", b"IEND": b"", b"eXIf": b"e"}
    data = Preamble.build({"signature": SIGNATURE, "major": MAJOR, "minor": 0, "flags": 0})
    data += b"".join(_chunk(k, body[k]) for k in order)
    with pytest.raises(FormatError):
        unpack(data)


def test_crc_covers_type_and_data():
    data = pack(make_file())
    offset, kind, length = chunks(data)[0]
    crc = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])[0]
    assert crc == zlib.crc32(data[offset + 4 : offset + 8 + length])


def test_bitstream_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, bitstream.container, bitstream.errors; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _detail_file() -> IrrFile:
    return IrrFile(make_header(channels=4, alpha_crc32=7), b"lr", alpha_stream=b"alpha", minor=2,
                   detail_stream=b"detail")


def test_a_detail_chunk_round_trips_between_the_lr_and_alpha_in_version_1_2():
    data = pack(_detail_file())
    assert [kind for _, kind, _ in chunks(data)] == [b"IHDR", b"LRDT", b"ZDAT", b"ALPH", b"IEND"]
    back = unpack(data)
    assert (back.minor, back.detail_stream, back.lr_stream, back.alpha_stream) == (2, b"detail", b"lr", b"alpha")
    assert unpack(pack(make_file())).detail_stream is None


def _with_chunks(data: bytes, order: list[bytes], minor: int | None = None) -> bytes:
    parts = {kind: data[off : off + 12 + length] for off, kind, length in chunks(data)}
    head = bytearray(data[:12])
    if minor is not None:
        head[9] = minor
    return bytes(head) + b"".join(parts[k] for k in order)


@pytest.mark.parametrize("order,minor,message", [
    ([b"IHDR", b"ZDAT", b"LRDT", b"ALPH", b"IEND"], None, "ZDAT must follow LRDT"),
    ([b"IHDR", b"LRDT", b"ALPH", b"ZDAT", b"IEND"], None, "before ALPH"),
    ([b"IHDR", b"LRDT", b"ZDAT", b"ALPH", b"IEND"], 1, "cannot hold a ZDAT"),
    ([b"IHDR", b"LRDT", b"ZDAT", b"ZDAT", b"ALPH", b"IEND"], None, "duplicate ZDAT"),
])
def test_misplaced_or_misversioned_detail_chunks_are_refused(order, minor, message):
    with pytest.raises(FormatError, match=message):
        unpack(_with_chunks(pack(_detail_file()), order, minor))


def test_a_detail_stream_in_an_older_version_cannot_even_be_written():
    with pytest.raises(ValueError, match="minor version 2"):
        IrrFile(make_header(), b"lr", minor=1, detail_stream=b"x")


def test_the_default_pixel_limit_is_pillows():
    from PIL import Image

    from bitstream.container import DEFAULT_MAX_PIXELS

    assert DEFAULT_MAX_PIXELS == Image.MAX_IMAGE_PIXELS


def test_xmp_text_and_resolution_round_trip_and_are_ancillary():
    f = make_file()
    f.xmp, f.text, f.dpi_milli = b"<x:xmpmeta/>", (("Comment", "caf\u00e9"), ("Author", "")), (72000, 300500)
    data = pack(f)
    back = unpack(data)
    assert (back.xmp, back.text, back.dpi_milli) == (f.xmp, f.text, f.dpi_milli)
    types = [t for _, t, _ in chunks(data)]
    assert types.index(b"pHYs") < types.index(b"LRDT") and all(t[:1].islower() for t in (b"xMPp", b"tEXt", b"pHYs"))


def test_malformed_text_chunk_is_refused():
    f = make_file()
    f.text = (("k", "v"),)
    data = bytearray(pack(f))
    pos, _, length = next(c for c in chunks(bytes(data)) if c[1] == b"tEXt")
    body = bytes(data[pos + 8 : pos + 8 + length]) + b"\x00"  # a dangling byte inside the chunk
    fixed = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    data[pos : pos + 12 + length] = fixed
    with pytest.raises(FormatError, match="tEXt"):
        unpack(bytes(data))
