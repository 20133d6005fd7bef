"""Entropy coding of the LR: lossless where asked, identical on both sides, safe on forged input."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bitstream.container import max_stream_bytes
from bitstream.errors import ChecksumError, FormatError, LimitError
from codec.models import ENTROPY_MODELS, load_tables
from entropy.coder import ImageLayout, decode, encode
from entropy.contexts import SCHEMES
from entropy.tables import EntropyTables
from tests.conftest import photo_like
from entropy import rdo


@pytest.fixture(scope="module", params=sorted(ENTROPY_MODELS))
def model_id(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def tables(model_id):
    return load_tables(model_id)[0]


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 1, 3), (3, 5, 4), (17, 9, 3), (40, 33, 1), (2, 200, 3)])
def test_lossless_round_trip_any_shape(tables, shape):
    x = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    layout = ImageLayout(*shape, 256)
    stream, seen = encode(x, layout, tables)
    assert np.array_equal(seen, x)
    assert np.array_equal(decode(stream, layout, tables, max_stream_bytes(layout.n_symbols)), x)


@pytest.mark.parametrize("step", [1.5, 4.0, 16.0, 100.0])
def test_lossy_decode_equals_what_the_encoder_predicted(tables, step):
    x = photo_like(48, 64)
    layout = ImageLayout(48, 64, 3, int(step * 256))
    stream, seen = encode(x, layout, tables)
    assert np.array_equal(decode(stream, layout, tables, max_stream_bytes(layout.n_symbols)), seen)


def test_larger_step_gives_fewer_bytes_and_more_error(tables):
    x = photo_like(64, 96)
    sizes, errors = [], []
    for step in (1.0, 4.0, 16.0, 64.0):
        stream, seen = encode(x, ImageLayout(64, 96, 3, int(step * 256)), tables)
        sizes.append(len(stream))
        errors.append(np.abs(seen.astype(int) - x).mean())
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
    assert errors == sorted(errors)


def test_photo_compresses_well_below_raw(tables):
    x = photo_like(64, 96)
    stream, _ = encode(x, ImageLayout(64, 96, 3, 256), tables)
    assert 8 * len(stream) / x.size < 6.0  # bits per sample, lossless


def test_encoding_is_deterministic(tables):
    x = photo_like(40, 40)
    layout = ImageLayout(40, 40, 3, 768)
    assert encode(x, layout, tables)[0] == encode(x, layout, tables)[0]


def test_stream_over_its_bound_is_refused_before_decoding(tables):
    layout = ImageLayout(4, 4, 3, 256)
    with pytest.raises(LimitError):
        decode(bytes(1000), layout, tables, max_stream=999)


def one_segment_table(tables, body: int, chroma: bool = True) -> bytes:
    """A valid one-segment table for a body of ``body`` bytes (with a CRC of 0 where the model has
    CRCs), after zero bin shifts where the model has them (an image's classes, all part)."""
    scheme = SCHEMES[tables.context_scheme]
    shifts = bytes([0x88]) * (len(scheme.part_classes("all", chroma)) // 2) if scheme.learned else b""
    if not tables.segment_symbols:
        return shifts
    return shifts + body.to_bytes(4, "big") + (bytes(4) if tables.segment_crc else b"")


def test_forged_streams_decode_to_something_or_fail_cleanly(tables):
    """Random bytes never crash the native decoder: they decode to some image (the caller's CRC
    check then rejects it) or, where segments carry CRCs, fail that check when the segment ends."""
    layout = ImageLayout(16, 16, 3, 256)
    rng = np.random.default_rng(1)
    for n in (0, 1, 4, 8, 64, 2000):
        forged = one_segment_table(tables, n) + rng.bytes(n)  # a valid table: the random bytes reach rANS
        if tables.segment_crc:
            with pytest.raises(ChecksumError, match="segment 1 of 1"):
                decode(forged, layout, tables, max_stream_bytes(layout.n_symbols))
            continue
        out = decode(forged, layout, tables, max_stream_bytes(layout.n_symbols))
        assert out.shape == (16, 16, 3) and out.dtype == np.uint8


def test_a_segment_table_that_does_not_add_up_is_a_format_error():
    tables = load_tables("w97-laplace-1")[0]
    layout = ImageLayout(16, 16, 3, 1024)
    stream, _ = encode(photo_like(16, 16), layout, tables)
    for forged in (stream[:2], stream[:-1], stream + b"x", (len(stream) * 2).to_bytes(4, "big") + stream[4:]):
        with pytest.raises(FormatError, match="segment table"):
            decode(forged, layout, tables, max_stream_bytes(layout.n_symbols))


def test_large_images_are_cut_into_segments_and_decode_across_their_boundaries():
    import dataclasses

    tables = dataclasses.replace(load_tables("w97-laplace-1")[0], segment_symbols=1000)  # 40*56*3 = 6720 symbols
    x = photo_like(40, 56)
    for step in (1.0, 6.0):
        layout = ImageLayout(40, 56, 3, int(step * 256))
        stream, seen = encode(x, layout, tables)
        assert int.from_bytes(stream[:4], "big") + 4 * 7 < len(stream)  # 7 segments, the first one's length
        assert np.array_equal(decode(stream, layout, tables, max_stream_bytes(layout.n_symbols)), seen)


def test_a_parts_crc_is_its_segments_crcs_combined():
    """The decoder sums each symbol's bytes once (per segment) and combines the segments' CRCs
    into the part's: equal to zlib's CRC of the whole, for any lengths, and to the encoder's."""
    import dataclasses
    import os
    import zlib

    from entropy import coder
    from entropy.streams import crc32_combine

    for n1, n2 in ((0, 5), (3, 0), (1, 1), (1000, 4096), (4096, 4 * 1048576 + 12), (7, 123457)):
        a, b = os.urandom(n1), os.urandom(n2)
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), n2) == zlib.crc32(a + b), (n1, n2)
    tables = dataclasses.replace(load_tables("w97-laplace-1")[0], segment_symbols=1000, segment_crc=True)
    layout = ImageLayout(40, 56, 3, 1536)
    coded = coder.encode_parts(photo_like(40, 56), layout, tables)
    assert coder.decode_symbols(coded.payloads, layout, tables, ("all",))[2] == coded.crcs


