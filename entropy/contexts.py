"""What chooses a table and a quantiser step: context schemes, activity bins and band steps.

Everything here is integer arithmetic on integers (or exact rationals), so an encoder and a decoder
on any machine pick the same step and the same table for every symbol. Kept apart from the coder
(which needs compressai's native rANS) so that training's rate proxy can share it on a plain
torch install.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache

import numpy as np

from entropy.wavelet import FRACTION_BITS

try:
    from entropy import _contexts as native
except ImportError:  # built without a C compiler: the numpy path
    native = None

N_BINS = 12
N_STEPSETS = 7
LOSSLESS_STEP = 256  # the 8.8 fixed-point quantiser step 1.0: lossless


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
    ``irr tools compare-entropy``).
    """

    passes: int
    half_octave: bool
    detail_classes: bool = False  # the finest level in classes of its own (scheme 3)
    learned: bool = False  # a Predictor chooses the bin (scheme 4)

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

    def phases(self) -> list[tuple[int, int]]:
        """The 4-pass schemes' passes as (row, column) parities, in the order of :meth:`masks`."""
        return list(PHASES)

    def masks(self, shape: tuple[int, int]) -> list[np.ndarray]:
        rows, cols = np.indices(shape)
        if self.passes == 2:
            return [(rows + cols) % 2 == 0, (rows + cols) % 2 == 1]
        return [(rows % 2 == r0) & (cols % 2 == c0) for r0, c0 in self.phases()]

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


PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))  # the 4-pass schemes' passes: (row, column) parities
_HALF_OCTAVES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48)
SCHEMES = {1: ContextScheme(passes=2, half_octave=False), 2: ContextScheme(passes=4, half_octave=True),
           3: ContextScheme(passes=4, half_octave=True, detail_classes=True),
           4: ContextScheme(passes=4, half_octave=True, detail_classes=True, learned=True)}

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
        """The numpy path's form (computed once per band: its passes share it): the band-wide sources of the first five terms, gathered per pass
        by :func:`pass_features` (no band-sized array is held: 24-MP encodes stay under 2 GiB).

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
    ContextScheme.phases()),
    where ``need`` says so. ``known``: |the band's values decoded in earlier passes| (zero
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


# Synthesis-basis L2 norms spread one distortion target evenly over the bands: a band's step is the
# image step over its norm, times the RGB weight of its YCoCg-R plane. 5/3 (w53-laplace-1, kept as
# it was): one-level norms of (1,2,1)/2 and (-1,-2,6,-2,-1)/8 multiplied across levels, an
# approximation. 9/7: the exact 2-D norms of each band, measured once by impulse responses of the
# integer inverse transform. Exact decimal rationals, never floats: see band_step.
_PLANE_WEIGHT = {"luma": Fraction("1"), "co": Fraction("2.449489742783178"), "cg": Fraction("2")}
_NORM_LOW, _NORM_HIGH = Fraction("1.224744871391589"), Fraction("0.8477912478906585")
_NORMS_97_LL = tuple(map(Fraction, ("1.0", "1.2991", "1.8002", "2.4288", "3.2296", "4.2752")))  # after 0..5 levels
_NORMS_97 = tuple((Fraction(a), Fraction(b)) for a, b in (  # (HL = LH, HH) per level
    ("1.0113", "0.7872"), ("1.3195", "0.9672"), ("1.8268", "1.374"), ("2.4627", "1.878"), ("3.2737", "2.5068")))


@lru_cache(maxsize=None)
def _band_gain(kind: str, level: int, orientation: int | None, wavelet: str) -> tuple[int, int]:
    """Band step / image step (in the band's own units), exactly, as (numerator, denominator x 256)."""
    if wavelet == "9/7":
        norm = _NORMS_97_LL[level] if orientation is None else _NORMS_97[level - 1][orientation // 2]
        gain = _PLANE_WEIGHT[kind] * (1 << FRACTION_BITS[wavelet]) / norm
    else:
        n_low = 2 * level if orientation is None else 2 * (level - 1) + (1 if orientation < 2 else 0)
        n_high = 0 if orientation is None else (1 if orientation < 2 else 2)
        gain = _PLANE_WEIGHT[kind] / (_NORM_LOW**n_low * _NORM_HIGH**n_high)
    return gain.numerator, gain.denominator * 256


def band_step(lr_step: int, kind: str, level: int, orientation: int | None, wavelet: str) -> int:
    """Integer quantiser step of one band (level 1 = finest; orientation None = the LL band).

    ``lr_step`` is the header's 8.8 fixed-point image step. The step is lr_step / 256 x the band's
    gain rounded to the nearest integer (ties to even), in exact integer arithmetic. The first two
    entropy models computed it in floating point, whose rounding decided 554 of the 6.3 million
    (lr_step, band) pairs differently from exact arithmetic; those are frozen in
    ``_FLOAT_ROUNDING`` so that their files decode the same forever (tested exhaustively).
    """
    if lr_step <= LOSSLESS_STEP or kind == "alpha":
        return 1
    numerator, denominator = _band_gain(kind, level, orientation, wavelet)
    step, remainder = divmod(int(lr_step) * numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and step & 1):
        step += 1
    step = max(1, step)
    for sign in (1, -1):
        if lr_step in _FLOAT_ROUNDING_SETS.get((wavelet, kind, level, orientation, sign), ()):
            return step + sign
    return step


def band_steps(lr_step: int, kind: str, levels: int, lossy_wavelet: str) -> dict:
    """Band steps of one plane, and its wavelet: 5/3 when lossless (alpha always is), else ``lossy_wavelet``.

    Keys: "wavelet", "ll" (the coarsest low band) and (level, orientation) for every detail band.
    """
    wavelet = "5/3" if kind == "alpha" or lr_step <= LOSSLESS_STEP else lossy_wavelet
    steps: dict = {"wavelet": wavelet, "ll": band_step(lr_step, kind, levels, None, wavelet)}
    for level in range(1, levels + 1):
        for orientation in range(3):
            steps[(level, orientation)] = band_step(lr_step, kind, level, orientation, wavelet)
    return steps


# (wavelet, plane, level, orientation, +1 or -1): the lr_steps where the legacy floating-point
# formula rounded one above or below the exact value. Generated once from that formula; frozen.
_FLOAT_ROUNDING: dict[tuple, tuple[int, ...]] = {
    ('5/3', 'luma', 1, 2, -1): (
        460, 828, 1196, 1564, 1932, 2300, 2668, 3036, 3404, 3772, 4140, 4508, 4876, 5244, 5612,
        5980, 6348, 6716, 7084, 7452, 7820, 8188, 8556, 8924, 9292, 9660, 10028, 10396, 10764,
        11132, 11500, 11868, 12236, 12604, 12972, 13340, 13708, 14076, 14444, 14812, 15180, 15548,
        15916, 16284, 16652, 17020, 17388, 17756, 18124, 18492, 18860, 19228, 19596, 19964, 20332,
        20700, 21068, 21436, 21804, 22172, 22540, 22908, 23276, 23644, 24012, 24380, 24748, 25116,
        25484, 25852, 26220, 26588, 26956, 27324, 27692, 28060, 28428, 28796, 29164, 29532, 29900,
        30268, 30636, 31004, 31372, 31740, 32108, 32476, 32844, 33212, 33580, 33948, 34316, 34684,
        35052, 35420, 35788, 36156, 36524, 36892, 37260, 37628, 37996, 38364, 38732, 39100, 39468,
        39836, 40204, 40572, 40940, 41308, 41676, 42044, 42412, 42780, 43148, 43516, 43884, 44252,
        44620, 44988, 45356, 45724, 46092, 46460, 46828, 47196, 47564, 47932, 48300, 48668, 49036,
        49404, 49772, 50140, 50508, 50876, 51244, 51612, 51980, 52348, 52716, 53084, 53452, 53820,
        54188, 54556, 54924, 55292, 55660, 56028, 56396, 56764, 57132, 57500, 57868, 58236, 58604,
        58972, 59340, 59708, 60076, 60444, 60812, 61180, 61548, 61916, 62284, 62652, 63020, 63388,
        63756, 64124, 64492, 64860, 65228,
    ),
    ('5/3', 'cg', 1, 2, -1): (
        414, 598, 782, 966, 1150, 1334, 1518, 1702, 1886, 2070, 2254, 2438, 2622, 2806, 2990, 3174,
        3358, 3542, 3726, 3910, 4094, 4278, 4462, 4646, 4830, 5014, 5198, 5382, 5566, 5750, 5934,
        6118, 6302, 6486, 6670, 6854, 7038, 7222, 7406, 7590, 7774, 7958, 8142, 8326, 8510, 8694,
        8878, 9062, 9246, 9430, 9614, 9798, 9982, 10166, 10350, 10534, 10718, 10902, 11086, 11270,
        11454, 11638, 11822, 12006, 12190, 12374, 12558, 12742, 12926, 13110, 13294, 13478, 13662,
        13846, 14030, 14214, 14398, 14582, 14766, 14950, 15134, 15318, 15502, 15686, 15870, 16054,
        16238, 16422, 16606, 16790, 16974, 17158, 17342, 17526, 17710, 17894, 18078, 18262, 18446,
        18630, 18814, 18998, 19182, 19366, 19550, 19734, 19918, 20102, 20286, 20470, 20654, 20838,
        21022, 21206, 21390, 21574, 21758, 21942, 22126, 22310, 22494, 22678, 22862, 23046, 23230,
        23414, 23598, 23782, 23966, 24150, 24334, 24518, 24702, 24886, 25070, 25254, 25438, 25622,
        25806, 25990, 26174, 26358, 26542, 26726, 26910, 27094, 27278, 27462, 27646, 27830, 28014,
        28198, 28382, 28566, 28750, 28934, 29118, 29302, 29486, 29670, 29854, 30038, 30222, 30406,
        30590, 30774, 30958, 31142, 31326, 31510, 31694, 31878, 32062, 32246, 32430, 32614, 32798,
        32982, 33166, 33350, 33534, 33718, 33902, 34086, 34270, 34454, 34638, 34822, 35006, 35190,
        35374, 35558, 35742, 35926, 36110, 36294, 36478, 36662, 36846, 37030, 37214, 37398, 37582,
        37766, 37950, 38134, 38318, 38502, 38686, 38870, 39054, 39238, 39422, 39606, 39790, 39974,
        40158, 40342, 40526, 40710, 40894, 41078, 41262, 41446, 41630, 41814, 41998, 42182, 42366,
        42550, 42734, 42918, 43102, 43286, 43470, 43654, 43838, 44022, 44206, 44390, 44574, 44758,
        44942, 45126, 45310, 45494, 45678, 45862, 46046, 46230, 46414, 46598, 46782, 46966, 47150,
        47334, 47518, 47702, 47886, 48070, 48254, 48438, 48622, 48806, 48990, 49174, 49358, 49542,
        49726, 49910, 50094, 50278, 50462, 50646, 50830, 51014, 51198, 51382, 51566, 51750, 51934,
        52118, 52302, 52486, 52670, 52854, 53038, 53222, 53406, 53590, 53774, 53958, 54142, 54326,
        54510, 54694, 54878, 55062, 55246, 55430, 55614, 55798, 55982, 56166, 56350, 56534, 56718,
        56902, 57086, 57270, 57454, 57638, 57822, 58006, 58190, 58374, 58558, 58742, 58926, 59110,
        59294, 59478, 59662, 59846, 60030, 60214, 60398, 60582, 60766, 60950, 61134, 61318, 61502,
        61686, 61870, 62054, 62238, 62422, 62606, 62790, 62974, 63158, 63342, 63526, 63710, 63894,
        64078, 64262, 64446, 64630, 64814, 64998, 65182, 65366,
    ),
    ('9/7', 'luma', 3, 2, -1): (
        4122, 9618, 20610, 31602, 37098, 42594, 64578,
    ),
    ('9/7', 'luma', 4, 2, +1): (
        1878,
    ),
    ('9/7', 'cg', 3, 2, -1): (
        2061, 4809, 10305, 15801, 18549, 21297, 32289, 35037, 37785, 40533, 43281, 62517, 65265,
    ),
    ('9/7', 'cg', 4, 2, +1): (
        939, 61035,
    ),
}
_FLOAT_ROUNDING_SETS = {key: frozenset(steps) for key, steps in _FLOAT_ROUNDING.items()}
