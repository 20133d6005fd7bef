"""``irr bench --visual``: every codec at equal file sizes, side by side, in one self-contained page.

For each image and each target size (the bytes irr writes at a few qualities) every codec is
encoded at the largest file not above the target, found by bisection on its quality knob. The
page (``index.html``: inline CSS and JavaScript, no network) shows the original and each codec's
decode as PNG files beside it, every tile labelled with codec, bytes, bpp, PSNR-RGB and
MS-SSIM; wheel and drag zoom and pan all tiles of a row together, and a swipe slider compares
any two of them. A bench run's ``rd.svg`` goes on the page too.
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.codecs import Codec
from bench.metrics import bpp, ms_ssim, psnr
from bench.rd import load_image

# codec key -> (lowest, highest knob value, integer knob, file size grows with the knob)
KNOBS: dict[str, tuple[float, float, bool, bool]] = {
    "irr": (1, 99, True, True), "irr0": (1, 99, True, True), "irr1": (1, 99, True, True), "irr2": (1, 99, True, True), "irr4": (1, 99, True, True),
    "jpeg": (1, 100, True, True), "jpeg444": (1, 100, True, True), "webp": (0, 100, True, True),
    "avif": (0, 100, True, True), "avif444": (0, 100, True, True),
    "jxl": (1, 99, True, True),  # quality 100 is lossless in libjxl, which its lossy call refuses
    "hevc444": (0, 51, True, False), "bpg444": (0, 51, True, False), "jpeg2000": (0.01, 24.0, False, True),
}


@dataclass
class Tile:
    codec: str
    name: str
    parameter: float | None
    bytes: int
    bpp: float
    psnr: float
    ms_ssim: float
    file: str


def closest_below(c: Codec, image: Image.Image, target: int) -> tuple[float, bytes] | None:
    """The knob value giving the largest file not above ``target`` bytes (None if even the
    smallest is larger). Bisection: about 7 encodes for an integer knob, 12 for a real one."""
    low, high, integer, growing = KNOBS[c.key]

    def size_at(v: float) -> tuple[int, bytes]:
        data = c.encode(image, int(v) if integer else v)
        return len(data), data

    def fits(v: float) -> bool:
        return size_at(v)[0] <= target

    best_end = low if growing else high  # the smallest file
    if not fits(best_end):
        return None
    good, bad = best_end, high if growing else low
    if fits(bad):
        return bad, size_at(bad)[1]
    for _ in range(40 if not integer else 8):
        if integer and abs(bad - good) <= 1:
            break
        middle = (good + bad) / 2
        middle = round(middle) if integer else middle
        if middle in (good, bad):
            break
        good, bad = (middle, bad) if fits(middle) else (good, middle)
        if not integer and abs(bad - good) < 1e-3 * max(1.0, abs(good)):
            break
    return good, size_at(good)[1]


def build(codecs: list[Codec], images: list[Path], out: Path, targets: list[int], only: list[str] | None = None,
          rd_run: Path | None = None) -> Path:
    """Write ``out/index.html`` and its PNG files; returns the page's path."""
    by_key = {c.key: c for c in codecs}
    if "irr" not in by_key:
        raise ValueError("--visual needs irr among the codecs: its file sizes are the targets")
    if only:
        wanted = set(only)
        images = [p for p in images if p.name in wanted]
        missing = wanted - {p.name for p in images}
        if missing:
            raise FileNotFoundError(f"no such image(s): {', '.join(sorted(missing))}")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in images:
        image = load_image(path, keep_icc=False)
        rgb = np.asarray(image)
        original = f"{path.stem}-original.png"
        image.save(out / original)
        for quality in targets:
            target = len(by_key["irr"].encode(image, quality))
            tiles = [Tile("original", "original", None, 0, 0.0, float("inf"), 1.0, original)]
            too_big = []
            for c in codecs:
                found = closest_below(c, image, target)
                if found is None:
                    too_big.append(c.name)
                    continue
                parameter, data = found
                decoded = c.decode(data)
                file = f"{path.stem}-{target}-{c.key}.png"
                Image.fromarray(decoded).save(out / file)
                h, w = rgb.shape[:2]
                tiles.append(Tile(c.key, c.name, parameter, len(data), bpp(len(data), w, h), psnr(rgb, decoded),
                                  ms_ssim(rgb, decoded), file))
            rows.append({"image": path.name, "target": target, "quality": quality, "tiles": tiles, "too_big": too_big})
    rd = None
    if rd_run is not None and (rd_run / "rd.svg").exists():
        shutil.copyfile(rd_run / "rd.svg", out / "rd.svg")
        rd = "rd.svg"
    page = out / "index.html"
    page.write_text(render(rows, rd))
    (out / "visual.json").write_text(json.dumps([{**r, "tiles": [vars(t) for t in r["tiles"]]} for r in rows],
                                                indent=1, default=str))
    return page


def _label(t: Tile) -> str:
    if t.codec == "original":
        return "<b>original</b>"
    knob = f" @ {t.parameter:g}" if t.parameter is not None else ""
    ssim = "n/a" if t.ms_ssim != t.ms_ssim else f"{t.ms_ssim:.4f}"
    return (f"<b>{html.escape(t.name)}</b>{html.escape(knob)}<br>{t.bytes} bytes, {t.bpp:.3f} bpp<br>"
            f"PSNR-RGB {t.psnr:.2f} dB, MS-SSIM {ssim}")