@pytest.mark.parametrize("threads", [1, 2])
def test_decode_is_bit_exact_across_processes_and_thread_counts(model_id, tables, threads):
    x = photo_like(40, 56)
    layout = ImageLayout(40, 56, 3, 1536)
    stream, seen = encode(x, layout, tables)
    code = textwrap.dedent(f"""
        import sys, torch, numpy as np
        torch.set_num_threads({threads})
        from codec.models import load_tables
        from entropy.coder import ImageLayout, decode
        out = decode(sys.stdin.buffer.read(), ImageLayout(40, 56, 3, 1536), load_tables("{model_id}")[0], 10**6)
        sys.stdout.buffer.write(out.tobytes())
    """)
    result = subprocess.run([sys.executable, "-c", code], input=stream, capture_output=True, check=True)
    assert result.stdout == seen.tobytes()


def test_tables_keep_their_wavelet_and_context_scheme_through_bytes(tables):
    back = EntropyTables.from_bytes(tables.to_bytes())
    assert (back.lossy_wavelet, back.context_scheme) == (tables.lossy_wavelet, tables.context_scheme)
    assert np.array_equal(back.context_map, tables.context_map)


def test_the_first_entropy_model_reads_as_5_3_with_the_checkerboard_scheme():
    legacy = load_tables("w53-laplace-1")[0]
    assert (legacy.lossy_wavelet, legacy.context_scheme) == ("5/3", 1)
    assert load_tables("w97-laplace-1")[0].context_scheme == 2


def test_fitting_learns_a_context_map_that_codes_photos_in_fewer_bits(tmp_path):
    from PIL import Image

    from codec.tools.fit_entropy import fit
    from entropy.tables import build_family

    for i in range(13):  # 12 or more images: one is held out, as in real fits
        Image.fromarray(photo_like(48, 64, seed=i)).save(tmp_path / f"{i:02d}.png")
    fitted = fit(tmp_path, max_images=3)
    assert (fitted.lossy_wavelet, fitted.context_scheme) == ("9/7", 2)
    unfitted = build_family(len(fitted.context_map), "9/7", 2)
    x = photo_like(48, 64, seed=99)
    for step in (1.0, 8.0):
        layout = ImageLayout(48, 64, 3, int(step * 256))
        assert len(encode(x, layout, fitted)[0]) < len(encode(x, layout, unfitted)[0])


