"""The public encode/decode API. Data flows one way: pixels -> network -> entropy -> bitstream.

What differs between coding modes lives in ``codec.modes``; every option is checked by
``codec.settings``; this module holds what all files share: alpha, metadata and the container.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from bitstream.container import DEFAULT_MAX_PIXELS, Header, IrrFile, pack, unpack
from bitstream.errors import WeightsMismatchError
from codec import metadata as meta
from codec import models, modes, resources, targets
from codec.summary import info, thumbnail_size
from codec.pixels import ImageLike, Pixels, load, mean_gray, to_pil
from codec.settings import (DEFAULT_QUALITY, DEFAULT_SCALE, DEFAULT_TEMPERATURE, MODE_TILE, DecodeSettings,
                            EncodeSettings, check_data, plane_workers, check_max_pixels, check_targets,
                            quality_to_step)
from entropy import coder
from entropy.steps import LOSSLESS_STEP
from entropy.tables import EntropyTables

__all__ = ["DEFAULT_QUALITY", "DEFAULT_SCALE", "DEFAULT_TEMPERATURE", "Decoded", "decode", "decode_array",
           "decode_file", "decode_tensor", "encode", "info", "quality_to_step"]

def encode(image: ImageLike, *, quality: int | None = None, scale: int | None = DEFAULT_SCALE,
           lossless: bool = False, temperature: float = DEFAULT_TEMPERATURE, seed: int = 0,
           metadata: str | Iterable[str] = "all", max_pixels: int = DEFAULT_MAX_PIXELS, detail: bool | None = None,
           target_bytes: int | None = None, target_psnr: float | None = None, progress: bool = False,
           network_revision: int | None = None, entropy_model: str | None = None) -> bytes:
    """Encode an image (path, PIL image, (H, W[, C]) uint8 array, or ``codec.pixels.Pixels``) to ``.irr`` bytes.

    Args:
        quality: 1..100, higher is better (JPEG's scale: see :func:`codec.settings.level_step`); 100 (or
            ``lossless=True``) is lossless: the image itself, or with scale 2 or 4 the rescaler's LR.
            None: ``DEFAULT_QUALITY``, or the one a target picks.
        scale: None (default) codes through irr's learned level, the INN; 1 stores the image with
            the wavelet coder alone (no network); 2 or 4 store only the LR of the invertible
            rescaler (pure rescaling: the detail is never stored).
        temperature: default decode temperature written to the header (decoders may override):
            the spread of the Gaussian that models what the quantiser discarded; 0 is its mean.
        seed: seed of that draw, written to the header so every decode is reproducible.
        metadata: the metadata to carry: "all" (default), "none", or kinds among ``codec.metadata.KINDS``
            (icc, exif, xmp, text, dpi) as a list or a comma-separated string.
        max_pixels: refuse larger inputs (the default is Pillow's ``Image.MAX_IMAGE_PIXELS``).
        detail: learned level only: store its detail (True), or only the LR with all detail
            modelled (False, the IRN mode); None lets the quality decide (``DETAIL_FROM_QUALITY``).
        target_bytes: instead of a quality, the largest file of at most this many bytes
            (:mod:`codec.targets`; cwebp's ``-size``).
        target_psnr: instead of a quality, the smallest file whose decode reaches this PSNR in dB
            (cwebp's ``-psnr``; each try is decoded and measured).
        progress: show a progress bar over the network's tiles on large images.
        network_revision: the revision of the network to code with (None: the latest shipped).
        entropy_model: learned level only: the entropy model to code with, one of
            ``models.LEVEL_ENTROPY_MODELS`` (None: the newest; an older one for ablations).
    """
    kinds = meta.kinds_of(metadata)
    check_max_pixels(max_pixels)
    check_targets(target_bytes, target_psnr, quality, lossless)
    settings = EncodeSettings.checked(DEFAULT_QUALITY if quality is None else quality, scale, lossless, temperature,
                                      seed, detail, network_revision, entropy_model, progress)
    pixels = load(image, max_pixels)
    pixels = Pixels(pixels.array, pixels.metadata.only(kinds))
    if target_bytes is not None:
        return targets.encode_to_size(pixels, settings, target_bytes, encode_pixels)
    if target_psnr is not None:
        return targets.encode_to_psnr(pixels, settings, target_psnr, encode_pixels,
                                      lambda data: decode_file(data, device="cpu", max_pixels=max_pixels).array)
    return encode_pixels(pixels, settings)


def encode_pixels(pixels: Pixels, settings: EncodeSettings) -> bytes:
    """Encode normalised pixels (see :mod:`codec.pixels`) with checked settings."""
    a = pixels.array
    h, w, channels = a.shape
    e = modes.of_settings(settings).encode(a, settings)
    alpha_stream, alpha_crc = None, 0
    if channels == 4:  # always lossless, whatever the mode
        alpha = np.ascontiguousarray(a[..., 3:])
        alpha_stream, alpha_crc = modes.encode_image(alpha, LOSSLESS_STEP, e.tables)
    header = Header(
        width=w, height=h, channels=channels, scale=e.scale, quality=settings.quality,
        lr_step=settings.lr_step, model_name=e.model_name, model_revision=e.model_revision,
        weights_sha256=e.weights_sha256, temperature_milli=int(round(settings.temperature * 1000)), seed=settings.seed,
        entropy_model=e.entropy_model, tables_sha256=e.tables_sha256, lr_crc32=e.lr_crc32, alpha_crc32=alpha_crc,
    )
    return pack(IrrFile(header, e.lr_stream, alpha_stream, minor=e.minor, detail_stream=e.detail_stream,
                        **meta.to_container(pixels.metadata)))


@dataclass
class Decoded:
    """A decoded image: (H, W, C) uint8 pixels and the metadata the file carried."""

    array: np.ndarray
    metadata: meta.Metadata
    header: Header


@dataclass
class Stored:
    """What a file stores, entropy-decoded and verified: its mode's content (``codec.modes``) and
    the alpha plane."""

    header: Header
    content: object  # the mode's: handed back to its thumbnail() and reconstruct() only
    alpha: np.ndarray | None
    metadata: meta.Metadata

    @property
    def kind(self) -> str:
        return models.kind_of(self.header.model_name)

    @property
    def mode(self) -> modes.Mode:
        return modes.of_kind(self.kind)


def _tables(h: Header) -> EntropyTables:
    tables, digest = models.load_tables(h.entropy_model)
    if digest != h.tables_sha256:
        raise WeightsMismatchError(f"entropy tables {h.entropy_model} installed here differ from the encoder's")
    return tables


def read_stored(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, detail: bool = True) -> Stored:
    """Parse, check weights and tables, entropy-decode what is stored (and alpha) and verify the CRCs.

    ``detail=False`` leaves a learned-level file's detail undecoded (enough for its thumbnail).
    """
    check_max_pixels(max_pixels)
    check_data(data)
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    kind = models.kind_of(h.model_name)
    streams = len(f.lr_stream) + len(f.alpha_stream or b"") + len(f.detail_stream or b"")
    resources.check_decode_fits(h, kind, streams)
    mode = modes.of_kind(kind)
    mode.verify(f)
    tables = _tables(h)
    content = mode.read(f, tables, detail, plane_workers())
    alpha = None
    if f.alpha_stream is not None:
        alpha_layout = coder.ImageLayout(h.height, h.width, 1, LOSSLESS_STEP)
        alpha = modes.decode_image(f.alpha_stream, alpha_layout, h.alpha_crc32, "alpha plane", tables)
    return Stored(h, content, alpha, meta.from_container(f))


def thumbnail_of(s: Stored) -> Decoded:
    """The file's thumbnail (:func:`codec.summary.thumbnail_size`): the stored LR with the alpha plane
    subsampled to it; where the file stores none (scale 1, or an image too small for a wavelet
    level) the image itself, halved by Pillow's box filter."""
    out = s.mode.thumbnail(s.content, s.header)
    size = thumbnail_size(s.header)
    if out.shape[:2] != size:  # the full image (cropped, gray as gray, with its alpha): halve it
        full = finish(s, out).array
        out = np.asarray(to_pil(full).reduce(2)).reshape(*size, full.shape[2])
    elif s.alpha is not None:
        out = np.concatenate([out, s.alpha[:: s.header.scale, :: s.header.scale][: out.shape[0], : out.shape[1]]], axis=2)
    return Decoded(np.ascontiguousarray(out), s.metadata, s.header)


def finish(s: Stored, rgb: np.ndarray) -> Decoded:
    """Crop a reconstruction to the image size, back to gray if it was, and re-attach alpha."""
    h = s.header
    rgb = rgb[: h.height, : h.width]
    if h.channels == 1 and rgb.shape[2] != 1:
        rgb = mean_gray(rgb)
    out = rgb if s.alpha is None else np.concatenate([rgb, s.alpha], axis=2)
    return Decoded(np.ascontiguousarray(out), s.metadata, h)


def decode_stored(s: Stored, settings: DecodeSettings) -> Decoded:
    """The image of a verified file: its mode's reconstruction (the inverse pass; none at scale 1)."""
    return finish(s, s.mode.reconstruct(s.content, s.header, settings))


def decode_file(data: bytes, *, device: str | torch.device = "auto", temperature: float | None = None,
                seed: int | None = None, thumbnail: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                dtype: torch.dtype = torch.float32, tile: int | str | None = MODE_TILE,
                progress: bool = False) -> Decoded:
    """Decode ``.irr`` bytes; see :func:`decode`. ``tile``: LR-grid samples per tile side of the
    network's pass (None: one pass; the default is each mode's own)."""
    check_data(data)
    settings = DecodeSettings.checked(device, temperature, seed, thumbnail, max_pixels, dtype, tile, progress)
    s = read_stored(data, settings.max_pixels, detail=not settings.thumbnail)
    if settings.thumbnail:
        return thumbnail_of(s)
    settings.draw(s.header)  # the file's own temperature checked before any work
    return decode_stored(s, settings)


def decode(data: bytes, *, device: str | torch.device = "auto", temperature: float | None = None,
           seed: int | None = None, thumbnail: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
           dtype: torch.dtype = torch.float32, progress: bool = False) -> Image.Image:
    """Decode ``.irr`` bytes to a PIL image (mode L, RGB or RGBA; the metadata in ``info`` as Pillow's
    readers put it: icc_profile, exif, xmp, dpi, text records under their keys).

    Args:
        device: "auto" (CUDA when present), "cpu" or "cuda".
        temperature: latent temperature (0 = the mean of z); None uses the file's default.
        seed: seed of the latent draw; None uses the file's.
        thumbnail: return the stored LR image without running the network.
        max_pixels: refuse files declaring more pixels than this (decompression-bomb guard).
        dtype: the network's precision; float16 or bfloat16 on CUDA only (the LR stays bit-exact).
        progress: show a progress bar over the network's tiles on large images.
    """
    d = decode_file(data, device=device, temperature=temperature, seed=seed, thumbnail=thumbnail,
                    max_pixels=max_pixels, dtype=dtype, progress=progress)
    im = to_pil(d.array)
    im.info.update(meta.to_info(d.metadata))
    return im


def decode_array(data: bytes, **kwargs) -> np.ndarray:
    """Like :func:`decode`, returning an (H, W, C) uint8 array."""
    return decode_file(data, **kwargs).array


def decode_tensor(data: bytes, **kwargs) -> torch.Tensor:
    """Like :func:`decode`, returning a (C, H, W) float32 tensor in [0, 1]."""
    return torch.from_numpy(decode_array(data, **kwargs)).permute(2, 0, 1).float() / 255
