"""The ``.irr`` container, version 1, declared with ``construct``. ``SPEC.md`` is the prose version.

    file   := signature(8) major(u8) minor(u8) flags(u16 = 0) chunk* (IEND last)
    chunk  := length(u32) type(4 ASCII letters) data(length) crc32(type + data)(u32)

All integers are big-endian. A chunk type starting with an upper-case letter is critical (a
reader that does not know it must refuse the file); lower-case is ancillary (skipped if unknown).
Every parse failure becomes one of the ``bitstream.errors`` types via :func:`unpack`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, fields

import construct as cs

from bitstream.errors import (
    ChecksumError,
    FormatError,
    LimitError,
    TruncatedError,
    UnsupportedVersionError,
)

SIGNATURE = b"\x89IRR\r\n\x1a\n"
MAJOR, MINOR = 1, 0
# Minor 1 added scale 1 (the image stored directly, no network); files that use it say 1.1.
DIRECT_MINOR = 1
# Minor 2 added the learned level: the LR in LRDT, its detail (the INN's z) in ZDAT when stored.
LEVEL_MINOR = 2
MAX_SIDE = 1 << 20
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's Image.MAX_IMAGE_PIXELS (tested), so both refuse the same bombs
MAX_CHUNK = (1 << 31) - 1
# An entropy-coded stream of n symbols is never longer than 6 bytes per symbol (see entropy.coder).
STREAM_BYTES_PER_SYMBOL = 6
STREAM_SLACK = 1024

# Ancillary metadata chunks, before LRDT: old readers skip the ones they do not know.
METADATA_CHUNKS = (b"iCCP", b"eXIf", b"xMPp", b"tEXt", b"pHYs")
KNOWN_CHUNKS = (b"IHDR", b"LRDT", b"ZDAT", b"ALPH", b"IEND", *METADATA_CHUNKS)

Preamble = cs.Struct(
    "signature" / cs.Bytes(8),
    "major" / cs.Int8ub,
    "minor" / cs.Int8ub,
    "flags" / cs.Int16ub,
)

Chunk = cs.Struct(
    "length" / cs.Int32ub,
    cs.Check(cs.this.length <= MAX_CHUNK),
    "type" / cs.Bytes(4),
    "data" / cs.Bytes(cs.this.length),
    "crc" / cs.Int32ub,
)

Ascii = cs.PascalString(cs.Int8ub, "ascii")

# tEXt: the source's text records (PNG tEXt/iTXt/zTXt, a JPEG comment as "Comment"), in order.
Text = cs.GreedyRange(cs.Struct("key" / cs.PascalString(cs.Int16ub, "utf8"), "value" / cs.PascalString(cs.Int32ub, "utf8")))
# pHYs: the source's resolution in dots per inch x 1000, horizontal and vertical.
Resolution = cs.Struct("x" / cs.Int32ub, "y" / cs.Int32ub, cs.Terminated)

IHDR = cs.Struct(
    "width" / cs.Int32ub,
    "height" / cs.Int32ub,
    "channels" / cs.Int8ub,  # 1 gray, 3 RGB, 4 RGBA
    "bit_depth" / cs.Int8ub,  # 8
    "color_transform" / cs.Int8ub,  # 0 none (gray), 1 YCoCg-R
    "scale" / cs.Int8ub,  # 1 (direct), 2 or 4
    "quality" / cs.Int8ub,  # 1..100, informative
    "lr_step" / cs.Int16ub,  # quantiser step of the LR, 8.8 fixed point; 256 = lossless
    "model_name" / Ascii,
    "model_revision" / cs.Int16ub,
    "weights_sha256" / cs.Bytes(32),
    "temperature_milli" / cs.Int16ub,  # default latent temperature x 1000
    "seed" / cs.Int32ub,
    "entropy_model" / Ascii,
    "tables_sha256" / cs.Bytes(32),
    "lr_crc32" / cs.Int32ub,  # CRC-32 of the decoded LR pixels (H, W, C uint8, row-major); learned level: of its LR symbols
    "alpha_crc32" / cs.Int32ub,  # CRC-32 of the decoded alpha plane, 0 without alpha
    cs.Terminated,
)


@dataclass(frozen=True)
class Header:
    """The IHDR chunk: everything needed to decode, and to refuse what cannot be decoded right."""

    width: int
    height: int
    channels: int
    scale: int
    quality: int
    lr_step: int
    model_name: str
    model_revision: int
    weights_sha256: bytes
    temperature_milli: int
    seed: int
    entropy_model: str
    tables_sha256: bytes
    lr_crc32: int
    alpha_crc32: int = 0
    bit_depth: int = 8

    @property
    def color_transform(self) -> int:
        return 0 if self.channels == 1 else 1

    @property
    def lr_size(self) -> tuple[int, int]:
        """(height, width) of the stored LR: the image padded up to a multiple of the scale."""
        return -(-self.height // self.scale), -(-self.width // self.scale)

    @property
    def lossless_lr(self) -> bool:
        return self.lr_step == 256


@dataclass
class IrrFile:
    header: Header
    lr_stream: bytes
    alpha_stream: bytes | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    unknown_chunks: list[tuple[bytes, bytes]] = field(default_factory=list)
    minor: int = MINOR
    detail_stream: bytes | None = None  # ZDAT: the learned level's detail, where it was stored
    xmp: bytes | None = None  # xMPp: the XMP packet, byte for byte
    text: tuple[tuple[str, str], ...] = ()  # tEXt: (key, value) records
    dpi_milli: tuple[int, int] | None = None  # pHYs

    def __post_init__(self) -> None:
        if self.detail_stream is not None and self.minor < LEVEL_MINOR:
            raise ValueError("a detail stream needs container minor version 2")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return Chunk.build({"length": len(data), "type": kind, "data": data, "crc": zlib.crc32(kind + data)})


def pack(f: IrrFile) -> bytes:
    """Serialise a file; validates the header the same way :func:`unpack` does."""
    h = f.header
    _validate_header(h, DEFAULT_MAX_PIXELS)
    ihdr = IHDR.build({**{x.name: getattr(h, x.name) for x in fields(h)}, "color_transform": h.color_transform})
    parts = [Preamble.build({"signature": SIGNATURE, "major": MAJOR, "minor": f.minor, "flags": 0})]
    parts.append(_chunk(b"IHDR", ihdr))
    if f.icc_profile is not None:
        parts.append(_chunk(b"iCCP", f.icc_profile))
    if f.exif is not None:
        parts.append(_chunk(b"eXIf", f.exif))
    if f.xmp is not None:
        parts.append(_chunk(b"xMPp", f.xmp))
    if f.text:
        parts.append(_chunk(b"tEXt", Text.build([{"key": k, "value": v} for k, v in f.text])))
    if f.dpi_milli is not None:
        parts.append(_chunk(b"pHYs", Resolution.build({"x": f.dpi_milli[0], "y": f.dpi_milli[1]})))
    for kind, data in f.unknown_chunks:
        parts.append(_chunk(kind, data))
    parts.append(_chunk(b"LRDT", f.lr_stream))
    if f.detail_stream is not None:
        parts.append(_chunk(b"ZDAT", f.detail_stream))
    if f.alpha_stream is not None:
        parts.append(_chunk(b"ALPH", f.alpha_stream))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def _check_signature(data: bytes) -> None:
    """PNG-style: the signature's CR LF, LF and high-bit byte reveal text-mode damage."""
    if data[:8] == SIGNATURE:
        return
    if len(data) < 8 and SIGNATURE.startswith(data):
        raise TruncatedError(f"file ends after {len(data)} bytes, inside the signature")
    if data[:4] == SIGNATURE[:4]:
        raise FormatError("this .irr file was damaged by a text-mode transfer (its line-ending bytes changed)")
    if data[1:4] == b"IRR":
        raise FormatError("this .irr file was damaged by a 7-bit transfer (the high bit of byte 0 was cleared)")
    raise FormatError("not an .irr file (wrong signature)")


