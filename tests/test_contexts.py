"""Band steps and contexts: integer arithmetic that every old file depends on."""

from __future__ import annotations

import numpy as np
import pytest

from entropy.steps import LOSSLESS_STEP, band_step
from entropy import contexts, pyramid, walk

# The first two entropy models' band-step formula, in floating point, exactly as it was written
# (session 2). It is the oracle for every lr_step a file can declare; never "tidy" it.
_NORM_LOW, _NORM_HIGH = 1.224744871391589, 0.8477912478906585
_NORMS_97_LL = (1.0, 1.2991, 1.8002, 2.4288, 3.2296, 4.2752)
_NORMS_97 = ((1.0113, 0.7872), (1.3195, 0.9672), (1.8268, 1.374), (2.4627, 1.878), (3.2737, 2.5068))
_PLANE_WEIGHT = {"luma": 1.0, "co": 2.449489742783178, "cg": 2.0, "alpha": 1.0}


def legacy_band_steps(steps: np.ndarray, kind: str, level: int, orientation: int | None, wavelet: str) -> np.ndarray:
    """The first entropy models' float formula, elementwise over float64 ``steps`` in the same
    order of operations (np.rint rounds half to even, as Python's round does)."""
    if kind == "alpha":
        return np.ones(steps.shape, dtype=np.int64)
    if wavelet == "9/7":
        norm = _NORMS_97_LL[level] if orientation is None else _NORMS_97[level - 1][orientation // 2]
        result = np.maximum(1, np.rint(steps * _PLANE_WEIGHT[kind] * (1 << 4) / norm)).astype(np.int64)
    else:
        n_low = 2 * level if orientation is None else 2 * (level - 1) + (1 if orientation < 2 else 0)
        n_high = 0 if orientation is None else (1 if orientation < 2 else 2)
        norm = 1.0
        for _ in range(n_low):
            norm *= _NORM_LOW
        for _ in range(n_high):
            norm *= _NORM_HIGH
        result = np.maximum(1, np.rint(steps * _PLANE_WEIGHT[kind] / norm)).astype(np.int64)
    return np.where(steps <= 1.0, 1, result)


BANDS = [(level, None) for level in range(6)] + [(level, o) for level in range(1, 6) for o in range(3)]


def test_band_steps_equal_the_legacy_formula_for_every_lr_step_and_band():
    """All 65 280 lossy lr_steps x every plane, band and wavelet: 6.3 million pairs, none differs."""
    lr_steps = range(LOSSLESS_STEP, 65536)
    differing = []
    for wavelet in ("5/3", "9/7"):
        for kind in ("luma", "co", "cg", "alpha"):
            for level, orientation in BANDS:
                new = np.fromiter((band_step(s, kind, level, orientation, wavelet) for s in lr_steps), np.int64)
                old = legacy_band_steps(np.arange(LOSSLESS_STEP, 65536) / 256, kind, level, orientation, wavelet)
                differing += [(wavelet, kind, level, orientation, LOSSLESS_STEP + int(i)) for i in np.flatnonzero(new != old)]
    assert differing == []


def test_band_steps_take_integers_only():
    """A float step would reintroduce rounding that depends on how the product is written."""
    assert band_step(1000, "luma", 1, 0, "9/7") == band_step(np.int64(1000), "luma", 1, 0, "9/7")
    assert band_step(LOSSLESS_STEP, "co", 3, 2, "9/7") == 1


# Scheme 4 (w97-adaptive-1): the learned predictor's evidence and bins.

def _clamped(a: np.ndarray, i: int, j: int) -> int:
    return int(a[min(max(i, 0), a.shape[0] - 1), min(max(j, 0), a.shape[1] - 1)])


def _reference_features(parent, coded, luma, co, band, phases_done, phase):
    """Scheme 4's evidence for each coefficient of one pass, one coefficient at a time (edge
    replication at borders, as np.pad's "edge")."""
    from entropy.contexts import PHASE_OFFSETS

    known = np.zeros(band.shape, np.int64)
    for r0, c0 in phases_done:
        known[r0::2, c0::2] = np.abs(band[r0::2, c0::2])
    rows = []
    for i in range(phase[0], band.shape[0], 2):
        for j in range(phase[1], band.shape[1], 2):
            pi, pj = min(i // 2, parent.shape[0] - 1), min(j // 2, parent.shape[1] - 1)
            ring = sum(_clamped(np.abs(parent), pi + dy, pj + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - abs(int(parent[pi, pj]))
            others = sum(_clamped(np.abs(b), i, j) for b in coded)
            row = [abs(int(parent[pi, pj])), ring, others, abs(int(luma[i, j])), abs(int(co[i, j]))]
            row += [sum(_clamped(known, i + dy, j + dx) for dy, dx in PHASE_OFFSETS[name]) if phases_done else 0
                    for name in ("direct", "diagonal", "knight")]
            rows.append(row)
    return np.array(rows, np.int64).reshape(-1, 8)


def test_scheme_4_evidence_equals_a_coefficient_by_coefficient_reference():
    from entropy.contexts import FEATURES, Evidence, known_padded, pass_features

    rng = np.random.default_rng(3)
    for shape in ((7, 9), (8, 6), (1, 5), (5, 1)):
        band = rng.integers(-40, 40, shape).astype(np.int32)
        parent = rng.integers(-40, 40, ((shape[0] + 1) // 2, (shape[1] + 1) // 2)).astype(np.int32)
        coded = [rng.integers(-9, 9, (shape[0] + 1, shape[1])).astype(np.int32)[: shape[0]]]
        luma, co = (rng.integers(-9, 9, shape).astype(np.int32) for _ in range(2))
        evidence = Evidence(parent, tuple(coded), luma, co, band).sources
        phases = [(0, 0), (1, 1), (0, 1), (1, 0)]
        for p, phase in enumerate(phases):
            got = pass_features(evidence, phase, known_padded(band, phases[:p]) if p else None, np.ones(len(FEATURES), bool))
            n = len(range(phase[0], shape[0], 2)) * len(range(phase[1], shape[1], 2))
            got = np.stack([np.zeros(n, np.int64) if f is None else f for f in got], axis=1).reshape(-1, 8)
            assert np.array_equal(got, _reference_features(parent, coded, luma, co, band, phases[:p], phase)), (shape, p)


def test_predictor_bins_are_integer_thresholds_of_the_weighted_evidence():
    from entropy.contexts import FEATURES, N_LEARNED_BINS, Evidence, Predictor, third_octave_thresholds

    thresholds = third_octave_thresholds()
    assert thresholds.dtype == np.int64 and np.all(np.diff(thresholds) > 0) and len(thresholds) == N_LEARNED_BINS - 2
    weights = np.zeros((1, len(FEATURES)), np.int64)
    luma = np.concatenate([[0], thresholds // 3, thresholds // 3 + 1, [10**9]]).reshape(1, -1).astype(np.int32)
    weights[0, 3] = 3  # 3 * |luma|
    evidence = Evidence(None, (), luma, None, np.zeros(luma.shape, np.int32))
    mu = 3 * luma[0, ::2].astype(np.int64)
    expected = np.array([0 if m == 0 else 1 + int(np.sum(thresholds <= m)) for m in mu])
    for reference in (False, True):
        bins = Predictor(weights, thresholds).bins(0, evidence, 0, reference=reference)
        assert np.array_equal(bins, expected)
        assert bins.max() == N_LEARNED_BINS - 1 and bins.min() == 0


@pytest.mark.skipif(contexts.native is None, reason="the C kernel was not built")
def test_the_c_kernel_gives_the_numpy_paths_bins_for_any_shapes_weights_and_values():
    """Every pass of random bands, odd sides, parents and other bands a row or column off, absent
    sources, zero weights, shifts; values up to the int32 limits (a forged file's) wrap alike."""
    from entropy.contexts import FEATURES, PHASES, Evidence, Predictor, third_octave_thresholds

    rng = np.random.default_rng(5)
    thresholds = third_octave_thresholds()
    compared = 0
    for trial in range(200):
        # Small bands for the borders, a few long rows for the row-wise interior path.
        h, w = (int(x) for x in rng.integers(1, 12 if trial % 2 else 30 if trial % 7 else 90, 2))
        big = trial % 10 == 0
        low, high = (np.iinfo(np.int32).min, np.iinfo(np.int32).max) if big else (-40, 40)

        def draw(shape):
            return rng.integers(low, high, shape, endpoint=True).astype(np.int32)

        parent = draw(((h + 1) // 2 + int(rng.integers(-1, 2)), (w + 1) // 2 + int(rng.integers(-1, 2)))) \
            if rng.random() < 0.8 else None
        if parent is not None and parent.size == 0:
            parent = None
        others = tuple(draw((h + int(rng.integers(-1, 2)) or 1, w + int(rng.integers(-1, 2)) or 1)) for _ in range(int(rng.integers(0, 3))))
        luma, co = (draw((h, w)) if rng.random() < 0.5 else None for _ in range(2))
        weights = rng.integers(0, 1 << 20 if big else 5000, (2, len(FEATURES))) * (rng.random((2, len(FEATURES))) < 0.7)
        predictor = Predictor(weights.astype(np.int64), thresholds)
        evidence = Evidence(parent, others, luma, co, draw((h, w)))
        for pass_, (r0, c0) in enumerate(PHASES):
            if (h - r0 + 1) // 2 * ((w - c0 + 1) // 2) == 0:
                continue
            for shift in (0, 3, -5):
                got = predictor.bins(1, evidence, pass_, shift)
                assert np.array_equal(got, predictor.bins(1, evidence, pass_, shift, reference=True)), (trial, pass_, shift)
                compared += 1
    assert compared > 1000


def test_bin_shifts_keep_the_no_evidence_bin_and_stay_in_range():
    from entropy.contexts import N_LEARNED_BINS, shift_bins

    bins = np.arange(N_LEARNED_BINS)
    assert np.array_equal(shift_bins(bins, 0), bins)
    up, down = shift_bins(bins, 3), shift_bins(bins, -8)
    assert up[0] == 0 and down[0] == 0
    assert up[1:].min() == 4 and up.max() == N_LEARNED_BINS - 1
    assert down[1:].min() == 1 and down[-1] == N_LEARNED_BINS - 9


def test_every_band_class_a_part_codes_has_a_shift():
    """The shifts a file stores per part must cover every class the walk of that part uses."""
    from codec import models
    from entropy import coder
    from tests.conftest import photo_like

    tables = models.load_tables("w97-adaptive-1")[0]
    scheme = contexts.SCHEMES[tables.context_scheme]
    for channels, parts in ((3, ("lr", "detail")), (1, ("lr", "detail")), (3, ("all",))):
        layout = coder.ImageLayout(40, 52, channels, 2000)
        planes_q, steps = pyramid.analyse(photo_like(40, 52, channels), layout, "9/7")
        for part in parts:
            used: set[int] = set()

            def record(ctx, values, _):
                if ctx.size:
                    used.add(int(scheme.class_of(ctx[0])))
                return values

            walk.walk(planes_q, layout.plane_kinds(), steps, record, scheme, part=part, predictor=tables.predictor)
            band_classes = {c for c in used if scheme.shiftable(c)}
            assert band_classes and band_classes <= set(scheme.part_classes(part, channels >= 3))


@pytest.mark.parametrize("scheme_id", sorted(contexts.SCHEMES))
def test_context_ids_are_one_to_one_and_take_apart(scheme_id):
    """Every (stepset, class, bin) has its own id below n_contexts, and class_of/bin_of recover it."""
    scheme = contexts.SCHEMES[scheme_id]
    stepset, cls, b = np.meshgrid(np.arange(contexts.N_STEPSETS), np.arange(scheme.n_classes), np.arange(scheme.n_bins),
                                  indexing="ij")
    ids = scheme.context_id(stepset, cls, b).ravel()
    assert np.array_equal(np.sort(ids), np.arange(scheme.n_contexts))
    assert np.array_equal(scheme.class_of(ids), cls.ravel()) and np.array_equal(scheme.bin_of(ids), b.ravel())
    assert [c for c in range(scheme.n_classes) if not scheme.shiftable(c)] == [scheme.ll_class(False), scheme.ll_class(True)]


@pytest.mark.skipif(contexts.native is None, reason="the C kernel was not built")
def test_the_default_codec_writes_and_reads_the_same_with_and_without_the_c_kernel(monkeypatch):
    import codec
    from tests.conftest import photo_like

    image = photo_like(72, 104, seed=4)
    with_kernel = codec.encode(image, quality=60)
    decoded = codec.decode_array(with_kernel)
    monkeypatch.setattr(contexts, "native", None)
    assert codec.encode(image, quality=60) == with_kernel
    assert np.array_equal(codec.decode_array(with_kernel), decoded)
