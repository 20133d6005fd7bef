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
    """Real files covering every chunk kind, scale and entropy model: learned-level files (RGB with
    ICC + EXIF, RGBA, gray, and a larger one with a full level count), RGB x2, RGBA x4, gray x2
    lossless, scale 1, and a golden file of the first entropy model (one rANS stream, not segments)."""
    rgb = photo_like(20, 28)
    exif = Image.Exif()
    exif[0x010F] = "mutations"
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", icc_profile=b"icc" * 10, exif=exif.tobytes())
    with_metadata = Image.open(io.BytesIO(buf.getvalue()))
    return [
        codec.encode(with_metadata, quality=60),
        codec.encode(photo_like(13, 19, 4), quality=80),
        codec.encode(photo_like(17, 11, 1), quality=30),
        codec.encode(photo_like(96, 128), quality=50),
        codec.encode(rgb, quality=60, scale=2),
        codec.encode(photo_like(13, 9, 4), quality=90, scale=4),
        codec.encode(photo_like(11, 17, 1), lossless=True, scale=2),
        codec.encode(with_metadata, quality=40, scale=1),
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


# IHDR fields (offset in the chunk's data, size) that are not strings: width, height, channels,
# bit depth, colour transform, scale, quality, lr_step; after the model name: revision, and the rest.
_IHDR_FIXED = ((0, 4), (4, 4), (8, 1), (9, 1), (10, 1), (11, 1), (12, 1), (13, 2))
_INTERESTING = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF)


def _structured(data: bytes, chunks: list[tuple[int, int]], rng: random.Random) -> tuple[str, bytes]:
    """A change that keeps the file well formed (every CRC repaired) and so reaches deeper checks:
    a header field, a segment table's lengths or CRCs, the minor version, a model or table name,
    or one stream's segments moved into another chunk."""
    named = {data[off + 4 : off + 8]: (off, size) for off, size in chunks}
    choice = rng.randrange(5)
    if choice == 0 and b"IHDR" in named:
        off, size = named[b"IHDR"]
        body = bytearray(data[off + 8 : off + size - 4])
        at, width = rng.choice(_IHDR_FIXED)
        body[at : at + width] = (rng.choice(_INTERESTING) % (1 << (8 * width))).to_bytes(width, "big")
        return f"ihdr-field@{at}", data[:off] + _with_crc(b"IHDR", bytes(body)) + data[off + size :]
    if choice == 1:
        streams = [k for k in (b"LRDT", b"ZDAT", b"ALPH") if k in named]
        if streams:
            kind = rng.choice(streams)
            off, size = named[kind]
            body = bytearray(data[off + 8 : off + size - 4])
            at = rng.randrange(0, max(1, min(len(body) - 3, 16)), 4) if len(body) >= 4 else 0
            body[at : at + 4] = (rng.choice(_INTERESTING) % (1 << 32)).to_bytes(4, "big")
            return f"segment-table-{kind.decode()}@{at}", data[:off] + _with_crc(kind, bytes(body)) + data[off + size :]
    if choice == 2:
        b = bytearray(data)
        b[9] = rng.choice([0, 1, 2, 3, 255])
        return f"minor-{b[9]}", bytes(b)
    if choice == 3 and b"IHDR" in named:
        off, size = named[b"IHDR"]
        body = data[off + 8 : off + size - 4]
        name_at = 14
        name_len = body[name_at]
        new = rng.choice([b"irr-x2", b"irr-x4", b"irr-level", b"none", b"w97-laplace-1", b"w97-laplace-2", b"w97-adaptive-1", b"w97-adaptive-2", b"w97-adaptive-3"])
        body = body[:name_at] + bytes([len(new)]) + new + body[name_at + 1 + name_len :]
        return f"model-name-{new.decode()}", data[:off] + _with_crc(b"IHDR", body) + data[off + size :]
    streams = [k for k in (b"LRDT", b"ZDAT", b"ALPH") if k in named]
    source, target = rng.choice(streams), rng.choice(streams)
    (s_off, s_size), (t_off, t_size) = named[source], named[target]
    moved = _with_crc(target, data[s_off + 8 : s_off + s_size - 4])
    return f"stream-{source.decode()}-as-{target.decode()}", data[:t_off] + moved + data[t_off + t_size :]


def mutations(data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """Every truncation (one case in four until they are all done), and random structural and
    bit-level damage, forever."""
    truncations = iter(range(len(data)))
    chunks = _chunks(data)
    for case in range(1 << 62):
        if case % 4 == 0:
            n = next(truncations, None)
            if n is not None:
                yield f"truncate@{n}", data[:n]
                continue
        kind = rng.randrange(11)
        if kind >= 9:
            yield _structured(data, chunks, rng)
            continue
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
    """Counts of "error" and "decoded" cases, and of those that "reached_entropy_decoder" (the
    container, the header and the segment tables let them through to rANS)."""
    import entropy.streams

    rng = random.Random(seed)
    seeds = seed_files()
    streams = [mutations(s, rng) for s in seeds]
    counts = {"error": 0, "decoded": 0, "reached_entropy_decoder": 0}
    reached = []
    original = entropy.streams.SegmentedDecoder._next

    def noting(self) -> None:
        reached.append(True)
        original(self)

    entropy.streams.SegmentedDecoder._next = noting
    try:
        for i in range(cases):
            name, case = next(streams[i % len(streams)])
            reached.clear()
            try:
                counts[check(case)] += 1
            except AssertionError as e:
                raise AssertionError(f"case {i} ({name}): {e}") from None
            except Exception as e:
                raise AssertionError(f"case {i} ({name}) raised {type(e).__name__}: {e}") from None
            counts["reached_entropy_decoder"] += bool(reached)
    finally:
        entropy.streams.SegmentedDecoder._next = original
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Run N mutated .irr files through the decoder.")
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    counts = run(args.cases, args.seed)
    print(f"{args.cases} cases, 0 failures ({counts['error']} rejected with IrrError, "
          f"{counts['decoded']} decoded at their declared size; {counts['reached_entropy_decoder']} reached the "
          f"entropy decoder) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
