"""Wall-clock encode and decode of one large photo by every codec, in one run (``irr bench --speed``).

The photo is a mosaic of real photos (the images given, scaled to one row height and tiled row by
row), so every codec meets photo content at the size a camera writes. Each codec runs once (after
a small warm-up call that loads its library and, for irr, the weights) at a
middle setting of its own sweep (``SETTINGS``), through the same encode and decode functions as the
rate-distortion run: Pillow plugins for the others, irr's public API for irr.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.codecs import Codec

# A typical setting per codec: its library's default where it has one (JPEG's and AVIF's 75,
# x265's constant QP near its default CRF 28), the irr default quality.
SETTINGS = {"irr": 75, "irr1": 64, "irr2": 70, "irr4": 70, "jpeg": 75, "jpeg444": 75, "jpeg2000": 0.7, "webp": 75,
            "hevc444": 27, "avif": 75, "avif444": 75, "jxl": 75, "bpg444": 27}


def mosaic(images: list[Path], width: int, height: int, row_height: int = 1000) -> Image.Image:
    """A ``width`` x ``height`` RGB canvas tiled with the photos, each scaled to ``row_height``
    (Lanczos), row by row; the last photo of a row and the last row are cropped: no empty gaps."""
    canvas = Image.new("RGB", (width, height))
    row_height = min(row_height, height)
    k = 0
    for y in range(0, height, row_height):
        x = 0
        while x < width:
            with Image.open(images[k % len(images)]) as im:
                photo = im.convert("RGB")
            k += 1
            photo = photo.resize((max(1, round(photo.width * row_height / photo.height)), row_height), Image.LANCZOS)
            canvas.paste(photo, (x, y))
            x += photo.width
    return canvas


def run(codecs: list[Codec], images: list[Path], megapixels: float) -> dict:
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(megapixels * 1e6 / width))
    photo = mosaic(images, width, height)
    rows = []
    for c in codecs:
        setting = SETTINGS.get(c.key, c.sweep[len(c.sweep) // 2])
        c.decode(c.encode(photo.crop((0, 0, 64, 64)), setting))  # libraries and weights loaded: not timed
        start = time.perf_counter()
        data = c.encode(photo, setting)
        encoded = time.perf_counter()
        pixels = c.decode(data)
        decoded = time.perf_counter()
        assert pixels.shape == (height, width, 3), (c.key, pixels.shape)
        rows.append({"codec": c.key, "name": c.name, "setting": setting, "bpp": 8 * len(data) / (width * height),
                     "encode_s": encoded - start, "decode_s": decoded - encoded})
    return {"width": width, "height": height, "images": [p.name for p in images], "rows": rows}


def markdown(report: dict) -> str:
    lines = [f"{report['width']}x{report['height']} mosaic of real photos, one run:", "",
             "| codec | setting | bpp | encode s | decode s |", "|---|---:|---:|---:|---:|"]
    for r in report["rows"]:
        lines.append(f"| {r['name']} | {r['setting']} | {r['bpp']:.3f} | {r['encode_s']:.2f} | {r['decode_s']:.2f} |")
    return "\n".join(lines)
