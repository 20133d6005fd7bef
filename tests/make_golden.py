"""Write golden .irr files for a container version (run once per set; never rewrite).

    python -m tests.make_golden v1.2

Each file comes with its expected decoded LR (exact) and decoded image at temperature 0 (PNG,
compared with a tolerance of 1 level: floating point may differ across machines), and, for a
file whose default temperature is not 0, its decoded image at that temperature (``-t.png``).

The recipes are the calls of the irr of their day: ``codec.encode``'s defaults have changed since
(the v1 recipes' default scale was 2, v1.1's the rate ladder), which is why the files, not the
recipes, are the reference.
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


def large_photo(height: int = 672, width: int = 704):
    """The bundled sample photo, mirror-tiled to a size whose streams need several segments."""
    import numpy as np
    from importlib import resources

    with Image.open(str(resources.files("codec") / "samples" / "coffee.png")) as im:
        photo = np.asarray(im.convert("RGB"))
    reps = (-(-height // photo.shape[0]), -(-width // photo.shape[1]))
    tiled = np.concatenate([np.concatenate([photo if c % 2 == 0 else photo[:, ::-1] for c in range(reps[1])], axis=1)
                            if r % 2 == 0 else np.concatenate([photo[::-1] if c % 2 == 0 else photo[::-1, ::-1]
                                                               for c in range(reps[1])], axis=1)
                            for r in range(reps[0])], axis=0)
    return np.ascontiguousarray(tiled[:height, :width])


def cases_v1_large() -> dict[str, bytes]:
    """Written 2026-12-02: a realistic container-1.0 file of the first entropy model (w53-laplace-1:
    one rANS stream), 256x384 LR with the full level count, the way the first irr wrote x2 files."""
    import zlib

    from bitstream.container import Header, IrrFile, pack
    from codec import models
    from codec.modes.rescaler import downscale as _downscale
    from entropy import coder

    rgb = large_photo(512, 768)
    lr = _downscale(rgb, 2, revision=1)
    tables, tables_hash = models.load_tables("w53-laplace-1")
    lr_step = round(2 ** (30 / 12.5) * 256)  # quality 70
    stream, seen = coder.encode(lr, coder.ImageLayout(*lr.shape, lr_step), tables)
    _, weights = models.load_model("irr-x2", 1)
    header = Header(width=768, height=512, channels=3, scale=2, quality=70, lr_step=lr_step, model_name="irr-x2",
                    model_revision=1, weights_sha256=weights, temperature_milli=0, seed=0,
                    entropy_model="w53-laplace-1", tables_sha256=tables_hash, lr_crc32=zlib.crc32(seen.tobytes()))
    return {"rgb-x2-w53-large": pack(IrrFile(header, stream, minor=0))}


def cases_v1_1_large() -> dict[str, bytes]:
    """Written 2026-12-02: scale 1 with w97-laplace-1, 704x672 (1.4 M symbols: two segments)."""
    return {"rgb-direct-q50-large": codec.encode(large_photo(), quality=50, scale=1)}


def cases_v1_2() -> dict[str, bytes]:
    """Written 2026-12-02: container 1.2, the learned level irr-level r1 and w97-laplace-2. The large
    file's detail stream holds 1.06 M symbols (two segments); the q5 file stores no detail (the IRN mode)."""
    return {
        "rgb-level-q75-large": codec.encode(large_photo(), quality=75),
        "rgb-level-q30": codec.encode(photo_like(40, 56, seed=10), quality=30),
        "gray-level-q60": codec.encode(photo_like(33, 47, 1, seed=11), quality=60),
        "rgba-level-q85-t05": codec.encode(photo_like(24, 31, 4, seed=12), quality=85, temperature=0.5, seed=5),
        "rgb-level-q5-nodetail": codec.encode(photo_like(64, 64, seed=13), quality=5, detail=False),
    }