@pytest.mark.parametrize("coder", ["native", "compressai"])
@pytest.mark.parametrize("model", sorted(ENTROPY_MODELS))
def test_a_stream_of_bypass_escapes_at_the_size_bound_cannot_read_past_the_buffer(model, coder):
    """0xFF bytes make the overflow path count escape nibbles through the whole stream and then read
    ~15x its length: irr's C coder must bound its reads, CompressAI's (the fallback) needs the
    decoder's padding (a regression segfaulted). Run in a fresh process, so that a crash fails this
    test instead of killing the test run."""
    code = textwrap.dedent(f"""
        import entropy.streams
        if {coder == "compressai"}:
            entropy.streams.native = None
        from bitstream.container import max_stream_bytes
        from codec.models import load_tables
        from entropy.coder import ImageLayout, decode
        from bitstream.errors import ChecksumError
        from tests.test_coder import one_segment_table
        tables = load_tables("{model}")[0]
        layout = ImageLayout(64, 64, 3, 1024)
        n = layout.n_symbols
        body = max_stream_bytes(n) - len(one_segment_table(tables, 0))
        table = one_segment_table(tables, body)
        try:
            print(decode(table + b"\\xff" * body, layout, tables, max_stream_bytes(n)).shape)
        except ChecksumError:
            print((64, 64, 3))  # decoded to its end and caught by the segment's CRC
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "(64, 64, 3)"


def test_a_segment_longer_than_its_symbols_allow_is_refused():
    tables = load_tables("w97-laplace-1")[0]
    layout = ImageLayout(16, 16, 3, 1024)
    body = max_stream_bytes(layout.n_symbols) + 1
    with pytest.raises(LimitError, match="segment"):
        decode(body.to_bytes(4, "big") + bytes(body), layout, tables, 10**9)


@pytest.mark.parametrize("wavelet", ["9/7", "5/3"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 37, 3), (17, 16, 3), (33, 65, 4), (300, 7, 1), (512, 768, 3)])
@pytest.mark.parametrize("step", [1.0, 6.0])
def test_decoder_buffers_match_what_the_encoder_analyses(shape, step, wavelet):
    """The decoder builds its coefficient buffers from shapes; they must be the encoder's, exactly."""
    from entropy.pyramid import analyse, empty_planes

    layout = ImageLayout(*shape, int(step * 256))
    expected_planes, expected_steps = analyse(np.zeros(shape, dtype=np.uint8), layout, wavelet)
    planes, steps = empty_planes(layout, wavelet)
    assert steps == expected_steps
    assert len(planes) == len(expected_planes)
    for (ll, bands), (ell, ebands) in zip(planes, expected_planes):
        assert (ll.shape, ll.dtype) == (ell.shape, ell.dtype) and not ll.any()
        assert [[(b.shape, b.dtype) for b in level] for level in bands] == \
            [[(b.shape, b.dtype) for b in level] for level in ebands]


def test_rate_distortion_quantisation_trades_bits_for_error_at_its_price(tables, monkeypatch):
    """RDO lowers symbols only where the saved bits are worth more than the added squared error:
    fewer bytes, a little more error, and a lower D + lambda R than plain dead-zone quantisation."""

    x = photo_like(96, 128, seed=3)
    layout = ImageLayout(96, 128, 3, 3072)
    stream_rdo, seen_rdo = encode(x, layout, tables)
    monkeypatch.setattr(rdo, "RDO_LAMBDA", 0.0)
    stream_plain, seen_plain = encode(x, layout, tables)
    assert len(stream_rdo) < 0.97 * len(stream_plain)

    def cost(stream: bytes, seen: np.ndarray) -> float:  # squared error in units of the pixel step
        return float(((seen.astype(float) - x) ** 2).sum()) / layout.step**2 + rdo.RDO_LAMBDA * 8 * len(stream)

    monkeypatch.setattr(rdo, "RDO_LAMBDA", math.log(2) / 6)
    assert cost(stream_rdo, seen_rdo) < cost(stream_plain, seen_plain)
    assert np.array_equal(decode(stream_rdo, layout, tables, max_stream_bytes(layout.n_symbols)), seen_rdo)


def test_rdo_moves_a_symbol_one_step_towards_zero_only_where_its_context_makes_that_pay(tables):
    from entropy.rdo import lower_where_cheaper

    bits = tables.symbol_bits()
    sharp = int(np.nanargmax(bits[:, 0]))  # the table where a 1 costs the most against a 0
    flat = int(np.nanargmin(np.nanmax(bits[:, :3], axis=1) - np.nanmin(bits[:, :3], axis=1)))
    values = np.array([1, -1, 1, 3, 0], dtype=np.int32)
    mags = np.array([0.8, 0.8, 1.4, 3.1, 0.2], dtype=np.float16)
    out = lower_where_cheaper(values, mags, np.full(5, sharp, np.uint8), bits, tables)
    assert out.tolist()[:2] == [0, 0]  # barely past the dead zone in a context where 0 is near-certain
    assert out[2] in (0, 1) and out[4] == 0
    assert np.all(np.abs(out) <= np.abs(values)) and np.all(np.abs(out - values) <= 1)
    assert np.all(np.sign(out) * np.sign(values) >= 0)  # never crosses zero
    assert lower_where_cheaper(values, mags, np.full(5, flat, np.uint8), bits, tables)[3] == 3
    assert values.tolist() == [1, -1, 1, 3, 0]  # the caller's array is left alone


def test_the_c_lowering_decides_as_the_numpy_path_does():
    from codec import models
    from entropy import rdo

    if rdo.native is None:
        pytest.skip("the C lowering was not built")
    rng = np.random.default_rng(11)
    for name in ("w97-adaptive-2", "w97-laplace-1"):
        tables, _ = models.load_tables(name)
        bits = tables.symbol_bits()
        for scale in (0.7, 3.0, 40.0):  # mostly small values; then some beyond every table (overflow)
            mags = np.abs(rng.laplace(0, scale, 20_000)).astype(np.float16)
            values = (np.sign(rng.standard_normal(mags.size)) * np.floor(mags.astype(np.float64) + 1 / 3)).astype(np.int32)
            rows = rng.integers(0, len(tables.offsets), mags.size).astype(np.uint8)
            native = rdo.lower_where_cheaper(values, mags, rows, bits, tables)
            reference = rdo.lower_where_cheaper(values, mags, rows, bits, tables, reference=True)
            assert np.array_equal(native, reference), (name, scale)
            assert np.any(native != values)  # the case lowers something
        # every finite float16 magnitude (the C pass converts them itself)
        mags = np.arange(0x7C00, dtype=np.uint16).view(np.float16)
        values = np.floor(mags.astype(np.float64) + 1 / 3).astype(np.int32)
        rows = rng.integers(0, len(tables.offsets), mags.size).astype(np.uint8)
        assert np.array_equal(rdo.lower_where_cheaper(values, mags, rows, bits, tables),
                              rdo.lower_where_cheaper(values, mags, rows, bits, tables, reference=True))


def test_the_c_shift_costs_are_the_numpy_paths_to_the_last_bit():
    """Each candidate's (squared error, bits) of the lowered symbols: the sums numpy's would be
    (lengths across its 8192-element blocks), overflows' bypass bits included, and None where an
    overflow lies beyond the C pass's lookup."""
    from codec import models
    from entropy import rdo
    from entropy.tables import value_bits

    if rdo.native is None:
        pytest.skip("the C rate-distortion pass was not built")
    rng = np.random.default_rng(12)
    tables, _ = models.load_tables("w97-adaptive-2")
    bits = tables.symbol_bits()
    n_bins = 37
    seen_none = seen_costs = seen_overflow = 0
    for n, scale in ((5, 1.0), (127, 2.0), (8193, 1.5), (30_001, 0.8), (20_000, 60.0), (2_000, 3_000.0), (50, -1)):
        mags = np.abs(rng.laplace(0, abs(scale), n)).astype(np.float16)
        values = (np.sign(rng.standard_normal(n)) * np.floor(mags.astype(np.float64) + 1 / 3)).astype(np.int32)
        if scale < 0:  # a value beyond the C pass's lookup of escape bits
            values[7] = 100_000
        keep = values != 0
        values, mags = values[keep], mags[keep]
        bins = rng.integers(0, n_bins, values.size).astype(np.uint8)
        candidate_rows = rng.integers(0, len(tables.offsets), (9, n_bins)).astype(np.uint8)
        native = rdo._native_shift_costs(values, mags, bins, candidate_rows, bits, tables)
        for got, rows_of_bin in zip(native, candidate_rows):
            rows = rows_of_bin[bins]
            lowered = rdo.lower_where_cheaper(values, mags, rows, bits, tables, reference=True)
            index = lowered.astype(np.int64) - tables.offsets[rows]
            if np.any(np.abs(index) >= rdo.ESCAPE_LOOKUP):
                assert got is None
                seen_none += 1
                continue
            seen_overflow += int(np.any(index >= tables.lengths[rows] - 2))
            q = np.abs(lowered)
            distortion = ((mags.astype(np.float64) - np.where(q > 0, q + 0.125, 0.0)) ** 2).sum()
            assert got == (distortion, value_bits(bits, tables, rows, lowered).sum())
            seen_costs += 1
    assert seen_none and seen_costs and seen_overflow  # every kind of candidate was checked


def test_the_bin_shifts_chosen_with_the_c_pass_or_threads_are_the_numpy_paths(monkeypatch):
    from codec import models
    from codec.transform import LevelTransform
    from entropy import coder, parallel, pyramid, rdo

    monkeypatch.setattr(parallel, "MIN_SAMPLES", 0)  # threads even for this small image
    if rdo.native is None:
        pytest.skip("the C rate-distortion pass was not built")
    tables, _ = models.load_tables("w97-adaptive-2")
    net, _ = models.load_model(models.LEVEL_MODEL, 2)
    image = photo_like(96, 128, seed=13)
    for lr_step in (4 * 256, 30 * 256):
        layout = coder.ImageLayout(*image.shape, lr_step)
        magnitudes = []
        planes_q, steps = pyramid.analyse(image, layout, tables.lossy_wavelet, magnitudes, LevelTransform(net, lr_step))
        for part in ("lr", "detail"):
            native = rdo.choose_shifts(planes_q, layout.plane_kinds(), steps, tables, part, magnitudes)
            reference = rdo.choose_shifts(planes_q, layout.plane_kinds(), steps, tables, part, magnitudes, reference=True)
            threaded = rdo.choose_shifts(planes_q, layout.plane_kinds(), steps, tables, part, magnitudes, workers=3)
            assert native == reference == threaded and native


def test_encoding_on_threads_writes_the_same_bytes(monkeypatch):
    """Analysis planes, shift choice and rANS segments on threads: the serial encoder's payloads."""
    import dataclasses

    from codec import models
    from codec.transform import LevelTransform
    from entropy import coder, parallel, streams

    monkeypatch.setattr(parallel, "MIN_SAMPLES", 0)
    net, _ = models.load_model(models.LEVEL_MODEL, 2)
    cases = [(name, image) for name in ("w97-adaptive-2", "w97-adaptive-3", "w97-laplace-2")  # schemes 4, 5 and a mask scheme
             for image in (photo_like(96, 128, seed=14), photo_like(64, 80, 1, seed=15))]
    for name, image in cases:
        tables = dataclasses.replace(models.load_tables(name)[0], segment_symbols=1500)  # several segments per part
        layout = coder.ImageLayout(*image.shape, 12 * 256)
        coded = [coder.encode_parts(image, layout, tables, ("lr", "detail"), LevelTransform(net, layout.lr_step),
                                    workers=workers) for workers in (1, 2, 3)]
        assert len(streams.segments(image.shape[0] * image.shape[1] * 3 // 4, tables)) > 2
        assert coded[0].payloads == coded[1].payloads == coded[2].payloads
        assert coded[0].crcs == coded[1].crcs == coded[2].crcs


@pytest.mark.parametrize("failing", [0, 1, 2], ids=["luma", "co", "cg"])
def test_a_failing_plane_thread_raises_its_error_and_the_others_stop_waiting(monkeypatch, failing):
    import threading
    import time

    from codec import models
    from codec.transform import LevelTransform
    from entropy import coder, parallel

    monkeypatch.setattr(parallel, "MIN_SAMPLES", 0)
    tables, _ = models.load_tables("w97-adaptive-2")
    net, _ = models.load_model(models.LEVEL_MODEL, 2)
    image = photo_like(64, 96, seed=16)
    layout = coder.ImageLayout(*image.shape, 12 * 256)
    real_walk = coder.walk

    def walk_failing_at_its_second_band(*args, planes=None, before_band=None, **kwargs):
        seen = []

        def hook(plane: int) -> None:
            seen.append(plane)
            if planes != frozenset([failing]) and len(seen) > 2:
                time.sleep(0.2)  # the other planes are still at work when the failing one fails
            before_band(plane)
            if planes == frozenset([failing]) and len(seen) == 2:
                raise RuntimeError("boom")

        return real_walk(*args, planes=planes, before_band=hook, **kwargs)

    monkeypatch.setattr(coder, "walk", walk_failing_at_its_second_band)
    outcome = []

    def run():
        try:
            coder.encode_parts(image, layout, tables, ("lr", "detail"), LevelTransform(net, layout.lr_step), workers=3)
        except BaseException as error:  # noqa: BLE001 - the test looks at which error came out
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "a plane's thread waited forever for a failed one"
    assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError) and str(outcome[0]) == "boom"


def test_the_c_quantiser_and_its_reconstruction_are_the_numpy_paths():
    from entropy import pyramid

    if pyramid.native is None:
        pytest.skip("the C lifting was not built")
    rng = np.random.default_rng(17)
    c = np.concatenate([rng.integers(-2**27, 2**27, 50_000), np.arange(-3000, 3000), [0, 2**28, -2**28]]).astype(np.int32)
    q = rng.integers(-50_000, 50_000, 50_000).astype(np.int32)
    for step in (2, 3, 16, 317, 4096, 70_000):
        assert np.array_equal(pyramid.quantize(c, step), pyramid.quantize(c, step, reference=True)), step
        assert np.array_equal(pyramid.dequantize(q, step), pyramid.dequantize(q, step, reference=True)), step
    view = c[:56_000].reshape(-1, 2)[:, 0]  # a strided band view
    assert np.array_equal(pyramid.quantize(view, 16), pyramid.quantize(view, 16, reference=True))


def test_rdo_never_touches_lossless_bands_such_as_alpha(tables, monkeypatch):
    """Alpha is coded losslessly inside a lossy image: even at an absurd bit price it must come back exact."""

    monkeypatch.setattr(rdo, "RDO_LAMBDA", 1000.0)  # lowering pays everywhere RDO is allowed
    x = photo_like(48, 64, 4)
    layout = ImageLayout(48, 64, 4, 5120)
    stream, seen = encode(x, layout, tables)
    out = decode(stream, layout, tables, max_stream_bytes(layout.n_symbols))
    assert np.array_equal(out, seen)
    assert np.array_equal(out[..., 3], x[..., 3])


def _level_coded(tables, seed: int, monkeypatch=None, no_shifts: bool = False):
    from codec import models
    from codec.transform import LevelTransform
    from entropy import coder

    if no_shifts:
        monkeypatch.setattr(rdo, "choose_shifts", lambda *args, **kwargs: {})
    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    layout = ImageLayout(96, 128, 3, 1800)
    x = photo_like(96, 128, seed=seed)
    return layout, coder.encode_parts(x, layout, tables, ("lr", "detail"), LevelTransform(net, layout.lr_step))


def test_the_encoders_bin_shifts_code_photos_in_fewer_bytes_than_none(monkeypatch):
    tables = load_tables("w97-adaptive-1")[0]
    adapted = sum(len(p) for seed in range(3) for p in _level_coded(tables, seed)[1].payloads)
    plain = sum(len(p) for seed in range(3) for p in _level_coded(tables, seed, monkeypatch, no_shifts=True)[1].payloads)
    assert adapted < plain


def test_the_bin_shifts_are_read_from_the_stream_and_a_changed_one_is_caught():
    from entropy import coder

    tables = load_tables("w97-adaptive-1")[0]
    layout, coded = _level_coded(tables, 7)
    planes_q, _, crcs = coder.decode_symbols(coded.payloads, layout, tables, ("lr", "detail"))
    assert crcs == coded.crcs
    for byte in range(12):  # every byte of the LR's shifts: 24 classes of luma and chroma
        lr = bytearray(coded.payloads[0])
        lr[byte] ^= 0x10
        try:
            _, _, crcs = coder.decode_symbols([bytes(lr), coded.payloads[1]], layout, tables, ("lr", "detail"))
        except ChecksumError:
            continue
        assert crcs[0] != coded.crcs[0], byte
    with pytest.raises(FormatError, match="context shifts"):
        coder.decode_symbols([coded.payloads[0][:5], None], layout, tables, ("lr", "detail"))


@pytest.mark.parametrize("model", ["w97-adaptive-1", "w97-adaptive-3"])  # the detail in one chain; a chain per plane
def test_two_threads_decode_the_same_symbols_and_report_the_same_errors(monkeypatch, model):
    """The LR on a thread of its own, each plane's detail behind it (w97-adaptive-3: each plane's
    detail a task of its own): the same pyramid and CRCs; a broken payload on either thread
    raises its error (no hang), the LR's first; a damaged segment of the last plane is caught."""
    from entropy import coder, parallel, pyramid

    monkeypatch.setattr(parallel, "MIN_SAMPLES", 0)  # the test image is small
    tables = load_tables(model)[0]
    layout, coded = _level_coded(tables, 7)
    serial = coder.decode_symbols(coded.payloads, layout, tables, ("lr", "detail"), workers=1)
    threaded = coder.decode_symbols(coded.payloads, layout, tables, ("lr", "detail"), workers=2)
    assert threaded[2] == serial[2] == coded.crcs
    for (ll_a, bands_a), (ll_b, bands_b) in zip(serial[0], threaded[0]):
        assert np.array_equal(ll_a, ll_b)
        assert all(np.array_equal(a, b) for level_a, level_b in zip(bands_a, bands_b) for a, b in zip(level_a, level_b))
    images = [pyramid.synthesise(list(planes), steps, workers=w) for (planes, steps, _), w in ((serial, 1), (threaded, 3))]
    assert np.array_equal(*images)
    lr, detail = coded.payloads
    for payloads in ([lr[:5], detail], [lr, detail[:5]], [lr[:5], detail[:5]]):
        with pytest.raises(FormatError, match="context shifts"):
            coder.decode_symbols(payloads, layout, tables, ("lr", "detail"), workers=2)
    damaged = bytearray(detail)
    damaged[-3] ^= 0x55  # inside the last segment's rANS bytes: the Cg plane's, or the one chain's
    for workers in (1, 2, 3):
        with pytest.raises(ChecksumError, match="detail stream"):
            coder.decode_symbols([lr, bytes(damaged)], layout, tables, ("lr", "detail"), workers=workers)


def test_scheme_5_reads_no_other_plane_at_the_finest_level_and_cuts_the_detail_by_plane():
    """Changing the luma's finest level changes no chroma context there under scheme 5 (it does
    under scheme 4: the test can fail), and each plane's detail starts a segment of its own."""
    import dataclasses

    from entropy import coder, contexts
    from entropy.walk import walk

    tables = load_tables("w97-adaptive-3")[0]
    assert tables.context_scheme == 5
    layout, coded = _level_coded(tables, 9)
    kinds = layout.plane_kinds()

    def chroma_contexts(scheme_id: int, planes_q) -> list[np.ndarray]:
        seen = []

        def record(ctx, values, _):
            seen.append(ctx.copy())
            return values

        walk(planes_q, kinds, coded.steps, record, contexts.SCHEMES[scheme_id], part="detail",
                  predictor=tables.predictor, planes=frozenset([1, 2]))
        return seen

    altered = [(ll, [tuple(b.copy() for b in level) for level in bands]) for ll, bands in coded.planes_q]
    for band in altered[0][1][0]:
        band += np.sign(band) + 3  # the luma's level 1, everywhere larger
    for scheme_id, same in ((5, True), (4, False)):
        a, b = chroma_contexts(scheme_id, coded.planes_q), chroma_contexts(scheme_id, altered)
        assert all(np.array_equal(x, y) for x, y in zip(a, b)) == same, scheme_id
    small = dataclasses.replace(tables, segment_symbols=1000)
    per_plane = [coder.part_symbols([p], "detail") for p in coded.planes_q]
    bounds = coder.part_segments(per_plane, small, True)
    starts = {a for a, _ in bounds}
    assert {0, per_plane[0], per_plane[0] + per_plane[1]} <= starts and len(bounds) > 3
    assert bounds == sorted(bounds) and bounds[-1][1] == sum(per_plane)


def test_fitting_scheme_4_learns_weights_and_a_map_that_code_photos_in_fewer_bits(tmp_path):
    """`irr fit-tables --for-level --context-scheme 4` on a tiny folder: non-negative integer
    weights that use the evidence, and tables that beat the same predictor with an unfitted map."""
    import dataclasses

    from PIL import Image

    from codec.tools.fit_entropy import fit
    from entropy.contexts import FEATURES

    for i in range(13):
        Image.fromarray(photo_like(48, 64, seed=i)).save(tmp_path / f"{i:02d}.png")
    fitted = fit(tmp_path, max_images=3, context_scheme=4, for_level=True)
    weights = fitted.predictor_weights
    assert fitted.context_scheme == 4 and weights.dtype == np.int64 and weights.shape[1] == len(FEATURES)
    assert (weights >= 0).all() and weights[:, FEATURES.index("parent")].any()
    unfitted = dataclasses.replace(fitted, context_map=np.full_like(fitted.context_map, 32))
    x = photo_like(48, 64, seed=99)
    for step in (1.0, 8.0):
        layout = ImageLayout(48, 64, 3, int(step * 256))
        assert len(encode(x, layout, fitted)[0]) < len(encode(x, layout, unfitted)[0])


def test_written_statistics_are_the_symbols_the_encoder_codes_after_rdo_in_its_shifted_contexts():
    """What `fit-tables --written-by` counts: in coding order the encoder's own symbols (its CRCs),
    not the plain quantised ones RDO lowered, in the contexts the stored shifts select."""
    import zlib

    from codec import models
    from codec.transform import LevelTransform
    from entropy.fitting import collect_statistics, collect_written_statistics

    tables = load_tables("w97-adaptive-1")[0]
    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    layout, coded = _level_coded(tables, 3)
    x = photo_like(96, 128, seed=3)
    first = LevelTransform(net, layout.lr_step)
    pairs = collect_written_statistics(x, layout, tables, first, ("lr", "detail"))
    values = np.concatenate([v for _, v in pairs]).astype(np.int64)
    lr_size = len(values) - sum(b.size for _, bands in coded.planes_q for b in bands[0])  # detail: the finest level
    assert zlib.crc32(values[:lr_size].astype(">i4").tobytes()) == coded.crcs[0]
    assert zlib.crc32(values[lr_size:].astype(">i4").tobytes()) == coded.crcs[1]
    assert any(coded.shifts[0].values()) or any(coded.shifts[1].values())
    plain = collect_statistics(x, layout, "9/7", 4, first, ("lr", "detail"), tables.predictor)
    plain_values = np.concatenate([v for _, v in plain]).astype(np.int64)
    assert np.abs(values).sum() < np.abs(plain_values).sum()  # RDO lowered magnitudes
    shifted = np.concatenate([c for c, _ in pairs])
    assert (shifted != np.concatenate([c for c, _ in plain])).any()  # contexts moved by the shifts


def test_refitting_a_model_on_its_written_symbols_keeps_its_predictor_and_codes_photos_in_fewer_bytes(tmp_path):
    """`irr tools fit-tables --written-by w97-adaptive-1`, on a tiny folder of one kind of image."""
    from PIL import Image

    from codec import models
    from codec.tools.fit_entropy import fit
    from codec.transform import LevelTransform
    from entropy import coder

    for i in range(13):
        Image.fromarray(photo_like(48, 64, seed=i)).save(tmp_path / f"{i:02d}.png")
    base = load_tables("w97-adaptive-1")[0]
    refitted = fit(tmp_path, max_images=3, written_by="w97-adaptive-1")
    assert np.array_equal(refitted.predictor_weights, base.predictor_weights)
    assert (refitted.context_map != base.context_map).any()
    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    x = photo_like(48, 64, seed=99)
    for lr_step in (600, 3000):
        layout = ImageLayout(48, 64, 3, lr_step)
        sizes = [sum(map(len, coder.encode_parts(x, layout, t, ("lr", "detail"), LevelTransform(net, lr_step)).payloads))
                 for t in (refitted, base)]
        assert sizes[0] < sizes[1]
    with pytest.raises(ValueError, match="level model"):
        fit(tmp_path, max_images=1, written_by="w97-laplace-1")
    as_scheme_5 = fit(tmp_path, max_images=1, context_scheme=5, written_by="w97-adaptive-2")  # w97-adaptive-3's recipe
    assert as_scheme_5.context_scheme == 5 and as_scheme_5.segment_symbols == base.segment_symbols
    with pytest.raises(ValueError, match="scheme 5"):  # its predictor is a scheme-4 model's
        fit(tmp_path, max_images=1, context_scheme=5, for_level=True)
    with pytest.raises(ValueError, match="from 4 only"):
        fit(tmp_path, max_images=1, context_scheme=5, written_by="w97-laplace-2")
