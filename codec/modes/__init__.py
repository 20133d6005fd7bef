"""The three ways a file is coded, one module each behind one interface (:class:`Mode`):

- ``level``: irr's learned first level (the INN) and the 9/7 pyramid; the detail stored or modelled;
- ``direct``: scale 1, the wavelet coder alone (no network), lossy or lossless;
- ``rescaler``: scale 2 or 4, only the invertible rescaler's LR stored (pure rescaling).

``codec.api`` picks one by the settings (encode) or the file's model (decode) and never looks
inside what a mode stores; alpha, metadata and the container are the API's.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bitstream.container import Header, IrrFile, max_stream_bytes
from bitstream.errors import ChecksumError, FormatError
from codec import models
from codec.settings import DecodeSettings, EncodeSettings
from entropy import coder
from entropy.tables import EntropyTables


@dataclass
class Encoded:
    """What a mode decided and wrote, for the header and the container."""

    scale: int
    model_name: str
    model_revision: int
    weights_sha256: bytes
    entropy_model: str
    tables: EntropyTables
    tables_sha256: bytes
    lr_stream: bytes
    lr_crc32: int
    minor: int  # the container version the file needs (1.minor)
    detail_stream: bytes | None = None


class Mode(Protocol):
    """One coding mode. ``image`` is (H, W, C) uint8 (a 4th channel, alpha, is the API's to code); what ``read``
    returns is the mode's own and only handed back to its ``thumbnail`` and ``reconstruct``."""

    def encode(self, image: np.ndarray, settings: EncodeSettings) -> Encoded: ...

    def verify(self, f: IrrFile) -> None:
        """Refuse a header or chunks this mode cannot have written (``FormatError``), and weights
        that are not the encoder's (``WeightsMismatchError``)."""

    def read(self, f: IrrFile, tables: EntropyTables, detail: bool) -> object:
        """Entropy-decode and verify what the file stores (``detail=False``: not the detail)."""

    def thumbnail(self, stored: object, header: Header) -> np.ndarray: ...

    def reconstruct(self, stored: object, header: Header, settings: DecodeSettings) -> np.ndarray:
        """(H', W', 1|3) uint8 at least the image's size (the API crops); may consume ``stored``."""


def of_kind(kind: str) -> Mode:
    """The mode of a file's model kind (``codec.models.kind_of``)."""
    from codec.modes import direct, level, rescaler

    return {"level": level, "none": direct, "rescaler": rescaler}[kind]


def of_settings(settings: EncodeSettings) -> Mode:
    return of_kind({"level": "level", "direct": "none", "rescaler": "rescaler"}[settings.mode])


def verify_network(h: Header) -> None:
    """The weights a file names are the ones installed, and its scale is theirs."""
    models.check_weights(h.model_name, h.model_revision, h.weights_sha256)
    if h.scale != models.scale_of(h.model_name):
        raise FormatError(f"{h.model_name} files are scale {models.scale_of(h.model_name)}, this one says {h.scale}")


def refuse_detail(f: IrrFile) -> None:
    if f.detail_stream is not None:
        raise FormatError("only learned-level files carry a ZDAT chunk")


def decode_image(stream: bytes, layout: coder.ImageLayout, expected_crc: int, what: str,
                 tables: EntropyTables, workers: int = 1) -> np.ndarray:
    """An entropy-coded 8-bit image (an LR or the alpha plane), checked against its CRC-32."""
    pixels = coder.decode(stream, layout, tables, max_stream_bytes(layout.n_symbols), workers)
    if zlib.crc32(pixels.tobytes()) != expected_crc:
        raise ChecksumError(f"decoded {what} does not match its checksum: the file is corrupt")
    return pixels


def read_lr(f: IrrFile, tables: EntropyTables, workers: int = 1) -> np.ndarray:
    """The LR image a direct or rescaler file stores, verified."""
    h = f.header
    layout = coder.ImageLayout(*h.lr_size, 1 if h.channels == 1 else 3, h.lr_step)
    return decode_image(f.lr_stream, layout, h.lr_crc32, "LR image", tables, workers)


def encode_image(image: np.ndarray, lr_step: int, tables: EntropyTables) -> tuple[bytes, int]:
    """An 8-bit image's stream and the CRC-32 of what the decoder will see."""
    stream, decoded = coder.encode(image, coder.ImageLayout(*image.shape, lr_step), tables)
    return stream, zlib.crc32(decoded.tobytes())


def image_planes(a: np.ndarray) -> np.ndarray:
    """The colour planes a mode codes: gray stays one plane, alpha is left to the API."""
    return np.ascontiguousarray(a[..., :1] if a.shape[2] == 1 else a[..., :3])