def cases_v1_2_adaptive() -> dict[str, bytes]:
    """Written 2026-12-02: container 1.2 with the entropy model w97-adaptive-1 (context scheme 4:
    the learned predictor and per-file bin shifts) on every path that reaches it: LR and detail,
    the LR alone, gray, and RGBA (its alpha plane coded losslessly by the same model)."""
    return {
        "rgb-level-q75-large": codec.encode(large_photo(), quality=75),
        "rgb-level-q40": codec.encode(photo_like(40, 56, seed=20), quality=40),
        "gray-level-q60": codec.encode(photo_like(33, 47, 1, seed=21), quality=60),
        "rgba-level-q85-t05": codec.encode(photo_like(24, 31, 4, seed=22), quality=85, temperature=0.5, seed=5),
        "rgb-level-q10-nodetail": codec.encode(photo_like(64, 64, seed=23), quality=10),
    }


def cases_v1_2_adaptive2() -> dict[str, bytes]:
    """Written 2026-12-04: container 1.2 with w97-adaptive-2 (w97-adaptive-1's predictor, the map
    refitted on written symbols), named explicitly, on the same paths as the w97-adaptive-1 set."""
    model = {"entropy_model": "w97-adaptive-2"}
    return {
        "rgb-level-q75-large": codec.encode(large_photo(), quality=75, **model),
        "rgb-level-q40": codec.encode(photo_like(40, 56, seed=30), quality=40, **model),
        "gray-level-q60": codec.encode(photo_like(33, 47, 1, seed=31), quality=60, **model),
        "rgba-level-q85-t05": codec.encode(photo_like(24, 31, 4, seed=32), quality=85, temperature=0.5, seed=5, **model),
        "rgb-level-q10-nodetail": codec.encode(photo_like(64, 64, seed=33), quality=10, **model),
    }


def cases_v1_x2r2() -> dict[str, bytes]:
    """Written 2026-12-04: container 1.0 files of the second x2 rescaler (irr-x2 r2), named
    explicitly: a lossy and a lossless LR, gray, and an LR wider than one network tile."""
    r2 = {"scale": 2, "network_revision": 2}
    return {
        "rgb-q60": codec.encode(photo_like(24, 32, seed=40), quality=60, **r2),
        "rgb-lossless": codec.encode(photo_like(20, 28, seed=41), lossless=True, **r2),
        "gray-q50": codec.encode(photo_like(17, 23, 1, seed=42), quality=50, **r2),
        "rgb-q80-wide": codec.encode(large_photo(192, 640), quality=80, **r2),
    }


def _x4_cases(revision: int) -> dict[str, bytes]:
    """Container 1.0 files of an x4 rescaler revision, named explicitly: a lossy and a lossless LR,
    gray, and an LR wider than one network tile (the same images for every revision)."""
    named = {"scale": 4, "network_revision": revision}
    return {
        "rgb-q60": codec.encode(photo_like(32, 40, seed=50), quality=60, **named),
        "rgb-lossless": codec.encode(photo_like(28, 36, seed=51), lossless=True, **named),
        "gray-q50": codec.encode(photo_like(21, 27, 1, seed=52), quality=50, **named),
        "rgb-q80-wide": codec.encode(large_photo(128, 1280), quality=80, **named),
    }


def cases_v1_x4r2() -> dict[str, bytes]:
    """Written 2026-12-04: the second x4 rescaler (irr-x4 r2)."""
    return _x4_cases(2)


def cases_v1_x4r3() -> dict[str, bytes]:
    """Written 2026-12-05: the third x4 rescaler (irr-x4 r3, the x4-r2 run's held-out best at step 36 000)."""
    return _x4_cases(3)


def cases_v1_x4r4() -> dict[str, bytes]:
    """Written 2026-12-07: the fourth x4 rescaler (irr-x4 r4, the x4-r4 run's held-out best at step 16 500)."""
    return _x4_cases(4)


def cases_v1_x4r5() -> dict[str, bytes]:
    """Written 2026-12-08: the fifth x4 rescaler (irr-x4 r5, the x4-r5 run's held-out best at step 10 500)."""
    return _x4_cases(5)


def cases_v1_2_level_r2() -> dict[str, bytes]:
    """Written 2026-12-07: the w97-adaptive-2 set's cases with the second learned level (irr-level
    r2: one coupling block, 16 channels), named explicitly."""
    return _level_cases({"entropy_model": "w97-adaptive-2", "network_revision": 2}, seed=60)


