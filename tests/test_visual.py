"""irr bench --visual: equal-size tiles, a page that works offline in a real browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.codecs import available
from bench.visual import KNOBS, build, closest_below
from tests.conftest import photo_like

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, and kept off the network: no background fetches, updates, sync or first-run pages.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for i in range(2):
        Image.fromarray(photo_like(64, 96, seed=i)).save(folder / f"p{i}.png")
    codecs, _ = available()
    out = tmp_path_factory.mktemp("visual")
    return build([codecs["irr"], codecs["webp"], codecs["jpeg"]], sorted(folder.iterdir()), out, [30, 80])


@pytest.mark.parametrize("key", sorted(KNOBS))
def test_every_knob_range_is_encodable_at_both_ends(key):
    """Bisection may try either end of a knob's range (libjxl refuses quality 100 in lossy mode)."""
    codecs, missing = available()
    if key not in codecs:
        pytest.skip(f"{key}: {missing.get(key, 'not a codec here')}")
    image = Image.fromarray(photo_like(24, 32))
    low, high, integer, _ = KNOBS[key]
    for v in (low, high):
        assert len(codecs[key].encode(image, int(v) if integer else v)) > 0


@pytest.mark.parametrize("key", ["webp", "hevc444", "jpeg"])
def test_each_codec_gets_the_largest_file_not_above_the_target(key):
    codecs, _ = available()
    image = Image.fromarray(photo_like(64, 96))
    target = len(codecs["irr"].encode(image, 90))
    knob, data = closest_below(codecs[key], image, target)
    assert len(data) <= target
    low, high, _, growing = KNOBS[key]
    larger = knob + 1 if growing else knob - 1  # one notch towards larger files no longer fits
    if low <= larger <= high:
        assert len(codecs[key].encode(image, larger)) > target


def test_the_page_lists_every_tile_with_its_figures(page):
    rows = json.loads((page.parent / "visual.json").read_text())
    assert len(rows) == 4  # 2 images x 2 targets
    for row in rows:
        assert all(t["bytes"] <= row["target"] for t in row["tiles"])
        assert {t["codec"] for t in row["tiles"]} >= {"original", "irr"}
        for t in row["tiles"]:
            assert (page.parent / t["file"]).exists()
    html = page.read_text()
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    assert "PSNR-RGB" in html and "MS-SSIM" in html and "bpp" in html


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian package chromium)")
def test_the_page_renders_offline_in_chromium_every_image_loads_and_the_slider_moves(page, tmp_path):
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    images = len(list(page.parent.glob("*.png")))
    tiles = sum(len(r["tiles"]) for r in json.loads((page.parent / "visual.json").read_text()))
    assert f'data-images="{tiles + 2 * 4}/{tiles + 2 * 4}"' in dom  # every tile, and both swipe images per row
    assert 'data-slider="moves"' in dom
    shot = Path(__file__).parent.parent / "bench-out" / "visual-test.png"  # the test's screenshot, for a look
    shot.parent.mkdir(exist_ok=True)
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1200,900",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert images > 0 and shot.exists() and Image.open(shot).size == (1200, 900)
    assert np.asarray(Image.open(shot).convert("L")).std() > 5  # something was drawn
