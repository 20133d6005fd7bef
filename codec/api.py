"""The public encode/decode API. Data flows one way: pixels -> network -> entropy -> bitstream.

What differs between coding modes lives in ``codec.modes``; every option is checked by
``codec.settings``; this module holds what all files share: alpha, metadata and the container.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from bitstream.container import DEFAULT_MAX_PIXELS, Header, IrrFile, pack, unpack
from bitstream.errors import WeightsMismatchError
from codec import models, modes, resources
from codec.pixels import ImageLike, Pixels, load, mean_gray, to_pil
from codec.settings import (DEFAULT_QUALITY, DEFAULT_SCALE, DEFAULT_TEMPERATURE, MODE_TILE, DecodeSettings,
                            EncodeSettings, check_bool, check_data, check_max_pixels, quality_to_step)
from entropy import coder
from entropy.contexts import LOSSLESS_STEP
from entropy.tables import EntropyTables

__all__ = ["DEFAULT_QUALITY", "DEFAULT_SCALE", "DEFAULT_TEMPERATURE", "Decoded", "decode", "decode_array",
           "decode_file", "decode_tensor", "encode", "info", "quality_to_step"]

def encode(image: ImageLike, *, quality: int = DEFAULT_QUALITY, scale: int | None = DEFAULT_SCALE,
           lossless: bool = False, temperature: float = DEFAULT_TEMPERATURE, seed: int = 0,
           keep_metadata: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS, detail: bool | None = None,
           network_revision: int | None = None, entropy_model: str | None = None) -> bytes:
    """Encode an image (path, PIL image or (H, W[, C]) uint8 array) to ``.irr`` bytes.

    Args:
        quality: 1..100, higher is better (JPEG's scale: see :func:`codec.settings.level_step`); 100 (or
            ``lossless=True``) is lossless: the image itself, or with scale 2 or 4 the rescaler's LR.
        scale: None (default) codes through irr's learned level, the INN; 1 stores the image with
            the wavelet coder alone (no network); 2 or 4 store only the LR of the invertible
            rescaler (pure rescaling: the detail is never stored).
        temperature: default decode temperature written to the header (decoders may override):
            the spread of the Gaussian that models what the quantiser discarded; 0 is its mean.
        seed: seed of that draw, written to the header so every decode is reproducible.
        keep_metadata: carry the ICC profile and EXIF (False drops them, as cwebp does by default).
        max_pixels: refuse larger inputs (the default is Pillow's ``Image.MAX_IMAGE_PIXELS``).
        detail: learned level only: store its detail (True), or only the LR with all detail
            modelled (False, the IRN mode); None lets the quality decide (``DETAIL_FROM_QUALITY``).
        network_revision: the revision of the network to code with (None: the latest shipped).
        entropy_model: learned level only: the entropy model to code with, one of
            ``models.LEVEL_ENTROPY_MODELS`` (None: the newest; an older one for ablations).
    """
    check_bool("keep_metadata", keep_metadata)
    check_max_pixels(max_pixels)
    settings = EncodeSettings.checked(quality, scale, lossless, temperature, seed, detail, network_revision, entropy_model)
    pixels = load(image, max_pixels)
    if not keep_metadata:
        pixels = Pixels(pixels.array)
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
    return pack(IrrFile(header, e.lr_stream, alpha_stream, pixels.icc_profile, pixels.exif, minor=e.minor,
                        detail_stream=e.detail_stream))


@dataclass
class Decoded:
    """A decoded image: (H, W, C) uint8 pixels and the metadata the file carried."""

    array: np.ndarray
    icc_profile: bytes | None
    exif: bytes | None
    header: Header


@dataclass
class Stored:
    """What a file stores, entropy-decoded and verified: its mode's content (``codec.modes``) and
    the alpha plane."""

    header: Header
    content: object  # the mode's: handed back to its thumbnail() and reconstruct() only
    alpha: np.ndarray | None
    icc_profile: bytes | None
    exif: bytes | None

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
    content = mode.read(f, tables, detail)
    alpha = None
    if f.alpha_stream is not None:
        alpha_layout = coder.ImageLayout(h.height, h.width, 1, LOSSLESS_STEP)
        alpha = modes.decode_image(f.alpha_stream, alpha_layout, h.alpha_crc32, "alpha plane", tables)
    return Stored(h, content, alpha, f.icc_profile, f.exif)


def thumbnail_of(s: Stored) -> Decoded:
    """The stored LR (with the alpha plane subsampled to its size); a scale-1 file's is the image."""
    out = s.mode.thumbnail(s.content, s.header)
    if s.alpha is not None:
        out = np.concatenate([out, s.alpha[:: s.header.scale, :: s.header.scale][: out.shape[0], : out.shape[1]]], axis=2)
    return Decoded(out, s.icc_profile, s.exif, s.header)


def finish(s: Stored, rgb: np.ndarray) -> Decoded:
    """Crop a reconstruction to the image size, back to gray if it was, and re-attach alpha."""
    h = s.header
    rgb = rgb[: h.height, : h.width]
    if h.channels == 1 and rgb.shape[2] != 1:
        rgb = mean_gray(rgb)
    out = rgb if s.alpha is None else np.concatenate([rgb, s.alpha], axis=2)
    return Decoded(np.ascontiguousarray(out), s.icc_profile, s.exif, h)


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
    """Decode ``.irr`` bytes to a PIL image (mode L, RGB or RGBA; ICC and EXIF in ``info``).

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
    if d.icc_profile is not None:
        im.info["icc_profile"] = d.icc_profile
    if d.exif is not None:
        im.info["exif"] = d.exif
    return im


def decode_array(data: bytes, **kwargs) -> np.ndarray:
    """Like :func:`decode`, returning an (H, W, C) uint8 array."""
    return decode_file(data, **kwargs).array


def decode_tensor(data: bytes, **kwargs) -> torch.Tensor:
    """Like :func:`decode`, returning a (C, H, W) float32 tensor in [0, 1]."""
    return torch.from_numpy(decode_array(data, **kwargs)).permute(2, 0, 1).float() / 255


def info(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    """The header and chunk sizes of a file, as a JSON-ready dict (validates the whole container)."""
    check_max_pixels(max_pixels)
    check_data(data)
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    kind = models.kind_of(h.model_name) if h.model_name in models.MODEL_KINDS or h.model_name == models.DIRECT else "unknown"
    detail = {"level": "coded (quantised at the level-1 band steps; the residual modelled as Gaussian)"
              if f.detail_stream is not None else "not stored (modelled as Gaussian: its mean at temperature 0)",
              "rescaler": "never stored (the rescaler's z, modelled as N(0, I))", "none": "none (no network)",
              "unknown": "unknown model"}[kind]
    return {
        "container_version": f"1.{f.minor}",
        "kind": kind,
        "network": {"level": "learned transform level (INN)", "rescaler": "invertible rescaler (IRN)",
                    "none": "none", "unknown": "unknown"}[kind],
        "detail": detail,
        "width": h.width, "height": h.height, "channels": h.channels, "bit_depth": h.bit_depth,
        "scale": h.scale, "quality": h.quality, "lossless_lr": h.lossless_lr, "lr_step": h.lr_step / 256,
        "lr_width": h.lr_size[1], "lr_height": h.lr_size[0],
        "model": h.model_name, "model_revision": h.model_revision, "weights_sha256": h.weights_sha256.hex(),
        "temperature": h.temperature_milli / 1000, "seed": h.seed,
        "entropy_model": h.entropy_model, "tables_sha256": h.tables_sha256.hex(),
        "bytes": len(data), "bpp": 8 * len(data) / (h.width * h.height),
        "lr_stream_bytes": len(f.lr_stream),
        "detail_stream_bytes": len(f.detail_stream) if f.detail_stream is not None else 0,
        "alpha_stream_bytes": len(f.alpha_stream) if f.alpha_stream is not None else 0,
        "icc_profile_bytes": len(f.icc_profile) if f.icc_profile is not None else 0,
        "exif_bytes": len(f.exif) if f.exif is not None else 0,
        "unknown_chunks": [k.decode() for k, _ in f.unknown_chunks],
    }