def _level_cases(model: dict, seed: int) -> dict[str, bytes]:
    """Learned-level files of one named model: LR and detail (a large one), gray, RGBA at a
    temperature, the IRN mode and odd sides, on images seeded from ``seed``."""
    return {
        "rgb-level-q75-large": codec.encode(large_photo(), quality=75, **model),
        "rgb-level-q40": codec.encode(photo_like(40, 56, seed=seed), quality=40, **model),
        "gray-level-q60": codec.encode(photo_like(33, 47, 1, seed=seed + 1), quality=60, **model),
        "rgba-level-q85-t05": codec.encode(photo_like(24, 31, 4, seed=seed + 2), quality=85, temperature=0.5, seed=5,
                                           **model),
        "rgb-level-q10-nodetail": codec.encode(photo_like(64, 64, seed=seed + 3), quality=10, **model),
        "odd-level-q30": codec.encode(photo_like(37, 51, seed=seed + 4), quality=30, **model),
    }


def cases_v1_2_adaptive3() -> dict[str, bytes]:
    """Written 2026-12-08: container 1.2 with w97-adaptive-3 (context scheme 5: the finest level's
    planes read apart, the detail cut into segments plane by plane) and the level r2, named
    explicitly; the large file's detail is three planes of 355 k symbols, a segment each."""
    return _level_cases({"entropy_model": "w97-adaptive-3", "network_revision": 2}, seed=70)


CASES = {"v1": cases_v1, "v1.1": cases_v1_1, "v1-large": cases_v1_large, "v1.1-large": cases_v1_1_large,
         "v1.2": cases_v1_2, "v1.2-adaptive": cases_v1_2_adaptive, "v1.2-adaptive2": cases_v1_2_adaptive2,
         "v1-x2r2": cases_v1_x2r2, "v1-x4r2": cases_v1_x4r2,
         "v1-x4r3": cases_v1_x4r3, "v1.2-level-r2": cases_v1_2_level_r2,
         "v1-x4r4": cases_v1_x4r4, "v1.2-adaptive3": cases_v1_2_adaptive3, "v1-x4r5": cases_v1_x4r5}


def main(version: str) -> None:
    GOLDEN.mkdir(exist_ok=True)
    if (GOLDEN / f"{version}.json").exists():
        raise SystemExit(f"{version}.json exists: golden files are never rewritten")
    index = {}
    for name, data in CASES[version]().items():
        stem = f"{version.removesuffix('-large')}-{name}"
        if (GOLDEN / f"{stem}.irr").exists():
            raise SystemExit(f"{stem}.irr exists: golden files are never rewritten")
        (GOLDEN / f"{stem}.irr").write_bytes(data)
        decoded = codec.decode(data, temperature=0.0, device="cpu")
        decoded.save(GOLDEN / f"{stem}.png")
        if codec.info(data)["temperature"] > 0:
            codec.decode(data, device="cpu").save(GOLDEN / f"{stem}-t.png")
        lr = codec.decode_array(data, thumbnail=codec.info(data)["scale"] != 1)  # a scale-1 file stores the image
        index[stem] = {"lr_sha256": hashlib.sha256(lr.tobytes()).hexdigest(), "info": codec.info(data)}
    (GOLDEN / f"{version}.json").write_text(json.dumps(index, indent=1, sort_keys=True))


def temperature_outputs() -> None:
    """For golden files made before ``-t.png`` existed: their decode at their own temperature
    (what they decode to today is what they must keep decoding to). Writes only missing files."""
    for path in sorted(GOLDEN.glob("v*.irr")):
        data = path.read_bytes()
        target = path.with_name(f"{path.stem}-t.png")
        if codec.info(data)["temperature"] > 0 and not target.exists():
            codec.decode(data, device="cpu").save(target)


if __name__ == "__main__":
    import sys

    temperature_outputs() if sys.argv[1] == "--temperature-outputs" else main(sys.argv[1])
