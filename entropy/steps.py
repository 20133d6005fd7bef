"""Quantiser steps: each band's integer step from the image step, in exact integer arithmetic, so
that an encoder and a decoder on any machine pick the same step for every band."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from entropy.wavelet import FRACTION_BITS

LOSSLESS_STEP = 256  # the 8.8 fixed-point quantiser step 1.0: lossless


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
