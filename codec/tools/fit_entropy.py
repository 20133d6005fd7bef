"""Fit the entropy model's context map on training images (``irr tools fit-tables``).

Two recipes, each fitting what its files code: w97-laplace-1 (scale-1 and rescaler files) on the
LRs the shipped rescalers produce (x2, x4) and the images themselves (scale 1); w97-laplace-2
(learned-level files) on the shipped level's output over the header's whole step range. Fitting
counts symbols per context over a sweep of quantiser steps and picks, per context, the table of
the frozen family that codes them in the fewest bits. Only the training split is used
(``codec.training.data.split_train_val``): the held-out images stay for decisions such as the quality
scale (``codec.tools.calibrate_quality``).

A third recipe refits a shipped model on what its encoder writes (``--written-by``): the same
family and predictor, the map chosen on the symbols after RDO lowering, in the contexts the
per-file shifts give (w97-adaptive-2 from w97-adaptive-1). Plain symbols are not what files code:
lowering empties the large magnitudes the plain fit weights.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np

from codec import models
from codec.modes.rescaler import downscale
from codec.settings import quality_to_step
from codec.pixels import list_images
from codec.training.data import load_rgb, split_train_val
from entropy import coder
from entropy.contexts import (FEATURES, PHASES, WEIGHT_BITS, Evidence, Predictor, known_padded, pass_features,
                              pass_size, third_octave_thresholds)
from entropy.fitting import fit_context_map
from entropy.steps import LOSSLESS_STEP
from entropy.tables import EntropyTables, build_family
from entropy import contexts, fitting

FIT_QUALITIES = (100, 95, 90, 85, 80, 70, 60, 50, 40, 30, 20, 10)
FIT_SCALES = (1, 2, 4)
# The learned level's files: steps over the header's whole range, 1/2 octave apart from the finest
# (1 + 1/256) to the coarsest (255), so that no quality falls outside the fit whatever the quality
# scale's constant is (fitting on qualities left steps under 3.2 unseen: 2.6x the bytes at step 2);
# plus the lossless image itself for the lossless contexts (alpha planes, lossless files).
LEVEL_STEPS = tuple(round(min(255.0, (1 + 1 / 256) * 2 ** (i / 2)) * 256) for i in range(17))


def _count(counts: list, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    for ctx, values in pairs:
        keys, n = np.unique(ctx.astype(np.int64) * 65536 + (values.astype(np.int64) + 32768), return_counts=True)
        for key, c in zip(keys.tolist(), n.tolist()):
            counts[key >> 16][(key & 0xFFFF) - 32768] += c


def histograms_for(images: list[np.ndarray], lossy_wavelet: str, context_scheme: int) -> list[dict[int, int]]:
    """The stored images of scale-1 and rescaler files, over the explicit-scale step sweep."""
    counts: list[dict[int, int]] = [defaultdict(int) for _ in range(contexts.SCHEMES[context_scheme].n_contexts)]
    for rgb in images:
        for scale in FIT_SCALES:
            lr = rgb if scale == 1 else downscale(rgb, scale, revision=1)  # w97-laplace-1 was fitted on r1's LRs
            for quality in FIT_QUALITIES:
                layout = coder.ImageLayout(lr.shape[0], lr.shape[1], 3, round(quality_to_step(quality) * 256))
                _count(counts, fitting.collect_statistics(lr, layout, lossy_wavelet, context_scheme))
    return [dict(c) for c in counts]


def level_histograms(images: list[np.ndarray], context_scheme: int,
                     predictor: Predictor | None = None) -> list[dict[int, int]]:
    """What learned-level files code: each image through the shipped level over its quality sweep."""
    counts: list[dict[int, int]] = [defaultdict(int) for _ in range(contexts.SCHEMES[context_scheme].n_contexts)]
    for rgb, layout, first_level in _level_images(images, LEVEL_STEPS):
        parts = ("lr", "detail") if first_level else ("all",)
        _count(counts, fitting.collect_statistics(rgb, layout, "9/7", context_scheme, first_level, parts, predictor))
    return [dict(c) for c in counts]


def written_histograms(images: list[np.ndarray], tables: EntropyTables) -> list[dict[int, int]]:
    """What the level's encoder writes with ``tables``, over the same images and steps as
    :func:`level_histograms`."""
    counts: list[dict[int, int]] = [defaultdict(int) for _ in range(len(tables.context_map))]
    for rgb, layout, first_level in _level_images(images, LEVEL_STEPS):
        parts = ("lr", "detail") if first_level else ("all",)
        _count(counts, fitting.collect_written_statistics(rgb, layout, tables, first_level, parts))
    return [dict(c) for c in counts]


class _FeatureRecorder:
    """Stands in for scheme 4's Predictor while fitting it: keeps each pass's evidence (bin 0 for all)."""

    def __init__(self) -> None:
        self.passes: list[tuple[int, np.ndarray]] = []

    def bins(self, cls: int, evidence: Evidence, pass_: int, shift: int = 0) -> np.ndarray:
        band, n = evidence.band, pass_size(evidence.band.shape, pass_)
        known = known_padded(band, PHASES[:pass_]) if pass_ else None
        features = pass_features(evidence.sources, PHASES[pass_], known, np.ones(len(FEATURES), bool))
        columns = [np.zeros(n) if f is None else f.astype(np.float64) for f in features] + [np.ones(n)]
        self.passes.append((cls, np.stack(columns, axis=1)))
        return np.zeros(n, np.int64)


def _level_images(images: list[np.ndarray], steps: tuple[int, ...]):
    """(image, layout, first level) for each image: lossless, then through the shipped level at each step."""
    from codec.transform import LevelTransform

    net, _ = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))
    for rgb in images:
        yield rgb, coder.ImageLayout(rgb.shape[0], rgb.shape[1], 3, LOSSLESS_STEP), None
        for lr_step in steps:
            yield rgb, coder.ImageLayout(rgb.shape[0], rgb.shape[1], 3, lr_step), LevelTransform(net, lr_step)


def fit_predictor(images: list[np.ndarray], steps: tuple[int, ...]) -> Predictor:
    """Scheme 4's weights: per class, the non-negative least-squares fit of |value| on the evidence
    (the predicted magnitude is a Laplace scale up to a constant), rounded to 2^-12 fixed point."""
    from scipy.optimize import nnls

    scheme = contexts.SCHEMES[4]
    n = len(FEATURES)
    gram, moment = np.zeros((scheme.n_classes, n, n)), np.zeros((scheme.n_classes, n))
    for rgb, layout, first_level in _level_images(images, steps):
        recorder = _FeatureRecorder()
        pairs = fitting.collect_statistics(rgb, layout, "9/7", 4, first_level, ("lr", "detail") if first_level else ("all",),
                                         recorder)
        bands = [values for ctx, values in pairs if ctx.size and scheme.shiftable(int(scheme.class_of(ctx[0])))]
        for (cls, x), values in zip(recorder.passes, bands):
            gram[cls] += x.T @ x
            moment[cls] += x.T @ np.abs(values).astype(np.float64)
    weights = np.zeros((scheme.n_classes, n), np.int64)
    for cls in range(scheme.n_classes):
        if gram[cls, -1, -1] == 0:
            continue
        lower = np.linalg.cholesky(gram[cls] + 1e-6 * np.eye(n))  # NNLS on the normal equations
        w, _ = nnls(lower.T, np.linalg.solve(lower, moment[cls]))
        weights[cls] = np.round(w * (1 << WEIGHT_BITS)).astype(np.int64)
    return Predictor(weights, third_octave_thresholds())


def fill_unseen(tables: EntropyTables, seen: np.ndarray) -> EntropyTables:
    """Contexts never met in training take the table of the nearest fitted bin of their class."""
    n_bins = contexts.SCHEMES[tables.context_scheme].n_bins
    cmap = tables.context_map.reshape(-1, n_bins).copy()
    seen = seen.reshape(-1, n_bins)
    for row in range(cmap.shape[0]):
        fitted = np.flatnonzero(seen[row])
        if fitted.size == 0:
            continue
        for b in np.flatnonzero(~seen[row]):
            cmap[row, b] = cmap[row, fitted[np.argmin(np.abs(fitted - b))]]
    return dataclasses.replace(tables, context_map=cmap.ravel())


def fit(data: Path, max_images: int = 0, lossy_wavelet: str = "9/7", context_scheme: int | None = None,
        segment_symbols: int = 1 << 20, for_level: bool = False, written_by: str | None = None) -> EntropyTables:
    """Fit a context map on the training split. ``for_level``: on the learned level's output
    (w97-laplace-2: 9/7, its segments carrying CRCs), else on scale-1 and rescaler images.
    ``written_by``: refit that shipped level model on the symbols its encoder writes (the other
    arguments but ``max_images`` and ``context_scheme`` are then the model's own; a scheme-4 model
    may be refitted as scheme 5, whose contexts are the same ids)."""
    if written_by is None and context_scheme is not None and contexts.SCHEMES[context_scheme].finest_planes_apart:
        raise ValueError("scheme 5 is a scheme-4 model refitted (its predictor scheme 4's): "
                         "--written-by MODEL --context-scheme 5")
    files, _ = split_train_val(list_images(data, recursive=True))
    if max_images:
        files = files[:max_images]
    images = [load_rgb(f).permute(1, 2, 0).numpy() for f in files]
    if written_by is not None:
        if written_by not in models.LEVEL_ENTROPY_MODELS:
            raise ValueError(f"--written-by refits a level model ({', '.join(models.LEVEL_ENTROPY_MODELS)})")
        base, _ = models.load_tables(written_by)
        if context_scheme is not None and context_scheme != base.context_scheme:
            if (base.context_scheme, context_scheme) != (4, 5):
                raise ValueError(f"--written-by {written_by} (scheme {base.context_scheme}) refits as scheme 5 from 4 only")
            base = dataclasses.replace(base, context_scheme=context_scheme)
        # Contexts no written symbol reaches keep the base's table (its plain fit), not a neighbour's.
        return fit_context_map(base, written_histograms(images, base))
    context_scheme = 2 if context_scheme is None else context_scheme
    predictor = None
    if contexts.SCHEMES[context_scheme].learned:
        if not for_level:
            raise ValueError("context scheme 4 is fitted on the learned level's output (--for-level)")
        # The weights are 9 numbers per class: a third of the images at every other step pin them down.
        predictor = fit_predictor(images[::3], LEVEL_STEPS[::2])
    if for_level:
        hists = level_histograms(images, context_scheme, predictor)
    else:
        hists = histograms_for(images, lossy_wavelet, context_scheme)
    family = build_family(contexts.SCHEMES[context_scheme].n_contexts, lossy_wavelet, context_scheme, segment_symbols,
                          segment_crc=for_level)
    if predictor is not None:
        family = dataclasses.replace(family, predictor_weights=predictor.weights, predictor_thresholds=predictor.thresholds)
    fitted = fit_context_map(family, hists)
    return fill_unseen(fitted, np.array([bool(h) for h in hists]))