def unpack_preamble(data: bytes) -> int:
    """Check signature, version and flags; returns the minor version."""
    _check_signature(data)
    if len(data) < Preamble.sizeof():
        raise TruncatedError(f"file ends after {len(data)} bytes, inside the version field")
    pre = Preamble.parse(data)
    if pre.major != MAJOR:
        raise UnsupportedVersionError(
            f"container version {pre.major}.{pre.minor} is not supported; this irr reads version {MAJOR}.x"
        )
    if pre.flags != 0:
        raise FormatError(f"reserved flags are set (0x{pre.flags:04x}); the file is corrupt or from an unknown writer")
    return pre.minor


def _validate_header(h: Header, max_pixels: int) -> None:
    if not (1 <= h.width <= MAX_SIDE and 1 <= h.height <= MAX_SIDE):
        raise LimitError(f"image size {h.width}x{h.height} is outside 1..{MAX_SIDE} per side")
    if h.width * h.height > max_pixels:
        raise LimitError(f"image of {h.width}x{h.height} = {h.width * h.height} pixels exceeds the limit of {max_pixels}")
    if h.channels not in (1, 3, 4):
        raise FormatError(f"unsupported channel count {h.channels}")
    if h.bit_depth != 8:
        raise FormatError(f"unsupported bit depth {h.bit_depth}")
    if h.scale not in (1, 2, 4):
        raise FormatError(f"unsupported scale {h.scale}")
    if not 1 <= h.quality <= 100:
        raise FormatError(f"quality {h.quality} is outside 1..100")
    if h.lr_step < 256:
        raise FormatError(f"LR step {h.lr_step / 256} is below 1")
    if len(h.weights_sha256) != 32 or len(h.tables_sha256) != 32:
        raise FormatError("hash fields must be 32 bytes")


