"""What chooses a table: context schemes, activity bins and scheme 4's learned predictor (the
band steps are ``entropy.steps``).

Everything here is integer arithmetic on integers, so an encoder and a decoder on any machine pick
the same table for every symbol. Kept apart from the coder
(which needs compressai's native rANS) so that training's rate proxy can share it on a plain
torch install.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from entropy.wavelet import FRACTION_BITS

try:
    from entropy import _contexts as native
except ImportError:  # built without a C compiler: the numpy path
    native = None

N_BINS = 12
N_STEPSETS = 7


@dataclass(frozen=True)
class ContextScheme:
    """How a band's symbols are split into parallel passes and how activity becomes a context.

    1 (w53-laplace-1): checkerboard, 2 passes; the second sees its 4 direct neighbours; bins by
    the activity's bit length. 2 (w97-laplace-1): 2x2 polyphase, 4 passes; the second sees its 4
    diagonal neighbours, the third its 4 direct ones, the fourth all 8 (diagonals count half);
    half-octave bins. It codes the same symbols in 3-5 % fewer bits (held-out training photos).
    3: scheme 2 with the finest level's bands in classes of their own (in files with the learned
    level they hold its prediction residual, whose statistics differ from the coarser levels').
    4 (w97-adaptive-1): scheme 3's passes and classes, but the activity is a learned integer
    :class:`Predictor` over more evidence, in 37 third-octave bins, and each file may shift a
    class's bins (``shift_bins``). On held-out training photos between 0.25 and 1 bpp it codes
    the same symbols in 9.8 % fewer bytes than w97-laplace-1 (8.6 % without the shifts;
    ``irr tools compare-entropy``). 5 (w97-adaptive-3): scheme 4 with each plane's finest level read
    on its own: a chroma band there takes no luma or Co evidence, so the detail part's planes (each
    its own chain of segments, ``entropy.coder``) decode on separate threads. The finest level's
    chroma gained little from the luma: its predictor already weights it lightly (the same map
    codes the detail in 0.2 % fewer bytes without it, after RDO).
    """

    passes: int
    half_octave: bool
    detail_classes: bool = False  # the finest level in classes of its own (scheme 3)
    learned: bool = False  # a Predictor chooses the bin (scheme 4)
    finest_planes_apart: bool = False  # the finest level reads no other plane (scheme 5)

    @property
    def n_classes(self) -> int:
        # 3 orientations x passes x (luma, chroma) [x (finest level, others)], then the LL residuals
        # of luma and chroma.
        return 3 * self.passes * 2 * (2 if self.detail_classes else 1) + 2

    def band_class(self, orientation: int, pass_: int, chroma: bool, finest: bool) -> int:
        cls = orientation * self.passes + pass_ + 3 * self.passes * chroma
        return cls + 6 * self.passes if finest and self.detail_classes else cls

    @property
    def n_bins(self) -> int:
        return N_LEARNED_BINS if self.learned else N_BINS

    @property
    def n_contexts(self) -> int:
        return N_STEPSETS * self.n_classes * self.n_bins

    # A context id is (stepset, class, bin) in mixed radix; these four are the only places that
    # compose or take one apart. They work on ints, numpy arrays and torch tensors alike.
    def context_id(self, stepset, cls, bins):
        return (stepset * self.n_classes + cls) * self.n_bins + bins

    def ll_class(self, chroma: bool) -> int:
        """The class of the coarsest low band's residuals (luma or chroma): one context per stepset."""
        return self.n_classes - 2 + chroma

    def class_of(self, ctx):
        return (ctx // self.n_bins) % self.n_classes

    def bin_of(self, ctx):
        return ctx % self.n_bins

    def reads_other_planes(self, level: int) -> bool:
        """Whether a chroma band of ``level`` (1: the finest) takes the luma's (and Co's) evidence."""
        return not (self.finest_planes_apart and level == 1)

    def shiftable(self, cls: int) -> bool:
        """Whether a file may shift the class's bins (every band class; not the LL residuals)."""
        return cls < self.n_classes - 2

    def part_classes(self, part: str, chroma: bool) -> list[int]:
        """The band classes a part codes (whose bins a file may shift), in a fixed order."""
        finest = {"lr": (False,), "detail": (True,), "all": (False, True)}[part]
        return [self.band_class(o, p, c, f) for f in finest for c in ((False, True) if chroma else (False,))
                for o in range(3) for p in range(self.passes)]

    @property
    def thresholds(self) -> tuple[int, ...]:
        """Activity at which each bin above the first starts."""
        return _HALF_OCTAVES if self.half_octave else tuple(1 << (b - 1) for b in range(1, N_BINS))

    def masks(self, shape: tuple[int, int]) -> list[np.ndarray]:
        rows, cols = np.indices(shape)
        if self.passes == 2:
            return [(rows + cols) % 2 == 0, (rows + cols) % 2 == 1]
        return [(rows % 2 == r0) & (cols % 2 == c0) for r0, c0 in PHASES]

    def neighbours(self, known: np.ndarray) -> np.ndarray:
        """Activity from already-decoded neighbours (``known`` is zero where not yet decoded)."""
        p = np.pad(np.abs(known), 1, mode="edge")
        direct = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
        if self.passes == 2:
            return direct
        return direct + ((p[:-2, :-2] + p[:-2, 2:] + p[2:, :-2] + p[2:, 2:]) >> 1)

    def bins(self, activity: np.ndarray) -> np.ndarray:
        """Activity (non-negative int) -> bin 0..N_BINS-1."""
        bins = np.zeros(activity.shape, dtype=np.int32)
        for t in self.thresholds:
            bins += activity >= t
        return bins


PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))  # the 4-pass schemes' passes: (row, column) parities, in coding order
_HALF_OCTAVES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48)
SCHEMES = {1: ContextScheme(passes=2, half_octave=False), 2: ContextScheme(passes=4, half_octave=True),
           3: ContextScheme(passes=4, half_octave=True, detail_classes=True),
           4: ContextScheme(passes=4, half_octave=True, detail_classes=True, learned=True),
           5: ContextScheme(passes=4, half_octave=True, detail_classes=True, learned=True, finest_planes_apart=True)}

