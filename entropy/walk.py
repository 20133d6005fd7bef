"""The order in which symbols are coded and the context each is coded in, for both directions.

Contexts are parallel, not serial: bands are coded coarse to fine, each in 2 (checkerboard) or 4
(2x2 polyphase) passes, as the model's context scheme says (``entropy.contexts.SCHEMES``). A
coefficient's context counts only values decoded before its pass (its parent in the coarser band,
the co-located coefficients of bands already coded at this level, the luma band for chroma and,
from the second pass on, its neighbours decoded in earlier passes). Every context is an integer
function of decoded integers, so decoding is bit-exact on any machine, thread count or device.

One function, :func:`walk`, visits the symbols in decoding order for the encoder, the decoder, the
encoder's shift choice and the tables' fitting: they cannot disagree on the order or the contexts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from entropy.contexts import PHASES, ContextScheme, Evidence, Predictor, stepset_of
from entropy.pyramid import Magnitudes
from entropy.wavelet import Bands


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
# decoder produces them (and is given None: a walk that ``produces`` gathers no values to read).
# A coder that returns the very array it was given (unchanged) leaves the band alone: nothing is
# written back (the shift choice's walks, on threads beside other planes' readers, write nothing).
# ``magnitudes`` are |coefficient| / step before quantisation where the caller has them (the
# encoder's subbands), else None.
Coder = Callable[[np.ndarray, "np.ndarray | None", "np.ndarray | None"], np.ndarray]


PARTS = ("all", "lr", "detail")


def walk(planes_q: list[tuple[np.ndarray, Bands]], kinds: list[str], steps: list[dict], code: Coder,
          scheme: ContextScheme, magnitudes: Magnitudes | None = None, part: str = "all",
          predictor: Predictor | None = None, shifts: dict[int, int] | None = None,
          before_plane: Callable[[int], None] | None = None, after_plane: Callable[[int], None] | None = None,
          planes: frozenset[int] | None = None, before_band: Callable[[int], None] | None = None,
          after_band: Callable[[int], None] | None = None, produces: bool = False) -> None:
    """Visit the quantised symbols of one part in decoding order, filling arrays in place from ``code``.

    Parts: "all" (every plane: its LL, then its levels coarse to fine), "lr" (the same without the
    finest level: the low-resolution image) and "detail" (every plane's finest level). Coding "lr"
    then "detail" visits the symbols in another order than "all" but with the same contexts:
    contexts only look at coarser levels, earlier bands of the level and the luma (and Co) plane.
    Scheme 4 bins with ``predictor`` and moves each class's bins by ``shifts`` (class -> shift).
    ``before_plane(i)`` and ``after_plane(i)`` bracket the coding of plane ``i`` (the decoder's
    threads: a plane's detail waits for the plane's LR). ``planes`` restricts the visit to those
    planes, in the contexts of the whole walk (the encoder's shift choice, a plane per thread), and
    ``before_band(i)`` / ``after_band(i)`` bracket each (level, orientation) of plane ``i``, empty
    ones included (the encoder's planes on threads: a chroma band waits for the luma's). With
    ``produces`` (the decoder), ``code`` is given None for the values: nothing is gathered for it.
    """
    # Chroma looks at the luma (and Cg at the Co) plane's bands, visited before it: the same arrays.
    luma_bands: Bands | None = next((b for (_, b), kind in zip(planes_q, kinds) if kind == "luma"), None)
    co_bands: Bands | None = next((b for (_, b), kind in zip(planes_q, kinds) if kind == "co"), None)
    for plane_index, ((ll, bands), kind, plane_steps) in enumerate(zip(planes_q, kinds, steps)):
        if planes is not None and plane_index not in planes:
            continue
        if before_plane is not None:
            before_plane(plane_index)
        chroma = kind in ("co", "cg")
        if part != "detail":
            stepset = stepset_of(plane_steps["ll"], plane_steps["wavelet"])
            # Coarsest low band: left differences (first column: up differences), one context.
            base = 128 if kind in ("luma", "alpha") and plane_steps["ll"] == 1 else 0
            residual = None
            if not produces:
                residual = np.empty_like(ll)
                residual[:, 1:] = ll[:, 1:] - ll[:, :-1]
                residual[1:, 0] = ll[1:, 0] - ll[:-1, 0]
                residual[0, 0] = ll[0, 0] - base
                residual = residual.ravel()
            ctx = np.full(ll.size, scheme.context_id(stepset, scheme.ll_class(chroma), 0), dtype=np.int64)
            coded_residual = code(ctx, residual, None)
            if coded_residual is not residual:
                coded_residual = coded_residual.reshape(ll.shape)
                first_col = np.cumsum(coded_residual[:, 0]) + base
                ll[:] = np.cumsum(np.concatenate([first_col[:, None], coded_residual[:, 1:]], axis=1), axis=1)
        finest = 1 if part != "lr" else 2
        coarsest = len(bands) if part != "detail" else min(1, len(bands))
        for level in range(coarsest, finest - 1, -1):
            coded: list[np.ndarray] = []
            for orientation in range(3):
                if before_band is not None:
                    before_band(plane_index)
                _code_band(bands, level, orientation, coded, kind, chroma, plane_steps, luma_bands, co_bands,
                           code, scheme, magnitudes, plane_index, predictor, shifts, produces)
                if after_band is not None:  # a failed band is never reported done
                    after_band(plane_index)
        if after_plane is not None:
            after_plane(plane_index)


def _code_band(bands: Bands, level: int, orientation: int, coded: list[np.ndarray], kind: str, chroma: bool,
               plane_steps: dict, luma_bands: Bands | None, co_bands: Bands | None, code: Coder,
               scheme: ContextScheme, magnitudes: Magnitudes | None, plane_index: int,
               predictor: Predictor | None, shifts: dict[int, int] | None, produces: bool) -> None:
    """One band of one plane, pass by pass (see :func:`walk`); appends it to ``coded``."""
    band = bands[level - 1][orientation]
    if band.size == 0:
        coded.append(band)
        return
    stepset = stepset_of(plane_steps[(level, orientation)], plane_steps["wavelet"])
    if scheme.learned:
        across = scheme.reads_other_planes(level)
        evidence = Evidence(
            bands[level][orientation] if level < len(bands) else None, tuple(coded),
            luma_bands[level - 1][orientation] if chroma and across and luma_bands is not None else None,
            co_bands[level - 1][orientation] if kind == "cg" and across and co_bands is not None else None, band)
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
        for pass_, (r0, c0) in enumerate(PHASES):
            view = band[r0::2, c0::2]
            if view.size == 0:
                continue
            cls = scheme.band_class(orientation, pass_, chroma, level == 1)
            bins = predictor.bins(cls, evidence, pass_, shifts.get(cls, 0) if shifts else 0)
            ctx = scheme.context_id(stepset, cls, bins)
            mags = None if band_magnitudes is None else band_magnitudes[r0::2, c0::2].ravel()
            values = None if produces else view.ravel()
            out = code(ctx, values, mags)
            if out is not values:
                view[...] = out.reshape(view.shape)
        coded.append(band)
        return
    known = np.zeros(band.shape, dtype=bool)
    for pass_, mask in enumerate(scheme.masks(band.shape)):
        cls = scheme.band_class(orientation, pass_, chroma, level == 1)
        act = activity if pass_ == 0 else activity + scheme.neighbours(np.where(known, band, 0))
        ctx = scheme.context_id(stepset, cls, scheme.bins(act[mask]))
        values = None if produces else band[mask]
        out = code(ctx, values, None if band_magnitudes is None else band_magnitudes[mask])
        if out is not values:
            band[mask] = out
        known |= mask
    coded.append(band)


def part_symbols(planes_q: list[tuple[np.ndarray, Bands]], part: str) -> int:
    """How many symbols a part codes (the decoder's buffers give the shapes)."""
    n = 0
    for ll, bands in planes_q:
        if part != "detail":
            n += ll.size + sum(b.size for level in bands[1:] for b in level)
        if part != "lr" and bands:
            n += sum(b.size for b in bands[0])
    return n
