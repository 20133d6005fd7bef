"""``irr bench --rescaling``: the pure rescaling task (LR stored losslessly), against bicubic.

Per scale: the LR's coded size (bpp of the HR pixel count, whole .irr file), PSNR-RGB and MS-SSIM
of the decode at several latent temperatures, the bicubic down+up baseline defined as in
ANCHORS.md, and the PSNR change caused by tiling the network (96-pixel LR tiles vs one whole pass).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

import codec
from bench.metrics import bpp, ms_ssim, psnr
from bench.rd import load_rgb
from codec.pixels import bicubic_round_trip, jpeg_round_trip

TEMPERATURES = (0.0, 0.25, 0.5, 0.75, 1.0)
RECOMPRESSION = (90, 75)  # JPEG qualities a chat app or a photo site recompresses with
PROBE_TILE = 96  # LR pixels: small enough that every eval image spans several tiles


def run(images: list[Path], scales: tuple[int, ...] = (2, 4), progress: bool = True) -> dict:
    from tqdm import tqdm

    report: dict = {"images": [p.name for p in images], "temperatures": list(TEMPERATURES), "scales": {}}
    for scale in scales:
        rows = []
        for path in tqdm(images, disable=not progress, desc=f"rescaling x{scale}"):
            rgb = load_rgb(path)
            data = codec.encode(rgb, lossless=True, scale=scale)
            row = {"image": path.name, "bpp": bpp(len(data), rgb.shape[1], rgb.shape[0])}
            for t in TEMPERATURES:
                out = codec.decode_array(data, temperature=t, seed=0, device="cpu")
                row[f"psnr_t{t}"] = psnr(rgb, out)
                row[f"msssim_t{t}"] = ms_ssim(rgb, out)
            whole = codec.decode_array(data, temperature=0.0, device="cpu", tile=None)
            tiled = codec.decode_array(data, temperature=0.0, device="cpu", tile=PROBE_TILE)
            row["tiling_delta_db"] = psnr(rgb, tiled) - psnr(rgb, whole)
            ref = bicubic_round_trip(rgb, scale)[1]
            row["bicubic_psnr"], row["bicubic_msssim"] = psnr(rgb, ref), ms_ssim(rgb, ref)
            row.update(recompressed(rgb, codec.decode_array(data, thumbnail=True), scale))
            rows.append(row)
        means = {k: _nanmean([r[k] for r in rows]) for k in rows[0] if k != "image"}
        report["scales"][str(scale)] = {"mean": means, "per_image": rows}
    return report


def recompressed(rgb: np.ndarray, lr: np.ndarray, scale: int) -> dict[str, float]:
    """What a chat app's recompression of the LR costs: the LR (what ``irr downscale`` writes)
    saved as JPEG (Pillow, 4:2:0) at each of RECOMPRESSION, then ``irr upscale --scale``, against
    the same for Pillow's bicubic thumbnail and enlargement. PSNR-RGB per JPEG quality."""
    from codec import rescaling

    thumbnail = bicubic_round_trip(rgb, scale)[0]
    row = {}
    for q in RECOMPRESSION:
        ours = np.asarray(rescaling.upscale(jpeg_round_trip(lr, q), scale))[: rgb.shape[0], : rgb.shape[1]]
        row[f"jpeg{q}_psnr"] = psnr(rgb, ours)
        enlarged = Image.fromarray(jpeg_round_trip(thumbnail, q)).resize(rgb.shape[1::-1], Image.BICUBIC)
        row[f"jpeg{q}_bicubic_psnr"] = psnr(rgb, np.asarray(enlarged))
    return row


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def markdown(report: dict) -> str:
    temps = report["temperatures"]
    head = "| scale | LR bpp (lossless, whole file) | " + " | ".join(f"PSNR T={t}" for t in temps)
    head += " | MS-SSIM T=0 | bicubic PSNR | bicubic MS-SSIM | tiling ΔPSNR (dB) |"
    lines = [head, "|" + "---|" * (len(temps) + 6)]
    for scale, entry in report["scales"].items():
        m = entry["mean"]
        cells = [f"x{scale}", f"{m['bpp']:.3f}", *(f"{m[f'psnr_t{t}']:.2f}" for t in temps),
                 f"{m['msssim_t0.0']:.4f}", f"{m['bicubic_psnr']:.2f}", f"{m['bicubic_msssim']:.4f}",
                 f"{m['tiling_delta_db']:+.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| scale | LR recompressed as | irr upscale PSNR | bicubic PSNR | gain (dB) |", "|---|---|---|---|---|"]
    for scale, entry in report["scales"].items():
        m = entry["mean"]
        rows = [("lossless PNG", m["psnr_t0.0"], m["bicubic_psnr"])]
        rows += [(f"JPEG {q}", m[f"jpeg{q}_psnr"], m[f"jpeg{q}_bicubic_psnr"]) for q in RECOMPRESSION]
        lines += [f"| x{scale} | {how} | {ours:.2f} | {theirs:.2f} | {ours - theirs:+.2f} |" for how, ours, theirs in rows]
    return "\n".join(lines)
