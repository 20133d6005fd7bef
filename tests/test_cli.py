"""The irr command: exit codes, one-line errors, atomic outputs, info --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from codec.cli import main
from tests.conftest import photo_like


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(photo_like(24, 40)).save(path)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codec", *args], capture_output=True, text=True)


def test_encode_decode_info_round_trip(png, tmp_path, capsys):
    irr = tmp_path / "x.irr"
    out = tmp_path / "x.png"
    assert main(["encode", str(png), "-o", str(irr), "-q", "80", "--scale", "2"]) == 0
    assert "bpp" in capsys.readouterr().err
    assert main(["decode", str(irr), "-o", str(out), "--compare", str(png)]) == 0
    assert "PSNR-RGB" in capsys.readouterr().err
    assert Image.open(out).size == (40, 24)
    assert main(["info", str(irr), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["width"] == 40 and meta["quality"] == 80 and meta["bytes"] == irr.stat().st_size


def test_thumbnail_is_the_stored_lr(png, tmp_path):
    import codec

    irr, out = tmp_path / "x.irr", tmp_path / "t.png"
    assert main(["encode", str(png), "-o", str(irr), "--scale", "4"]) == 0
    assert main(["decode", str(irr), "-o", str(out), "--thumbnail"]) == 0
    written = np.asarray(Image.open(out))
    assert written.shape == (6, 10, 3)
    assert np.array_equal(written, codec.decode_array(irr.read_bytes(), thumbnail=True))


@pytest.mark.parametrize("options, shape", [(["--lossless"], (24, 40)), (["--scale", "1"], (24, 40)),
                                            ([], (1, 320)), ([], (2, 3)), (["--scale", "1"], (1, 1))])
def test_thumbnail_is_smaller_even_where_no_lr_is_stored(tmp_path, options, shape):
    import codec
    import codec.pillow  # noqa: F401 (registers the plugin)

    src, irr, out = tmp_path / "in.png", tmp_path / "x.irr", tmp_path / "t.png"
    Image.fromarray(photo_like(*shape)).save(src)
    assert main(["encode", str(src), "-o", str(irr), *options]) == 0
    assert main(["decode", str(irr), "-o", str(out), "--thumbnail"]) == 0
    meta = codec.info(irr.read_bytes())
    written = Image.open(out)
    written.load()
    assert written.size == (meta["thumbnail_width"], meta["thumbnail_height"]) == (-(-shape[1] // 2), -(-shape[0] // 2))
    with Image.open(irr) as im:  # Pillow's draft gives the same picture
        im.draft("RGB", written.size)
        assert np.array_equal(np.asarray(im), np.asarray(written))
    if meta["scale"] == 1:
        assert np.array_equal(np.asarray(written), np.asarray(codec.decode(irr.read_bytes()).reduce(2)))


def test_corrupt_file_exits_1_with_one_error_line_and_writes_nothing(png, tmp_path):
    irr, out = tmp_path / "x.irr", tmp_path / "out.png"
    assert main(["encode", str(png), "-o", str(irr)]) == 0
    data = bytearray(irr.read_bytes())
    data[len(data) // 2] ^= 0x40
    irr.write_bytes(bytes(data))
    result = run("decode", str(irr), "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.startswith("irr: error:") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert not out.exists() and list(tmp_path.glob(".irr-*")) == []


@pytest.mark.parametrize("args", [
    ["decode", "missing.irr", "-o", "out.png"],
    ["encode", "missing.png", "-o", "out.irr"],
    ["info", "missing.irr"],
])
def test_missing_file_exits_1(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("irr: error:") and "missing" in err


def test_not_an_image_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert main(["encode", str(bad), "-o", str(tmp_path / "x.irr")]) == 1
    assert "cannot read image" in capsys.readouterr().err
    assert not (tmp_path / "x.irr").exists()


@pytest.mark.parametrize("args", [
    [],
    ["encode"],
    ["encode", "in.png"],
    ["encode", "in.png", "-o", "x.irr", "-q", "0"],
    ["encode", "in.png", "-o", "x.irr", "-q", "high"],
    ["encode", "in.png", "-o", "x.irr", "--scale", "3"],
    ["encode", "in.png", "-o", "x.irr", "--scale", "x2"],
    ["decode", "x.irr", "-o", "y.png", "--temperature", "-1"],
    ["frobnicate"],
])
def test_usage_errors_exit_2(args, capsys):
    assert main(args) == 2


def test_unknown_output_extension_is_a_usage_error(png, tmp_path, capsys):
    irr = tmp_path / "x.irr"
    assert main(["encode", str(png), "-o", str(irr)]) == 0
    assert main(["decode", str(irr), "-o", str(tmp_path / "y.xyz")]) == 2
    assert not (tmp_path / "y.xyz").exists()


def test_stdin_and_stdout(png):
    enc = subprocess.run([sys.executable, "-m", "codec", "encode", "-", "-o", "-"], input=png.read_bytes(), capture_output=True)
    assert enc.returncode == 0 and enc.stdout[:4] == b"\x89IRR"
    dec = subprocess.run([sys.executable, "-m", "codec", "decode", "-", "-o", "-"], input=enc.stdout, capture_output=True)
    assert dec.returncode == 0 and dec.stdout[:4] == b"\x89PNG"


def test_help_shows_ranges_and_defaults():
    result = run("encode", "--help")
    assert result.returncode == 0 and "1..100" in result.stdout and "default 75" in result.stdout


def test_verbose_shows_the_traceback_before_or_after_the_command(tmp_path):
    for args in (("-v", "info", str(tmp_path / "missing.irr")), ("info", str(tmp_path / "missing.irr"), "-v")):
        result = run(*args)
        assert result.returncode == 1 and "Traceback" in result.stderr
    assert "Traceback" not in run("info", str(tmp_path / "missing.irr")).stderr


def test_version_help_and_info_start_without_the_network_stack():
    golden = str(Path(__file__).parent / "golden" / "v1-rgb-x2-q75.irr")
    script = ("import sys, contextlib, io\nfrom bench.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
              f"    for argv in (['--version'], ['--help'], ['encode', '--help'], ['info', {golden!r}, {golden!r}]):\n"
              "        try: main(argv)\n        except SystemExit: pass\n"
              "print(out.getvalue().splitlines()[0]); print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    first, torch_loaded = result.stdout.split("\n")[-3:-1]
    assert first.startswith("irr ") and torch_loaded == "False", result.stdout + result.stderr


def test_info_reports_each_file_and_fails_on_a_bad_one(png, tmp_path, capsys):
    good, bad = tmp_path / "a.irr", tmp_path / "b.irr"
    assert main(["encode", str(png), "-o", str(good), "--scale", "1"]) == 0
    bad.write_bytes(b"not irr")
    capsys.readouterr()
    assert main(["info", "--json", str(good), str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    listed = json.loads(captured.out)
    assert [m["file"] for m in listed] == [str(good), str(good)] and listed[0]["width"] == 40
    assert f"{bad}: not an .irr file" in captured.err and "1 of 3 files failed" in captured.err


@pytest.mark.parametrize("options, said", [
    (["-q", "50", "--lossless"], "contradicts --lossless"),
    (["--scale", "2", "--detail", "yes"], "learned level only"),
    (["--scale", "1", "--detail", "no"], "learned level only"),
    (["--lossless", "--detail", "no"], "lossless"),
    (["-q", "100", "--detail", "no"], "lossless"),
    (["--lossless", "--temperature", "1"], "nothing to draw"),
    (["-j", "0"], "1..256"),
])
def test_contradictory_options_are_usage_errors(png, tmp_path, capsys, options, said):
    assert main(["encode", str(png), "-o", str(tmp_path / "x.irr"), *options]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "x.irr").exists()


def test_options_that_agree_are_taken(png, tmp_path):
    for options in (["-q", "100", "--lossless"], ["--lossless", "--scale", "2", "--temperature", "0.5"]):
        assert main(["encode", str(png), "-o", str(tmp_path / "x.irr"), "-f", *options]) == 0


def test_empty_standard_input_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "codec", "encode", "-", "-o", str(tmp_path / "x.irr")],
                            input=b"", capture_output=True)
    assert result.returncode == 1 and b"standard input is empty" in result.stderr and b"Traceback" not in result.stderr


def test_forced_output_replaces_an_existing_file_only_on_success(png, tmp_path):
    irr = tmp_path / "x.irr"
    irr.write_bytes(b"previous")
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    assert main(["encode", str(bad), "-o", str(irr), "-f"]) == 1
    assert irr.read_bytes() == b"previous"
    assert main(["encode", str(png), "-o", str(irr), "-f"]) == 0
    assert irr.read_bytes()[:4] == b"\x89IRR"
    assert np.asarray(Image.open(png)).shape == (24, 40, 3)


def test_many_inputs_into_a_folder_continue_past_failures(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(16, 20, seed=i)).save(src / f"ok{i}.png")
    (src / "broken.png").write_text("not an image")
    out = tmp_path / "out"
    assert main(["encode", str(src), "-o", str(out), "-j", "2"]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "1 of 4 files failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["ok0.irr", "ok1.irr", "ok2.irr"]
    decoded = tmp_path / "decoded"
    assert main(["decode", *map(str, sorted(out.iterdir())), "-o", str(decoded)]) == 0
    assert sorted(p.name for p in decoded.iterdir()) == ["ok0.png", "ok1.png", "ok2.png"]


def test_several_inputs_need_a_folder_output(png, tmp_path):
    target = tmp_path / "file.irr"
    target.write_bytes(b"x")
    assert main(["encode", str(png), str(png), "-o", str(target)]) == 2


def test_lossless_with_the_default_scale_gives_back_the_exact_image(png, tmp_path, capsys):
    irr, out = tmp_path / "x.irr", tmp_path / "x.png"
    assert main(["encode", str(png), "-o", str(irr), "--lossless", "--scale", "auto"]) == 0
    assert "(stored directly, quality 100)" in capsys.readouterr().err
    assert main(["decode", str(irr), "-o", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(png).convert("RGB")))


def test_interrupted_batch_leaves_only_complete_files(tmp_path):
    import signal
    import time

    src = tmp_path / "src"
    src.mkdir()
    count = 8
    for i in range(count):
        Image.fromarray(photo_like(256, 256, seed=i)).save(src / f"img{i:02d}.png")
    out = tmp_path / "out"
    # A shell that starts jobs in the background (`cmd &`) hands them SIGINT ignored, and Python
    # then installs no KeyboardInterrupt handler: the batch ran to its end with exit 0. Restore it.
    proc = subprocess.Popen([sys.executable, "-m", "codec", "encode", str(src), "-o", str(out), "--scale", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.exists() and any(out.glob("*.irr"))):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and b"Traceback" not in err
    written = sorted(out.iterdir())
    assert written and all(p.suffix == ".irr" for p in written)  # no temporary leftovers
    assert len(written) < count
    for p in written:
        assert codec_decode_ok(p.read_bytes())


def codec_decode_ok(data: bytes) -> bool:
    import codec

    return codec.decode_array(data, thumbnail=True).shape == (128, 128, 3)


def test_outputs_get_the_usual_permissions(png, tmp_path):
    import os

    irr = tmp_path / "x.irr"
    umask = os.umask(0o022)
    try:
        assert main(["encode", str(png), "-o", str(irr)]) == 0
    finally:
        os.umask(umask)
    assert irr.stat().st_mode & 0o777 == 0o644


def test_bench_summary_says_when_two_curves_share_no_quality_range(capsys):
    import argparse

    from bench.cli import _print_summary

    summary = {"codecs": {"a": {"name": "A", "bd_rate_vs_ref": float("nan"), "overlap": 0.0},
                          "b": {"name": "B", "bd_rate_vs_ref": -12.5, "overlap": 0.5}}}
    _print_summary(summary, argparse.Namespace(json=False, reference="ref", out="out"))
    out = capsys.readouterr().out
    assert "A" in out and "no common PSNR range" in out and "nan" not in out
    assert "BD-rate vs ref: -12.5% (overlap 0.50)" in out


def _photos(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(photo_like(16, 20, seed=i)).save(folder / name)


def test_two_inputs_for_one_output_are_refused_before_anything_is_written(tmp_path, capsys):
    _photos(tmp_path / "coll", ["a.jpg", "a.png", "b.png"])
    out = tmp_path / "out"
    assert main(["encode", str(tmp_path / "coll"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("irr: error:") and "a.jpg" in err and "a.png" in err and "nothing was written" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_collisions_across_folders_and_case_are_refused_in_decode_too(tmp_path, capsys):
    for folder, name in (("one", "x.png"), ("two", "X.png")):
        _photos(tmp_path / "src" / folder, [name])
        (tmp_path / folder).mkdir()
        assert main(["encode", str(tmp_path / "src" / folder / name), "-o", str(tmp_path / folder / (name[0] + ".irr"))]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["decode", str(tmp_path / "one"), str(tmp_path / "two"), "-o", str(out)]) == 1
    assert "would both be written" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []
    assert main(["encode", str(tmp_path / "src" / "one" / "x.png"), str(tmp_path / "src" / "one" / "x.png"),
                 "-o", str(out)]) == 2  # a usage error, not a failed file
    assert "given twice" in capsys.readouterr().err


def test_an_empty_input_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    assert main(["encode", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "no image files in folder" in capsys.readouterr().err
    assert main(["decode", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "no .irr files in folder" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["missing/x.irr"])
def test_an_unwritable_output_is_one_error_line(png, tmp_path, target):
    result = run("encode", str(png), "-o", str(tmp_path / target))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("irr: error: cannot write") and result.stderr.count("\n") == 1
    assert str(tmp_path / target) in result.stderr


def test_a_full_disk_leaves_the_old_file_and_no_temporary(png, tmp_path, monkeypatch, capsys):
    import errno
    import os

    irr = tmp_path / "x.irr"
    irr.write_bytes(b"previous")

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert main(["encode", str(png), "-o", str(irr), "-f"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert irr.read_bytes() == b"previous" and list(tmp_path.glob(".irr-*")) == []


def test_a_batch_with_an_output_it_cannot_write_writes_nothing(tmp_path, capsys):
    _photos(tmp_path / "src", ["a.png", "b.png", "c.png"])
    out = tmp_path / "out"
    (out / "b.irr").mkdir(parents=True)  # a folder where b's output should go
    assert main(["encode", str(tmp_path / "src"), "-o", str(out), "-f"]) == 1
    err = capsys.readouterr().err
    assert "b.irr: it is a folder" in err and "nothing was written" in err
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == []


@pytest.mark.parametrize("extension", [".bmp", ".ppm", ".jpg", ".pgm"])
def test_alpha_is_never_dropped_silently(tmp_path, extension, capsys):
    src = tmp_path / "a.png"
    Image.fromarray(photo_like(16, 20, 4)).save(src)
    irr = tmp_path / "a.irr"
    assert main(["encode", str(src), "-o", str(irr)]) == 0
    out = tmp_path / f"a{extension}"
    assert main(["decode", str(irr), "-o", str(out)]) == 1
    assert "alpha" in capsys.readouterr().err and not out.exists()


def test_colour_is_refused_for_pgm_and_gray_is_widened_for_ppm_saying_so(tmp_path, capsys):
    rgb, gray = tmp_path / "c.png", tmp_path / "g.png"
    Image.fromarray(photo_like(16, 20)).save(rgb)
    Image.fromarray(photo_like(16, 20, 1)[..., 0]).save(gray)
    for src in (rgb, gray):
        assert main(["encode", str(src), "-o", str(src.with_suffix(".irr"))]) == 0
    capsys.readouterr()
    assert main(["decode", str(rgb.with_suffix(".irr")), "-o", str(tmp_path / "c.pgm")]) == 1
    assert "gray images" in capsys.readouterr().err and not (tmp_path / "c.pgm").exists()
    assert main(["decode", str(gray.with_suffix(".irr")), "-o", str(tmp_path / "g.ppm")]) == 0
    assert "gray written as RGB" in capsys.readouterr().err
    assert Image.open(tmp_path / "g.ppm").mode == "RGB"
    assert main(["decode", str(gray.with_suffix(".irr")), "-o", str(tmp_path / "g.pgm")]) == 0
    assert Image.open(tmp_path / "g.pgm").mode == "L"


def test_a_reader_that_leaves_early_gets_no_traceback_and_no_error_line(png, tmp_path):
    encoded = tmp_path / "a.irr"
    assert main(["encode", str(png), "-o", str(encoded)]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `irr info a.irr | head` once head has gone: every write is EPIPE
    try:
        result = subprocess.run([sys.executable, "-m", "codec", "info", str(encoded)], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert result.returncode == 1 and result.stderr == ""


def test_the_readme_quick_start_runs_as_written_and_again(tmp_path):
    """The main job's command, less its install step, twice in a row (a rerun must not trip on
    the first run's outputs)."""
    import shutil

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    command = block.removeprefix("pip install -e . && ")
    assert command != block and command.startswith("irr encode ")
    if shutil.which("irr") is None:
        pytest.skip("the irr command is not installed")
    (tmp_path / "codec").symlink_to(root / "codec")
    for _ in range(2):
        result = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "PSNR-RGB" in result.stderr


