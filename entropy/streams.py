"""rANS streams of a part's symbols: segments, their encoder and a decoder that reads across
segment boundaries with every read bounded (the framing around them is ``bitstream.payload``'s).

The stream format is CompressAI's (SPEC.md, "rANS streams"). irr's own C coder
(``entropy/_rans.c``) reads and writes it from numpy arrays with bounded reads; where it was not
built (no C compiler at install), CompressAI's coder makes the same bytes through Python lists.
"""

from __future__ import annotations

import functools
import warnings
import zlib

import numpy as np

try:
    from entropy import _rans as native
except ImportError:  # built without a C compiler
    native = None

from bitstream.container import max_stream_bytes
from bitstream.errors import ChecksumError, LimitError
from bitstream.payload import Payload
from entropy.tables import EntropyTables

RANS_L = 1 << 31  # the rANS state's lower bound, a new stream's encoder state (entropy/_rans.c)


def _compressai():
    with warnings.catch_warnings():  # compressai's import warns about torch.jit.script; not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        from compressai import ans
    return ans


class Rans:
    """The rANS coder of one set of tables."""

    def __init__(self, tables: EntropyTables) -> None:
        self.cdfs = np.ascontiguousarray(tables.cdfs, dtype=np.int32)
        self.lengths = np.ascontiguousarray(tables.lengths, dtype=np.int32)
        self.offsets = np.ascontiguousarray(tables.offsets, dtype=np.int32)
        self.lookup = tables.search_bounds if native is not None else None
        self.lists = None if native is not None else tables.coder_lists()
        self._tails: dict[int, tuple[bytes, int]] = {}  # padding length -> its words and the state they leave

    def encode(self, values: np.ndarray, table_rows: np.ndarray) -> bytes:
        """One stream. It ends in near-free symbols (a zero in the sharpest table, ~1e-4 bit each)
        that the decoder never reaches: CompressAI's encoder writes into a buffer of one 32-bit word
        per symbol and overran it (heap corruption) on longer streams; they stay so that files are
        the same bytes whichever coder wrote them. rANS codes last to first, so the padding is coded
        first, from the initial state: the native coder codes it once per length (a part's full
        segments share one) and the segment's symbols from the state it leaves."""
        n_pad = values.size // 2 + 16
        if native is not None:
            tail, state = self._tail(n_pad)
            head = native.encode(np.ascontiguousarray(values, dtype=np.int32), np.ascontiguousarray(table_rows, dtype=np.uint8),
                                 self.cdfs, self.cdfs.shape[1], self.lengths, self.offsets, state, True)
            return head + tail
        values = np.concatenate([values.astype(np.int32, copy=False), np.zeros(n_pad, np.int32)])
        table_rows = np.concatenate([table_rows.astype(np.uint8, copy=False), np.zeros(n_pad, np.uint8)])
        return _compressai().RansEncoder().encode_with_indexes(values.tolist(), table_rows.tolist(), *self.lists)

    def _tail(self, n_pad: int) -> tuple[bytes, int]:
        """The padding's words (the stream's end) and the encoder state after them (threads may
        compute one twice: the same value)."""
        if n_pad not in self._tails:
            self._tails[n_pad] = native.encode(np.zeros(n_pad, np.int32), np.zeros(n_pad, np.uint8), self.cdfs,
                                               self.cdfs.shape[1], self.lengths, self.offsets, RANS_L, False)
        return self._tails[n_pad]


def segments(n_symbols: int, tables: EntropyTables) -> list[tuple[int, int]]:
    """[start, stop) of each rANS stream: one for the first model, else ``segment_symbols`` each."""
    size = tables.segment_symbols or max(1, n_symbols)
    return [(start, min(n_symbols, start + size)) for start in range(0, n_symbols, size)]


def part_segments(plane_symbols: list[int], tables: EntropyTables, apart: bool) -> list[tuple[int, int]]:
    """[start, stop) of each rANS stream of a part whose planes code ``plane_symbols`` symbols each,
    in coding order: the part's symbols cut as :func:`segments` does, or with ``apart`` (the
    detail part of a scheme whose finest level reads no other plane) each plane's cut on its own,
    so that every plane starts a stream and decodes without the others."""
    if not apart:
        return segments(sum(plane_symbols), tables)
    out, start = [], 0
    for n in plane_symbols:
        out += [(start + a, start + b) for a, b in segments(n, tables)]
        start += n
    return out