# Scheme 4's evidence for one coefficient, every term a sum of |decoded integers|: its parent in
# the coarser band, the parent's 8 neighbours, the co-located coefficients of the level's bands
# already coded, of the luma band (chroma) and of the Co band (Cg); then, from its neighbours
# decoded in earlier passes, the 4 direct, the 4 diagonal and the 8 at a knight's move (distance
# 2: known from the third pass on); and a constant 1.
FEATURES = ("parent", "parent_ring", "other_bands", "luma", "co", "direct", "diagonal", "knight", "one")
N_LEARNED_BINS = 37  # 0: no evidence at all; then third-octave bins of the predicted magnitude
WEIGHT_BITS = 12  # the predictor's weights and thresholds are 2^-12 fixed point


def _shifted_sum(a: np.ndarray, offsets: tuple[tuple[int, int], ...], r: int) -> np.ndarray:
    p = np.pad(a, r, mode="edge")
    h, w = a.shape
    total = np.zeros(a.shape, a.dtype)
    for dy, dx in offsets:
        total += p[r + dy : r + dy + h, r + dx : r + dx + w]
    return total


_DIRECT = ((-1, 0), (1, 0), (0, -1), (0, 1))
_DIAGONAL = ((-1, -1), (-1, 1), (1, -1), (1, 1))
_KNIGHT = ((-2, -1), (-2, 1), (2, -1), (2, 1), (-1, -2), (1, -2), (-1, 2), (1, 2))
RING = _DIRECT + _DIAGONAL  # the parent's 8 neighbours
PHASE_OFFSETS = {"direct": _DIRECT, "diagonal": _DIAGONAL, "knight": _KNIGHT}


