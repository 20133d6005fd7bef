"""Peak memory of encoding and decoding a large photo-like image, each in a fresh process.

    python -m bench.memory --megapixels 24 [--scale 2]

Peak resident memory (``ru_maxrss``) includes the Python interpreter, torch and the weights.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def synthetic_photo(height: int, width: int) -> np.ndarray:
    """Smooth shapes, edges and mild noise: compresses like a photo, unlike pure noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.ogrid[0:height, 0:width]
    out = np.empty((height, width, 3), np.uint8)
    for c in range(3):
        plane = 128 + 60 * np.sin(xx / (37.0 + 9 * c)) * np.cos(yy / 53.0) + 40 * ((xx // 400 + yy // 300) % 2)
        plane = plane + rng.normal(0, 3, (height, width))
        out[..., c] = np.clip(plane, 0, 255)
    return out


def _step(step: str, image: Path, irr: Path, scale: int | None) -> None:
    import codec

    t0 = time.perf_counter()
    if step == "encode":
        irr.write_bytes(codec.encode(np.load(image), quality=75, scale=scale))
    else:
        out = codec.decode_array(irr.read_bytes(), device="cpu")
        assert out.shape[2] == 3
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"step": step, "seconds": time.perf_counter() - t0, "peak_rss_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--scale", type=int, choices=(1, 2, 4), default=None, help="default: the learned level")
    parser.add_argument("--step", choices=("encode", "decode"), help=argparse.SUPPRESS)
    parser.add_argument("--image", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--irr", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _step(args.step, args.image, args.irr, args.scale)
        return
    width = int(round((args.megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(args.megapixels * 1e6 / width))
    with tempfile.TemporaryDirectory() as tmp:
        image, irr = Path(tmp) / "image.npy", Path(tmp) / "image.irr"
        np.save(image, synthetic_photo(height, width))
        results = []
        for step in ("encode", "decode"):
            out = subprocess.run([sys.executable, "-m", "bench.memory", "--step", step, "--image", str(image),
                                  "--irr", str(irr), *(["--scale", str(args.scale)] if args.scale else [])],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps({"width": width, "height": height, "bytes": irr.stat().st_size, "results": results}, indent=1))


if __name__ == "__main__":
    main()
