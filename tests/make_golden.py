"""Write golden .irr files for a container version (run once per version; never rewrite).

    python -m tests.make_golden v1.1

Each file comes with its expected decoded LR (exact) and decoded image at temperature 0 (PNG,
compared with a tolerance of 1 level: floating point may differ across machines).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from PIL import Image

import codec
from tests.conftest import photo_like

GOLDEN = Path(__file__).parent / "golden"


def cases_v1() -> dict[str, bytes]:
    """Written 2026-11-26 with irr-x2/x4 r1 and the w53-laplace-1 tables (then the only ones)."""
    exif = Image.Exif()
    exif[0x010F] = "irr golden"
    buf = io.BytesIO()
    Image.fromarray(photo_like(24, 34, seed=1)).save(buf, "PNG", icc_profile=b"golden-icc", exif=exif.tobytes())
    return {
        "rgb-x2-q75": codec.encode(photo_like(24, 32), quality=75, scale=2),
        "rgb-x4-lossless": codec.encode(photo_like(20, 28, seed=2), lossless=True, scale=4),
        "gray-x2-q50": codec.encode(photo_like(17, 23, 1, seed=3), quality=50),
        "rgba-x2-q90-t05": codec.encode(photo_like(16, 16, 4, seed=4), quality=90, temperature=0.5, seed=7),
        "rgb-meta-x2-q60": codec.encode(Image.open(io.BytesIO(buf.getvalue())), quality=60),
    }


def cases_v1_1() -> dict[str, bytes]:
    """Container 1.1 (scale 1) and the w97-laplace-1 tables, on every path that reaches them."""
    return {
        "rgb-direct-q75": codec.encode(photo_like(24, 32, seed=5), quality=75, scale=1),
        "gray-direct-lossless": codec.encode(photo_like(17, 23, 1, seed=6), lossless=True),
        "rgba-direct-q40": codec.encode(photo_like(16, 20, 4, seed=7), quality=40, scale=1),
        "rgb-x2-q60": codec.encode(photo_like(24, 32, seed=8), quality=60, scale=2),
        "rgb-ladder-q10": codec.encode(photo_like(40, 48, seed=9), quality=10),
    }


CASES = {"v1": cases_v1, "v1.1": cases_v1_1}


def main(version: str) -> None:
    GOLDEN.mkdir(exist_ok=True)
    if (GOLDEN / f"{version}.json").exists():
        raise SystemExit(f"{version}.json exists: golden files are never rewritten")
    index = {}
    for name, data in CASES[version]().items():
        stem = f"{version}-{name}"
        if (GOLDEN / f"{stem}.irr").exists():
            raise SystemExit(f"{stem}.irr exists: golden files are never rewritten")
        (GOLDEN / f"{stem}.irr").write_bytes(data)
        decoded = codec.decode(data, temperature=0.0, device="cpu")
        decoded.save(GOLDEN / f"{stem}.png")
        lr = codec.decode_array(data, thumbnail=True)
        index[stem] = {"lr_sha256": hashlib.sha256(lr.tobytes()).hexdigest(), "info": codec.info(data)}
    (GOLDEN / f"{version}.json").write_text(json.dumps(index, indent=1, sort_keys=True))


if __name__ == "__main__":
    import sys

    main(sys.argv[1])
