"""rANS streams (compressai's coder) of a part's symbols: segments, their encoder and a decoder
that reads across segment boundaries with every read bounded (the framing around them is
``bitstream.payload``'s)."""

from __future__ import annotations

import warnings
import zlib

import numpy as np

with warnings.catch_warnings():  # compressai's import warns about torch.jit.script; not ours to fix
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.ans import RansDecoder, RansEncoder

from bitstream.container import max_stream_bytes
from bitstream.errors import ChecksumError, LimitError
from bitstream.payload import Payload
from entropy.tables import EntropyTables


def rans_encode(values: np.ndarray, table_rows: np.ndarray, coder_lists: tuple) -> bytes:
    """One rANS stream. compressai's encoder writes into a buffer of one 32-bit word per symbol and
    overruns it (heap corruption) when the stream is longer. Near-free trailing symbols (a zero in
    the sharpest table, ~1e-4 bit each) enlarge that buffer; the decoder stops before it reaches them."""
    n_pad = values.size // 2 + 16
    return RansEncoder().encode_with_indexes(
        np.concatenate([values, np.zeros(n_pad, np.int32)]).tolist(),
        np.concatenate([table_rows, np.zeros(n_pad, np.uint8)]).tolist(), *coder_lists)


def segments(n_symbols: int, tables: EntropyTables) -> list[tuple[int, int]]:
    """[start, stop) of each rANS stream: one for the first model, else ``segment_symbols`` each."""
    size = tables.segment_symbols or max(1, n_symbols)
    return [(start, min(n_symbols, start + size)) for start in range(0, n_symbols, size)]


def padding(stream_bytes: int, n_symbols: int) -> int:
    """Zero bytes appended to a stream before compressai's decoder, which reads without bounds checks.

    A symbol reads at most a few words, except an overflow symbol's bypass: its escape nibbles
    (each 15) can run through the whole stream, adding 15 to a count per 4 bits, and then that
    many nibbles are read: up to 15x the stream's length. Padding past that keeps every read of
    even a forged stream inside the buffer (the decoded garbage is then caught by the LR's CRC).
    """
    return 16 * (stream_bytes + n_symbols) + 64


class SegmentedDecoder:
    """Decodes symbols across segment boundaries, one segment's buffer in memory at a time."""

    def __init__(self, payload: Payload, n_symbols: int, tables: EntropyTables, what: str) -> None:
        self.cdfs, self.lengths, self.offsets = tables.coder_lists()
        self.segments = segments(n_symbols, tables)
        self.what = what
        self.crcs = payload.crcs
        if tables.segment_symbols:
            for stream, (start, stop) in zip(payload.streams, self.segments):
                if len(stream) > max_stream_bytes(stop - start):
                    raise LimitError(f"a {what} segment of {len(stream)} bytes exceeds the bound for {stop - start} symbols")
        self.streams = payload.streams
        self.index = -1
        self.left = 0
        self.crc = 0  # of the current segment's symbols so far
        self.total_crc = 0
        self.decoder = RansDecoder()

    def _check(self) -> None:
        """A finished segment's symbols against its CRC: damage is found one segment in, not at the end."""
        if self.crcs is not None and self.index >= 0 and self.crc != self.crcs[self.index]:
            raise ChecksumError(f"segment {self.index + 1} of {len(self.segments)} of the {self.what} stream "
                                "does not match its checksum: the file is corrupt")

    def _next(self) -> None:
        self._check()
        self.index += 1
        start, stop = self.segments[self.index]
        self.decoder.set_stream(self.streams[self.index] + bytes(padding(len(self.streams[self.index]), stop - start)))
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
            # compressai converts every table it is given on every call (~1 ms for the 64 rows):
            # pass only the rows this call uses, renumbered.
            used = np.flatnonzero(np.bincount(take, minlength=len(self.cdfs)))
            renumber = np.zeros(len(self.cdfs), np.int32)
            renumber[used] = np.arange(used.size, dtype=np.int32)
            decoded = np.asarray(self.decoder.decode_stream(
                renumber[take].tolist(), [self.cdfs[i] for i in used], [self.lengths[i] for i in used],
                [self.offsets[i] for i in used]), dtype=np.int32)
            as_bytes = decoded.astype(">i4").tobytes()
            self.crc = zlib.crc32(as_bytes, self.crc)
            self.total_crc = zlib.crc32(as_bytes, self.total_crc)
            out[done : done + take.size] = decoded
            done += take.size
            self.left -= take.size
        return out

    def finish(self) -> int:
        """Checks the last segment; returns the CRC of all symbols (as :class:`Coded` has it)."""
        self._check()
        return self.total_crc
