"""Frozen integer CDF tables and the learned context -> table map.

The tables are a family of discretised Laplace distributions, quantised to 16-bit integer CDFs
once (``build_family``) and shipped as integers: the decoder never recomputes a CDF from floats,
so no floating-point difference between machines can move a symbol boundary. Which table codes a
symbol is chosen by ``context_map[context_id]``, a small integer table fitted on training images
(``entropy.fitting.fit_context_map``): the learned part of the model, and it is integer too.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from entropy.contexts import Predictor

PRECISION = 16
N_SCALES = 64
SCALE_MIN, SCALE_MAX = 0.04, 400.0
MAX_SUPPORT = 1500


def family_scales() -> list[float]:
    ratio = SCALE_MAX / SCALE_MIN
    return [SCALE_MIN * ratio ** (i / (N_SCALES - 1)) for i in range(N_SCALES)]


def _laplace_pmf(scale: float, support: int) -> list[float]:
    def cdf(x: float) -> float:
        return 0.5 * math.exp(x / scale) if x < 0 else 1 - 0.5 * math.exp(-x / scale)

    return [cdf(k + 0.5) - cdf(k - 0.5) for k in range(-support, support + 1)]


SEARCH_BUCKETS = 256  # _rans.c's LOOKUP_BUCKETS


@dataclass(frozen=True)
class EntropyTables:
    """Everything the coder needs: CDFs (rows padded with zeros), their lengths and offsets, the map."""

    cdfs: np.ndarray  # (N_SCALES, max_len) int32
    lengths: np.ndarray  # (N_SCALES,) int32, CDF entries incl. the overflow symbol and the final 2^16
    offsets: np.ndarray  # (N_SCALES,) int32, value of the first symbol
    context_map: np.ndarray  # (n_contexts,) uint8 -> row of cdfs
    lossy_wavelet: str = "5/3"  # the wavelet of lossy coding (files without the field: 5/3)
    context_scheme: int = 1  # entropy.coder.SCHEMES key (files without the field: 1)
    segment_symbols: int = 0  # symbols per rANS stream; 0: one stream (files without the field)
    segment_crc: bool = False  # each segment carries the CRC-32 of its symbols (files without the field: no)
    predictor_weights: np.ndarray | None = None  # scheme 4: Predictor.weights
    predictor_thresholds: np.ndarray | None = None  # scheme 4: Predictor.thresholds

    @property
    def predictor(self) -> Predictor | None:
        if self.predictor_weights is None or self.predictor_thresholds is None:
            return None
        return Predictor(self.predictor_weights, self.predictor_thresholds)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        flat = np.concatenate([row[:n] for row, n in zip(self.cdfs, self.lengths)])
        extra = {} if (self.lossy_wavelet, self.context_scheme, self.segment_symbols) == ("5/3", 1, 0) else {
            "lossy_wavelet": np.array(self.lossy_wavelet), "context_scheme": np.array(self.context_scheme),
            "segment_symbols": np.array(self.segment_symbols)}
        if self.segment_crc:  # written only when set, so that older tables keep their bytes
            extra["segment_crc"] = np.array(True)
        if self.predictor_weights is not None:
            extra["predictor_weights"] = self.predictor_weights.astype(np.int64)
            extra["predictor_thresholds"] = self.predictor_thresholds.astype(np.int64)
        np.savez_compressed(buf, cdf_data=flat, lengths=self.lengths, offsets=self.offsets,
                            context_map=self.context_map, **extra)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> EntropyTables:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            flat, lengths = z["cdf_data"].astype(np.int32), z["lengths"].astype(np.int32)
            offsets, context_map = z["offsets"].astype(np.int32), z["context_map"].astype(np.uint8)
            wavelet = str(z["lossy_wavelet"]) if "lossy_wavelet" in z.files else "5/3"
            scheme = int(z["context_scheme"]) if "context_scheme" in z.files else 1
            segment = int(z["segment_symbols"]) if "segment_symbols" in z.files else 0
            crc = bool(z["segment_crc"]) if "segment_crc" in z.files else False
            weights = z["predictor_weights"].astype(np.int64) if "predictor_weights" in z.files else None
            thresholds = z["predictor_thresholds"].astype(np.int64) if "predictor_thresholds" in z.files else None
        cdfs = np.zeros((len(lengths), int(lengths.max())), dtype=np.int32)
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for i, n in enumerate(lengths):
            cdfs[i, :n] = flat[starts[i] : starts[i + 1]]
        return cls(cdfs, lengths, offsets, context_map, wavelet, scheme, segment, crc, weights, thresholds)

    def digest(self) -> bytes:
        return hashlib.sha256(self.to_bytes()).digest()

    def symbol_bits(self) -> np.ndarray:
        """(rows, max_len) bits of each in-table symbol, -log2 of its quantised probability."""
        pmf = np.diff(self.cdfs, axis=1).astype(np.float64) / (1 << PRECISION)
        with np.errstate(divide="ignore"):
            return -np.log2(np.where(pmf > 0, pmf, np.nan))

    @cached_property
    def search_bounds(self) -> np.ndarray:
        """The native rANS decoder's search bounds (entropy/_rans.c): per row, for k = 0..256, the
        last symbol whose cdf is <= k * 256 (uint16). A symbol of a wide row was ~12 dependent
        comparisons of a binary search over the row; within its bucket's bounds, a few. Computed
        once per set of tables (0.7 ms)."""
        points = np.arange(SEARCH_BUCKETS + 1, dtype=np.int64) * ((1 << PRECISION) // SEARCH_BUCKETS)
        out = np.zeros((len(self.cdfs), SEARCH_BUCKETS + 1), np.uint16)
        for row, (cdf, size) in enumerate(zip(self.cdfs, self.lengths)):
            out[row] = np.clip(np.searchsorted(cdf[: size - 1], points, side="right") - 1, 0, size - 2)
        return out

    def coder_lists(self) -> tuple[list[list[int]], list[int], list[int]]:
        """The (cdfs, lengths, offsets) lists compressai's rANS coder takes."""
        cdfs = [row[:n].tolist() for row, n in zip(self.cdfs, self.lengths)]
        return cdfs, self.lengths.tolist(), self.offsets.tolist()