def render(rows: list[dict], rd: str | None) -> str:
    sections = []
    for i, row in enumerate(rows):
        tiles = "".join(
            f'<figure class="tile" data-codec="{html.escape(t.codec)}"><div class="view">'
            f'<img src="{html.escape(t.file)}" alt="{html.escape(t.name)}"></div>'
            f"<figcaption>{_label(t)}</figcaption></figure>" for t in row["tiles"])
        too_big = (f'<p class="note">No file this small: {html.escape(", ".join(row["too_big"]))}.</p>'
                   if row["too_big"] else "")
        options = "".join(f'<option value="{j}">{html.escape(t.name)}</option>' for j, t in enumerate(row["tiles"]))
        sections.append(f"""
<section class="row" id="row{i}">
  <h2>{html.escape(row['image'])}: every codec at ≤ {row['target']} bytes (irr's size at quality {row['quality']})</h2>
  <div class="grid">{tiles}</div>{too_big}
  <div class="swipe">
    <label>left <select class="left">{options}</select></label>
    <label>right <select class="right">{options.replace('value="1"', 'value="1" selected', 1)}</select></label>
    <input class="slider" type="range" min="0" max="100" value="50" aria-label="swipe position">
    <div class="swipe-view"><img class="under" alt=""><img class="over" alt=""></div>
  </div>
</section>""")
    rd_block = f'<section><h2>Rate–distortion</h2><img class="rd" src="{rd}" alt="RD curves"></section>' if rd else ""
    return PAGE.replace("{{SECTIONS}}", "".join(sections)).replace("{{RD}}", rd_block)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>irr bench: equal-size comparison</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1em; background: #fafafa; color: #222; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 8px; }
.tile { margin: 0; background: #fff; border: 1px solid #ddd; }
.view { height: 260px; overflow: hidden; cursor: grab; position: relative; }
.view img, .swipe-view img { transform-origin: 0 0; image-rendering: pixelated; position: absolute; left: 0; top: 0; }
figcaption { padding: 4px 6px; font-size: 12px; line-height: 1.35; }
.swipe { margin: 8px 0 24px; }
.swipe-view { position: relative; height: 420px; overflow: hidden; border: 1px solid #ddd; background: #fff; }
.slider { width: 60%; vertical-align: middle; }
img.rd { max-width: 100%; }
</style></head>
<body>
<h1>irr bench: the same photo, every codec at the same file size</h1>
<p>Wheel: zoom; drag: pan (all tiles of a row follow). The slider swipes between the two codecs chosen below each row.</p>
{{SECTIONS}}
{{RD}}
<script>
"use strict";
for (const row of document.querySelectorAll(".row")) {
  const state = { scale: 1, x: 0, y: 0 };
  const imgs = () => row.querySelectorAll(".view img, .swipe-view img");
  const apply = () => { for (const im of imgs())
    im.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`; };
  for (const view of row.querySelectorAll(".view, .swipe-view")) {
    view.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = view.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
      const k = e.deltaY < 0 ? 1.25 : 0.8, s = Math.min(32, Math.max(0.25, state.scale * k));
      state.x = px - (px - state.x) * s / state.scale; state.y = py - (py - state.y) * s / state.scale;
      state.scale = s; apply();
    }, { passive: false });
    let drag = null;
    view.addEventListener("mousedown", (e) => { drag = [e.clientX - state.x, e.clientY - state.y]; });
    window.addEventListener("mouseup", () => { drag = null; });
    window.addEventListener("mousemove", (e) => {
      if (drag) { state.x = e.clientX - drag[0]; state.y = e.clientY - drag[1]; apply(); } });
  }
  const first = row.querySelector(".view img");
  const fit = () => { if (first.naturalWidth) {
    state.scale = row.querySelector(".view").clientWidth / first.naturalWidth; apply(); } };
  first.complete ? fit() : first.addEventListener("load", fit);
  const tiles = [...row.querySelectorAll(".tile img")];
  const left = row.querySelector("select.left"), right = row.querySelector("select.right");
  const under = row.querySelector("img.under"), over = row.querySelector("img.over");
  const slider = row.querySelector(".slider");
  const swipe = () => {
    under.src = tiles[right.value].getAttribute("src"); over.src = tiles[left.value].getAttribute("src");
    over.style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`; apply();
  };
  for (const el of [left, right, slider]) el.addEventListener("input", swipe);
  swipe();
}
// Self-check for tests and curious users: which images loaded, and whether the slider moves the swipe.
window.addEventListener("load", () => {
  const all = [...document.querySelectorAll("img")].filter((im) => im.getAttribute("src"));
  const ok = all.filter((im) => im.complete && im.naturalWidth > 0).length;
  document.body.dataset.images = `${ok}/${all.length}`;
  const slider = document.querySelector(".slider"), over = document.querySelector("img.over");
  if (slider) {
    const before = over.style.clipPath;
    slider.value = 20; slider.dispatchEvent(new Event("input"));
    document.body.dataset.slider = over.style.clipPath !== before ? "moves" : "stuck";
    slider.value = 50; slider.dispatchEvent(new Event("input"));
  }
});
</script>
</body></html>
"""
