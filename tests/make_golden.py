"""Write golden .irr files for the current container version (run once per version; never rewrite).

    python -m tests.make_golden

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


def cases() -> dict[str, bytes]:
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


def main() -> None:
    version = "v1"
    GOLDEN.mkdir(exist_ok=True)
    index = {}
    for name, data in cases().items():
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
    main()
