"""Deterministic mutations of real .irr files, and the invariant every decode of them must keep.

Used by tests/test_fuzz.py (a bounded run in CI) and by ``python -m tests.mutations --cases N``
for longer local runs (README, "Reliability").
"""

from __future__ import annotations

import argparse
import io
import random
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

import codec
from tests.conftest import photo_like

HEADER_END = 12


def seed_files() -> list[bytes]:
    """Small real files covering every chunk kind and scale: RGB x2, RGBA x4, gray x2, ICC + EXIF at x1,
    and a golden file of the first entropy model (one rANS stream, not segments)."""
    rgb = photo_like(20, 28)
    exif = Image.Exif()
    exif[0x010F] = "mutations"
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", icc_profile=b"icc" * 10, exif=exif.tobytes())
    return [
        codec.encode(rgb, quality=60, scale=2),
        codec.encode(photo_like(13, 9, 4), quality=90, scale=4),
        codec.encode(photo_like(11, 17, 1), lossless=True, scale=2),
        codec.encode(Image.open(io.BytesIO(buf.getvalue())), quality=40),
        (Path(__file__).parent / "golden" / "v1-rgb-x2-q75.irr").read_bytes(),
    ]


def _chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, total size) of each chunk."""
    out, pos = [], HEADER_END
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        out.append((pos, 12 + length))
        pos += 12 + length
    return out


def _with_crc(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def mutations(data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """Every truncation, then random structural and bit-level damage, forever."""
    for n in range(len(data)):
        yield f"truncate@{n}", data[:n]
    chunks = _chunks(data)
    while True:
        kind = rng.randrange(9)
        b = bytearray(data)
        if kind == 0:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            yield f"bitflip@{i}", bytes(b)
        elif kind == 1:
            off, _ = rng.choice(chunks)
            b[off : off + 4] = struct.pack(">I", rng.choice([0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32)]))
            yield f"inflate-length@{off}", bytes(b)
        elif kind == 2 and len(chunks) > 2:
            i, j = rng.sample(range(len(chunks)), 2)
            parts = [data[o : o + s] for o, s in chunks]
            parts[i], parts[j] = parts[j], parts[i]
            yield f"swap-chunks-{i}-{j}", data[:HEADER_END] + b"".join(parts)
        elif kind == 3:
            off, size = rng.choice(chunks)
            yield f"duplicate@{off}", data[: off + size] + data[off : off + size] + data[off + size :]
        elif kind == 4:
            name = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
            off, _ = rng.choice(chunks[1:])
            extra = _with_crc(name, rng.randbytes(rng.randrange(40)))
            yield f"insert-{name.decode()}@{off}", data[:off] + extra + data[off:]
        elif kind == 5:
            # Damage a payload and repair its CRC: only the decoder's own checks can catch this.
            off, size = rng.choice(chunks)
            body = bytearray(data[off + 8 : off + size - 4])
            if body:
                for _ in range(rng.randrange(1, 4)):
                    body[rng.randrange(len(body))] = rng.randrange(256)
            yield f"payload-with-crc@{off}", data[:off] + _with_crc(data[off + 4 : off + 8], bytes(body)) + data[off + size :]
        elif kind == 6:
            off, size = rng.choice(chunks)
            yield f"drop-chunk@{off}", data[:off] + data[off + size :]
        elif kind == 8:
            # Runs of one byte value (0xFF drives rANS's bypass path hardest), up to the size bounds, after
            # a kept prefix (a segment table survives), with a repaired CRC.
            off, size = rng.choice(chunks)
            body = data[off + 8 : off + size - 4]
            keep = rng.choice([0, 4, len(body) // 2])
            fill = bytes([rng.choice([0xFF, 0x00, 0xF0, rng.randrange(256)])]) * rng.randrange(1, 8 * len(body) + 8192)
            yield f"run-with-crc@{off}", data[:off] + _with_crc(data[off + 4 : off + 8], body[:keep] + fill) + data[off + size :]
        else:
            i = rng.randrange(len(b))
            n = rng.randrange(1, 16)
            b[i : i + n] = rng.randbytes(n)
            yield f"overwrite@{i}+{n}", bytes(b)


def check(case: bytes) -> str:
    """Decode one case; returns 'error' or 'decoded'. Any other outcome raises AssertionError."""
    try:
        meta = codec.info(case)
        out = codec.decode_array(case, device="cpu", max_pixels=1 << 16)
    except codec.IrrError:
        return "error"
    assert out.shape[:2] == (meta["height"], meta["width"]), "decoded size differs from the header"
    assert out.dtype == np.uint8
    return "decoded"


def run(cases: int, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    seeds = seed_files()
    streams = [mutations(s, rng) for s in seeds]
    counts = {"error": 0, "decoded": 0}
    for i in range(cases):
        name, case = next(streams[i % len(streams)])
        try:
            counts[check(case)] += 1
        except AssertionError as e:
            raise AssertionError(f"case {i} ({name}): {e}") from None
        except Exception as e:
            raise AssertionError(f"case {i} ({name}) raised {type(e).__name__}: {e}") from None
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Run N mutated .irr files through the decoder.")
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    counts = run(args.cases, args.seed)
    print(f"{args.cases} cases, 0 failures ({counts['error']} rejected with IrrError, "
          f"{counts['decoded']} decoded at their declared size) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
