"""Where each scale wins: the measurement behind ``codec.api.LADDER``.

    python -m bench.ladder --data ../shared/data/train

Encodes the held-out part of a training folder (``codec.train.split_train_val``; never the eval
set) at fixed scales over a sweep of qualities, keeps the upper hull of PSNR-RGB against rate, and
prints the rates where the winning scale changes, with the ladder quality that lands there.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

import codec
from bench.metrics import psnr
from codec.pixels import list_images
from codec.train import split_train_val

QUALITIES = tuple(range(1, 101, 6))


def sweep(images: list[np.ndarray], scale: int, qualities: tuple[int, ...] = QUALITIES) -> list[tuple[float, float]]:
    """(mean bpp, mean PSNR-RGB) per quality at a fixed scale (scale None: the ladder itself)."""
    points = []
    for q in qualities:
        bpp, score = [], []
        for x in images:
            data = codec.encode(x, quality=q, scale=scale)
            bpp.append(8 * len(data) / (x.shape[0] * x.shape[1]))
            score.append(psnr(x, codec.decode_array(data, device="cpu")))
        points.append((float(np.mean(bpp)), float(np.mean(score))))
    return points


def best_at(curves: dict[int, list[tuple[float, float]]], bpp: float) -> int:
    """The scale whose curve (log-rate interpolated) gives the highest PSNR at ``bpp``."""
    def at(points: list[tuple[float, float]]) -> float:
        rates, scores = zip(*sorted(points))
        if not rates[0] <= bpp <= rates[-1]:
            return -math.inf
        return float(np.interp(math.log(bpp), np.log(rates), scores))

    return max(curves, key=lambda s: at(curves[s]))


def switch_points(curves: dict[int, list[tuple[float, float]]], steps: int = 200) -> list[tuple[float, int]]:
    """[(bpp, scale that wins from there on)] over the rates every curve covers at least in part."""
    lo = min(p[0] for c in curves.values() for p in c)
    hi = max(p[0] for c in curves.values() for p in c)
    out: list[tuple[float, int]] = []
    for r in np.geomspace(lo, hi, steps):
        s = best_at(curves, float(r))
        if not out or out[-1][1] != s:
            out.append((float(r), s))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ladder", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="training folder; its held-out split is used")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    _, held_out = split_train_val(list_images(Path(args.data), recursive=True))
    images = [np.asarray(Image.open(f).convert("RGB")) for f in held_out]
    curves = {s: sweep(images, s) for s in (1, 2, 4)}
    ladder = sweep(images, None)
    switches = switch_points(curves)
    # The ladder quality whose rate is closest (in log) to each switch point.
    rows = [{"from_bpp": r, "scale": s, "quality": QUALITIES[int(np.argmin([abs(math.log(b / r)) for b, _ in ladder]))]}
            for r, s in switches]
    report = {"images": [f.name for f in held_out], "qualities": QUALITIES,
              "curves": {str(s): c for s, c in curves.items()}, "ladder": ladder, "switches": rows}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for s, c in curves.items():
            print(f"x{s}: " + "  ".join(f"{b:.3f}/{d:.2f}" for b, d in c))
        print("ladder: " + "  ".join(f"{b:.3f}/{d:.2f}" for b, d in ladder))
        for row in rows:
            print(f"from {row['from_bpp']:.3f} bpp scale {row['scale']} wins (ladder quality ~{row['quality']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
