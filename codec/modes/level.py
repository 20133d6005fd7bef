"""irr's default lossy path: the learned first level (the INN, ``codec.transform``) in front of the
integer 9/7 pyramid; the LR and the detail are separate payloads, the detail stored only where it
pays (``EncodeSettings.stores_detail``) and otherwise modelled as Gaussian (container 1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitstream.container import LEVEL_MINOR, Header, IrrFile
from bitstream.errors import ChecksumError
from codec import models
from codec.modes import Encoded, image_planes, verify_network
from codec.settings import DecodeSettings, EncodeSettings, plane_workers, resolve_revision
from codec.transform import AUTO, LevelTransform
from entropy import coder, pyramid
from entropy.tables import EntropyTables

WHOLE = 1 << 20  # a tile side no image reaches: one pass


@dataclass
class Stored:
    """A learned-level file's quantised pyramid, as ``entropy.coder.decode_symbols`` fills it."""

    planes_q: list | None
    steps: list[dict]


def encode(image: np.ndarray, settings: EncodeSettings) -> Encoded:
    image = image_planes(image)
    revision = resolve_revision(models.LEVEL_MODEL, settings.network_revision)
    net, weights_hash = models.load_model(models.LEVEL_MODEL, revision)
    entropy_model = settings.entropy_model or models.LEVEL_ENTROPY_MODEL
    tables, tables_hash = models.load_tables(entropy_model)
    layout = coder.ImageLayout(*image.shape, settings.lr_step)
    # Detail that is not stored is not coded either (the LR's symbols never depend on it).
    parts = ("lr", "detail") if settings.stores_detail else ("lr",)
    workers = plane_workers()
    level = LevelTransform(net, settings.lr_step, progress=settings.progress, workers=workers)
    coded = coder.encode_parts(image, layout, tables, parts, level, workers=workers)
    return Encoded(2, models.LEVEL_MODEL, revision, weights_hash, entropy_model, tables, tables_hash,
                   coded.payloads[0], coded.crcs[0], LEVEL_MINOR,
                   coded.payloads[1] if settings.stores_detail else None)


def verify(f: IrrFile) -> None:
    verify_network(f.header)


def read(f: IrrFile, tables: EntropyTables, detail: bool, workers: int = 1) -> Stored:
    h = f.header
    layout = coder.ImageLayout(h.height, h.width, 1 if h.channels == 1 else 3, h.lr_step)
    planes_q, steps, crcs = coder.decode_symbols([f.lr_stream, f.detail_stream if detail else None], layout,
                                                 tables, ("lr", "detail"), workers)
    if crcs[0] != h.lr_crc32:
        raise ChecksumError("decoded LR image does not match its checksum: the file is corrupt")
    return Stored(planes_q, steps)


def _tile(settings: DecodeSettings) -> int:
    """The level's tile side: the user's, the whole image for None, else automatic."""
    tile = settings.tile_or(AUTO)
    return WHOLE if tile is None else tile


def thumbnail(stored: Stored, header: Header) -> np.ndarray:
    return pyramid.thumbnail(stored.planes_q, stored.steps)


def reconstruct(stored: Stored, header: Header, settings: DecodeSettings) -> np.ndarray:
    """The inverse pass; consumes ``stored`` (synthesis releases each plane as it is rebuilt)."""
    net, _ = models.load_model(header.model_name, header.model_revision)
    temperature, seed = settings.draw(header)
    level = LevelTransform(models.to_device(net, settings.device, settings.dtype), header.lr_step, temperature, seed,
                           settings.device, settings.dtype, _tile(settings), settings.progress, plane_workers())
    planes_q, stored.planes_q = stored.planes_q, None
    return pyramid.synthesise(planes_q, stored.steps, level, plane_workers())