def padding(stream_bytes: int, n_symbols: int) -> int:
    """Zero bytes appended to a stream before compressai's decoder, which reads without bounds checks.

    A symbol reads at most a few words, except an overflow symbol's bypass: its escape nibbles
    (each 15) can run through the whole stream, adding 15 to a count per 4 bits, and then that
    many nibbles are read: up to 15x the stream's length. Padding past that keeps every read of
    even a forged stream inside the buffer (the decoded garbage is then caught by the LR's CRC).
    """
    return 16 * (stream_bytes + n_symbols) + 64


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC-32 of A + B from crc1 = CRC-32(A), crc2 = CRC-32(B) and len(B) (zlib's crc32_combine,
    which Python's zlib does not expose): crc1 advanced over len(B) zero bytes, xor crc2. The
    advance is linear, so a zero crc1 (A empty: a part's first segment) costs nothing."""
    return _times(_zeros_operator(length2), crc1) ^ crc2 if crc1 and length2 > 0 else crc1 ^ crc2


def _times(matrix: tuple[int, ...], vector: int) -> int:
    """A 32x32 matrix over GF(2) (columns as ints) times a vector."""
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _product(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(_times(a, column) for column in b)


_ONE_ZERO_BIT = (0xEDB88320, *(1 << n for n in range(31)))  # the reflected polynomial's shift


@functools.lru_cache(maxsize=None)
def _byte_power(k: int) -> tuple[int, ...]:
    """The operator of 2^k zero bytes (a pure function: the decoder's two threads may share it)."""
    if k == 0:
        two = _product(_ONE_ZERO_BIT, _ONE_ZERO_BIT)
        four = _product(two, two)
        return _product(four, four)
    return _product(_byte_power(k - 1), _byte_power(k - 1))


@functools.lru_cache(maxsize=64)
def _zeros_operator(n_bytes: int) -> tuple[int, ...]:
    """The operator that advances a CRC-32 register over ``n_bytes`` zero bytes (a part's segments
    share one length: cached, then one matrix-vector product per segment)."""
    result = None
    for k in range(n_bytes.bit_length()):
        if n_bytes >> k & 1:
            result = _byte_power(k) if result is None else _product(_byte_power(k), result)
    return result


class SegmentedDecoder:
    """Decodes symbols across segment boundaries, one segment's buffer in memory at a time.

    It reads the segments ``bounds`` (the [start, stop) of each, consecutive) of a part, whose
    streams and CRCs are those of ``payload`` from index ``first`` on (a plane of a part cut by
    plane: ``part_segments``)."""

    def __init__(self, payload: Payload, bounds: list[tuple[int, int]], tables: EntropyTables, what: str,
                 first: int = 0) -> None:
        self.rans = Rans(tables)
        self.segments = bounds
        self.what = what
        self.first, self.total = first, len(payload.streams)
        self.streams = payload.streams[first : first + len(bounds)]
        self.crcs = None if payload.crcs is None else payload.crcs[first : first + len(bounds)]
        if tables.segment_symbols:
            for stream, (start, stop) in zip(self.streams, self.segments):
                if len(stream) > max_stream_bytes(stop - start):
                    raise LimitError(f"a {what} segment of {len(stream)} bytes exceeds the bound for {stop - start} symbols")
        self.index = -1
        self.left = 0
        self.crc = 0  # of the current segment's symbols so far
        self.total_crc = 0
        self.position, self.state = -1, 0  # the native decoder's place in the current stream
        self.decoder = None if native is not None else _compressai().RansDecoder()

    def _check(self) -> None:
        """A finished segment's symbols against its CRC: damage is found one segment in, not at the
        end. The part's CRC is the segments' CRCs combined: each symbol's bytes are summed once."""
        if self.index < 0:
            return
        start, stop = self.segments[self.index]
        self.total_crc = crc32_combine(self.total_crc, self.crc, 4 * (stop - start - self.left))
        if self.crcs is not None and self.crc != self.crcs[self.index]:
            raise ChecksumError(f"segment {self.first + self.index + 1} of {self.total} of the {self.what} stream "
                                "does not match its checksum: the file is corrupt")

    def _next(self) -> None:
        self._check()
        self.index += 1
        start, stop = self.segments[self.index]
        if self.decoder is not None:  # CompressAI's decoder reads without bounds: pad its buffer
            self.decoder.set_stream(self.streams[self.index] + bytes(padding(len(self.streams[self.index]), stop - start)))
        self.position, self.state = -1, 0
        self.left = stop - start
        self.crc = 0

    def read(self, table_rows: np.ndarray) -> np.ndarray:
        """Decode one symbol per entry of ``table_rows`` (uint8 rows of the tables)."""
        out = np.empty(table_rows.size, np.int32)
        done = 0
        while done < table_rows.size:
            if self.left == 0:
                self._next()
            take = table_rows[done : done + self.left]
            decoded = self._decode(np.ascontiguousarray(take, dtype=np.uint8))
            self.crc = zlib.crc32(decoded.astype(">i4"), self.crc)  # its buffer: no copy to bytes
            out[done : done + take.size] = decoded
            done += take.size
            self.left -= take.size
        return out

    def _decode(self, rows: np.ndarray) -> np.ndarray:
        if self.decoder is None:
            out = np.empty(rows.size, np.int32)
            r = self.rans
            self.position, self.state = native.decode(self.streams[self.index], self.position, self.state, rows, r.cdfs,
                                                      r.cdfs.shape[1], r.lengths, r.offsets, r.lookup, out)
            return out
        # CompressAI converts every table it is given on every call (~1 ms for the 64 rows): pass
        # only the rows this call uses, renumbered.
        cdfs, lengths, offsets = self.rans.lists
        used = np.flatnonzero(np.bincount(rows, minlength=len(cdfs)))
        renumber = np.zeros(len(cdfs), np.int32)
        renumber[used] = np.arange(used.size, dtype=np.int32)
        return np.asarray(self.decoder.decode_stream(renumber[rows].tolist(), [cdfs[i] for i in used],
                                                     [lengths[i] for i in used], [offsets[i] for i in used]), dtype=np.int32)

    def finish(self) -> int:
        """Checks the last segment; returns the CRC of all symbols (as :class:`Coded` has it)."""
        self._check()
        return self.total_crc
