"""A differentiable estimate of what irr's coder spends on a band pyramid, for training (torch).

It follows ``entropy.walk.walk`` symbol for symbol: the same dead-zone symbols, the same
integer contexts (parent, co-located bands, luma for chroma, neighbours of earlier passes; for
scheme 4 the tables' integer predictor over the same evidence, with each file's bin shifts taken
as 0) and, through the entropy model's context map, the same table for each symbol. Only the probability
differs: the table's continuous Laplace density integrated over the symbol's interval instead of
its 16-bit integer CDF (within 0.1 % of the real stream with the coder's own symbols; see tests).

Gradients: the value is the rate of the dead-zone symbols, and its gradient is that of the same
density evaluated at the unquantised value (a straight-through surrogate). Additive uniform noise,
the usual training proxy, is badly biased here: most symbols are zeros coded in tables so sharp
that noise of one symbol's width would cost them about a bit each instead of almost nothing.
Contexts come from detached symbols.
"""

from __future__ import annotations

import torch
from torch import Tensor

from entropy.contexts import PHASE_OFFSETS, RING, SCHEMES, ContextScheme, Predictor, stepset_of
from entropy.tables import EntropyTables, family_scales

# A symbol never costs more than this in the proxy (the coder's overflow path is rarer still).
MAX_BITS = 24.0


def table_scales(tables: EntropyTables) -> Tensor:
    """(n_contexts,) float64: the Laplace scale of the table each context codes with."""
    return torch.tensor(family_scales(), dtype=torch.float64)[torch.from_numpy(tables.context_map.astype("int64"))]


def deadzone(c: Tensor, step: float) -> Tensor:
    """entropy.pyramid.quantize on floats: |q| = floor(|c| / step + 1/3)."""
    return torch.sign(c) * torch.floor(c.abs() / step + 1 / 3)


