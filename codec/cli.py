"""The ``irr`` command line: encode, decode, info, train, tools (``irr bench`` is added by
``bench.cli``, the ``irr`` program's front door, which sits above codec and bench).

Exit status: 0 success; 1 bad input, corrupt file or failed operation (one ``irr: error:`` line on
stderr, no traceback unless ``-v``); 2 usage error. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bitstream.errors import IrrError
from codec.files import check_output, is_stream, read_input, write_output

# Output extension -> (Pillow format, the modes it holds as they are). A decoded image in another
# mode is converted where nothing is lost (gray written as RGB, said in the output line) and
# refused where something would be (alpha, or colour into a gray-only format).
OUTPUT_FORMATS = {".png": ("PNG", ("L", "RGB", "RGBA")), ".tif": ("TIFF", ("L", "RGB", "RGBA")),
                  ".tiff": ("TIFF", ("L", "RGB", "RGBA")), ".webp": ("WEBP", ("RGB", "RGBA")),
                  ".bmp": ("BMP", ("L", "RGB")), ".jpg": ("JPEG", ("L", "RGB")), ".jpeg": ("JPEG", ("L", "RGB")),
                  ".ppm": ("PPM", ("RGB",)), ".pgm": ("PPM", ("L",)), ".pnm": ("PPM", ("L", "RGB"))}
ALPHA_FORMATS = "PNG, TIFF or WebP"


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


class BatchFailed(IrrError):
    """Some files of a batch failed; each was already reported."""


def _ranged(kind: type, low: float, high: float):
    """An argparse type: ``kind(text)`` within [low, high], with a message naming the range."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, got {value}")
        return value

    return parse


_quality = _ranged(int, 1, 100)


def _scale(text: str) -> int | None:
    if text == "auto":
        return None
    if text in ("1", "2", "4"):
        return int(text)
    raise argparse.ArgumentTypeError(f"must be auto, 1, 2 or 4, got {text!r}")
_temperature = _ranged(float, 0, 65)
_seed = _ranged(int, 0, 2**32 - 1)