def max_stream_bytes(n_symbols: int) -> int:
    return STREAM_BYTES_PER_SYMBOL * n_symbols + STREAM_SLACK


def unpack(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, header_only: bool = False) -> IrrFile:
    """Parse and validate a whole file (or only up to IHDR); every failure is an ``IrrError``."""
    try:
        return _unpack(bytes(data), max_pixels, header_only)
    except cs.StreamError as e:
        raise TruncatedError(f"file is truncated ({e.__class__.__name__})") from None
    except cs.ConstructError as e:
        raise FormatError(f"malformed container: {e}") from None


def _unpack(data: bytes, max_pixels: int, header_only: bool) -> IrrFile:
    minor = unpack_preamble(data)
    pos = Preamble.sizeof()
    header: Header | None = None
    parts: dict[bytes, bytes] = {}
    unknown: list[tuple[bytes, bytes]] = []
    while True:
        if pos >= len(data):
            raise TruncatedError(f"file ends at byte {pos} without an IEND chunk")
        if len(data) - pos < 12:
            raise TruncatedError(f"file ends inside a chunk header at byte {pos}")
        length = int.from_bytes(data[pos : pos + 4], "big")
        if length > len(data) - pos - 12:
            raise TruncatedError(f"chunk at byte {pos} declares {length} bytes but the file ends before")
        chunk = Chunk.parse(data[pos : pos + 12 + length])
        kind = bytes(chunk.type)
        if not kind.isalpha() or not kind.isascii():
            raise FormatError(f"invalid chunk type {kind!r} at byte {pos}")
        if zlib.crc32(kind + chunk.data) != chunk.crc:
            raise ChecksumError(f"CRC mismatch in chunk {kind.decode()} at byte {pos}: the file is corrupt")
        pos += 12 + length
        if header is None and kind != b"IHDR":
            raise FormatError(f"first chunk must be IHDR, found {kind.decode()}")
        if kind == b"IHDR":
            if header is not None:
                raise FormatError("duplicate IHDR chunk")
            header = _parse_ihdr(chunk.data, max_pixels)
            if header_only:
                return IrrFile(header, b"", minor=minor)
        elif kind == b"IEND":
            if chunk.data:
                raise FormatError("IEND chunk must be empty")
            if pos != len(data):
                raise FormatError(f"{len(data) - pos} bytes of trailing data after IEND")
            break
        elif kind in KNOWN_CHUNKS:
            if kind in parts:
                raise FormatError(f"duplicate {kind.decode()} chunk")
            if kind in METADATA_CHUNKS and b"LRDT" in parts:
                raise FormatError(f"{kind.decode()} must come before LRDT")
            if kind == b"ALPH" and b"LRDT" not in parts:
                raise FormatError("ALPH must follow LRDT")
            if kind == b"ZDAT" and (b"LRDT" not in parts or b"ALPH" in parts):
                raise FormatError("ZDAT must follow LRDT and come before ALPH")
            if kind == b"ZDAT" and minor < LEVEL_MINOR:
                raise FormatError(f"a version 1.{minor} file cannot hold a ZDAT chunk: the file is corrupt")
            parts[kind] = chunk.data
        elif kind[:1].isupper():
            raise FormatError(f"unknown critical chunk {kind.decode()}: written by a newer irr, cannot decode")
        else:
            unknown.append((kind, chunk.data))
    assert header is not None
    if b"LRDT" not in parts:
        raise FormatError("missing LRDT chunk")
    lr_h, lr_w = header.lr_size
    if len(parts[b"LRDT"]) > max_stream_bytes(lr_h * lr_w * min(header.channels, 3)):
        raise LimitError(f"LRDT of {len(parts[b'LRDT'])} bytes is larger than any valid stream for this size")
    alpha = parts.get(b"ALPH")
    if (alpha is not None) != (header.channels == 4):
        raise FormatError("ALPH chunk must be present exactly when the image has 4 channels")
    if alpha is not None and len(alpha) > max_stream_bytes(header.width * header.height):
        raise LimitError(f"ALPH of {len(alpha)} bytes is larger than any valid stream for this size")
    detail = parts.get(b"ZDAT")
    if detail is not None and len(detail) > max_stream_bytes(header.width * header.height * min(header.channels, 3)):
        raise LimitError(f"ZDAT of {len(detail)} bytes is larger than any valid stream for this size")
    return IrrFile(header, parts[b"LRDT"], alpha, parts.get(b"iCCP"), parts.get(b"eXIf"), unknown, minor, detail,
                   parts.get(b"xMPp"), *_parse_metadata(parts))


