"""Entropy coding of an 8-bit image (the LR) with compressai's rANS coder.

Pipeline: YCoCg-R -> integer wavelet per plane (5/3 when lossless; when lossy, the wavelet the
entropy model names: 5/3 for w53-laplace-1, 9/7 for w97-laplace-1) -> dead-zone quantisation (none
at step 1, which is exactly lossless) -> rANS with a table chosen per coefficient from an integer
context.

Contexts are parallel, not serial: bands are coded coarse to fine, each in 2 (checkerboard) or 4
(2x2 polyphase) passes, as the model's context scheme says (``SCHEMES``). A coefficient's context
counts only values decoded before its pass (its parent in the coarser
band, the co-located coefficients of bands already coded at this level, the luma band for chroma
and, from the second pass on, its neighbours decoded in earlier passes). Every context is an integer function of
decoded integers, so decoding is bit-exact on any machine, thread count or device.

One function, :func:`_walk`, visits the symbols in decoding order for both directions; encoder and
decoder cannot disagree on the order or the contexts because they share it.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

with warnings.catch_warnings():  # compressai's import warns about torch.jit.script; not ours to fix
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.ans import RansDecoder, RansEncoder

from bitstream.container import max_stream_bytes
from bitstream.errors import ChecksumError, FormatError, LimitError
from entropy.contexts import (LOSSLESS_STEP, SCHEMES, ContextScheme, Predictor, band_evidence, band_steps, known_padded,
                              shift_bins, stepset_of)
from entropy.tables import EntropyTables, value_bits
from entropy.wavelet import Bands, dwt2, idwt2, levels_for, ycocg_channels, ycocg_forward

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


def quantize(c: np.ndarray, step: int) -> np.ndarray:
    """Dead-zone quantiser: |q| = floor(|c| / step + 1/3); identity at step 1. Returns int32 (the
    symbols are small; int32 halves the memory of a big image's coefficients)."""
    if step == 1:
        return c.astype(np.int32, copy=False)
    return (np.sign(c) * ((3 * np.abs(c) + step) // (3 * step))).astype(np.int32)


def dequantize(q: np.ndarray, step: int) -> np.ndarray:
    if step == 1:
        return q
    q = q.astype(np.int64)
    return (np.sign(q) * (np.abs(q) * step + (step >> 3))).astype(np.int32)


def _upsample_to(parent: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """|parent| at (i // 2, j // 2), clipped to the parent's size."""
    rows = np.minimum(np.arange(shape[0]) // 2, parent.shape[0] - 1)
    cols = np.minimum(np.arange(shape[1]) // 2, parent.shape[1] - 1)
    return np.abs(parent)[np.ix_(rows, cols)]


def _fit(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """|a| cropped or edge-extended to ``shape`` (bands of one level differ by one on odd sides)."""
    a = np.abs(a[: shape[0], : shape[1]])
    pad = ((0, shape[0] - a.shape[0]), (0, shape[1] - a.shape[1]))
    return np.pad(a, pad, mode="edge") if a.size and any(p[1] for p in pad) else a if a.size else np.zeros(shape, a.dtype)


# coder(context_ids, values, magnitudes) -> values: the encoder records (and may lower) values, the
# decoder produces them. ``magnitudes`` are |coefficient| / step before quantisation where the
# caller has them (the encoder's subbands), else None.
Coder = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], np.ndarray]
# Per plane, per level, per orientation: |coefficient| / step of a lossy subband, None of a lossless one.
Magnitudes = list[list[tuple["np.ndarray | None", ...]]]


PARTS = ("all", "lr", "detail")


def _walk(planes_q: list[tuple[np.ndarray, Bands]], kinds: list[str], steps: list[dict], code: Coder,
          scheme: ContextScheme, magnitudes: Magnitudes | None = None, part: str = "all",
          predictor: Predictor | None = None, shifts: dict[int, int] | None = None) -> None:
    """Visit the quantised symbols of one part in decoding order, filling arrays in place from ``code``.

    Parts: "all" (every plane: its LL, then its levels coarse to fine), "lr" (the same without the
    finest level: the low-resolution image) and "detail" (every plane's finest level). Coding "lr"
    then "detail" visits the symbols in another order than "all" but with the same contexts:
    contexts only look at coarser levels, earlier bands of the level and the luma (and Co) plane.
    Scheme 4 bins with ``predictor`` and moves each class's bins by ``shifts`` (class -> shift).
    """
    n_classes, n_bins = scheme.n_classes, scheme.n_bins
    luma_bands: Bands | None = None
    co_bands: Bands | None = None
    for plane_index, ((ll, bands), kind, plane_steps) in enumerate(zip(planes_q, kinds, steps)):
        chroma = kind in ("co", "cg")
        if part != "detail":
            stepset = stepset_of(plane_steps["ll"], plane_steps["wavelet"])
            # Coarsest low band: left differences (first column: up differences), one context.
            base = 128 if kind in ("luma", "alpha") and plane_steps["ll"] == 1 else 0
            residual = np.empty_like(ll)
            residual[:, 1:] = ll[:, 1:] - ll[:, :-1]
            residual[1:, 0] = ll[1:, 0] - ll[:-1, 0]
            residual[0, 0] = ll[0, 0] - base
            ctx = np.full(ll.size, (stepset * n_classes + n_classes - 2 + chroma) * n_bins, dtype=np.int64)
            residual = code(ctx, residual.ravel(), None).reshape(ll.shape)
            first_col = np.cumsum(residual[:, 0]) + base
            ll[:] = np.cumsum(np.concatenate([first_col[:, None], residual[:, 1:]], axis=1), axis=1)
        finest = 1 if part != "lr" else 2
        coarsest = len(bands) if part != "detail" else min(1, len(bands))
        for level in range(coarsest, finest - 1, -1):
            coded: list[np.ndarray] = []
            for orientation in range(3):
                band = bands[level - 1][orientation]
                if band.size == 0:
                    coded.append(band)
                    continue
                stepset = stepset_of(plane_steps[(level, orientation)], plane_steps["wavelet"])
                if scheme.learned:
                    evidence = band_evidence(
                        bands[level][orientation] if level < len(bands) else None, coded,
                        luma_bands[level - 1][orientation] if chroma and luma_bands is not None else None,
                        co_bands[level - 1][orientation] if kind == "cg" and co_bands is not None else None, band.shape)
                else:
                    if level < len(bands):
                        activity = 2 * _upsample_to(bands[level][orientation], band.shape)
                    else:
                        activity = np.zeros(band.shape, dtype=np.int32)
                    for other in coded:
                        activity = activity + _fit(other, band.shape)
                    if chroma and luma_bands is not None:
                        activity = activity + np.abs(luma_bands[level - 1][orientation])
                band_magnitudes = None if magnitudes is None else magnitudes[plane_index][level - 1][orientation]
                if scheme.learned:  # the same passes as strided views, not masks: a quarter of the work
                    phases = scheme.phases()
                    for pass_, (r0, c0) in enumerate(phases):
                        view = band[r0::2, c0::2]
                        if view.size == 0:
                            continue
                        cls = scheme.band_class(orientation, pass_, chroma, level == 1)
                        bins = predictor.bins(cls, evidence, (r0, c0), known_padded(band, phases[:pass_]) if pass_ else None,
                                              view.size)
                        ctx = (stepset * n_classes + cls) * n_bins + shift_bins(bins, shifts.get(cls, 0) if shifts else 0, n_bins)
                        mags = None if band_magnitudes is None else band_magnitudes[r0::2, c0::2].ravel()
                        view[...] = code(ctx, view.ravel(), mags).reshape(view.shape)
                    coded.append(band)
                    continue
                known = np.zeros(band.shape, dtype=bool)
                for pass_, mask in enumerate(scheme.masks(band.shape)):
                    cls = scheme.band_class(orientation, pass_, chroma, level == 1)
                    act = activity if pass_ == 0 else activity + scheme.neighbours(np.where(known, band, 0))
                    ctx = (stepset * n_classes + cls) * n_bins + scheme.bins(act[mask])
                    band[mask] = code(ctx, band[mask], None if band_magnitudes is None else band_magnitudes[mask])
                    known |= mask
                coded.append(band)
        if kind == "luma":
            luma_bands = bands
        if kind == "co":
            co_bands = bands


def part_symbols(planes_q: list[tuple[np.ndarray, Bands]], part: str) -> int:
    """How many symbols a part codes (the decoder's buffers give the shapes)."""
    n = 0
    for ll, bands in planes_q:
        if part != "detail":
            n += ll.size + sum(b.size for level in bands[1:] for b in level)
        if part != "lr" and bands:
            n += sum(b.size for b in bands[0])
    return n


def _to_planes(pixels: np.ndarray) -> np.ndarray:
    channels = pixels.shape[2]
    if channels == 1:
        return pixels.transpose(2, 0, 1).astype(np.int32)
    planes = ycocg_forward(pixels[..., :3])
    if channels == 4:
        planes = np.concatenate([planes, pixels[None, ..., 3].astype(np.int32)])
    return planes


def _from_planes(planes: np.ndarray, rows: int = 256) -> np.ndarray:
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
               first_level: FirstLevel | None) -> list[tuple[np.ndarray, Bands]]:
    """Every plane's wavelet pyramid; with ``first_level``, its level 1 goes through the network."""
    if first_level is None or levels == 0:
        return [dwt2(plane, levels, wavelet) for plane, wavelet in zip(plane_list, wavelets)]
    firsts = [dwt2(plane, 1, wavelet) for plane, wavelet in zip(plane_list, wavelets)]
    lows, highs = first_level.analysis(np.stack([ll for ll, _ in firsts]), [bands[0] for _, bands in firsts])
    del firsts
    pyramids = []
    for low, high, wavelet in zip(lows, highs, wavelets):
        ll, bands = dwt2(low, levels - 1, wavelet, shifted=True)
        pyramids.append((ll, [tuple(high), *bands]))
    return pyramids


def analyse(pixels: np.ndarray, layout: ImageLayout, lossy_wavelet: str, magnitudes: Magnitudes | None = None,
            first_level: FirstLevel | None = None) -> tuple[list, list[dict]]:
    """Quantised wavelet planes of an (H, W, C) uint8 image, and each plane's band steps.

    Given a list, ``magnitudes`` receives each lossy subband's |coefficient| / step (None for a
    lossless one), the input of the encoder's rate-distortion choice (float16: 3 digits are plenty).
    """
    levels = levels_for(layout.height, layout.width)
    steps = [band_steps(layout.lr_step, kind, levels, lossy_wavelet) for kind in layout.plane_kinds()]
    pyramids = _transform(list(_to_planes(pixels)), levels, [s["wavelet"] for s in steps], first_level)
    planes_q = []
    for (ll, bands), plane_steps in zip(pyramids, steps):
        if magnitudes is not None:  # None for a lossless band (step 1, e.g. alpha): RDO must not touch it
            magnitudes.append([
                tuple(_magnitudes(b, plane_steps[(lvl + 1, o)]) for o, b in enumerate(level_bands))
                for lvl, level_bands in enumerate(bands)
            ])
        ll = quantize(ll, plane_steps["ll"])
        bands = [
            tuple(quantize(b, plane_steps[(lvl + 1, o)]) for o, b in enumerate(level_bands))
            for lvl, level_bands in enumerate(bands)
        ]
        planes_q.append((ll, bands))
    return planes_q, steps


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


def synthesise(planes_q: list, steps: list[dict], first_level: FirstLevel | None = None) -> np.ndarray:
    """Inverse of :func:`analyse` (dequantise, inverse wavelet, inverse colour): (H, W, C) uint8.

    Consumes ``planes_q``: each plane's coefficients are released once they are reconstructed.
    """
    dequantized = []
    for i, plane_steps in enumerate(steps):
        ll, bands = planes_q[i]
        planes_q[i] = None
        dequantized.append((dequantize(ll, plane_steps["ll"]), [
            tuple(dequantize(b, plane_steps[(lvl + 1, o)]) for o, b in enumerate(level_bands))
            for lvl, level_bands in enumerate(bands)]))
        del ll, bands
    if first_level is not None and dequantized[0][1]:
        lows = np.stack([idwt2(ll, bands[1:], s["wavelet"], shifted=True) for (ll, bands), s in zip(dequantized, steps)])
        highs = [bands[0] for _, bands in dequantized]
        dequantized = None
        lows, highs = first_level.synthesis(lows, highs, steps)
        dequantized = [(low, [tuple(high)]) for low, high in zip(lows, highs)]
    planes = None
    for i, plane_steps in enumerate(steps):
        ll, bands = dequantized[i]
        dequantized[i] = None
        plane = idwt2(ll, bands, plane_steps["wavelet"])
        del ll, bands
        if planes is None:
            planes = np.empty((len(steps), *plane.shape), np.int32)
        planes[i] = plane
        del plane
    return _from_planes(planes)


def _rans_encode(values: np.ndarray, table_rows: np.ndarray, coder_lists: tuple) -> bytes:
    """One rANS stream. compressai's encoder writes into a buffer of one 32-bit word per symbol and
    overruns it (heap corruption) when the stream is longer. Near-free trailing symbols (a zero in
    the sharpest table, ~1e-4 bit each) enlarge that buffer; the decoder stops before it reaches them."""
    n_pad = values.size // 2 + 16
    return RansEncoder().encode_with_indexes(
        np.concatenate([values, np.zeros(n_pad, np.int32)]).tolist(),
        np.concatenate([table_rows, np.zeros(n_pad, np.uint8)]).tolist(), *coder_lists)


def _segments(n_symbols: int, tables: EntropyTables) -> list[tuple[int, int]]:
    """[start, stop) of each rANS stream: one for the first model, else ``segment_symbols`` each."""
    size = tables.segment_symbols or max(1, n_symbols)
    return [(start, min(n_symbols, start + size)) for start in range(0, n_symbols, size)]


@dataclass
class Coded:
    """What :func:`encode_parts` produced: a payload per part, and what the decoder will hold."""

    payloads: list[bytes]
    crcs: list[int]  # per payload, CRC-32 of its symbols in coding order (int32 big-endian)
    planes_q: list  # the quantised pyramid; synthesise(planes_q, steps) is the decoded image
    steps: list[dict]


def encode_parts(pixels: np.ndarray, layout: ImageLayout, tables: EntropyTables, parts: tuple[str, ...] = ("all",),
                 first_level: FirstLevel | None = None, rdo: bool = True, adapt: bool = True) -> Coded:
    """Code an (H, W, C) uint8 image, one payload per part (see :func:`_walk`).

    A payload is one rANS stream (``w53-laplace-1``) or, when the model cuts the symbols into
    segments of ``segment_symbols``, a table of segment lengths (u32 big-endian; with
    ``segment_crc`` each followed by the CRC-32 of its symbols) followed by the segments: encoder
    and decoder then hold one segment's buffers at a time, not the image's, and a decoder detects
    a damaged segment when it ends. Scheme 4 puts its bin shifts before that (``_pack_shifts``).
    ``rdo=False`` codes the quantised symbols as they are (comparing models on equal symbols);
    ``adapt=False`` stores zero shifts (the ablation of the per-file adaptation).
    """
    if pixels.shape != (layout.height, layout.width, layout.channels) or pixels.dtype != np.uint8:
        raise ValueError(f"pixels {pixels.shape} {pixels.dtype} do not match {layout}")
    magnitudes: Magnitudes | None = [] if rdo and not layout.lossless and RDO_LAMBDA > 0 else None
    planes_q, steps = analyse(pixels, layout, tables.lossy_wavelet, magnitudes, first_level)
    bits = tables.symbol_bits() if magnitudes is not None else None
    lists = tables.coder_lists()  # the CDFs as Python lists once, not once per segment
    scheme = SCHEMES[tables.context_scheme]
    chroma = layout.channels >= 3
    payloads, crcs = [], []
    for part in parts:
        symbols: list[np.ndarray] = []
        indexes: list[np.ndarray] = []
        shifts = None
        if scheme.learned:
            shifts = _choose_shifts(planes_q, layout.plane_kinds(), steps, tables, part, magnitudes) if adapt else {}
        prefix = _pack_shifts(scheme.part_classes(part, chroma), shifts) if scheme.learned else b""

        def record(ctx: np.ndarray, values: np.ndarray, mags: np.ndarray | None) -> np.ndarray:
            rows = tables.context_map[ctx]  # uint8 table rows: small, unlike the int64 contexts
            if mags is not None and bits is not None:
                values = _lower_where_cheaper(values, mags, rows, bits, tables)
            indexes.append(rows)
            symbols.append(values.astype(np.int32, copy=False))
            return values

        _walk(planes_q, layout.plane_kinds(), steps, record, scheme, magnitudes, part, tables.predictor, shifts)
        values = np.concatenate(symbols) if symbols else np.zeros(0, np.int32)
        table_rows = np.concatenate(indexes) if indexes else np.zeros(0, np.uint8)
        symbols.clear()
        indexes.clear()
        streams, head, crc = [], [], 0
        for a, b in _segments(values.size, tables):
            streams.append(_rans_encode(values[a:b], table_rows[a:b], lists))
            head.append(len(streams[-1]).to_bytes(4, "big"))
            as_bytes = values[a:b].astype(">i4").tobytes()
            crc = zlib.crc32(as_bytes, crc)
            if tables.segment_crc:
                head.append(zlib.crc32(as_bytes).to_bytes(4, "big"))
        payloads.append(prefix + (b"".join(head + streams) if tables.segment_symbols else streams[0]))
        crcs.append(crc)
    return Coded(payloads, crcs, planes_q, steps)


def encode(pixels: np.ndarray, layout: ImageLayout, tables: EntropyTables) -> tuple[bytes, np.ndarray]:
    """Code an (H, W, C) uint8 image as one payload; returns it and the image the decoder will see."""
    coded = encode_parts(pixels, layout, tables)
    return coded.payloads[0], synthesise(coded.planes_q, coded.steps)


# A file's per-class bin shifts (scheme 4), tried in this order so that ties keep the smaller one.
# On held-out training photos (``irr tools compare-entropy --adaptation``, ideal code lengths
# of the same symbols): -1.1 % of the bits with the shifts sent (24 bytes for LR and detail);
# adapting instead from the decoded symbols (no side information) cost +0.6 %: keep the sent ones.
# In the encoder, where the lowering follows the shifted tables, they save 2 % (9.7 % against
# w97-laplace-2 with them, 7.8 % without: ``irr tools compare-entropy``).
SHIFT_CANDIDATES = (0, -1, 1, -2, 2, -3, 3, -4, 4)


def _choose_shifts(planes_q: list, kinds: list[str], steps: list[dict], tables: EntropyTables, part: str,
                   magnitudes: Magnitudes | None) -> dict[int, int]:
    """Per class of the part, the bin shift under which its symbols cost least: in bits, or where
    the encoder lowers symbols (``magnitudes``), in D + lambda R after lowering them under that
    shift's tables, as the real pass will. (Measured with contexts of unlowered neighbours: the
    walk leaves the symbols unchanged. Choosing on bits of unlowered symbols instead picked wide
    tables for symbols that the lowering then zeroed: up to 40 % more detail bytes.)"""
    scheme = SCHEMES[tables.context_scheme]
    n_bins, bits = scheme.n_bins, tables.symbol_bits()
    zero_bits = bits[np.arange(len(tables.offsets)), -tables.offsets]  # every table's cost of a 0
    all_bins = np.arange(n_bins)
    costs: dict[int, np.ndarray] = {}

    def measure(ctx: np.ndarray, values: np.ndarray, mags: np.ndarray | None) -> np.ndarray:
        cls = int(ctx[0] // n_bins) % scheme.n_classes if ctx.size else scheme.n_classes
        if cls < scheme.n_classes - 2:  # the LL residuals have one context: nothing to shift
            # One band's pass: one stepset, so a context is its bin. Zeros (most symbols, which the
            # lowering leaves alone) are counted per bin; only the nonzero ones are coded one by one.
            b = ctx % n_bins
            base = int(ctx[0] - b[0])
            nonzero = np.flatnonzero(values)
            zeros = np.bincount(b, minlength=n_bins) - np.bincount(b[nonzero], minlength=n_bins)
            v, nz_bins = values[nonzero], b[nonzero]
            u = None if mags is None else mags[nonzero]
            cost = costs.setdefault(cls, np.zeros(len(SHIFT_CANDIDATES)))
            for i, shift in enumerate(SHIFT_CANDIDATES):
                rows_of_bin = tables.context_map[base + shift_bins(all_bins, shift, n_bins)]
                rows = rows_of_bin[nz_bins]
                cost[i] += RDO_LAMBDA * float(zeros @ zero_bits[rows_of_bin])
                if u is None:
                    cost[i] += RDO_LAMBDA * value_bits(bits, tables, rows, v).sum()
                    continue
                lowered = _lower_where_cheaper(v, u, rows, bits, tables)
                q = np.abs(lowered)
                distortion = (u.astype(np.float64) - np.where(q > 0, q + 0.125, 0.0)) ** 2
                cost[i] += distortion.sum() + RDO_LAMBDA * value_bits(bits, tables, rows, lowered).sum()
        return values

    _walk(planes_q, kinds, steps, measure, scheme, magnitudes, part, tables.predictor)
    return {cls: SHIFT_CANDIDATES[int(np.argmin(cost))] for cls, cost in costs.items()}


def _pack_shifts(classes: list[int], shifts: dict[int, int]) -> bytes:
    """The shifts of ``classes`` (always an even number: 12 per plane group) as 4-bit nibbles,
    shift + 8, high nibble first: every nibble is a valid shift of -8..7."""
    nibbles = [shifts.get(cls, 0) + 8 for cls in classes]
    return bytes((hi << 4) | lo for hi, lo in zip(nibbles[::2], nibbles[1::2]))


def _unpack_shifts(payload: bytes, classes: list[int], what: str) -> tuple[dict[int, int], bytes]:
    n = len(classes) // 2
    if len(payload) < n:
        raise FormatError(f"the {what} stream ends inside its context shifts: the file is corrupt")
    nibbles = [v for byte in payload[:n] for v in (byte >> 4, byte & 15)]
    return {cls: nibble - 8 for cls, nibble in zip(classes, nibbles)}, payload[n:]


# Price of a bit in squared quantiser steps: the slope of D(R) = c 2^(-2R) at D = step^2 / 12, i.e.
# high-rate theory's ln(2) / 6. On held-out training photos (scale 1, -q 16..80) it was also the best
# of 0.06..0.2: BD-rate -6.0 % against no RDO (0.09: -5.5 %, 0.15: -5.9 %).
RDO_LAMBDA = math.log(2) / 6


def _lower_where_cheaper(values: np.ndarray, mags: np.ndarray, rows: np.ndarray, bits: np.ndarray,
                         tables: EntropyTables) -> np.ndarray:
    """Rate-distortion quantisation: move a nonzero symbol one step towards zero where the bits it
    saves under its own context outweigh the distortion added (D + lambda R, in squared steps).
    Encoder only: the decoder reads whatever symbols it is given; later contexts see the choice."""
    nonzero = np.flatnonzero(values)
    if nonzero.size == 0:
        return values
    v, u, r = values[nonzero], mags[nonzero], rows[nonzero]
    sign = np.sign(v)
    q = np.abs(v)
    offset, n_symbols = tables.offsets[r], tables.lengths[r] - 2  # the last entry is the overflow symbol
    keep_index, lower_index = v - offset, v - sign - offset
    in_table = (keep_index >= 0) & (keep_index < n_symbols) & (lower_index >= 0) & (lower_index < n_symbols)
    keep_index, lower_index = np.where(in_table, keep_index, 0), np.where(in_table, lower_index, 0)
    # dequantize() reconstructs |q| >= 1 at |q| steps + (step >> 3), ~1/8 of a step, and 0 at 0
    keep_cost = (u - (q + 0.125)) ** 2 + RDO_LAMBDA * bits[r, keep_index]
    lower_cost = (u - np.where(q > 1, q - 0.875, 0.0)) ** 2 + RDO_LAMBDA * bits[r, lower_index]
    lower = in_table & (lower_cost < keep_cost)
    values = values.copy()
    values[nonzero[lower]] -= sign[lower]
    return values


def padding(stream_bytes: int, n_symbols: int) -> int:
    """Zero bytes appended to a stream before compressai's decoder, which reads without bounds checks.

    A symbol reads at most a few words, except an overflow symbol's bypass: its escape nibbles
    (each 15) can run through the whole stream, adding 15 to a count per 4 bits, and then that
    many nibbles are read: up to 15x the stream's length. Padding past that keeps every read of
    even a forged stream inside the buffer (the decoded garbage is then caught by the LR's CRC).
    """
    return 16 * (stream_bytes + n_symbols) + 64


class _SegmentedDecoder:
    """Decodes symbols across segment boundaries, one segment's buffer in memory at a time."""

    def __init__(self, payload: bytes, n_symbols: int, tables: EntropyTables, what: str) -> None:
        self.cdfs, self.lengths, self.offsets = tables.coder_lists()
        self.segments = _segments(n_symbols, tables)
        self.what = what
        self.crcs: list[int] | None = None
        if tables.segment_symbols:
            entry = 8 if tables.segment_crc else 4
            head = entry * len(self.segments)
            if len(payload) < head:
                raise FormatError(f"the {what} stream ends inside its segment table: the file is corrupt")
            fields = [int.from_bytes(payload[i : i + 4], "big") for i in range(0, head, 4)]
            sizes = fields[:: entry // 4]
            if tables.segment_crc:
                self.crcs = fields[1::2]
            if head + sum(sizes) != len(payload):
                raise FormatError(f"the {what} stream's segment table does not match its length: the file is corrupt")
            for size, (start, stop) in zip(sizes, self.segments):
                if size > max_stream_bytes(stop - start):
                    raise LimitError(f"a {what} segment of {size} bytes exceeds the bound for {stop - start} symbols")
            ends = np.cumsum([head, *sizes]).tolist()
            self.streams = [payload[ends[i] : ends[i + 1]] for i in range(len(sizes))]
        else:
            self.streams = [payload]
        self.index = -1
        self.left = 0
        self.crc = 0  # of the current segment's symbols so far
        self.total_crc = 0
        self.decoder = RansDecoder()

    def _check(self) -> None:
        """A finished segment's symbols against its CRC: damage is found one segment in, not at the end."""
        if self.crcs is not None and self.index >= 0 and self.crc != self.crcs[self.index]:
            raise ChecksumError(f"segment {self.index + 1} of {len(self.segments)} of the {self.what} stream "
                                "does not match its checksum: the file is corrupt")

    def _next(self) -> None:
        self._check()
        self.index += 1
        start, stop = self.segments[self.index]
        self.decoder.set_stream(self.streams[self.index] + bytes(padding(len(self.streams[self.index]), stop - start)))
        self.left = stop - start
        self.crc = 0

    def read(self, table_rows: np.ndarray) -> np.ndarray:
        """Decode one symbol per entry of ``table_rows`` (uint8 rows of the tables)."""
        out = np.empty(table_rows.size, np.int32)
        done = 0
        while done < table_rows.size:
            if self.left == 0:
                self._next()
            take = table_rows[done : done + self.left]
            # compressai converts every table it is given on every call (~1 ms for the 64 rows):
            # pass only the rows this call uses, renumbered.
            used = np.flatnonzero(np.bincount(take, minlength=len(self.cdfs)))
            renumber = np.zeros(len(self.cdfs), np.int32)
            renumber[used] = np.arange(used.size, dtype=np.int32)
            decoded = np.asarray(self.decoder.decode_stream(
                renumber[take].tolist(), [self.cdfs[i] for i in used], [self.lengths[i] for i in used],
                [self.offsets[i] for i in used]), dtype=np.int32)
            as_bytes = decoded.astype(">i4").tobytes()
            self.crc = zlib.crc32(as_bytes, self.crc)
            self.total_crc = zlib.crc32(as_bytes, self.total_crc)
            out[done : done + take.size] = decoded
            done += take.size
            self.left -= take.size
        return out

    def finish(self) -> int:
        """Checks the last segment; returns the CRC of all symbols (as :class:`Coded` has it)."""
        self._check()
        return self.total_crc


def decode_symbols(payloads: list[bytes | None], layout: ImageLayout, tables: EntropyTables,
                   parts: tuple[str, ...]) -> tuple[list, list[dict], list[int]]:
    """Inverse of :func:`encode_parts` up to the symbols: the quantised pyramid (see :func:`analyse`),
    the band steps, and each payload's symbol CRC. A part given as None was not stored: its
    symbols stay zero. Each segment is bounded by its symbol count before the native decoder sees it.
    """
    planes_q, steps = empty_planes(layout, tables.lossy_wavelet)  # filled in place
    scheme = SCHEMES[tables.context_scheme]
    crcs = []
    for part, payload in zip(parts, payloads):
        if payload is None:
            crcs.append(0)
            continue
        n_symbols = part_symbols(planes_q, part)
        what = {"all": "image", "lr": "LR", "detail": "detail"}[part]
        shifts = None
        if scheme.learned:
            shifts, payload = _unpack_shifts(payload, scheme.part_classes(part, layout.channels >= 3), what)
        if not tables.segment_symbols and len(payload) > max_stream_bytes(n_symbols):  # else: per segment
            raise LimitError(f"{what} stream of {len(payload)} bytes exceeds the bound for {n_symbols} symbols")
        reader = _SegmentedDecoder(payload, n_symbols, tables, what)

        def produce(ctx: np.ndarray, _: np.ndarray, __: np.ndarray | None) -> np.ndarray:
            return reader.read(tables.context_map[ctx])

        _walk(planes_q, layout.plane_kinds(), steps, produce, scheme, part=part, predictor=tables.predictor, shifts=shifts)
        crcs.append(reader.finish())
    return planes_q, steps, crcs


def decode(stream: bytes, layout: ImageLayout, tables: EntropyTables, max_stream: int) -> np.ndarray:
    """Inverse of :func:`encode`; the stream's size is checked before the native decoder sees it."""
    if len(stream) > max_stream:
        raise LimitError(f"LR stream of {len(stream)} bytes exceeds the {max_stream}-byte bound for {layout}")
    planes_q, steps, _ = decode_symbols([stream], layout, tables, ("all",))
    return synthesise(planes_q, steps)


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
            return synthesise(list(planes_q), steps)
        bands = [tuple(dequantize(b, plane_steps[(lvl + 2, o)]) for o, b in enumerate(level)) for lvl, level in enumerate(bands[1:])]
        low = idwt2(dequantize(ll, plane_steps["ll"]), bands, plane_steps["wavelet"], shifted=True)
        lows.append(((low.astype(np.int64) * _THUMB_SCALE + (1 << 19)) >> 20).astype(np.int32))
    return _from_planes(np.stack(lows))


def collect_statistics(pixels: np.ndarray, layout: ImageLayout, lossy_wavelet: str, context_scheme: int,
                       first_level: FirstLevel | None = None, parts: tuple[str, ...] = ("all",),
                       predictor: Predictor | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(context ids, values) for every symbol of an image: the data the context map is fitted on
    (scheme 4: under ``predictor``, with no shifts)."""
    planes_q, steps = analyse(pixels, layout, lossy_wavelet, first_level=first_level)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def record(ctx: np.ndarray, values: np.ndarray, _: np.ndarray | None) -> np.ndarray:
        pairs.append((ctx, values.copy()))
        return values

    for part in parts:
        _walk(planes_q, layout.plane_kinds(), steps, record, SCHEMES[context_scheme], part=part, predictor=predictor)
    return pairs