def dequantize(q: Tensor, step: float) -> Tensor:
    """entropy.pyramid.dequantize: |q| steps plus an eighth of a step (the integer step >> 3)."""
    return torch.sign(q) * (q.abs() * step + (step // 8))


def soft_symbol(c: Tensor, step: float) -> Tensor:
    """The symbol as a continuous value: the dead zone's intervals [k - 1/3, k + 2/3) shifted onto
    [k - 1/2, k + 1/2)."""
    return torch.sign(c) * torch.relu(c.abs() / step - 1 / 6)


def _rate(hard: Tensor, soft: Tensor, scale: Tensor) -> Tensor:
    """Bits of the hard symbols, with the gradient of the soft values' bits."""
    soft_bits = laplace_bits(soft, scale)
    return soft_bits + (laplace_bits(hard, scale) - soft_bits).detach()


def laplace_bits(v: Tensor, scale: Tensor) -> Tensor:
    """-log2 of the Laplace(0, scale) mass of [v - 1/2, v + 1/2], elementwise."""
    a = v.abs()
    inner = 1 - 0.5 * torch.exp(-(0.5 - a).clamp(min=0) / scale) - 0.5 * torch.exp(-(0.5 + a) / scale)
    outer = 0.5 * torch.exp(-(a - 0.5).clamp(min=0) / scale) * (-torch.expm1(-1 / scale))
    p = torch.where(a < 0.5, inner, outer)
    return (-torch.log2(p.clamp(min=2.0**-MAX_BITS))).clamp(max=MAX_BITS)


def _differences(v: Tensor) -> Tensor:
    """entropy.coder's LL residual: left differences, up differences in the first column."""
    first = v[:, :, :1] - torch.cat([torch.zeros_like(v[:, :1, :1]), v[:, :-1, :1]], 1)
    return torch.cat([first, v[:, :, 1:] - v[:, :, :-1]], dim=2)


def _polyphase_masks(shape: tuple[int, int], scheme: ContextScheme, like: Tensor) -> list[Tensor]:
    rows = torch.arange(shape[0], device=like.device)[:, None]
    cols = torch.arange(shape[1], device=like.device)[None, :]
    if scheme.passes == 2:
        return [((rows + cols) % 2 == 0), ((rows + cols) % 2 == 1)]
    r, c = rows % 2, cols % 2
    return [(r == 0) & (c == 0), (r == 1) & (c == 1), (r == 0) & (c == 1), (r == 1) & (c == 0)]


def _neighbours(known: Tensor, scheme: ContextScheme) -> Tensor:
    p = torch.nn.functional.pad(known.abs()[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    direct = p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:]
    if scheme.passes == 2:
        return direct
    return direct + torch.div(p[:, :-2, :-2] + p[:, :-2, 2:] + p[:, 2:, :-2] + p[:, 2:, 2:], 2, rounding_mode="floor")


def _bins(activity: Tensor, scheme: ContextScheme) -> Tensor:
    bins = torch.zeros_like(activity, dtype=torch.int64)
    for t in scheme.thresholds:
        bins += activity >= t
    return bins


def _upsample(parent: Tensor, shape: tuple[int, int]) -> Tensor:
    rows = torch.clamp(torch.arange(shape[0], device=parent.device) // 2, max=parent.shape[1] - 1)
    cols = torch.clamp(torch.arange(shape[1], device=parent.device) // 2, max=parent.shape[2] - 1)
    return parent.abs()[:, rows][:, :, cols]


def _padded_sum(a: Tensor, offsets: tuple[tuple[int, int], ...], r: int) -> Tensor:
    """Sum of ``a`` (B, h, w), edge-padded by ``r``, at ``offsets`` around each position."""
    p = torch.nn.functional.pad(a[:, None].double(), (r, r, r, r), mode="replicate")[:, 0].long()
    h, w = a.shape[1:]
    total = torch.zeros_like(a)
    for dy, dx in offsets:
        total = total + p[:, r + dy : r + dy + h, r + dx : r + dx + w]
    return total


def _learned_bins(mask: Tensor, known: Tensor | None, band_terms: list[Tensor | None],
                  weights: Tensor, thresholds: Tensor) -> Tensor:
    """Scheme 4's bins (``entropy.contexts.Predictor.bins``) of one pass, as full-band maps: the
    integer weighting of every evidence term, binned at the predictor's thresholds, no shift."""
    mu = torch.full(mask.shape, int(weights[-1]), dtype=torch.int64, device=mask.device)
    phase_terms = [None] * 3 if known is None else [_padded_sum(known, PHASE_OFFSETS[k], 2)
                                                    for k in ("direct", "diagonal", "knight")]
    for weight, term in zip(weights[:-1].tolist(), band_terms + phase_terms):
        if term is not None and weight:
            mu = mu + weight * term
    bins = torch.where(mu > 0, 1 + torch.searchsorted(thresholds, mu.flatten(), right=True).view_as(mu), 0)
    return torch.where(mask, bins, torch.zeros_like(bins))


def pyramid_bits(planes: list[tuple[Tensor, list[tuple[Tensor, Tensor, Tensor]]]], kinds: list[str],
                 steps: list[dict], scheme_id: int, scales: Tensor, predictor: Predictor | None = None) -> Tensor:
    """Estimated bits per image, (B,), of unquantised band pyramids.

    Args:
        planes: per plane, (LL (B, h, w), [(HL, LH, HH) finest first]) of continuous coefficients.
            Bands of one level must share a shape (even sides all the way down, as in training).
        kinds: "luma", "co" or "cg" per plane.
        steps: per plane, the band steps as ``entropy.steps.band_steps`` gives them.
        scales: :func:`table_scales` of the entropy model.
        predictor: scheme 4's (``EntropyTables.predictor``); its per-file bin shifts are taken as 0.
    """
    scheme = SCHEMES[scheme_id]
    if scheme.learned and predictor is None:
        raise ValueError("context scheme 4 needs the tables' predictor")
    device = planes[0][0].device
    scales = scales.to(device)
    if predictor is not None:
        weights = torch.from_numpy(predictor.weights).to(device)
        thresholds = torch.from_numpy(predictor.thresholds).to(device)
    total = torch.zeros(planes[0][0].shape[0], dtype=planes[0][0].dtype, device=device)
    luma_symbols: list[tuple[Tensor, Tensor, Tensor]] | None = None
    co_symbols: list[tuple[Tensor, Tensor, Tensor]] | None = None
    for (ll, bands), kind, plane_steps in zip(planes, kinds, steps):
        chroma = kind in ("co", "cg")
        step = plane_steps["ll"]
        ctx = scheme.context_id(stepset_of(step, plane_steps["wavelet"]), scheme.ll_class(chroma), 0)
        # The LL band codes differences of its symbols (large values: the dead zone hardly matters).
        residual = _rate(_differences(deadzone(ll, step)), _differences(ll / step), scales[ctx])
        total = total + residual.flatten(1).sum(1)
        symbols = [tuple(deadzone(b, plane_steps[(lvl + 1, o)]).detach() for o, b in enumerate(level_bands))
                   for lvl, level_bands in enumerate(bands)]
        for level in range(len(bands), 0, -1):
            for orientation in range(3):
                band, q = bands[level - 1][orientation], symbols[level - 1][orientation]
                step = plane_steps[(level, orientation)]
                shape = tuple(band.shape[1:])
                earlier = [symbols[level - 1][other].abs() for other in range(orientation)]
                across = scheme.reads_other_planes(level)
                luma = luma_symbols[level - 1][orientation].abs() if chroma and across and luma_symbols is not None else None
                if scheme.learned:  # integer evidence, as the coder computes it
                    parent = symbols[level][orientation].abs().long() if level < len(bands) else None
                    co = co_symbols[level - 1][orientation] if kind == "cg" and across and co_symbols else None
                    band_terms = [None if parent is None else _upsample(parent, shape),
                                  None if parent is None else _upsample(_padded_sum(parent, RING, 1), shape),
                                  sum(earlier).long() if earlier else None, None if luma is None else luma.long(),
                                  None if co is None else co.abs().long()]
                else:
                    activity = torch.zeros_like(q)
                    if level < len(bands):
                        activity = activity + 2 * _upsample(symbols[level][orientation], shape)
                    for other in earlier:
                        activity = activity + other
                    if luma is not None:
                        activity = activity + luma
                known = torch.zeros_like(q)
                ctx = torch.zeros_like(q, dtype=torch.int64)
                stepset = stepset_of(step, plane_steps["wavelet"])
                for pass_, mask in enumerate(_polyphase_masks(shape, scheme, q)):
                    cls = scheme.band_class(orientation, pass_, chroma, level == 1)
                    if scheme.learned:
                        bins = _learned_bins(mask, known.abs().long() if pass_ else None, band_terms, weights[cls],
                                             thresholds)
                    else:
                        bins = _bins(activity if pass_ == 0 else activity + _neighbours(known, scheme), scheme)
                    ctx = torch.where(mask, scheme.context_id(stepset, cls, bins), ctx)
                    known = torch.where(mask, q, known)
                bits = _rate(q, soft_symbol(band, step), scales[ctx])
                total = total + bits.flatten(1).sum(1)
        if kind == "luma":
            luma_symbols = symbols
        if kind == "co":
            co_symbols = symbols
    return total
