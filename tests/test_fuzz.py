"""Mutated and random .irr files end in IrrError or a correct-size image: nothing else, ever."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

import codec
from bitstream.container import unpack
from tests.mutations import run, seed_files

CI_CASES = 4000


def test_mutation_suite_bounded_run():
    counts = run(CI_CASES, seed=1)
    assert counts["error"] + counts["decoded"] == CI_CASES
    assert counts["error"] > CI_CASES // 2  # most damage must be detected, not decoded
    assert counts["reached_entropy_decoder"] > CI_CASES // 10  # the structured cases get past the container


def test_valid_seed_files_decode():
    for data in seed_files():
        assert codec.decode_array(data).shape[0] == codec.info(data)["height"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_escape_irr_error(data):
    try:
        unpack(data)
    except codec.IrrError:
        pass


@lru_cache(maxsize=1)
def _seeds() -> tuple[bytes, ...]:
    return tuple(seed_files())


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_valid_file_with_random_bytes_spliced_in_ends_in_irr_error_or_its_declared_size(data):
    """Random bytes after a bare signature never get past the first chunk; spliced into real files
    they reach every layer (header, tables, segments, rANS), and the outcome is checked."""
    seeds = _seeds()
    original = seeds[data.draw(st.integers(0, len(seeds) - 1), label="seed file")]
    at = data.draw(st.integers(0, len(original)), label="position")
    spliced = data.draw(st.binary(max_size=12), label="bytes")
    replace = data.draw(st.integers(0, 12), label="bytes replaced")
    mutated = original[:at] + spliced + original[at + replace:]
    try:
        decoded = codec.decode_array(mutated)
    except codec.IrrError:
        return
    header = codec.info(mutated)
    assert decoded.shape[:2] == (header["height"], header["width"])