def test_recursive_batches_mirror_the_tree_and_say_what_they_skip(tmp_path, capsys):
    tree, out, decoded = tmp_path / "tree", tmp_path / "out", tmp_path / "decoded"
    _photos(tree, ["a.png"])
    _photos(tree / "sub", ["B.PNG"])
    (tree / "notes.txt").write_text("not an image")
    assert main(["encode", str(tree), "-o", str(out)]) == 0
    said = capsys.readouterr().err
    assert "skipped 1 file with other extensions than image files: notes.txt" in said and "skipped 1 subfolder (-r" in said
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.irr")) == ["a.irr"]
    assert main(["encode", str(tree), "-o", str(out), "-r", "-f"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.irr")) == ["a.irr", "sub/B.irr"]
    capsys.readouterr()
    assert main(["decode", str(out), "-o", str(decoded), "-r", "--compare", str(tree)]) == 0
    said = capsys.readouterr().err
    assert "PSNR-RGB" in said and f"vs {tree / 'sub' / 'B.PNG'}" in said and f"vs {tree / 'a.png'}" in said
    assert (decoded / "sub" / "B.png").is_file()
    assert main(["decode", str(out), "-o", str(tmp_path / "d2"), "-r", "--compare", str(tree / "a.png")]) == 2


def test_one_input_into_an_existing_folder_lands_in_it(png, tmp_path, capsys):
    (tmp_path / "outd").mkdir()
    assert main(["encode", str(png), "-o", str(tmp_path / "outd")]) == 0
    assert (tmp_path / "outd" / "in.irr").is_file()
    assert main(["decode", str(tmp_path / "outd" / "in.irr"), "-o", str(tmp_path / "dec") + os.sep]) == 0
    assert (tmp_path / "dec" / "in.png").is_file()
    assert main(["encode", str(png), "-o", str(tmp_path / "outd")]) == 1  # and it is not replaced without -f
    assert "exists" in capsys.readouterr().err


def test_a_compare_folder_without_the_original_fails_that_file_only(png, tmp_path, capsys):
    (tmp_path / "irrs").mkdir()
    for name in ("in.irr", "other.irr"):
        assert main(["encode", str(png), "-o", str(tmp_path / "irrs" / name)]) == 0
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "irrs"), "-o", str(tmp_path / "dec"), "--compare", str(tmp_path)]) == 1
    said = capsys.readouterr().err
    assert "no original named other.* in --compare folder" in said and f"vs {png}" in said


def test_quiet_prints_errors_only_and_max_pixels_is_one_limit(png, tmp_path, capsys):
    folder = tmp_path / "in"
    _photos(folder, ["a.png", "b.png"])
    (folder / "notes.txt").write_text("skipped")
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["encode", str(png), "-o", str(tmp_path / "x.irr"), "--max-pixels", "100"]) == 1
    assert "exceeds the limit of 100" in capsys.readouterr().err
    assert main(["encode", str(png), "-o", str(tmp_path / "x.irr"), "--quiet"]) == 0
    assert main(["decode", str(tmp_path / "x.irr"), "-o", str(tmp_path / "x.png"), "--max-pixels", "959"]) == 1
    assert "exceeds the limit of 959" in capsys.readouterr().err
