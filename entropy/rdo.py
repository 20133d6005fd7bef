"""The encoder's rate-distortion choices: lowering symbols where bits cost more than the error
they save, and each file's per-class bin shifts (scheme 4). Encoder only: a decoder reads
whatever symbols and shifts it is given."""

from __future__ import annotations

import functools
import math

import numpy as np

from entropy.contexts import SCHEMES, shift_bins
from entropy.parallel import map_planes
from entropy.pyramid import Magnitudes
from entropy.tables import EntropyTables, value_bits
from entropy.walk import walk

try:
    from entropy import _rdo as native
except ImportError:  # built without a C compiler: the numpy path
    native = None


# Price of a bit in squared quantiser steps: the slope of D(R) = c 2^(-2R) at D = step^2 / 12, i.e.
# high-rate theory's ln(2) / 6. On held-out training photos (scale 1, -q 16..80) it was also the best
# of 0.06..0.2: BD-rate -6.0 % against no RDO (0.09: -5.5 %, 0.15: -5.9 %).
RDO_LAMBDA = math.log(2) / 6


def lower_where_cheaper(values: np.ndarray, mags: np.ndarray, rows: np.ndarray, bits: np.ndarray,
                         tables: EntropyTables, reference: bool = False) -> np.ndarray:
    """Rate-distortion quantisation: move a nonzero symbol one step towards zero where the bits it
    saves under its own context outweigh the distortion added (D + lambda R, in squared steps).
    Encoder only: the decoder reads whatever symbols it is given; later contexts see the choice.
    The C pass (``entropy/_rdo.c``) decides as this numpy path does; ``reference`` takes the latter."""
    if native is not None and not reference:
        lowered = np.array(values, dtype=np.int32, copy=True)
        native.lower(lowered, _c_magnitudes(mags), np.ascontiguousarray(rows, dtype=np.uint8),
                     np.ascontiguousarray(bits, dtype=np.float64), bits.shape[1],
                     np.ascontiguousarray(tables.offsets, dtype=np.int32), np.ascontiguousarray(tables.lengths, dtype=np.int32),
                     RDO_LAMBDA)
        return lowered
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


def _c_magnitudes(mags: np.ndarray) -> np.ndarray:
    """Magnitudes as the C pass reads them: float16 (the encoder's) as they are, else float32."""
    return np.ascontiguousarray(mags, dtype=np.float16 if mags.dtype == np.float16 else np.float32)


ESCAPE_LOOKUP = 1 << 16  # a candidate with an |index| beyond this takes the numpy path


@functools.lru_cache(maxsize=1)
def _escape_bits() -> np.ndarray:
    """value_bits' bypass cost of an overflow, 2 log2(|index| + 2), by numpy (the C pass's lookup)."""
    return 2 * np.log2(np.arange(ESCAPE_LOOKUP, dtype=np.int64) + 2)


def _native_shift_costs(values: np.ndarray, mags: np.ndarray, bins: np.ndarray, candidate_rows: np.ndarray,
                        bits: np.ndarray, tables: EntropyTables) -> tuple | None:
    """Per candidate, (squared error, bits) of the nonzero symbols lowered under its rows, or None
    for a candidate with an overflow beyond the lookup; None without the C pass."""
    if native is None:
        return None
    return native.shift_costs(np.ascontiguousarray(values, dtype=np.int32), _c_magnitudes(mags),
                              np.ascontiguousarray(bins, dtype=np.uint8), np.ascontiguousarray(candidate_rows, dtype=np.uint8),
                              candidate_rows.shape[1], np.ascontiguousarray(bits, dtype=np.float64), bits.shape[1],
                              np.ascontiguousarray(tables.offsets, dtype=np.int32),
                              np.ascontiguousarray(tables.lengths, dtype=np.int32), _escape_bits(), RDO_LAMBDA)


# A file's per-class bin shifts (scheme 4), tried in this order so that ties keep the smaller one.
# On held-out training photos (``irr tools compare-entropy --adaptation``, ideal code lengths
# of the same symbols): -1.1 % of the bits with the shifts sent (24 bytes for LR and detail);
# adapting instead from the decoded symbols (no side information) cost +0.6 %: keep the sent ones.
# In the encoder, where the lowering follows the shifted tables, they save 2 % (9.7 % against
# w97-laplace-2 with them, 7.8 % without: ``irr tools compare-entropy``).
SHIFT_CANDIDATES = (0, -1, 1, -2, 2, -3, 3, -4, 4)