def _parse_metadata(parts: dict[bytes, bytes]) -> tuple[tuple[tuple[str, str], ...], tuple[int, int] | None]:
    """tEXt and pHYs (their CRCs already checked: a malformed one is a writer's bug, refused)."""
    text, dpi = (), None
    try:
        if b"tEXt" in parts:
            text = tuple((r.key, r.value) for r in Text.parse(parts[b"tEXt"]))
            if len(Text.build([{"key": k, "value": v} for k, v in text])) != len(parts[b"tEXt"]):
                raise FormatError("malformed tEXt chunk")
        if b"pHYs" in parts:
            r = Resolution.parse(parts[b"pHYs"])
            dpi = (r.x, r.y)
    except (cs.ConstructError, UnicodeDecodeError) as e:
        raise FormatError(f"malformed metadata chunk: {e.__class__.__name__}") from None
    return text, dpi


def _parse_ihdr(data: bytes, max_pixels: int) -> Header:
    try:
        raw = IHDR.parse(data)
    except (cs.ConstructError, UnicodeDecodeError) as e:
        raise FormatError(f"malformed IHDR chunk: {e.__class__.__name__}") from None
    values = {x.name: raw[x.name] for x in fields(Header)}
    header = Header(**values)
    if raw.color_transform != header.color_transform:
        raise FormatError(f"colour transform {raw.color_transform} does not fit {header.channels} channels")
    _validate_header(header, max_pixels)
    return header