@dataclass(frozen=True)
class Evidence:
    """Scheme 4's sources for one band: the coarser band (its parent, None at the coarsest level),
    the level's bands coded before it, the co-located luma (chroma) and Co (Cg) bands, and the
    band itself, whose earlier passes are decoded in place. Raw decoded integers, no copies."""

    parent: np.ndarray | None
    others: tuple[np.ndarray, ...]
    luma: np.ndarray | None
    co: np.ndarray | None
    band: np.ndarray

    @cached_property
    def sources(self) -> list:
        """The numpy path's form, computed once per band (its passes share it): the band-wide
        sources of the first five terms, gathered per pass by :func:`pass_features` (no band-sized
        array is held: 24-MP encodes stay under 2 GiB).

        Each entry is None (absent: zero) or (grid, arrays): "parent" arrays are on the coarser
        band's grid (a coefficient reads (i // 2, j // 2)), "band" arrays on this band's (bands of
        one level differ by one on odd sides: indices are clamped, as edge replication would)."""
        parent = self.parent
        parent_abs = None if parent is None or parent.size == 0 else np.abs(parent.astype(np.int32))
        others = [b for b in self.others if b.size]
        return [None if parent_abs is None else ("parent", [parent_abs]),
                None if parent_abs is None else ("parent", [_shifted_sum(parent_abs, RING, 1)]),
                ("band", others) if others else None,
                None if self.luma is None or self.luma.size == 0 else ("band", [self.luma]),
                None if self.co is None or self.co.size == 0 else ("band", [self.co]),
                self.band.shape]