def offline_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The ``irr`` parser an offline group adds its one command to (same program, same ``-v``)."""
    p = argparse.ArgumentParser(prog="irr", description="irr: a learned image codec built on an invertible neural network.")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    return p, p.add_subparsers(dest="command", required=True, metavar="COMMAND")


def build_parser(extensions: Extensions | None = None) -> argparse.ArgumentParser:
    from codec.api import DEFAULT_QUALITY, DEFAULT_SCALE

    p, sub = offline_parser()

    e = sub.add_parser("encode", help="encode an image to .irr", description="Encode any image Pillow reads to .irr.")
    e.add_argument("input", nargs="+", help="input image(s) or folder(s) ('-' for stdin)")
    e.add_argument("-o", "--output", required=True, help="output .irr ('-' for stdout), or a folder for several inputs")
    e.add_argument("-f", "--force", action="store_true", help="overwrite existing output files (refused by default)")
    e.add_argument("-j", "--jobs", type=int, default=1, help="parallel worker processes for several inputs (default 1)")
    e.add_argument("-q", "--quality", type=_quality, default=DEFAULT_QUALITY,
                   help=f"1..100, higher is better, JPEG's scale (see README 'Quality'); 100 is lossless (default {DEFAULT_QUALITY})")
    e.add_argument("--scale", type=_scale, default=DEFAULT_SCALE, metavar="{auto,1,2,4}",
                   help="auto (default): irr's learned level (the INN) codes the image; 1: the wavelet coder alone, "
                        "no network; 2 or 4: store only the LR of the invertible rescaler (pure rescaling)")
    e.add_argument("--lossless", action="store_true",
                   help="lossless (same as -q 100): the image itself, or with --scale 2|4 the rescaler's LR")
    e.add_argument("--temperature", type=_temperature, default=0.0,
                   help="default latent temperature written to the file, 0..65 (default 0: the mean of z)")
    e.add_argument("--seed", type=_seed, default=0, help="seed of the latent draw written to the file (default 0)")
    e.add_argument("--strip-metadata", action="store_true", help="drop the ICC profile and EXIF (kept by default)")
    e.add_argument("--detail", choices=("auto", "yes", "no"), default="auto",
                   help="learned level: store its detail (yes), or only the LR with the detail modelled as Gaussian "
                        "(no, the IRN mode); auto (default) decides by quality")

    d = sub.add_parser("decode", help="decode .irr to an image", description="Decode .irr to PNG, TIFF, BMP, WebP, JPEG or PPM (by extension).")
    d.add_argument("input", nargs="+", help="input .irr file(s) or folder(s) ('-' for stdin)")
    d.add_argument("-o", "--output", required=True,
                   help="output image, format from the extension ('-' writes PNG to stdout), or a folder for several inputs")
    d.add_argument("-f", "--force", action="store_true", help="overwrite existing output files (refused by default)")
    d.add_argument("--format", choices=sorted(OUTPUT_FORMATS), default=".png", help="output extension when -o is a folder (default .png)")
    d.add_argument("-j", "--jobs", type=int, default=1, help="parallel worker processes for several inputs (default 1)")
    d.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the network runs (default auto)")
    d.add_argument("--temperature", type=_temperature, default=None, help="latent temperature, 0..65 (default: the file's)")
    d.add_argument("--seed", type=_seed, default=None, help="seed of the latent draw (default: the file's)")
    d.add_argument("--thumbnail", action="store_true", help="write the stored low-resolution image, no network")
    d.add_argument("--compare", metavar="ORIGINAL", help="print PSNR-RGB against this original image")

    i = sub.add_parser("info", help="show a file's header", description="Validate an .irr file and show its header.")
    i.add_argument("input", help="input .irr ('-' for stdin)")
    i.add_argument("--json", action="store_true", help="print JSON")

    for name, what in OFFLINE.items():  # listed here; parsed by their own packages' parsers (see main)
        sub.add_parser(name, help=what[1], add_help=False)
    for add_parser, _ in (extensions or {}).values():
        add_parser(sub)
    return p


def _jobs(args: argparse.Namespace, suffixes: frozenset[str] | set[str], out_suffix: str) -> list[tuple[str, str]]:
    """(input, output) pairs: one file to one path, or many inputs (files, folders) into a folder.

    Refuses, before anything is written, a folder with nothing to code and two inputs that would
    land on the same output (``a.jpg`` and ``a.png`` both becoming ``a.irr``): one would silently
    replace the other.
    """
    inputs: list[str] = []
    for item in args.input:
        if item != "-" and Path(item).is_dir():
            found = [str(p) for p in sorted(Path(item).iterdir()) if p.is_file() and p.suffix.lower() in suffixes]
            if not found:
                raise IrrError(f"no {' or '.join(sorted(suffixes)) if len(suffixes) < 4 else 'image'} files in folder {item}")
            inputs += found
        else:
            inputs.append(item)
    many = len(args.input) > 1 or any(item != "-" and Path(item).is_dir() for item in args.input)
    if not many:
        check_output(args.output, args.force, inputs[0])
        return [(inputs[0], args.output)]
    if "-" in inputs or args.output == "-":
        raise UsageError("'-' (stdin/stdout) works with a single input only")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"-o {args.output} must be a folder when there are several inputs")
    jobs = [(src, str(out_dir / (Path(src).stem + out_suffix))) for src in inputs]
    _refuse_collisions(jobs)
    _refuse_existing(jobs, args.force)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IrrError(f"cannot create output folder {args.output}: {e.strerror}") from None
    return jobs


def _refuse_collisions(jobs: list[tuple[str, str]]) -> None:
    """Two inputs for one output path (compared case-folded: macOS and Windows file systems fold case)."""
    seen: dict[str, str] = {}
    for src, dst in jobs:
        key = os.path.normcase(os.path.abspath(dst)).casefold()
        if key in seen:
            same = os.path.abspath(seen[key]) == os.path.abspath(src)
            raise IrrError(f"{src} is given twice" if same else
                           f"{seen[key]} and {src} would both be written to {dst}; nothing was written "
                           "(rename one, or code them into different folders)")
        seen[key] = src


def _refuse_existing(jobs: list[tuple[str, str]], force: bool) -> None:
    """Every output checked before the first is written: a batch never stops half-way for this."""
    refused = []
    for src, dst in jobs:
        try:
            check_output(dst, force, src)
        except IrrError as e:
            refused.append(str(e))
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise IrrError(f"{refused[0]}{more}; nothing was written")


def _encode_one(src: str, dst: str, args: argparse.Namespace) -> str:
    import io

    from codec.api import encode, info

    source = io.BytesIO(read_input(src)) if src == "-" else src
    data = encode(source, quality=args.quality, scale=args.scale, lossless=args.lossless,
                  temperature=args.temperature, seed=args.seed, keep_metadata=not args.strip_metadata,
                  detail={"auto": None, "yes": True, "no": False}[args.detail])
    write_output(dst, data, args.force, src)
    meta = info(data)
    how = {"level": "learned level, detail " + ("coded" if meta["detail_stream_bytes"] else "not stored"),
           "none": "stored directly"}.get(meta["kind"], f"x{meta['scale']} rescaler")
    return f"{dst}: {meta['width']}x{meta['height']}, {len(data)} bytes, {meta['bpp']:.4f} bpp ({how}, quality {meta['quality']})"


def _decode_one(src: str, dst: str, args: argparse.Namespace) -> str:
    import io

    from codec.api import decode

    extension = ".png" if dst == "-" else Path(dst).suffix.lower()
    if extension not in OUTPUT_FORMATS:
        raise UsageError(f"cannot tell the output format from {dst!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    fmt, modes = OUTPUT_FORMATS[extension]
    data = read_input(src)
    im = decode(data, device=args.device, temperature=args.temperature, seed=args.seed, thumbnail=args.thumbnail,
                progress=sys.stderr.isatty())
    note = ""
    if im.mode not in modes:
        if im.mode == "RGBA":
            raise IrrError(f"{dst}: {extension} cannot hold this image's alpha channel; write {ALPHA_FORMATS}")
        if im.mode == "RGB":
            raise IrrError(f"{dst}: {extension} holds gray images and this one is in colour; write .ppm or .pnm")
        im, note = im.convert("RGB"), f" (gray written as RGB: {extension} has no gray mode)"
    buf = io.BytesIO()
    extra = {k: im.info[k] for k in ("icc_profile", "exif") if k in im.info and fmt in ("PNG", "TIFF", "WEBP", "JPEG")}
    im.save(buf, fmt, **extra)
    write_output(dst, buf.getvalue(), args.force, src)
    message = f"{dst}: {im.width}x{im.height} {im.mode}{note}"
    if args.compare:
        import numpy as np

        from codec.pixels import load, psnr

        reference = load(args.compare, max_pixels=1 << 31).array
        if reference.shape[:2] != (im.height, im.width):
            raise IrrError(f"--compare image is {reference.shape[1]}x{reference.shape[0]}, decoded is {im.width}x{im.height}")
        decoded = np.asarray(im)
        decoded = decoded[..., None] if decoded.ndim == 2 else decoded
        n = min(reference.shape[2], decoded.shape[2], 3)
        value = psnr(reference[..., :n], decoded[..., :n])
        score = "inf" if math.isinf(value) else f"{value:.2f}"
        message += f", PSNR-RGB {score} dB vs {args.compare}"
    return message


def _run_one(task: tuple) -> tuple[str, str | None, str]:
    """Worker: (input, error or None, message). Errors of one file never stop the others."""
    fn, src, dst, args = task
    try:
        return src, None, fn(src, dst, args)
    except (IrrError, OSError) as e:
        return src, str(e), ""


def _batch(fn, jobs: list[tuple[str, str]], args: argparse.Namespace) -> None:
    if len(jobs) == 1:
        print(fn(*jobs[0], args), file=sys.stderr)
        return
    if args.jobs < 1:
        raise UsageError("-j must be at least 1")
    tasks = [(fn, src, dst, args) for src, dst in jobs]
    if args.jobs == 1:
        results = map(_run_one, tasks)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: a forked child inherits torch's thread pools mid-state and can hang.
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_run_one, tasks))
    failed = 0
    for src, error, message in results:
        if error is None:
            print(message, file=sys.stderr)
        else:
            failed += 1
            print(f"irr: error: {src}: {error}", file=sys.stderr)
    if failed:
        raise BatchFailed(f"{failed} of {len(jobs)} files failed")


def _encode(args: argparse.Namespace) -> None:
    from codec.pixels import IMAGE_SUFFIXES

    jobs = _jobs(args, IMAGE_SUFFIXES, ".irr")
    dst = jobs[0][1]
    if len(jobs) == 1 and dst != "-" and Path(dst).suffix.lower() != ".irr" and not is_stream(dst):
        print(f"irr: warning: {dst} will hold .irr data, though its name does not end in .irr", file=sys.stderr)
    _batch(_encode_one, jobs, args)


def _decode(args: argparse.Namespace) -> None:
    _batch(_decode_one, _jobs(args, {".irr"}, args.format), args)


def _info(args: argparse.Namespace) -> None:
    from codec.api import info

    meta = info(read_input(args.input))
    if args.json:
        print(json.dumps(meta, indent=2))
    else:
        for k, v in meta.items():
            print(f"{k:>20}: {v}")


COMMANDS = {"encode": _encode, "decode": _decode, "info": _info}
# Offline command groups, each with its own parser in its own package: run-time commands never
# import them. name -> (module with build_parser() and run(args), one-line help).
OFFLINE = {"train": ("codec.training.cli", "train irr's learned level (or a rescaler); resumable"),
           "tools": ("codec.tools.cli", "offline tools: fit entropy tables, compare entropy models, calibrate -q")}
# name -> (add its subparser, run it): commands a front door above codec adds (``bench.cli``'s
# ``irr bench``), so that codec never imports what depends on it.
Extensions = dict[str, tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], None]]]


def _offline_parser(argv: list[str]) -> argparse.ArgumentParser | None:
    """The parser of an offline command group when ``argv`` runs one (``irr [-v] train ...``)."""
    words = [w for w in argv if w not in ("-v", "--verbose")][:1]
    if not words or words[0] not in OFFLINE:
        return None
    import importlib

    return importlib.import_module(OFFLINE[words[0]][0]).build_parser()


def main(argv: list[str] | None = None, extensions: Extensions | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    offline = _offline_parser(argv)
    try:
        args = (offline or build_parser(extensions)).parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        if offline is not None:
            import importlib

            importlib.import_module(OFFLINE[args.command][0]).run(args)
        else:
            commands = {**COMMANDS, **{name: run for name, (_, run) in (extensions or {}).items()}}
            commands[args.command](args)
    except UsageError as e:
        print(f"irr: usage error: {e}", file=sys.stderr)
        return 2
    except BatchFailed as e:
        print(f"irr: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of stdout left (`irr info x.irr | head`): stop quietly, as Unix tools do, and
        # point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (IrrError, OSError) as e:
        if args.verbose:
            raise
        print(f"irr: error: {e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("irr: error: out of memory (try a smaller image or a larger machine)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("irr: error: interrupted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
