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
from codec.batch import BatchFailed, UsageError, jobs_of, run_batch  # noqa: F401 (UsageError: the offline CLIs')
from codec.files import is_stream, read_input, write_output

# Output extension -> (Pillow format, the modes it holds as they are). A decoded image in another
# mode is converted where nothing is lost (gray written as RGB, said in the output line) and
# refused where something would be (alpha, or colour into a gray-only format).
OUTPUT_FORMATS = {".png": ("PNG", ("L", "RGB", "RGBA")), ".tif": ("TIFF", ("L", "RGB", "RGBA")),
                  ".tiff": ("TIFF", ("L", "RGB", "RGBA")), ".webp": ("WEBP", ("RGB", "RGBA")),
                  ".bmp": ("BMP", ("L", "RGB")), ".jpg": ("JPEG", ("L", "RGB")), ".jpeg": ("JPEG", ("L", "RGB")),
                  ".ppm": ("PPM", ("RGB",)), ".pgm": ("PPM", ("L",)), ".pnm": ("PPM", ("L", "RGB"))}
ALPHA_FORMATS = "PNG, TIFF or WebP"


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
_jobs_count = _ranged(int, 1, 256)


def _scale(text: str) -> int | None:
    if text == "auto":
        return None
    if text in ("1", "2", "4"):
        return int(text)
    raise argparse.ArgumentTypeError(f"must be auto, 1, 2 or 4, got {text!r}")