def build_family(n_contexts: int, lossy_wavelet: str = "5/3", context_scheme: int = 1,
                 segment_symbols: int = 0, segment_crc: bool = False) -> EntropyTables:
    """Quantise the Laplace family to integer CDFs (build time only; the result is shipped)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from compressai._CXX import pmf_to_quantized_cdf

    rows, lengths, offsets = [], [], []
    for scale in family_scales():
        support = int(min(MAX_SUPPORT, max(2, math.ceil(14 * scale))))
        pmf = _laplace_pmf(scale, support)
        tail = max(0.0, 1.0 - sum(pmf))
        cdf = pmf_to_quantized_cdf(pmf + [tail], PRECISION)
        rows.append(cdf)
        lengths.append(len(cdf))
        offsets.append(-support)
    table = np.zeros((len(rows), max(lengths)), dtype=np.int32)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    default = np.full(n_contexts, N_SCALES // 2, dtype=np.uint8)
    return EntropyTables(table, np.array(lengths, np.int32), np.array(offsets, np.int32), default, lossy_wavelet,
                         context_scheme, segment_symbols, segment_crc)


def value_bits(bits: np.ndarray, tables: EntropyTables, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bits of each value under its table (``bits``: tables.symbol_bits()): the symbol's, or the
    overflow symbol's plus its bypass-coded value (about 2 * log2 of its size + 4)."""
    index = values.astype(np.int64) - tables.offsets[rows]
    n_symbols = tables.lengths[rows] - 2  # the last entry is the overflow symbol
    inside = (index >= 0) & (index < n_symbols)
    cost = bits[rows, np.where(inside, index, n_symbols)]
    return np.where(inside, cost, cost + 2 * np.log2(np.abs(index) + 2) + 4)
