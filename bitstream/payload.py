"""The framing inside an entropy-coded chunk (LRDT, ZDAT, ALPH), declared with ``construct`` beside
the container; ``SPEC.md`` ("Entropy models") is the prose version::

    payload := shifts? table? stream+
    shifts  := one nibble per band class of the part, value + 8, high nibble first   (scheme 4)
    table   := per segment: length (u32) [CRC-32 of its symbols as int32 big-endian (u32)]
    stream  := the rANS bytes of one segment (a model without segments: the whole rest, one stream)

All integers are big-endian. The parse checks only the framing (lengths add up to the payload);
what a segment may hold for its symbol count is the entropy coder's check.
"""

from __future__ import annotations

from dataclasses import dataclass

import construct as cs

from bitstream.errors import FormatError

SHIFT_BIAS = 8  # a nibble n holds the shift n - 8: every nibble is a valid shift of -8..7

Shifts = cs.Bitwise(cs.GreedyRange(cs.BitsInteger(4)))


def segment_table(count: int, with_crc: bool) -> cs.Construct:
    entry = cs.Struct("length" / cs.Int32ub, "crc" / cs.If(with_crc, cs.Int32ub))
    return cs.Array(count, entry)


@dataclass
class Payload:
    shifts: list[int] | None  # per band class of the part, in its order; None: the model sends none
    streams: list[bytes]
    crcs: list[int] | None  # per segment; None: the model records none


def pack_payload(p: Payload, segmented: bool) -> bytes:
    """The bytes of a payload. ``segmented``: the model frames its streams with a segment table."""
    out = b""
    if p.shifts is not None:
        if len(p.shifts) % 2:
            raise ValueError("shifts come in pairs (12 classes per plane group)")
        out += Shifts.build([s + SHIFT_BIAS for s in p.shifts])
    if not segmented:
        if len(p.streams) != 1:
            raise ValueError("a model without segments codes one stream")
        return out + p.streams[0]
    crcs = p.crcs if p.crcs is not None else [None] * len(p.streams)
    table = segment_table(len(p.streams), p.crcs is not None)
    return out + table.build([{"length": len(s), "crc": c} for s, c in zip(p.streams, crcs)]) + b"".join(p.streams)


def unpack_payload(data: bytes, n_shifts: int, n_segments: int, segmented: bool, with_crc: bool, what: str) -> Payload:
    """Parse a payload of ``n_shifts`` shift nibbles (0: none) and ``n_segments`` segments."""
    shifts = None
    if n_shifts:
        n = n_shifts // 2
        if len(data) < n:
            raise FormatError(f"the {what} stream ends inside its context shifts: the file is corrupt")
        shifts = [v - SHIFT_BIAS for v in Shifts.parse(data[:n])]
        data = data[n:]
    if not segmented:
        return Payload(shifts, [data], None)
    table = segment_table(n_segments, with_crc)
    head = table.sizeof()
    if len(data) < head:
        raise FormatError(f"the {what} stream ends inside its segment table: the file is corrupt")
    entries = table.parse(data[:head])
    lengths = [e.length for e in entries]
    if head + sum(lengths) != len(data):
        raise FormatError(f"the {what} stream's segment table does not match its length: the file is corrupt")
    streams, at = [], head
    for length in lengths:
        streams.append(data[at : at + length])
        at += length
    return Payload(shifts, streams, [e.crc for e in entries] if with_crc else None)
