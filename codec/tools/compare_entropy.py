"""Entropy models compared on the same symbols: what a new model buys at equal transform and quantisation.

    irr tools compare-entropy --data ../shared/data/eval -o bench/results/entropy-eval.json
    irr tools compare-entropy --data ../shared/data/train --held-out -o bench/results/entropy-heldout.json
    irr tools compare-entropy --data ../shared/data/train --held-out --adaptation -o bench/results/adaptation-heldout.json

For each photo and quality, the learned level's quantised pyramid is coded (real rANS bytes: the
LR, and the detail where the default stores it) by every model in ``MODELS``:

- ``equal_symbols``: without rate-distortion lowering, so that every model codes the very same
  symbols; the share of the rate between 0.25 and 1 bpp is the entropy model's own gain.
- ``encoder``: as the encoder codes them (lowering under each model's own tables): the bytes a
  file of that quality holds with each model. No photo may grow by more than 1 % against the
  model it replaces.

``--held-out`` uses the training folder's held-out photos (``codec.training.data.split_train_val``).
``--adaptation`` measures the per-file adaptation's two forms instead (:func:`adaptation_bits`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from codec import api, models
from codec.pixels import list_images, load_rgb
from codec.settings import DETAIL_FROM_QUALITY, EncodeSettings
from codec.training.data import split_train_val
from codec.transform import LevelTransform
from entropy import coder
from entropy.tables import value_bits
from entropy import contexts, fitting, rdo

MODELS = ("w97-laplace-1", "w97-laplace-2", "w97-adaptive-1", "w97-adaptive-2", "w97-adaptive-3")
ADAPTIVE, NO_SHIFTS = "w97-adaptive-1", "w97-adaptive-1 without shifts"  # the ablation of per-file adaptation
QUALITIES = (15, 22, 30, 40, 55, 70, 80, 88, 94)
BPP_RANGE = (0.25, 1.0)


def measure(rgb: np.ndarray, quality: int) -> dict:
    """Payload bytes of one photo at one quality under every model, both ways."""
    lr_step = EncodeSettings(quality=quality).lr_step
    parts = ("lr", "detail") if quality >= DETAIL_FROM_QUALITY else ("lr",)
    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    layout = coder.ImageLayout(rgb.shape[0], rgb.shape[1], 3, lr_step)
    row: dict = {"quality": quality, "pixels": rgb.shape[0] * rgb.shape[1],
                 "file_bytes": len(api.encode(rgb, quality=quality)), "equal_symbols": {}, "encoder": {}}
    for model, adapt in [(m, True) for m in MODELS] + [(ADAPTIVE, False)]:
        tables = models.load_tables(model)[0]
        for key, lowered in (("equal_symbols", False), ("encoder", True)):
            coded = coder.encode_parts(rgb, layout, tables, parts, LevelTransform(net, lr_step), rdo=lowered, adapt=adapt)
            row[key][model if adapt else NO_SHIFTS] = sum(len(p) for p in coded.payloads)
    return row


def adaptation_bits(rgb: np.ndarray, quality: int) -> dict:
    """The two ways of adapting w97-adaptive-1's bins to a photo, in ideal code lengths of the
    same symbols (no lowering): none; forward (each class's best shift, chosen by the encoder and
    sent: 4 bits per class of each part); backward (no side information: before each pass, the
    shift that would have coded the class's earlier passes best, as a decoder could track)."""
    lr_step = EncodeSettings(quality=quality).lr_step
    parts = ("lr", "detail") if quality >= DETAIL_FROM_QUALITY else ("lr",)
    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    tables = models.load_tables(ADAPTIVE)[0]
    scheme = contexts.SCHEMES[tables.context_scheme]
    layout = coder.ImageLayout(rgb.shape[0], rgb.shape[1], 3, lr_step)
    pairs = fitting.collect_statistics(rgb, layout, "9/7", tables.context_scheme, LevelTransform(net, lr_step), parts,
                                     tables.predictor)
    bits = tables.symbol_bits()
    zero = rdo.SHIFT_CANDIDATES.index(0)
    per_class: dict[int, np.ndarray] = {}  # bits of the class's passes so far, per candidate shift
    unshifted = backward = 0.0  # the LL residuals (one context, never shifted) and the band classes
    for ctx, values in pairs:
        cls = int(scheme.class_of(ctx[0])) if ctx.size else scheme.ll_class(False)
        if not scheme.shiftable(cls):
            unshifted += value_bits(bits, tables, tables.context_map[ctx], values).sum() if ctx.size else 0.0
            continue
        b = scheme.bin_of(ctx)
        costs = np.array([value_bits(bits, tables, tables.context_map[ctx - b + contexts.shift_bins(b, k)], values).sum()
                          for k in rdo.SHIFT_CANDIDATES])
        past = per_class.setdefault(cls, np.zeros(len(rdo.SHIFT_CANDIDATES)))
        backward += costs[int(np.argmin(past)) if past.any() else zero]
        past += costs
    side = 4 * sum(len(scheme.part_classes(part, True)) for part in parts)
    none = unshifted + sum(c[zero] for c in per_class.values())
    forward = unshifted + sum(c.min() for c in per_class.values()) + side
    return {"quality": quality, "pixels": rgb.shape[0] * rgb.shape[1], "none": none / 8, "forward": forward / 8,
            "backward": (unshifted + backward) / 8}


def summarise(rows: list[dict]) -> dict:
    """Per model, bytes against w97-laplace-1 (equal symbols, in the bpp range) and the largest
    growth of any photo against w97-laplace-2 (encoder, every quality)."""
    in_range = [r for r in rows if BPP_RANGE[0] <= 8 * r["file_bytes"] / r["pixels"] <= BPP_RANGE[1]]
    out: dict = {"points_in_bpp_range": len(in_range)}
    def ratio(key: str, model: str, base: str) -> float | None:
        if not in_range:
            return None
        return sum(r[key][model] for r in in_range) / sum(r[key][base] for r in in_range) - 1

    for model in (*MODELS, NO_SHIFTS):
        out[model] = {"equal_symbols_vs_w97_laplace_1": ratio("equal_symbols", model, "w97-laplace-1"),
                      "encoder_vs_w97_laplace_2_in_range": ratio("encoder", model, "w97-laplace-2"),
                      "largest_growth_vs_w97_laplace_2": max(r["encoder"][model] / r["encoder"]["w97-laplace-2"] - 1
                                                             for r in rows)}
    return out


def compare(data: Path, held_out: bool, adaptation: bool, output: Path) -> dict:
    """Measure every photo of ``data`` (its held-out split if ``held_out``), write the JSON report
    to ``output`` and return its summary."""
    files = list_images(data, recursive=True)
    if held_out:
        files = split_train_val(files)[1]
    if adaptation:
        rows = [{"photo": f.name, **adaptation_bits(load_rgb(f), q)} for f in files for q in QUALITIES]
        totals = {k: sum(r[k] for r in rows) for k in ("none", "forward", "backward")}
        result = {"data": str(data), "held_out": held_out, "rows": rows,
                  "summary": {k: v / totals["none"] - 1 for k, v in totals.items()}}
    else:
        rows = []
        for f in files:
            rgb = load_rgb(f)
            for quality in QUALITIES:
                rows.append({"photo": f.name, **measure(rgb, quality)})
                r = rows[-1]
                print(f.name, quality, f"{8 * r['file_bytes'] / r['pixels']:.3f} bpp",
                      " ".join(f"{m}={r['equal_symbols'][m]}/{r['encoder'][m]}" for m in r["encoder"]), flush=True)
        result = {"data": str(data), "held_out": held_out, "summary": summarise(rows), "rows": rows}
    output.write_text(json.dumps(result, indent=1))
    return result["summary"]