def choose_shifts(planes_q: list, kinds: list[str], steps: list[dict], tables: EntropyTables, part: str,
                   magnitudes: Magnitudes | None, reference: bool = False, workers: int = 1) -> dict[int, int]:
    """Per class of the part, the bin shift under which its symbols cost least: in bits, or where
    the encoder lowers symbols (``magnitudes``), in D + lambda R after lowering them under that
    shift's tables, as the real pass will. (Measured with contexts of unlowered neighbours: the
    walk leaves the symbols unchanged. Choosing on bits of unlowered symbols instead picked wide
    tables for symbols that the lowering then zeroed: up to 40 % more detail bytes.) The C pass
    (``entropy/_rdo.c``) prices every candidate as this numpy path does, to the last bit;
    ``reference`` takes the latter. The planes are priced on up to ``workers`` threads and their
    band passes' costs summed in walk order: the same sums, and so the same shifts, on any count."""
    scheme = SCHEMES[tables.context_scheme]
    n_bins, bits = scheme.n_bins, tables.symbol_bits()
    zero_bits = bits[np.arange(len(tables.offsets)), -tables.offsets]  # every table's cost of a 0
    all_bins = np.arange(n_bins)
    rows_by_base: dict[int, np.ndarray] = {}  # a class's (candidates, bins) table rows, per stepset

    def pass_cost(ctx: np.ndarray, values: np.ndarray, mags: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """A band pass's (zeros', nonzero symbols') cost per candidate. One band's pass: one
        stepset, so a context is its bin. Zeros (most symbols, which the lowering leaves alone)
        are counted per bin; only the nonzero ones are priced one by one."""
        b = scheme.bin_of(ctx)
        base = int(ctx[0] - b[0])
        nonzero = np.flatnonzero(values)
        zeros = np.bincount(b, minlength=n_bins) - np.bincount(b[nonzero], minlength=n_bins)
        v, nz_bins = values[nonzero], b[nonzero]
        u = None if mags is None else mags[nonzero]
        candidate_rows = rows_by_base.get(base)
        if candidate_rows is None:
            candidate_rows = rows_by_base[base] = np.stack([
                tables.context_map[base + shift_bins(all_bins, shift, n_bins)] for shift in SHIFT_CANDIDATES])
        native_costs = _native_shift_costs(v, u, nz_bins, candidate_rows, bits, tables) \
            if u is not None and not reference else None
        zero_cost, symbol_cost = np.zeros(len(SHIFT_CANDIDATES)), np.zeros(len(SHIFT_CANDIDATES))
        for i, rows_of_bin in enumerate(candidate_rows):
            zero_cost[i] = RDO_LAMBDA * float(zeros @ zero_bits[rows_of_bin])
            if native_costs is not None and native_costs[i] is not None:
                distortion, rate = native_costs[i]
                symbol_cost[i] = distortion + RDO_LAMBDA * rate
                continue
            rows = rows_of_bin[nz_bins]
            if u is None:
                symbol_cost[i] = RDO_LAMBDA * value_bits(bits, tables, rows, v).sum()
                continue
            lowered = lower_where_cheaper(v, u, rows, bits, tables, reference)
            q = np.abs(lowered)
            distortion = (u.astype(np.float64) - np.where(q > 0, q + 0.125, 0.0)) ** 2
            symbol_cost[i] = distortion.sum() + RDO_LAMBDA * value_bits(bits, tables, rows, lowered).sum()
        return zero_cost, symbol_cost

    def plane_costs(plane: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
        found = []

        def measure(ctx: np.ndarray, values: np.ndarray, mags: np.ndarray | None) -> np.ndarray:
            cls = int(scheme.class_of(ctx[0])) if ctx.size else scheme.ll_class(False)
            if scheme.shiftable(cls):  # the LL residuals have one context: nothing to shift
                found.append((cls, *pass_cost(ctx, values, mags)))
            return values

        walk(planes_q, kinds, steps, measure, scheme, magnitudes, part, tables.predictor, planes=frozenset([plane]))
        return found

    ll, bands = planes_q[0]
    samples = bands[0][0].size if bands else ll.size
    costs: dict[int, np.ndarray] = {}
    for found in map_planes(plane_costs, len(planes_q), workers, samples):
        for cls, zero_cost, symbol_cost in found:  # in walk order: the serial pass's sums
            cost = costs.setdefault(cls, np.zeros(len(SHIFT_CANDIDATES)))
            cost += zero_cost
            cost += symbol_cost
    return {cls: SHIFT_CANDIDATES[int(np.argmin(cost))] for cls, cost in costs.items()}
