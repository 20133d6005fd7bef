"""The measurement behind the default path's quality scale (``codec.settings.LEVEL_STEP_AT_50``) and
its lowest-rate switch (``codec.settings.DETAIL_FROM_QUALITY``).

    irr tools calibrate-quality --data ../shared/data/train

On the held-out part of a training folder (``codec.training.data.split_train_val``; never the eval set):

1. JPEG (Pillow, quality 75, 4:2:0) gives each photo a PSNR-RGB and a size. For candidate step
   constants, irr's "-q 75" must reach that PSNR in at most 0.6 of those bytes on every photo; the
   window of constants that does so for the most photos is printed, and within it the largest that
   keeps every photo at or above JPEG's PSNR is the one to ship. Each photo's bytes at JPEG's PSNR
   (as a fraction of JPEG's) is printed too: where it is above 0.6, no constant meets both.
2. At the low qualities of that step scale, storing the detail (ZDAT) or not: mean bpp and PSNR of
   both, per quality; the switch goes where storing starts to pay (``detail_switch``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from bitstream.container import DEFAULT_MAX_PIXELS
from codec import api
from codec.pixels import load, load_rgb, psnr
from codec.settings import LEVEL_STEP_AT_50, EncodeSettings
from codec.pixels import list_images
from codec.training.data import split_train_val

CANDIDATES = tuple(round(16 * 2 ** (i / 8), 2) for i in range(17))  # 16 .. 64, 1/8 octave apart
LOW_QUALITIES = (5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 70)


def jpeg75(photo: np.ndarray) -> tuple[float, int]:
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=75, subsampling=2)
    return psnr(photo, np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))), len(buf.getvalue())


def irr_at(photo: np.ndarray, quality: int, step_at_50: float = LEVEL_STEP_AT_50,
           detail: bool | None = None) -> tuple[float, int]:
    """PSNR and bytes of irr's default path at a quality, with the quality scale's constant given."""
    settings = dataclasses.replace(EncodeSettings.checked(quality, detail=detail), step_at_50=step_at_50)
    data = api.encode_pixels(load(photo, DEFAULT_MAX_PIXELS), settings)
    return psnr(photo, api.decode_array(data, device="cpu")), len(data)


def _bytes_atpsnr(points: list[tuple[float, int]], psnr: float) -> float:
    """Bytes at a PSNR, interpolated in log-bytes between the nearest measured points."""
    points = sorted(points)
    for (p0, b0), (p1, b1) in zip(points, points[1:]):
        if p0 <= psnr <= p1:
            t = (psnr - p0) / (p1 - p0) if p1 > p0 else 0.0
            return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))
    return math.nan  # outside the candidates' range


def quality_window(photos: list[np.ndarray]) -> dict:
    references = [jpeg75(p) for p in photos]
    rows, per_photo = [], [[] for _ in photos]
    for constant in CANDIDATES:
        ours = [irr_at(p, 75, constant) for p in photos]
        for i, point in enumerate(ours):
            per_photo[i].append(point)
        ok = [o[0] >= r[0] and o[1] <= 0.6 * r[1] for o, r in zip(ours, references)]
        rows.append({"step_at_50": constant, "photos_meeting_both": sum(ok),
                     "min_psnr_margin_db": min(o[0] - r[0] for o, r in zip(ours, references)),
                     "max_bytes_ratio": max(o[1] / r[1] for o, r in zip(ours, references))})
    # What no constant can change: each photo's bytes at JPEG's PSNR, as a fraction of JPEG's.
    equal_psnr = [_bytes_atpsnr(pts, ref[0]) / ref[1] for pts, ref in zip(per_photo, references)]
    best = max(r["photos_meeting_both"] for r in rows)
    window = [r["step_at_50"] for r in rows if r["photos_meeting_both"] == best]
    # Within the window, the largest constant that keeps every photo at or above JPEG's PSNR.
    psnr_safe = [r["step_at_50"] for r in rows if r["step_at_50"] in window and r["min_psnr_margin_db"] >= 0]
    return {"jpeg75": [{"psnr": r[0], "bytes": r[1]} for r in references], "candidates": rows,
            "bytes_ratio_at_jpeg_psnr": equal_psnr, "photos_meeting_both_at_best": best,
            "window": [window[0], window[-1]], "choice": psnr_safe[-1] if psnr_safe else None}


def detail_switch(photos: list[np.ndarray], step_at_50: float = LEVEL_STEP_AT_50) -> dict:
    """Storing the detail pays at a quality when its PSNR gain beats what the same extra rate buys
    along the stored curve (its slope to the next quality); the switch is the first quality from
    which it pays at every tested quality above."""
    rows = []
    pixels = sum(p.shape[0] * p.shape[1] for p in photos) / len(photos)
    for quality in LOW_QUALITIES:
        entry: dict = {"quality": quality}
        for stored in (True, False):
            points = [irr_at(p, quality, step_at_50, detail=stored) for p in photos]
            entry["stored" if stored else "not_stored"] = {
                "bpp": float(np.mean([8 * b for _, b in points])) / pixels, "psnr": float(np.mean([s for s, _ in points]))}
        rows.append(entry)
    for row, above in zip(rows, rows[1:]):
        slope = (above["stored"]["psnr"] - row["stored"]["psnr"]) / (above["stored"]["bpp"] - row["stored"]["bpp"])
        gain = row["stored"]["psnr"] - row["not_stored"]["psnr"]
        row["pays"] = gain >= slope * (row["stored"]["bpp"] - row["not_stored"]["bpp"])
    switch = None
    for row in reversed(rows[:-1]):
        if not row["pays"]:
            break
        switch = row["quality"]
    return {"rows": rows, "detail_from_quality": switch}


def calibrate(data: Path, out: Path) -> list[dict]:
    """Run both measurements on the held-out photos of ``data``, write the report to ``out``;
    returns the lines worth printing."""
    _, held_out = split_train_val(list_images(data, recursive=True))
    photos = [load_rgb(p) for p in held_out]
    window = quality_window(photos)
    # The detail switch is measured on the step scale the window chose.
    switch = detail_switch(photos, window["choice"] or LEVEL_STEP_AT_50)
    report = {"photos": [p.name for p in held_out], "quality_75": window, "detail_at_low_quality": switch}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    return [{k: window[k] for k in ("window", "choice", "photos_meeting_both_at_best", "bytes_ratio_at_jpeg_psnr")},
            {"detail_from_quality": switch["detail_from_quality"]}]
