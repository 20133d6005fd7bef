"""Rate targets, as cwebp's ``-size`` and ``-psnr``: the quality that meets a byte budget or a
PSNR, found by bisection over ``-q`` 1..100 (about seven encodes; a PSNR target decodes each too).

Rate and PSNR grow with the quality almost everywhere; where they do not, the bisection may miss
a better quality but never returns a file that breaks the target: every file returned was
encoded and, for a PSNR target, decoded and measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from bitstream.errors import InputError
from codec.pixels import Pixels, psnr
from codec.settings import EncodeSettings

LOWEST, HIGHEST = 1, 100


def _bisect(ok: Callable[[int], bool], rising: bool) -> int | None:
    """The highest quality with ``ok`` (``rising``: ok holds from the bottom up to some quality) or
    the lowest (ok holds from some quality to the top); None where no quality is ok."""
    low, high = LOWEST, HIGHEST
    found = None
    while low <= high:
        q = (low + high) // 2
        if ok(q):
            found = q
            low, high = (q + 1, high) if rising else (low, q - 1)
        else:
            low, high = (low, q - 1) if rising else (q + 1, high)
    return found


def encode_to_size(pixels: Pixels, settings: EncodeSettings, max_bytes: int,
                   encode: Callable[[Pixels, EncodeSettings], bytes]) -> bytes:
    """The largest file of at most ``max_bytes`` over the qualities (``settings.quality`` ignored)."""
    files: dict[int, bytes] = {}

    def fits(q: int) -> bool:
        files[q] = encode(pixels, dataclasses.replace(settings, quality=q))
        return len(files[q]) <= max_bytes

    q = _bisect(fits, rising=True)
    if q is None:
        raise InputError(f"no file fits in {max_bytes} bytes: the smallest, at -q {LOWEST}, takes {len(files[LOWEST])}")
    return max((f for f in files.values() if len(f) <= max_bytes), key=len)


def encode_to_psnr(pixels: Pixels, settings: EncodeSettings, min_psnr: float,
                   encode: Callable[[Pixels, EncodeSettings], bytes], decode: Callable[[bytes], object]) -> bytes:
    """The smallest file whose decode reaches ``min_psnr`` dB (RGB, or gray, channels; alpha is
    lossless anyway) over the qualities. ``decode``: bytes -> (H, W, C) uint8."""
    colour = pixels.array[..., : min(pixels.array.shape[2], 3)]
    files: dict[int, bytes] = {}
    scores: dict[int, float] = {}

    def reaches(q: int) -> bool:
        files[q] = encode(pixels, dataclasses.replace(settings, quality=q))
        scores[q] = psnr(colour, decode(files[q])[..., : colour.shape[2]])
        return scores[q] >= min_psnr

    q = _bisect(reaches, rising=False)
    if q is None:
        best = max(scores.values())
        raise InputError(f"no file reaches {min_psnr} dB: the best, at -q {HIGHEST}, decodes to "
                         f"{'inf' if math.isinf(best) else f'{best:.2f}'} dB (a rescaler's LR limits it: try another --scale)")
    # of equal sizes, the higher PSNR (quality and PSNR need not rise together on a small image)
    return files[min((len(files[k]), -v, k) for k, v in scores.items() if v >= min_psnr)[2]]
