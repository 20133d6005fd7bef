"""Mutated and random .irr files end in IrrError or a correct-size image: nothing else, ever."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import codec
from bitstream.container import SIGNATURE, unpack
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


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_after_a_valid_signature_never_escape_irr_error(tail):
    try:
        codec.decode(SIGNATURE + b"\x01\x00\x00\x00" + tail)
    except codec.IrrError:
        pass
