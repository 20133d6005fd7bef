"""The invertible rescaler as a tool of its own (``irr downscale`` / ``irr upscale``): an ordinary
image that any viewer shows as a thumbnail, and the restore of the full-size photo from it.

The LR is the rescaler's forward pass, exactly what a ``--scale 2|4`` file stores; the restore is
the inverse pass with z at its mean (T = 0), exactly what such a file decodes to. A PNG LR carries
what the restore needs in an iTXt chunk (``irr:rescale``: model, revision, the weights' SHA-256,
the original size); an LR that lost it on the way (recompressed by a chat app, saved as JPEG) is
restored with the newest rescaler of ``--scale`` to ``scale`` times its size. The alpha plane, if
any, is resized with Pillow's bicubic filter both ways (the network is for colour).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin

from bitstream.container import DEFAULT_MAX_PIXELS
from bitstream.errors import InputError
from codec import metadata
from codec.pixels import ImageLike, Pixels, load, mean_gray, to_pil

METADATA_KEY = "irr:rescale"
CARRIED_KEY = "irr:metadata"  # the input's codec.metadata.Metadata, for save_png


@dataclass(frozen=True)
class Restore:
    """What the inverse pass needs besides the LR's pixels."""

    model: str
    revision: int
    weights_sha256: str
    width: int
    height: int


def downscale(image: ImageLike, scale: int = 2, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The rescaler's LR of ``image`` (ceil(H / scale) x ceil(W / scale)) as a PIL image; its
    ``info`` holds the ICC profile, EXIF and the restore's metadata (written by :func:`save_png`)."""
    from codec import models
    from codec.modes.rescaler import lr_of

    if scale not in (2, 4):
        raise InputError(f"scale must be 2 or 4, got {scale!r}")
    pixels = load(image, max_pixels)
    a = pixels.array
    name = models.DEFAULT_MODEL[scale]
    revision = models.latest_revision(name)
    lr = lr_of(a, scale, revision)
    out = to_pil(np.concatenate([lr, _resized(a[..., 3], lr.shape[1], lr.shape[0])], axis=2) if a.shape[2] == 4 else lr)
    weights_hash = models.load_model(name, revision)[1]
    out.info[METADATA_KEY] = Restore(name, revision, weights_hash.hex(), a.shape[1], a.shape[0])
    _carry(pixels, out)
    return out


def upscale(image: ImageLike, scale: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Restore the full-size image from an LR written by :func:`downscale` (its metadata decides
    the model and the size) or from any image with ``scale`` given (the newest rescaler of that
    scale, ``scale`` times the size). A ``scale`` that contradicts the metadata is refused."""
    from codec import models
    from codec.modes.rescaler import restore as inverse
    from codec.settings import DecodeSettings

    restore = _restore_of(image)
    pixels = load(image, max_pixels)
    if restore is None:
        if scale not in (2, 4):
            raise InputError("this image carries no irr:rescale metadata (not written by irr downscale, or it was "
                             "recompressed on the way): give --scale 2 or 4")
        name = models.DEFAULT_MODEL[scale]
        revision = models.latest_revision(name)
        net, _ = models.load_model(name, revision)
        size = (pixels.array.shape[1] * scale, pixels.array.shape[0] * scale)
    else:
        if models.kind_of(restore.model) != "rescaler":
            raise InputError(f"the image's {METADATA_KEY} metadata names {restore.model!r}, not a rescaler")
        net = models.check_weights(restore.model, restore.revision, bytes.fromhex(restore.weights_sha256))
        if scale is not None and scale != net.scale:
            raise InputError(f"--scale {scale} contradicts the image's metadata: it was downscaled x{net.scale}")
        size = (restore.width, restore.height)
        lr_size = (-(-size[0] // net.scale), -(-size[1] // net.scale))
        if (pixels.array.shape[1], pixels.array.shape[0]) != lr_size:
            raise InputError(f"the image is {pixels.array.shape[1]}x{pixels.array.shape[0]}, but its metadata says "
                             f"the x{net.scale} LR of a {size[0]}x{size[1]} image ({lr_size[0]}x{lr_size[1]})")
    a = pixels.array
    gray = a.shape[2] == 1
    rgb = inverse(net, a[..., :1] if gray else a[..., :3], 0.0, 0, DecodeSettings.checked(device="cpu"))
    rgb = mean_gray(rgb[: size[1], : size[0]]) if gray else rgb[: size[1], : size[0]]
    out = to_pil(np.concatenate([rgb, _resized(a[..., 3], *size)], axis=2) if a.shape[2] == 4 else rgb)
    _carry(pixels, out)
    return out


def save_png(im: Image.Image) -> bytes:
    """PNG bytes of :func:`downscale`'s or :func:`upscale`'s image, with the input's metadata
    (``codec.metadata``) and, for an LR, the restore's."""
    import io

    carried = im.info.get(CARRIED_KEY) or metadata.read(im, im.info.get("icc_profile"), im.info.get("exif"))
    options, _ = metadata.save_options(carried, "PNG")  # PNG holds every kind
    info = options.setdefault("pnginfo", PngImagePlugin.PngInfo())
    restore = im.info.get(METADATA_KEY)
    if isinstance(restore, Restore):
        info.add_itxt(METADATA_KEY, json.dumps(dataclasses.asdict(restore), sort_keys=True))
    buf = io.BytesIO()
    im.save(buf, "PNG", **options)
    return buf.getvalue()


def _restore_of(image: ImageLike) -> Restore | None:
    """The ``irr:rescale`` metadata of a PNG (path or PIL image), or None where there is none."""
    if isinstance(image, np.ndarray):
        return None
    if isinstance(image, Image.Image):
        text = image.info.get(METADATA_KEY)
    else:
        try:
            with Image.open(image) as im:
                text = im.info.get(METADATA_KEY)
        except (OSError, ValueError):
            return None  # load() reports what is wrong with the file
        if hasattr(image, "seek"):
            image.seek(0)
    if text is None or isinstance(text, Restore):
        return text
    try:
        fields = json.loads(str(text))
        restore = Restore(str(fields["model"]), int(fields["revision"]), str(fields["weights_sha256"]),
                          int(fields["width"]), int(fields["height"]))
        bytes.fromhex(restore.weights_sha256)
    except (ValueError, KeyError, TypeError):
        raise InputError(f"the image's {METADATA_KEY} metadata is damaged: {str(text)[:80]!r}") from None
    if not (0 < restore.width <= 1 << 20 and 0 < restore.height <= 1 << 20):
        raise InputError(f"the image's {METADATA_KEY} metadata gives an impossible size {restore.width}x{restore.height}")
    return restore


def _resized(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(plane).resize((width, height), Image.BICUBIC, reducing_gap=None))[..., None]


def _carry(pixels: Pixels, out: Image.Image) -> None:
    """The input's metadata onto ``out`` (less a restored LR's own irr:rescale record)."""
    carried = dataclasses.replace(pixels.metadata, text=tuple((k, v) for k, v in pixels.metadata.text if k != METADATA_KEY))
    out.info.update(metadata.to_info(carried))
    out.info[CARRIED_KEY] = carried
