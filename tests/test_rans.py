"""irr's C rANS coder (entropy/_rans.c) against CompressAI's, whose stream format it writes: the same
bytes, the same symbols, bounded reads on forged streams, and the fallback when it is not built."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import codec
from codec.models import load_tables
from entropy import streams
from tests.conftest import photo_like

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.ans import RansDecoder, RansEncoder

native = streams.native  # None where the C coder was not built: the first test fails then


def test_the_native_coder_is_built():
    assert native is not None, "entropy/_rans.c did not build (pip install -e . needs a C compiler)"


def _random_symbols(seed: int, n: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    table_rows = rng.integers(0, rows, n).astype(np.uint8)
    values = rng.laplace(0, rng.uniform(0.3, 40), n).round().astype(np.int32)
    values[rng.integers(0, n, max(1, n // 500))] = rng.integers(-(1 << 20), 1 << 20, max(1, n // 500))  # escapes
    return values, table_rows


@pytest.mark.parametrize("model", ["w53-laplace-1", "w97-adaptive-1"])
def test_same_bytes_and_symbols_as_compressai(model):
    tables = load_tables(model)[0]
    rans = streams.Rans(tables)
    lists = tables.coder_lists()
    for seed in range(6):
        values, rows = _random_symbols(seed, 1 + 7919 * seed, len(tables.lengths))
        ours = native.encode(values, rows, rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets, streams.RANS_L, True)
        assert ours == RansEncoder().encode_with_indexes(values.tolist(), rows.tolist(), *lists)
        n_pad = values.size // 2 + 16  # a stream as irr writes it: its padding coded once, its symbols after
        padded = [np.concatenate([a, np.zeros(n_pad, a.dtype)]).tolist() for a in (values, rows)]
        assert rans.encode(values, rows) == RansEncoder().encode_with_indexes(*padded, *lists)
        assert rans.encode(values, rows) == rans.encode(values, rows)  # its cached tail
        decoder = RansDecoder()
        decoder.set_stream(ours + bytes(64))
        theirs = np.asarray(decoder.decode_stream(rows.tolist(), *lists), np.int32)
        out = np.empty(values.size, np.int32)
        cut = values.size // 3  # in two calls, as the segmented decoder reads
        pos, state = native.decode(ours, -1, 0, rows[:cut], rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets,
                                   rans.lookup, out[:cut])
        native.decode(ours, pos, state, rows[cut:], rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets, rans.lookup,
                      out[cut:])
        assert np.array_equal(out, values) and np.array_equal(theirs, values)


def test_forged_streams_read_only_their_own_bytes():
    """All-0xFF streams drive the escape loops hardest; reads past the end see zeros."""
    tables = load_tables("w97-adaptive-1")[0]
    rans = streams.Rans(tables)
    rows = np.zeros(5000, np.uint8)
    for stream in (b"\xff" * 4096, b"\xff" * 3, b""):
        out = np.empty(rows.size, np.int32)
        native.decode(stream, -1, 0, rows, rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets, rans.lookup, out)
    with pytest.raises(ValueError, match="table row"):
        native.decode(b"", -1, 0, np.full(3, 255, np.uint8), rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets,
                      rans.lookup, np.empty(3, np.int32))
    with pytest.raises(ValueError, match="state"):  # an encoder state outside rANS's interval
        native.encode(np.zeros(3, np.int32), np.zeros(3, np.uint8), rans.cdfs, rans.cdfs.shape[1], rans.lengths,
                      rans.offsets, 5, True)
    with pytest.raises(ValueError, match="lookup"):
        native.decode(b"", -1, 0, rows, rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets, rans.lookup[1:],
                      np.empty(rows.size, np.int32))


def test_a_wrong_lookup_table_cannot_send_a_read_outside_its_row():
    """The search bounds are clamped to the row: garbage bounds give garbage symbols, no more."""
    tables = load_tables("w97-adaptive-1")[0]
    rans = streams.Rans(tables)
    values, rows = _random_symbols(3, 20000, len(tables.lengths))
    stream = native.encode(values, rows, rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets, streams.RANS_L, True)
    for fill in (0, 1, 0x7FFF, 0xFFFF):
        out = np.empty(values.size, np.int32)
        native.decode(stream, -1, 0, rows, rans.cdfs, rans.cdfs.shape[1], rans.lengths, rans.offsets,
                      np.full_like(rans.lookup, fill), out)


def test_the_search_bounds_bracket_every_cum_of_every_row():
    """For each row and every 16-bit cum, the symbol a full binary search finds lies within its bucket's bounds."""
    tables = load_tables("w97-adaptive-1")[0]
    rans = streams.Rans(tables)
    cums = np.arange(1 << 16)
    for row, size in enumerate(rans.lengths):
        symbol = np.searchsorted(rans.cdfs[row, : size - 1], cums, side="right") - 1
        bucket = cums >> 8
        assert np.all(rans.lookup[row, bucket] <= symbol) and np.all(symbol <= rans.lookup[row, bucket + 1])


def test_files_are_the_same_bytes_with_compressais_coder(monkeypatch):
    image = photo_like(40, 56, seed=2)
    ours = codec.encode(image)
    monkeypatch.setattr(streams, "native", None)
    theirs = codec.encode(image)
    assert ours == theirs
    assert np.array_equal(codec.decode_array(ours), codec.decode_array(theirs))
