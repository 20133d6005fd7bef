"""Fitting an entropy model (offline: ``irr tools fit-tables``): every symbol of an image with its
context, and the table that codes each context's symbols in the fewest bits."""

from __future__ import annotations

import dataclasses

import numpy as np

from entropy.coder import encode_parts
from entropy.contexts import SCHEMES, Predictor
from entropy.pyramid import FirstLevel, ImageLayout, analyse
from entropy.tables import EntropyTables, value_bits
from entropy.walk import walk


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
        walk(planes_q, layout.plane_kinds(), steps, record, SCHEMES[context_scheme], part=part, predictor=predictor)
    return pairs


def collect_written_statistics(pixels: np.ndarray, layout: ImageLayout, tables: EntropyTables,
                               first_level: FirstLevel | None = None,
                               parts: tuple[str, ...] = ("all",)) -> list[tuple[np.ndarray, np.ndarray]]:
    """(context ids, values) for every symbol the encoder writes with ``tables``: after its RDO
    lowering and in the contexts its per-file shifts give, which plain quantised symbols
    (:func:`collect_statistics`) are not. Walks the coded pyramid as the decoder would."""
    coded = encode_parts(pixels, layout, tables, parts, first_level)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def record(ctx: np.ndarray, values: np.ndarray, _: np.ndarray | None) -> np.ndarray:
        pairs.append((ctx, values.copy()))
        return values

    scheme = SCHEMES[tables.context_scheme]
    for part, shifts in zip(parts, coded.shifts):
        walk(coded.planes_q, layout.plane_kinds(), coded.steps, record, scheme, part=part, predictor=tables.predictor,
             shifts=shifts)
    return pairs


def code_lengths(tables: EntropyTables, histogram: dict[int, int], bits: np.ndarray | None = None) -> np.ndarray:
    """Bits to code a histogram {value: count} with every table of the family; (N_SCALES,)."""
    bits = tables.symbol_bits() if bits is None else bits
    values = np.array(list(histogram), dtype=np.int64)
    counts = np.array(list(histogram.values()), dtype=np.float64)
    return np.array([float((value_bits(bits, tables, np.full(values.size, t), values) * counts).sum())
                     for t in range(len(tables.lengths))])


def fit_context_map(tables: EntropyTables, histograms: list[dict[int, int]]) -> EntropyTables:
    """For each context, the table that codes its training histogram in the fewest bits."""
    context_map = tables.context_map.copy()
    bits = tables.symbol_bits()
    for ctx, hist in enumerate(histograms):
        if hist:
            context_map[ctx] = int(np.argmin(code_lengths(tables, hist, bits)))
    return dataclasses.replace(tables, context_map=context_map)