_temperature = _ranged(float, 0, 65)
_seed = _ranged(int, 0, 2**32 - 1)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("irr")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def offline_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The ``irr`` parser an offline group adds its one command to (same program, same ``-v``)."""
    p = argparse.ArgumentParser(prog="irr", description="irr: a learned image codec built on an invertible neural network.")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors (anywhere on the line)")
    p.add_argument("--version", action="version", version=f"irr {_version()}")
    return p, p.add_subparsers(dest="command", required=True, metavar="COMMAND")


def build_parser(extensions: Extensions | None = None) -> argparse.ArgumentParser:
    from codec.defaults import DEFAULT_QUALITY, DEFAULT_SCALE

    p, sub = offline_parser()

    e = sub.add_parser("encode", help="encode an image to .irr", description="Encode any image Pillow reads to .irr.")
    e.add_argument("input", nargs="+", help="input image(s) or folder(s) ('-' for stdin)")
    e.add_argument("-o", "--output", required=True, help="output .irr ('-' for stdout), or a folder for several inputs")
    e.add_argument("-f", "--force", action="store_true", help="overwrite existing output files (refused by default)")
    e.add_argument("-j", "--jobs", type=_jobs_count, default=1, help="parallel worker processes for several inputs (default 1)")
    e.add_argument("-q", "--quality", type=_quality, default=None,
                   help=f"1..100, higher is better, JPEG's scale (see README 'Quality'); 100 is lossless (default {DEFAULT_QUALITY})")
    e.add_argument("--scale", type=_scale, default=DEFAULT_SCALE, metavar="{auto,1,2,4}",
                   help="auto (default): irr's learned level (the INN) codes the image; 1: the wavelet coder alone, "
                        "no network; 2 or 4: store only the LR of the invertible rescaler (pure rescaling)")
    e.add_argument("--lossless", action="store_true",
                   help="lossless (same as -q 100): the image itself, or with --scale 2|4 the rescaler's LR")
    e.add_argument("--temperature", type=_temperature, default=None,
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
    d.add_argument("-j", "--jobs", type=_jobs_count, default=1, help="parallel worker processes for several inputs (default 1)")
    d.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the network runs (default auto)")
    d.add_argument("--temperature", type=_temperature, default=None, help="latent temperature, 0..65 (default: the file's)")
    d.add_argument("--seed", type=_seed, default=None, help="seed of the latent draw (default: the file's)")
    d.add_argument("--thumbnail", action="store_true", help="write the stored low-resolution image, no network")
    d.add_argument("--compare", metavar="ORIGINAL", help="print PSNR-RGB against this original image")

    i = sub.add_parser("info", help="show a file's header", description="Validate an .irr file and show its header.")
    i.add_argument("input", help="input .irr ('-' for stdin)")
    i.add_argument("--json", action="store_true", help="print JSON")

    for name, what in (("downscale", "write the rescaler's LR as an ordinary PNG thumbnail"),
                       ("upscale", "restore a photo from an LR that irr downscale wrote")):
        r = sub.add_parser(name, help=what, description=what[0].upper() + what[1:] + " (README 'Rescaling').")
        r.add_argument("input", help="input image ('-' for stdin)")
        r.add_argument("-o", "--output", required=True, help="output .png ('-' for stdout)")
        r.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")
        r.add_argument("--scale", type=int, choices=(2, 4), default=2 if name == "downscale" else None,
                       help="2 (default) or 4" if name == "downscale" else
                            "the LR's scale, needed only when it lost its irr metadata (e.g. recompressed as JPEG)")
    for name, what in OFFLINE.items():  # listed here; parsed by their own packages' parsers (see main)
        sub.add_parser(name, help=what[1], add_help=False)
    for add_parser, _ in (extensions or {}).values():
        add_parser(sub)
    return p


def _encode_one(src: str, dst: str, args: argparse.Namespace) -> str:
    import io

    from codec.api import encode, info
    from codec.defaults import DEFAULT_QUALITY, DEFAULT_TEMPERATURE

    source = io.BytesIO(read_input(src)) if src == "-" else src
    data = encode(source, quality=DEFAULT_QUALITY if args.quality is None else args.quality, scale=args.scale,
                  lossless=args.lossless, temperature=DEFAULT_TEMPERATURE if args.temperature is None else args.temperature,
                  seed=args.seed, keep_metadata=not args.strip_metadata,
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


def _refuse_contradictions(args: argparse.Namespace) -> None:
    """Options that cannot all hold are a usage error, not a silent choice of one of them."""
    lossless = args.lossless or args.quality == 100
    if args.lossless and args.quality not in (None, 100):
        raise UsageError(f"-q {args.quality} contradicts --lossless (which is -q 100)")
    if args.detail != "auto" and args.scale is not None:
        raise UsageError(f"--detail {args.detail} applies to the learned level only, not to --scale {args.scale}")
    if lossless and args.detail == "no":
        raise UsageError("--detail no contradicts a lossless encode: a lossless file stores all the detail")
    if lossless and args.scale in (None, 1) and args.temperature:
        raise UsageError("--temperature has nothing to draw in a lossless file without a rescaler (--scale 2|4)")


def _encode(args: argparse.Namespace) -> None:
    from codec.pixels import IMAGE_SUFFIXES

    _refuse_contradictions(args)
    jobs = jobs_of(args, IMAGE_SUFFIXES, ".irr")
    dst = jobs[0][1]
    if len(jobs) == 1 and dst != "-" and Path(dst).suffix.lower() != ".irr" and not is_stream(dst):
        print(f"irr: warning: {dst} will hold .irr data, though its name does not end in .irr", file=sys.stderr)
    run_batch(_encode_one, jobs, args)


def _decode(args: argparse.Namespace) -> None:
    run_batch(_decode_one, jobs_of(args, {".irr"}, args.format), args)


def _info(args: argparse.Namespace) -> None:
    from codec.api import info

    meta = info(read_input(args.input))
    if args.json:
        print(json.dumps(meta, indent=2))
    else:
        for k, v in meta.items():
            print(f"{k:>20}: {v}")


def _rescale(args: argparse.Namespace) -> None:
    import io

    from codec import rescaling

    if args.output != "-" and not is_stream(args.output) and Path(args.output).suffix.lower() != ".png":
        raise UsageError(f"irr {args.command} writes PNG (lossless, with its metadata): name the output *.png")
    source = io.BytesIO(read_input(args.input))
    im = (rescaling.downscale if args.command == "downscale" else rescaling.upscale)(source, args.scale)
    write_output(args.output, rescaling.save_png(im), args.force, args.input)
    print(f"{args.output}: {im.width}x{im.height} {im.mode}", file=sys.stderr)


COMMANDS = {"encode": _encode, "decode": _decode, "info": _info, "downscale": _rescale, "upscale": _rescale}
# Offline command groups, each with its own parser in its own package: run-time commands never
# import them. name -> (module with build_parser() and run(args), one-line help).
OFFLINE = {"train": ("codec.training.cli", "train irr's learned level (or a rescaler); resumable"),
           "tools": ("codec.tools.cli", "offline tools: fit entropy tables, compare entropy models, calibrate -q")}
# name -> (add its subparser, run it): commands a front door above codec adds (``bench.cli``'s
# ``irr bench``), so that codec never imports what depends on it.
Extensions = dict[str, tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], None]]]


def _offline_parser(argv: list[str]) -> argparse.ArgumentParser | None:
    """The parser of an offline command group when ``argv`` runs one (``irr [-v] train ...``)."""
    words = argv[:1]
    if not words or words[0] not in OFFLINE:
        return None
    import importlib

    return importlib.import_module(OFFLINE[words[0]][0]).build_parser()


def main(argv: list[str] | None = None, extensions: Extensions | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # -v works before or after the command, as users of other tools type it (no option takes a
    # value that could be "-v").
    verbose = any(w in ("-v", "--verbose") for w in argv)
    argv = [w for w in argv if w not in ("-v", "--verbose")]
    offline = _offline_parser(argv)
    try:
        args = (offline or build_parser(extensions)).parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.verbose = verbose
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