def _gather(source: tuple[str, list[np.ndarray]], phase: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """|source| summed at one phase's coefficients, int32 (see :func:`known_padded`), flattened in
    row-major order."""
    grid, arrays = source
    r0, c0 = phase
    n_rows, n_cols = (shape[0] - r0 + 1) // 2, (shape[1] - c0 + 1) // 2
    total = None
    for a in arrays:
        if grid == "parent" and a.shape[0] >= n_rows and a.shape[1] >= n_cols:
            picked = a[:n_rows, :n_cols]  # (r0 + 2i) // 2 == i: a plain slice
        elif grid == "band" and a.shape[0] >= shape[0] and a.shape[1] >= shape[1]:
            picked = a[r0 : shape[0] : 2, c0 : shape[1] : 2]
        else:  # a side one shorter than needed: clamp, as edge replication would
            rows, cols = np.arange(r0, shape[0], 2), np.arange(c0, shape[1], 2)
            if grid == "parent":
                rows, cols = rows // 2, cols // 2
            picked = a[np.ix_(np.minimum(rows, a.shape[0] - 1), np.minimum(cols, a.shape[1] - 1))]
        picked = np.abs(picked.astype(np.int32, copy=False)).ravel()
        total = picked if total is None else total + picked
    return total


def _phase_sum(padded: np.ndarray, phase: tuple[int, int], offsets: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Sum of ``padded`` (a band edge-padded by 2) at ``offsets`` around each coefficient of one
    phase (the positions (phase[0] + 2i, phase[1] + 2j)), flattened in row-major order."""
    r0, c0 = phase
    n_rows, n_cols = (padded.shape[0] - 4 - r0 + 1) // 2, (padded.shape[1] - 4 - c0 + 1) // 2
    total = np.zeros((n_rows, n_cols), padded.dtype)
    for dy, dx in offsets:
        y, x = 2 + r0 + dy, 2 + c0 + dx
        total += padded[y : y + 2 * n_rows - 1 : 2, x : x + 2 * n_cols - 1 : 2]
    return total.ravel()


def pass_features(evidence: list, phase: tuple[int, int], known: np.ndarray | None,
                  need: np.ndarray) -> list[np.ndarray | None]:
    """Every term of FEATURES but the constant at one pass's coefficients (``phase``: one of
    PHASES), where ``need`` says so. ``known``: |the band's values decoded in earlier passes| (zero
    elsewhere), edge-padded by 2, or None in the first pass."""
    *sources, shape = evidence
    out: list[np.ndarray | None] = [_gather(e, phase, shape) if e is not None and need[i] else None
                                    for i, e in enumerate(sources)]
    for i, offsets in ((5, _DIRECT), (6, _DIAGONAL), (7, _KNIGHT)):
        out.append(_phase_sum(known, phase, offsets) if known is not None and need[i] else None)
    return out


def known_padded(band: np.ndarray, phases: list[tuple[int, int]]) -> np.ndarray:
    """|band| at the given phases, zero elsewhere, edge-padded by 2: pass_features' ``known``.

    int32: a sum of 8 such magnitudes stays far below 2^31 (8-bit images' coefficients are below
    2^16), and half the bytes made the phase sums 1.8x faster at 3 MP bands; the predictor's
    weighted sum is int64 (``Predictor.bins``)."""
    h, w = band.shape
    padded = np.zeros((h + 4, w + 4), np.int32)  # np.pad, by hand: np.pad's overhead was a third of a decode
    for r0, c0 in phases:
        padded[2 + r0 : 2 + h : 2, 2 + c0 : 2 + w : 2] = np.abs(band[r0::2, c0::2])
    padded[:2, 2:-2], padded[-2:, 2:-2] = padded[2, 2:-2], padded[-3, 2:-2]
    padded[:, :2], padded[:, -2:] = padded[:, 2:3], padded[:, -3:-2]
    return padded


@dataclass(frozen=True)
class Predictor:
    """Scheme 4's learned activity: per class, a non-negative integer weighting of the evidence,
    its predicted |value| in 2^-12 units binned at fixed integer thresholds. Integer arithmetic on
    decoded integers only: every machine picks the same bin. Fitted by ``codec.tools.fit_entropy``."""

    weights: np.ndarray  # (n_classes, len(FEATURES)) int64 >= 0
    thresholds: np.ndarray  # (N_LEARNED_BINS - 2,) int64, ascending

    def bins(self, cls: int, evidence: Evidence, pass_: int, shift: int = 0, reference: bool = False) -> np.ndarray:
        """Bins (int64) of one pass's coefficients (``pass_`` indexes :data:`PHASES`), moved by the
        file's ``shift`` (:func:`shift_bins`), in row-major order of the pass. The C kernel computes
        them where it was built; ``reference`` (or its absence) takes the numpy path."""
        r0, c0 = PHASES[pass_]
        band = evidence.band
        n = pass_size(band.shape, pass_)
        w = np.ascontiguousarray(self.weights[cls], dtype=np.int64)
        if native is not None and not reference and n:
            out = np.empty(n, np.int64)
            known = sum(1 << (2 * r + c) for r, c in PHASES[:pass_])
            native.bins(_int32(band), r0, c0, known, _int32(evidence.parent), tuple(_int32(b) for b in evidence.others),
                        _int32(evidence.luma), _int32(evidence.co), w, self.thresholds, shift, N_LEARNED_BINS, out)
            return out
        known_abs = known_padded(band, PHASES[:pass_]) if pass_ else None
        mu = np.full(n, w[-1], np.int64)
        for weight, feature in zip(w, pass_features(evidence.sources, (r0, c0), known_abs, w != 0)):
            if feature is not None:  # in int64 whatever the feature's own dtype (int32 phase sums)
                mu += np.multiply(feature, weight, dtype=np.int64)
        return shift_bins(np.where(mu > 0, 1 + np.searchsorted(self.thresholds, mu, side="right"), 0), shift)


def pass_size(shape: tuple[int, int], pass_: int) -> int:
    """How many coefficients of a band of ``shape`` one pass codes."""
    r0, c0 = PHASES[pass_]
    return ((shape[0] - r0 + 1) // 2) * ((shape[1] - c0 + 1) // 2)


def _int32(a: np.ndarray | None) -> np.ndarray | None:
    """An evidence array as the C kernel takes it (None stays None: absent)."""
    return None if a is None else np.ascontiguousarray(a, dtype=np.int32)


def third_octave_thresholds() -> np.ndarray:
    """Bin j >= 2 starts at a predicted |value| of 2^((j - 19) / 3), in 2^-12 units (fit time only)."""
    return np.array([math.ceil((1 << WEIGHT_BITS) * 2 ** ((j - 19) / 3)) for j in range(2, N_LEARNED_BINS)], np.int64)


def shift_bins(bins: np.ndarray, shift: int, n_bins: int = N_LEARNED_BINS) -> np.ndarray:
    """A file's per-class adaptation: bins move by ``shift`` within 1..n_bins-1; bin 0 stays."""
    if shift == 0:
        return bins
    return np.where(bins == 0, 0, np.clip(bins + shift, 1, n_bins - 1))


def stepset_of(step: int, wavelet: str) -> int:
    """Context group of a band step, in pixel units (the 9/7 path's steps carry fraction bits)."""
    return min(N_STEPSETS, max(1, step >> FRACTION_BITS[wavelet]).bit_length()) - 1
