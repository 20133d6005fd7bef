"""``irr bench``: rate-distortion sweeps, CompressAI-format results, CSV, plots and BD-rates."""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.codecs import Codec
from bench.metrics import bpp, ms_ssim, psnr



@dataclass
class Row:
    """One image coded at one quality point."""

    codec: str
    image: str
    parameter: int
    bytes: int
    bpp: float
    psnr_rgb: float
    ms_ssim_rgb: float
    encoding_time: float
    decoding_time: float


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_image(path: Path, keep_icc: bool) -> Image.Image:
    """The RGB image a codec receives; with ``keep_icc`` its ICC profile rides along in ``info``
    (Pillow's AVIF and pillow-heif then embed it, its JPEG and WebP do not: ANCHORS.md's setup)."""
    with Image.open(path) as im:
        out = Image.fromarray(np.asarray(im.convert("RGB")))
        if keep_icc and im.info.get("icc_profile"):
            out.info["icc_profile"] = im.info["icc_profile"]
    return out


def measure(c: Codec, name: str, image: Image.Image, parameter: int) -> Row:
    rgb = np.asarray(image)
    t0 = time.perf_counter()
    data = c.encode(image, parameter)
    t1 = time.perf_counter()
    out = c.decode(data)
    t2 = time.perf_counter()
    if out.shape != rgb.shape:
        raise RuntimeError(f"{c.key} decoded {out.shape} for an image of {rgb.shape}")
    h, w = rgb.shape[:2]
    return Row(c.key, name, parameter, len(data), bpp(len(data), w, h), psnr(rgb, out), ms_ssim(rgb, out), t1 - t0, t2 - t1)


