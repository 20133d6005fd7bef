"""The quantised wavelet pyramid of an 8-bit image, both ways: YCoCg-R -> integer wavelet per plane
(5/3 when lossless; when lossy, the wavelet the entropy model names) -> dead-zone quantisation
(none at step 1, which is exactly lossless), optionally with a learned first level; and back,
including the integer thumbnail of a 9/7 pyramid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from entropy.parallel import map_planes
from entropy.steps import LOSSLESS_STEP, band_steps
from entropy.wavelet import Bands, dwt2, idwt2, levels_for, native, ycocg_channels, ycocg_planes

# Per plane, per level, per orientation: |coefficient| / step of a lossy subband, None of a lossless one.
Magnitudes = list[list[tuple["np.ndarray | None", ...]]]


@dataclass(frozen=True)
class ImageLayout:
    """What the decoder must know before decoding: sizes, planes and the quantiser step."""

    height: int
    width: int
    channels: int  # 1 gray, 3 RGB, 4 RGBA (alpha is always lossless)
    lr_step: int  # the header's 8.8 fixed-point quantiser step; 256 = lossless

    def plane_kinds(self) -> list[str]:
        kinds = {1: ["luma"], 3: ["luma", "co", "cg"], 4: ["luma", "co", "cg", "alpha"]}
        return kinds[self.channels]

    @property
    def lossless(self) -> bool:
        return self.lr_step <= LOSSLESS_STEP

    @property
    def step(self) -> float:
        """The image step as a number (for reports and the RDO's distortion scale; never a choice)."""
        return self.lr_step / 256

    @property
    def n_symbols(self) -> int:
        return self.height * self.width * self.channels


def quantize(c: np.ndarray, step: int, reference: bool = False) -> np.ndarray:
    """Dead-zone quantiser: |q| = floor(|c| / step + 1/3); identity at step 1. Returns int32 (the
    symbols are small; int32 halves the memory of a big image's coefficients). The C pass
    (``entropy/_lifting.c``) gives the numpy path's integers; ``reference`` takes the latter."""
    if step == 1:
        return c.astype(np.int32, copy=False)
    if native is not None and not reference and c.dtype == np.int32:
        q = np.empty(c.shape, np.int32)
        native.quantize(np.ascontiguousarray(c), q, step)
        return q
    return (np.sign(c) * ((3 * np.abs(c) + step) // (3 * step))).astype(np.int32)


def dequantize(q: np.ndarray, step: int, reference: bool = False, in_place: bool = False) -> np.ndarray:
    """The reconstruction of :func:`quantize`'s symbols: |q| steps + (step >> 3), 0 at 0 (C pass
    and numpy reference as there); ``in_place`` overwrites ``q`` where the C pass can (a decoder's
    symbols, read once: no second array of the image's size)."""
    if step == 1:
        return q
    if native is not None and not reference and q.dtype == np.int32:
        q = np.ascontiguousarray(q)
        c = q if in_place else np.empty(q.shape, np.int32)
        native.dequantize(q, c, step)
        return c
    q = q.astype(np.int64)
    return (np.sign(q) * (np.abs(q) * step + (step >> 3))).astype(np.int32)


def to_planes(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 pixels -> (C, H, W) int32 planes: gray as it is, else Y, Co, Cg (and alpha)."""
    channels = pixels.shape[2]
    if channels == 1:
        return pixels.transpose(2, 0, 1).astype(np.int32)
    return ycocg_planes(pixels)


def from_planes(planes: np.ndarray, rows: int = 256) -> np.ndarray:
    """(C, H, W) int32 planes -> (H, W, C) uint8 pixels, ``rows`` at a time (a big image's
    temporaries stay a strip's size)."""
    out = np.empty((*planes.shape[1:], planes.shape[0]), np.uint8)
    for top in range(0, planes.shape[1], rows):
        strip = planes[:, top : top + rows]
        channels = ycocg_channels(strip[:3]) if planes.shape[0] >= 3 else iter([strip[0]])
        for i, channel in enumerate(channels):
            out[top : top + rows, :, i] = np.clip(channel, 0, 255)
        if planes.shape[0] == 4:
            out[top : top + rows, :, 3] = np.clip(strip[3], 0, 255)
    return out


class FirstLevel(Protocol):
    """A learned first transform level (``codec.transform``): maps the integer 9/7 level 1 of
    every plane to the coefficients that are coded, and back. Integers in fixed point both ways.

    ``lows`` is (planes, h, w), the level's low bands; ``highs`` per plane (HL, LH, HH).
    """

    def analysis(self, lows: np.ndarray, highs: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, list]: ...

    def synthesis(self, lows: np.ndarray, highs: list[tuple[np.ndarray, ...]], steps: list[dict]) -> tuple[np.ndarray, list]: ...


def _transform(plane_list: list[np.ndarray], levels: int, wavelets: list[str],
               first_level: FirstLevel | None, workers: int = 1) -> list[tuple[np.ndarray, Bands]]:
    """Every plane's wavelet pyramid; with ``first_level``, its level 1 goes through the network.
    The planes are transformed on up to ``workers`` threads (the same integers)."""
    samples = plane_list[0].size if plane_list else 0
    if first_level is None or levels == 0:
        return map_planes(lambda i: dwt2(plane_list[i], levels, wavelets[i]), len(plane_list), workers, samples)
    firsts = map_planes(lambda i: dwt2(plane_list[i], 1, wavelets[i]), len(plane_list), workers, samples)
    lows, highs = first_level.analysis(np.stack([ll for ll, _ in firsts]), [bands[0] for _, bands in firsts])
    del firsts

    def rest(i: int) -> tuple[np.ndarray, Bands]:
        ll, bands = dwt2(lows[i], levels - 1, wavelets[i], shifted=True)
        return ll, [tuple(highs[i]), *bands]

    return map_planes(rest, len(plane_list), workers, samples)


def analyse(pixels: np.ndarray, layout: ImageLayout, lossy_wavelet: str, magnitudes: Magnitudes | None = None,
            first_level: FirstLevel | None = None, workers: int = 1) -> tuple[list, list[dict]]:
    """Quantised wavelet planes of an (H, W, C) uint8 image, and each plane's band steps.

    Given a list, ``magnitudes`` receives each lossy subband's |coefficient| / step (None for a
    lossless one), the input of the encoder's rate-distortion choice (float16: 3 digits are plenty).
    The planes are worked on up to ``workers`` threads: the same integers.
    """
    levels = levels_for(layout.height, layout.width)
    steps = [band_steps(layout.lr_step, kind, levels, lossy_wavelet) for kind in layout.plane_kinds()]
    pyramids = _transform(list(to_planes(pixels)), levels, [s["wavelet"] for s in steps], first_level, workers)

    def quantised(i: int) -> tuple[tuple[np.ndarray, Bands], list | None]:
        (ll, bands), plane_steps = pyramids[i], steps[i]
        pyramids[i] = None  # each plane's coefficients go as soon as they are quantised
        # None for a lossless band (step 1, e.g. alpha): RDO must not touch it
        mags = None if magnitudes is None else [
            tuple(_magnitudes(b, plane_steps[(lvl + 1, o)]) for o, b in enumerate(level_bands))
            for lvl, level_bands in enumerate(bands)]
        ll = quantize(ll, plane_steps["ll"])
        bands = [
            tuple(quantize(b, plane_steps[(lvl + 1, o)]) for o, b in enumerate(level_bands))
            for lvl, level_bands in enumerate(bands)
        ]
        return (ll, bands), mags

    done = map_planes(quantised, len(pyramids), workers, pixels.shape[0] * pixels.shape[1])
    if magnitudes is not None:
        magnitudes.extend(mags for _, mags in done)
    return [plane_q for plane_q, _ in done], steps


def _magnitudes(band: np.ndarray, step: int) -> np.ndarray | None:
    return None if step == 1 else (np.abs(band) / step).astype(np.float16)


def empty_planes(layout: ImageLayout, lossy_wavelet: str) -> tuple[list, list[dict]]:
    """What :func:`analyse` returns for an all-zero image, from the shapes alone: the decoder's
    buffers. (Transforming a zero image would cost a tenth of a decode, and int64 planes.)"""
    levels = levels_for(layout.height, layout.width)
    planes_q, steps = [], []
    for kind in layout.plane_kinds():
        h, w = layout.height, layout.width
        bands = []
        for _ in range(levels):  # each level splits a side into ceil (low) and floor (high) halves
            low_h, high_h, low_w, high_w = (h + 1) // 2, h // 2, (w + 1) // 2, w // 2
            shapes = ((low_h, high_w), (high_h, low_w), (high_h, high_w))  # HL, LH, HH
            bands.append(tuple(np.zeros(shape, dtype=np.int32) for shape in shapes))
            h, w = low_h, low_w
        planes_q.append((np.zeros((h, w), dtype=np.int32), bands))
        steps.append(band_steps(layout.lr_step, kind, levels, lossy_wavelet))
    return planes_q, steps


def synthesise(planes_q: list, steps: list[dict], first_level: FirstLevel | None = None, workers: int = 1) -> np.ndarray:
    """Inverse of :func:`analyse` (dequantise, inverse wavelet, inverse colour): (H, W, C) uint8.

    Consumes ``planes_q``: its arrays are dequantised in place and each plane's are released once
    it is reconstructed.
    The planes are rebuilt on up to ``workers`` threads (``entropy.parallel``): the same integers.
    """
    height, width = _image_shape(planes_q[0])
    n = len(steps)

    def dequantized(i: int) -> tuple[np.ndarray, list]:
        (ll, bands), plane_steps = planes_q[i], steps[i]
        planes_q[i] = None
        return (dequantize(ll, plane_steps["ll"], in_place=True), [
            tuple(dequantize(b, plane_steps[(lvl + 1, o)], in_place=True) for o, b in enumerate(level_bands))
            for lvl, level_bands in enumerate(bands)])

    if first_level is not None and planes_q[0][1]:
        def low_band(i: int) -> tuple[np.ndarray, tuple]:
            ll, bands = dequantized(i)
            return idwt2(ll, bands[1:], steps[i]["wavelet"], shifted=True), bands[0]

        lows, highs = zip(*map_planes(low_band, n, workers, height * width // 4))
        lows, highs = first_level.synthesis(np.stack(lows), list(highs), steps)
        level_one = [(low, [tuple(high)]) for low, high in zip(lows, highs)]
        del lows, highs

        def pyramid_of(i: int) -> tuple[np.ndarray, list]:
            levels, level_one[i] = level_one[i], None
            return levels
    else:
        pyramid_of = dequantized
    planes = np.empty((n, height, width), np.int32)

    def plane(i: int) -> None:
        ll, bands = pyramid_of(i)
        idwt2(ll, bands, steps[i]["wavelet"], out=planes[i])

    map_planes(plane, n, workers, height * width)
    return from_planes(planes)


def _image_shape(plane_q: tuple[np.ndarray, list]) -> tuple[int, int]:
    """(H, W) of a plane from its pyramid: the finest level's LH band is (H // 2, ceil(W / 2)), its HL
    (ceil(H / 2), W // 2)."""
    ll, bands = plane_q
    if not bands:
        return ll.shape
    hl, lh, _ = bands[0]
    return hl.shape[0] + lh.shape[0], lh.shape[1] + hl.shape[1]


# 2-D DC gain of one unscaled 9/7 lifting level (K^2, K = 1.2301741...), as 2^-20 fixed point with
# the 4 fraction bits: a thumbnail sample is (low * _THUMB_SCALE + 2^19) >> 20.
_THUMB_SCALE = round((1 << 20) / (16 * 1.2301741049140009**2))


def thumbnail(planes_q: list, steps: list[dict]) -> np.ndarray:
    """(ceil(H/2), ceil(W/2), C) uint8: the level-1 low band of a decoded 9/7 pyramid, as pixels.

    Integer arithmetic throughout (the same thumbnail everywhere); only the LR part is needed.
    """
    lows = []
    for (ll, bands), plane_steps in zip(planes_q, steps):
        if not bands:  # too small for a wavelet level: the image is its own thumbnail
            return synthesise([(ll.copy(), bands) for ll, bands in planes_q], steps)  # leaves planes_q as it is
        bands = [tuple(dequantize(b, plane_steps[(lvl + 2, o)]) for o, b in enumerate(level)) for lvl, level in enumerate(bands[1:])]
        low = idwt2(dequantize(ll, plane_steps["ll"]), bands, plane_steps["wavelet"], shifted=True)
        lows.append(((low.astype(np.int64) * _THUMB_SCALE + (1 << 19)) >> 20).astype(np.int32))
    return from_planes(np.stack(lows))
