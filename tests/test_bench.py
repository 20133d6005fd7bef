"""Benchmark arithmetic against hand-computed values, and the results schema."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.codecs import available
from bench.metrics import bpp, ms_ssim, psnr
from bench.rd import bd_rate, compressai_results, measure, overlap, psnr_gaps, write_outputs
from tests.conftest import photo_like


def test_bpp_counts_whole_file_bits_per_pixel():
    assert bpp(1000, 100, 80) == 1.0
    assert bpp(3, 2, 2) == 6.0


def test_psnr_by_hand():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10  # one sample off by 10: mse = 100 / 12
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (100 / 12)))
    assert psnr(a, a) == math.inf


def test_psnr_refuses_different_shapes():
    with pytest.raises(ValueError):
        psnr(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3, 3), np.uint8))


def test_ms_ssim_is_one_for_identical_and_nan_for_small_images():
    x = photo_like(176, 176)
    assert ms_ssim(x, x) == pytest.approx(1.0)
    assert math.isnan(ms_ssim(x[:100], x[:100]))
    noisy = np.clip(x.astype(int) + np.random.default_rng(0).integers(-20, 20, x.shape), 0, 255).astype(np.uint8)
    assert ms_ssim(x, noisy) < 0.99


def curve(bpps, psnrs):
    return {"results": {"bpp": list(bpps), "psnr-rgb": list(psnrs)}}


def test_bd_rate_of_a_curve_needing_half_the_bits_is_minus_50_percent():
    ref = curve([0.25, 0.5, 1.0, 2.0], [28.0, 31.0, 34.0, 37.0])
    test = curve([0.125, 0.25, 0.5, 1.0], [28.0, 31.0, 34.0, 37.0])
    assert bd_rate(ref, test) == pytest.approx(-50.0, abs=1e-6)
    assert bd_rate(test, ref) == pytest.approx(100.0, abs=1e-6)
    assert bd_rate(ref, ref) == pytest.approx(0.0, abs=1e-9)


def test_psnr_gaps_interpolate_in_log_rate_and_skip_rates_outside_either_curve():
    ref = curve([0.1, 0.4, 1.6], [28.0, 32.0, 36.0])
    test = curve([0.2, 0.8, 3.2], [31.0, 34.0, 37.0])
    gaps = psnr_gaps(ref, test, (0.1, 0.2, 0.4, 0.8, 1.6, 3.2))
    # At 0.2 bpp ref is halfway (in log rate) from 28 to 32; at 0.4 test is halfway from 31 to 34.
    assert gaps == pytest.approx({"0.2": 31.0 - 30.0, "0.4": 32.5 - 32.0, "0.8": 34.0 - 34.0, "1.6": 35.5 - 36.0})


def test_overlap_is_common_range_over_union():
    a = curve([1, 2], [30.0, 40.0])
    b = curve([1, 2], [35.0, 45.0])
    assert overlap(a, b) == pytest.approx(5 / 15)
    assert math.isnan(bd_rate(a, curve([1, 2], [50.0, 60.0])))


def test_classical_codec_rows_and_compressai_schema(tmp_path):
    jpeg = available()[0]["jpeg"]
    from PIL import Image

    x = Image.fromarray(photo_like(64, 96))
    rows = [measure(jpeg, "synthetic", x, q) for q in (20, 80)]
    assert rows[0].bpp < rows[1].bpp and rows[0].psnr_rgb < rows[1].psnr_rgb
    r = compressai_results(jpeg, rows)
    assert set(r) >= {"name", "description", "results"}
    assert set(r["results"]) == {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"}
    assert len(r["results"]["bpp"]) == 2
    summary = write_outputs(tmp_path, [jpeg], rows, "jpeg", [])
    assert json.loads((tmp_path / "jpeg.json").read_text())["name"] == "JPEG 4:2:0"
    assert (tmp_path / "rd.png").stat().st_size > 0 and (tmp_path / "rows.csv").read_text().count("\n") == 3
    assert summary["codecs"]["jpeg"]["points"] == 2


def test_hevc_qp_is_really_applied():
    hevc = available()[0]["hevc444"]
    from PIL import Image

    x = Image.fromarray(photo_like(64, 64))
    sizes = [len(hevc.encode(x, qp)) for qp in (42, 22)]
    assert sizes[0] < sizes[1]


def test_irr_goes_through_the_public_api():
    irr = available()[0]["irr"]
    from PIL import Image

    row = measure(irr, "synthetic", Image.fromarray(photo_like(32, 48)), 85)
    assert row.bpp > 0 and row.psnr_rgb > 15


def test_rescaling_report_on_two_small_images(tmp_path):
    from PIL import Image

    from bench import rescale

    for i in range(2):
        Image.fromarray(photo_like(48, 64, seed=i)).save(tmp_path / f"{i}.png")
    report = rescale.run(sorted(tmp_path.glob("*.png")), scales=(2,), progress=False)
    mean = report["scales"]["2"]["mean"]
    assert set(mean) >= {"bpp", "psnr_t0.0", "psnr_t1.0", "bicubic_psnr", "tiling_delta_db"}
    assert 0 < mean["bpp"] < 24 and mean["psnr_t0.0"] > 20
    assert abs(mean["tiling_delta_db"]) < 1e-9  # a 64-pixel image is a single tile
    # JPEG 75 costs more than JPEG 90, and both cost something against the lossless LR
    assert mean["psnr_t0.0"] > mean["jpeg90_psnr"] > mean["jpeg75_psnr"]
    assert mean["bicubic_psnr"] > mean["jpeg75_bicubic_psnr"]
    assert "| x2 |" in rescale.markdown(report) and "| x2 | JPEG 75 |" in rescale.markdown(report)


def test_published_curves_are_labelled_and_validated(tmp_path):
    from bench.rd import load_published

    good = tmp_path / "kodak.json"
    good.write_text(json.dumps({"name": "bmshj2018-hyperprior", "results": {"bpp": [0.2, 0.4], "psnr-rgb": [29.0, 31.0]}}))
    assert load_published(good, "Kodak")["name"] == "bmshj2018-hyperprior [Kodak]"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": {"bpp": [1]}}))
    with pytest.raises(ValueError):
        load_published(bad, "x")


def test_anchor_comparison_reports_largest_differences(tmp_path):
    from bench.rd import compare_with_anchors

    ours, anchors = tmp_path / "ours", tmp_path / "anchors"
    ours.mkdir()
    anchors.mkdir()
    (ours / "jpeg.json").write_text(json.dumps({"results": {"bpp": [1.0, 2.02], "psnr-rgb": [30.0, 35.05]}}))
    (anchors / "jpeg420.json").write_text(json.dumps({"results": {"bpp": [1.0, 2.0], "psnr-rgb": [30.0, 35.0]}}))
    report = compare_with_anchors(ours, anchors)
    assert report["jpeg"]["max_bpp_diff_pct"] == pytest.approx(1.0)
    assert report["jpeg"]["max_psnr_diff_db"] == pytest.approx(0.05)


def test_keep_icc_reaches_avif_but_not_jpeg(tmp_path):
    from PIL import Image

    from bench.rd import load_image

    path = tmp_path / "icc.png"
    Image.fromarray(photo_like(32, 32)).save(path, icc_profile=b"x" * 3000)
    codecs, _ = available()
    with_icc, without = load_image(path, True), load_image(path, False)
    assert len(codecs["avif"].encode(with_icc, 50)) - len(codecs["avif"].encode(without, 50)) >= 3000
    assert len(codecs["jpeg"].encode(with_icc, 50)) == len(codecs["jpeg"].encode(without, 50))


def test_merge_combines_earlier_runs_into_one_summary(tmp_path):
    from bench.rd import merge

    for name, key, shift in (("a", "jpeg", 0.0), ("b", "webp", 1.0)):
        (tmp_path / name).mkdir()
        curve_ = {"name": key, "results": {"bpp": [0.5, 1.0, 2.0], "psnr-rgb": [30 + shift, 33 + shift, 36 + shift],
                                            "ms-ssim-rgb": [0.9, 0.95, 0.98]}}
        (tmp_path / name / f"{key}.json").write_text(json.dumps(curve_))
    (tmp_path / "b" / "summary-old.json").write_text(json.dumps({"reference": "x", "codecs": {}}))
    summary = merge([tmp_path / "a", tmp_path / "b"], tmp_path / "out", "jpeg", [])
    assert summary["codecs"]["webp"]["bd_rate_vs_jpeg"] < 0
    assert set(summary["codecs"]) == {"jpeg", "webp"}  # summaries and reports are not codecs
    assert (tmp_path / "out" / "rd.png").exists()


@pytest.mark.parametrize("key", ["jpeg2000", "jxl"])
def test_jpeg2000_and_jpeg_xl_follow_their_knob(key):
    from PIL import Image

    codec_ = available()[0][key]
    x = Image.fromarray(photo_like(64, 96))
    low, high = codec_.sweep[0], codec_.sweep[-1]
    small, large = (measure(codec_, "synthetic", x, v) for v in (low, high))
    assert small.bpp < large.bpp and small.psnr_rgb < large.psnr_rgb


def test_unavailable_codecs_are_named_with_the_reason(monkeypatch, capsys):
    import shutil as shutil_module

    from bench.cli import main

    monkeypatch.setattr(shutil_module, "which", lambda name: None)
    codecs, missing = available()
    assert "bpg444" in missing and "bpg444" not in codecs and "PATH" in missing["bpg444"]
    assert main(["bench", "--codecs", "bpg444", "--images", "."]) == 2  # nothing left to run
    assert "bpg444 is unavailable here and is skipped" in capsys.readouterr().err


def test_codec_never_imports_bench():
    import subprocess
    import sys

    code = "import sys, codec, codec.cli, codec.api, codec.pillow, codec.data; print(any(m.split('.')[0] == 'bench' for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_speed_run_times_every_codec_on_one_gapless_mosaic(tmp_path, capsys):
    from PIL import Image

    from bench import speed
    from bench.cli import main

    for i in range(2):
        Image.fromarray(photo_like(40, 60, seed=i)).save(tmp_path / f"{i}.png")
    canvas = np.asarray(speed.mosaic(sorted(tmp_path.glob("*.png")), 150, 70, row_height=40))
    assert canvas.shape == (70, 150, 3) and canvas.reshape(-1, 3).max(axis=1).min() > 0  # no black gaps
    assert main(["bench", "--speed", "--images", str(tmp_path), "--megapixels", "0.01", "--codecs", "irr,jpeg",
                 "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "speed.json").read_text())
    assert [r["codec"] for r in report["rows"]] == ["irr", "jpeg"]
    assert all(r["encode_s"] > 0 and r["decode_s"] > 0 and r["bpp"] > 0 for r in report["rows"])
    assert "| irr | 75 |" in capsys.readouterr().out


def test_held_out_runs_on_the_training_splits_held_out_photos_only(tmp_path, capsys):
    from PIL import Image

    from bench.cli import main
    from codec.training.data import split_train_val

    folder = tmp_path / "train"
    folder.mkdir()
    for i in range(13):  # 13 photos, two tiles each: the split holds out one photo, both its tiles
        for t in (1, 2):
            Image.fromarray(photo_like(16, 24, seed=i)).save(folder / f"photo{i:02d}_{t}of2.png")
    held = split_train_val(sorted(folder.glob("*.png")))[1]
    assert len(held) == 2
    assert main(["bench", "--images", str(folder), "--held-out", "--codecs", "jpeg", "--out", str(tmp_path / "out")]) == 0
    rows = (tmp_path / "out" / "rows.csv").read_text()
    assert {p.name for p in held} == {name for name in (p.name for p in folder.glob("*.png")) if name in rows}
    few = tmp_path / "few"
    few.mkdir()
    Image.fromarray(photo_like(16, 24)).save(few / "a.png")
    assert main(["bench", "--images", str(few), "--held-out", "--codecs", "jpeg", "--out", str(tmp_path / "o2")]) != 0
    assert "holds out no photo" in capsys.readouterr().err