def run(codecs: Iterable[Codec], images: list[Path], progress: bool = True, keep_icc: bool = False) -> list[Row]:
    from tqdm import tqdm

    codecs = list(codecs)
    loaded = [(p.name, load_image(p, keep_icc)) for p in images]
    total = sum(len(c.sweep) for c in codecs) * len(loaded)
    rows: list[Row] = []
    with tqdm(total=total, disable=not progress, desc="bench", unit="code") as bar:
        for c in codecs:
            for parameter in c.sweep:
                for name, image in loaded:
                    bar.set_postfix_str(f"{c.key} {parameter} {name}")
                    rows.append(measure(c, name, image, parameter))
                    bar.update(1)
    return rows


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def compressai_results(c: Codec, rows: list[Row]) -> dict:
    """Per-quality means over images, in CompressAI's results format."""
    results: dict[str, list[float]] = {k: [] for k in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")}
    for parameter in c.sweep:
        point = [r for r in rows if r.codec == c.key and r.parameter == parameter]
        if not point:
            continue
        results["bpp"].append(_mean([r.bpp for r in point]))
        results["psnr-rgb"].append(_mean([r.psnr_rgb for r in point]))
        results["ms-ssim-rgb"].append(_mean([r.ms_ssim_rgb for r in point]))
        results["encoding_time"].append(_mean([r.encoding_time for r in point]))
        results["decoding_time"].append(_mean([r.decoding_time for r in point]))
    return {"name": c.name, "description": c.description, c.parameter: list(c.sweep), "results": results}


def bd_rate(reference: dict, test: dict, method: str = "pchip") -> float:
    """BD-rate (%) of ``test`` against ``reference`` on PSNR-RGB (negative: fewer bits)."""
    import bjontegaard

    def curve(r: dict) -> tuple[np.ndarray, np.ndarray]:
        rate = np.asarray(r["results"]["bpp"], dtype=np.float64)
        dist = np.asarray(r["results"]["psnr-rgb"], dtype=np.float64)
        order = np.argsort(rate)
        return rate[order], dist[order]

    r1, d1 = curve(reference)
    r2, d2 = curve(test)
    if overlap(reference, test) <= 0:
        return math.nan  # no common quality range
    return float(bjontegaard.bd_rate(r1, d1, r2, d2, method=method, require_matching_points=False, min_overlap=0))


GAP_RATES = (0.1, 0.25, 0.5, 1.0, 2.0)  # bpp where summaries give the PSNR gap at equal rate


def psnr_gaps(reference: dict, test: dict, rates: tuple[float, ...] = GAP_RATES) -> dict[str, float]:
    """PSNR-RGB of ``test`` minus ``reference`` at equal rate (dB), at each of ``rates`` that both
    curves span; each curve is linear in log bpp between its points (no extrapolation)."""
    def at(r: dict, rate: float) -> float | None:
        log_rate = np.log(np.asarray(r["results"]["bpp"], dtype=np.float64))
        order = np.argsort(log_rate)
        x, y = log_rate[order], np.asarray(r["results"]["psnr-rgb"], dtype=np.float64)[order]
        inside = x[0] - 1e-9 <= math.log(rate) <= x[-1] + 1e-9  # a curve's own end point counts
        return float(np.interp(math.log(rate), x, y)) if inside else None

    gaps = {}
    for rate in rates:
        a, b = at(reference, rate), at(test, rate)
        if a is not None and b is not None:
            gaps[f"{rate:g}"] = b - a
    return gaps


def overlap(reference: dict, test: dict) -> float:
    """The common PSNR interval as a fraction of the union of both ranges (ANCHORS.md's "ov")."""
    d1, d2 = reference["results"]["psnr-rgb"], test["results"]["psnr-rgb"]
    common = min(max(d1), max(d2)) - max(min(d1), min(d2))
    union = max(max(d1), max(d2)) - min(min(d1), min(d2))
    return max(0.0, common) / union if union > 0 else 0.0


def write_outputs(out: Path, codecs: list[Codec], rows: list[Row], reference: str, published: list[dict]) -> dict:
    """Write per-codec JSON, rows.csv, rd.png/rd.svg; return the summary (BD-rates included)."""
    out.mkdir(parents=True, exist_ok=True)
    results = {c.key: compressai_results(c, rows) for c in codecs}
    for key, r in results.items():
        (out / f"{key}.json").write_text(json.dumps(r, indent=1))
    with open(out / "rows.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(Row.__dataclass_fields__))
        for r in rows:
            writer.writerow(list(vars(r).values()))
    return summarise(out, results, reference, published)


def merge(runs: list[Path], out: Path, reference: str, published: list[dict]) -> dict:
    """Combine the per-codec JSON of earlier runs (same images) into one summary, plot and BD-rate table."""
    results: dict[str, dict] = {}
    for run_dir in runs:
        for path in sorted(run_dir.glob("*.json")):
            r = json.loads(path.read_text())
            if "bpp" in r.get("results", {}):  # a CompressAI results file, not a summary or report
                results[path.stem] = r
    if not results:
        raise FileNotFoundError(f"no per-codec results in {', '.join(map(str, runs))}")
    out.mkdir(parents=True, exist_ok=True)
    for key, r in results.items():
        (out / f"{key}.json").write_text(json.dumps(r, indent=1))
    return summarise(out, results, reference, published)


def summarise(out: Path, results: dict[str, dict], reference: str, published: list[dict]) -> dict:
    summary: dict = {"reference": reference, "codecs": {}}
    for key, r in results.items():
        entry = {"name": r["name"], "points": len(r["results"]["bpp"])}
        if reference in results and key != reference:
            entry[f"bd_rate_vs_{reference}"] = bd_rate(results[reference], r)
            entry["overlap"] = overlap(results[reference], r)
            entry["psnr_gap_db_at_bpp"] = psnr_gaps(results[reference], r)
        summary["codecs"][key] = entry
    plot(out, list(results.values()), published)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def plot(out: Path, results: list[dict], published: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    for r in results + published:
        label = r["name"]
        style = "--" if r in published else "-"
        res = r["results"]
        ax1.plot(res["bpp"], res["psnr-rgb"], style, marker="o", ms=3, label=label)
        if "ms-ssim-rgb" in res:
            db = [-10 * math.log10(max(1e-12, 1 - v)) for v in res["ms-ssim-rgb"]]
            ax2.plot(res["bpp"], db, style, marker="o", ms=3, label=label)
    ax1.set(xlabel="bpp", ylabel="PSNR-RGB (dB)", title="Rate-distortion (PSNR)")
    ax2.set(xlabel="bpp", ylabel="MS-SSIM (dB)", title="Rate-distortion (MS-SSIM)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.set_xlim(0, 2.5)
    ax1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "rd.png", dpi=110)
    fig.savefig(out / "rd.svg")
    plt.close(fig)


def load_published(path: Path, label: str) -> dict:
    """A CompressAI results JSON (e.g. its published Kodak curves), labelled as another image set."""
    r = json.loads(path.read_text())
    if "results" not in r or "bpp" not in r["results"] or "psnr-rgb" not in r["results"]:
        raise ValueError(f"{path} is not a CompressAI results file (needs results.bpp and results.psnr-rgb)")
    return {**r, "name": f"{r.get('name', path.stem)} [{label}]"}


ANCHOR_FILES = {"jpeg": "jpeg420.json", "jpeg444": "jpeg444.json", "hevc444": "hevc444.json", "webp": "webp.json",
                "avif": "avif420.json", "avif444": "avif444.json", "jpeg2000": "jpeg2000.json", "jxl": "jxl.json",
                "bpg444": "bpg444.json"}


def compare_with_anchors(out: Path, anchors: Path) -> dict[str, dict[str, float]]:
    """Largest per-point |PSNR difference| (dB) and relative bpp difference (%) against ANCHORS files."""
    report = {}
    for key, name in ANCHOR_FILES.items():
        ours_path, theirs_path = out / f"{key}.json", anchors / name
        if not (ours_path.exists() and theirs_path.exists()):
            continue
        ours = json.loads(ours_path.read_text())["results"]
        theirs = json.loads(theirs_path.read_text())["results"]
        if len(ours["bpp"]) != len(theirs["bpp"]):
            report[key] = {"error": "different number of points"}
            continue
        report[key] = {
            "max_psnr_diff_db": max(abs(a - b) for a, b in zip(ours["psnr-rgb"], theirs["psnr-rgb"])),
            "max_bpp_diff_pct": max(100 * abs(a - b) / b for a, b in zip(ours["bpp"], theirs["bpp"])),
        }
    return report
