"""Scale 1: the image itself through the wavelet coder, no network, no latent (container 1.1)."""

from __future__ import annotations

import numpy as np

from bitstream.container import DIRECT_MINOR, Header, IrrFile
from bitstream.errors import FormatError
from codec import models
from codec.modes import Encoded, encode_image, image_planes, read_lr, refuse_detail
from codec.settings import DecodeSettings, EncodeSettings
from entropy.tables import EntropyTables


def encode(image: np.ndarray, settings: EncodeSettings) -> Encoded:
    tables, tables_hash = models.load_tables(models.RESCALER_ENTROPY_MODEL)
    stream, crc = encode_image(image_planes(image), settings.lr_step, tables)
    return Encoded(1, models.DIRECT, 0, models.DIRECT_HASH, models.RESCALER_ENTROPY_MODEL, tables, tables_hash,
                   stream, crc, DIRECT_MINOR)


def verify(f: IrrFile) -> None:
    h = f.header
    if h.scale != 1 or (h.model_revision, h.weights_sha256) != (0, models.DIRECT_HASH):
        raise FormatError(f"a file that names no network must be scale 1 with no weights, not scale {h.scale}")
    refuse_detail(f)


def read(f: IrrFile, tables: EntropyTables, detail: bool, workers: int = 1) -> np.ndarray:
    return read_lr(f, tables, workers)


def thumbnail(stored: np.ndarray, header: Header) -> np.ndarray:
    return stored  # the image is its own thumbnail


def reconstruct(stored: np.ndarray, header: Header, settings: DecodeSettings) -> np.ndarray:
    return stored
