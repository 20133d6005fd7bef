"""Entropy coding of an 8-bit image (the LR, and the learned level's detail): the quantised pyramid
(``entropy.pyramid``) walked in coding order (``entropy.walk``), lowered where it pays
(``entropy.rdo``) and coded as rANS streams (``entropy.streams``), one payload per part."""

from __future__ import annotations

import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from bitstream.container import max_stream_bytes
from bitstream.errors import LimitError
from entropy import parallel
from entropy import rdo as rate_distortion
from entropy.contexts import SCHEMES, ContextScheme
from entropy.pyramid import FirstLevel, ImageLayout, Magnitudes, analyse, empty_planes, synthesise
from bitstream.payload import Payload, pack_payload, unpack_payload
from entropy.streams import Rans, SegmentedDecoder, crc32_combine, part_segments
from entropy.tables import EntropyTables
from entropy.walk import part_symbols, walk

__all__ = ["Coded", "ImageLayout", "decode", "decode_symbols", "encode", "encode_parts"]


@dataclass
class Coded:
    """What :func:`encode_parts` produced: a payload per part, and what the decoder will hold."""

    payloads: list[bytes]
    crcs: list[int]  # per payload, CRC-32 of its symbols in coding order (int32 big-endian)
    planes_q: list  # the quantised pyramid; synthesise(planes_q, steps) is the decoded image
    steps: list[dict]
    shifts: list[dict[int, int] | None]  # per payload, scheme 4's bin shifts (class -> shift) as stored


def encode_parts(pixels: np.ndarray, layout: ImageLayout, tables: EntropyTables, parts: tuple[str, ...] = ("all",),
                 first_level: FirstLevel | None = None, rdo: bool = True, adapt: bool = True, workers: int = 1) -> Coded:
    """Code an (H, W, C) uint8 image, one payload per part (see :func:`walk`).

    A payload is one rANS stream (``w53-laplace-1``) or, when the model cuts the symbols into
    segments of ``segment_symbols``, a table of segment lengths (u32 big-endian; with
    ``segment_crc`` each followed by the CRC-32 of its symbols) followed by the segments: encoder
    and decoder then hold one segment's buffers at a time, not the image's, and a decoder detects
    a damaged segment when it ends. Scheme 4 puts its bin shifts before that (``bitstream.payload``).
    Where the part's planes are coded apart (scheme 5's detail) each plane's symbols are cut on
    their own, so every plane starts a segment (``streams.part_segments``).
    ``rdo=False`` codes the quantised symbols as they are (comparing models on equal symbols);
    ``adapt=False`` stores zero shifts (the ablation of the per-file adaptation). The shift choice
    prices the planes, the analysis transforms them and the rANS coder codes the segments on up to
    ``workers`` threads: the same bytes.
    """
    if pixels.shape != (layout.height, layout.width, layout.channels) or pixels.dtype != np.uint8:
        raise ValueError(f"pixels {pixels.shape} {pixels.dtype} do not match {layout}")
    magnitudes: Magnitudes | None = [] if rdo and not layout.lossless and rate_distortion.RDO_LAMBDA > 0 else None
    planes_q, steps = analyse(pixels, layout, tables.lossy_wavelet, magnitudes, first_level, workers)
    bits = tables.symbol_bits() if magnitudes is not None else None
    rans = Rans(tables)
    scheme = SCHEMES[tables.context_scheme]
    chroma = layout.channels >= 3
    payloads, crcs, part_shifts = [], [], []
    kinds = layout.plane_kinds()
    for part in parts:
        shifts = None
        if scheme.learned:
            shifts = rate_distortion.choose_shifts(planes_q, kinds, steps, tables, part, magnitudes,
                                                   workers=workers) if adapt else {}
        classes = scheme.part_classes(part, chroma)
        apart = _planes_apart(scheme, part)
        symbols, table_rows = _walk_planes(planes_q, kinds, steps, tables, scheme, magnitudes, part, shifts, bits, workers,
                                           apart)

        def code_segment(bounds: tuple[int, int]) -> tuple[bytes, int]:
            a, b = bounds
            return rans.encode(symbols[a:b], table_rows[a:b]), zlib.crc32(symbols[a:b].astype(">i4"))

        bounds = part_segments([part_symbols([plane_q], part) for plane_q in planes_q], tables, apart)
        coded = parallel.map_items(code_segment, bounds, workers)
        streams, segment_crcs = [stream for stream, _ in coded], [c for _, c in coded]
        crc = 0
        for (a, b), segment_crc in zip(bounds, segment_crcs):  # the part's CRC from its segments'
            crc = crc32_combine(crc, segment_crc, 4 * (b - a))
        framed = Payload([shifts.get(c, 0) for c in classes] if scheme.learned else None, streams,
                         segment_crcs if tables.segment_crc else None)
        payloads.append(pack_payload(framed, bool(tables.segment_symbols)))
        crcs.append(crc)
        part_shifts.append(shifts)
    return Coded(payloads, crcs, planes_q, steps, part_shifts)


def _walk_planes(planes_q: list, kinds: list[str], steps: list[dict], tables: EntropyTables, scheme: ContextScheme,
                 magnitudes: Magnitudes | None, part: str, shifts: dict[int, int] | None, bits: np.ndarray | None,
                 workers: int, apart: bool) -> tuple[np.ndarray, np.ndarray]:
    """A part's symbols (lowered where it pays) and their table rows, in coding order. Each plane is
    walked on its own, on up to ``workers`` threads; a chroma band waits until the luma's (and for
    Cg the Co's) same band is final, the only other plane its contexts read (unless the planes are
    ``apart``): the serial walk's symbols."""
    n = len(planes_q)
    counts = [part_symbols([plane_q], part) for plane_q in planes_q]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    symbols = np.empty(starts[-1], np.int32)  # each plane's thread writes its own span, in its coding order
    table_rows = np.empty(starts[-1], np.uint8)
    index_of = {kind: i for i, kind in enumerate(kinds)}
    needs = {} if apart else {index_of[k]: tuple(index_of[r] for r in reads if r in index_of)
                              for k, reads in (("co", ("luma",)), ("cg", ("luma", "co"))) if k in index_of}
    progress = parallel.BandProgress(n, needs)

    def plane(i: int) -> None:
        at = starts[i]

        def record(ctx: np.ndarray, values: np.ndarray, mags: np.ndarray | None) -> np.ndarray:
            nonlocal at
            rows = tables.context_map[ctx]  # uint8 table rows: small, unlike the int64 contexts
            if mags is not None and bits is not None:
                values = rate_distortion.lower_where_cheaper(values, mags, rows, bits, tables)
            table_rows[at : at + rows.size] = rows
            symbols[at : at + rows.size] = values
            at += rows.size
            return values

        try:
            walk(planes_q, kinds, steps, record, scheme, magnitudes, part, tables.predictor, shifts,
                 planes=frozenset([i]), before_band=progress.before_band, after_band=progress.after_band)
        except parallel.Stopped:
            return  # another plane failed: its error is the one raised
        except BaseException:
            progress.fail()  # the other planes stop at their next band
            raise
        if at != starts[i + 1]:
            raise AssertionError(f"plane {i} coded {at - starts[i]} symbols, its part has {counts[i]}")

    ll, bands = planes_q[0]
    parallel.map_planes(plane, n, workers, bands[0][0].size if bands else ll.size)
    return symbols, table_rows


def encode(pixels: np.ndarray, layout: ImageLayout, tables: EntropyTables) -> tuple[bytes, np.ndarray]:
    """Code an (H, W, C) uint8 image as one payload; returns it and the image the decoder will see."""
    coded = encode_parts(pixels, layout, tables)
    return coded.payloads[0], synthesise(coded.planes_q, coded.steps)


def _planes_apart(scheme: ContextScheme, part: str) -> bool:
    """Whether the part's planes are coded apart: its contexts read no other plane, and each plane
    starts its own chain of segments (the detail of a scheme whose finest level reads no other plane)."""
    return part == "detail" and scheme.finest_planes_apart


def decode_symbols(payloads: list[bytes | None], layout: ImageLayout, tables: EntropyTables,
                   parts: tuple[str, ...], workers: int = 1) -> tuple[list, list[dict], list[int]]:
    """Inverse of :func:`encode_parts` up to the symbols: the quantised pyramid (see :func:`analyse`),
    the band steps, and each payload's symbol CRC. A part given as None was not stored: its
    symbols stay zero. Each segment is bounded by its symbol count before the native decoder sees it.

    With ``workers`` > 1 an ("lr", "detail") pair is decoded on threads, each plane's detail as soon
    as that plane's LR is (its contexts look no further; ``entropy.walk``), and where the detail's
    planes are coded apart, each of them on its own thread: the same symbols.
    """
    planes_q, steps = empty_planes(layout, tables.lossy_wavelet)  # filled in place
    scheme = SCHEMES[tables.context_scheme]
    kinds = layout.plane_kinds()
    plane_symbols = {part: [part_symbols([plane_q], part) for plane_q in planes_q] for part in set(parts)}

    def framed_part(part: str, payload: bytes) -> tuple[Payload, dict[int, int] | None, list[tuple[int, int]]]:
        n_symbols = sum(plane_symbols[part])
        what = _WHAT[part]
        classes = scheme.part_classes(part, layout.channels >= 3) if scheme.learned else []
        bounds = part_segments(plane_symbols[part], tables, _planes_apart(scheme, part))
        framed = unpack_payload(payload, len(classes), len(bounds), bool(tables.segment_symbols),
                                tables.segment_crc, what)
        if not tables.segment_symbols and len(framed.streams[0]) > max_stream_bytes(n_symbols):  # else: per segment
            raise LimitError(f"{what} stream of {len(framed.streams[0])} bytes exceeds the bound for {n_symbols} symbols")
        return framed, dict(zip(classes, framed.shifts)) if framed.shifts is not None else None, bounds

    def decode_planes(part: str, framed: Payload, shifts: dict[int, int] | None, bounds: list[tuple[int, int]],
                      planes: list[int], before_plane=None, after_plane=None) -> tuple[int, int]:
        """The part's symbols of consecutive ``planes``; returns their CRC and count."""
        counts = plane_symbols[part]
        start, stop = sum(counts[: planes[0]]), sum(counts[: planes[-1] + 1])
        first = sum(1 for a, _ in bounds if a < start)  # the planes' segments: they start at ``start``
        reader = SegmentedDecoder(framed, [(a, b) for a, b in bounds if start <= a < stop], tables, _WHAT[part], first)

        def produce(ctx: np.ndarray, _: None, __: None) -> np.ndarray:
            return reader.read(tables.context_map[ctx])

        walk(planes_q, kinds, steps, produce, scheme, part=part, predictor=tables.predictor, produces=True,
             shifts=shifts, planes=frozenset(planes), before_plane=before_plane, after_plane=after_plane)
        return reader.finish(), stop - start

    def decode_part(part: str, payload: bytes | None, before_plane=None, after_plane=None) -> list:
        """Tasks, one per group of planes decoded together (each returns its CRC and symbol count), in
        coding order."""
        if payload is None:
            return []
        framed, shifts, bounds = framed_part(part, payload)
        groups = [[i] for i in range(len(planes_q))] if _planes_apart(scheme, part) else [list(range(len(planes_q)))]
        return [lambda g=g: decode_planes(part, framed, shifts, bounds, g, before_plane, after_plane) for g in groups]

    if parts == ("lr", "detail") and all(p is not None for p in payloads):
        big = layout.height * layout.width >= parallel.MIN_SAMPLES
        lr, detail = _decode_pipelined(decode_part, payloads, len(planes_q), workers if big else 1)
        return planes_q, steps, [_combined(lr), _combined(detail)]
    return planes_q, steps, [_combined([task() for task in decode_part(part, payload)])
                             for part, payload in zip(parts, payloads)]


_WHAT = {"all": "image", "lr": "LR", "detail": "detail"}


def _combined(results: list[tuple[int, int]]) -> int:
    """The CRC of consecutive runs of symbols from each run's (CRC, count); 0 for none."""
    crc = 0
    for run_crc, n in results:
        crc = crc32_combine(crc, run_crc, 4 * n)
    return crc


def _decode_pipelined(decode_part, payloads: list[bytes], n_planes: int,
                      workers: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The LR, then the detail's tasks (all planes in one, or a plane each), on up to ``workers``
    threads; a plane's detail starts once that plane's LR is decoded. Returns each part's tasks'
    (CRC, count)."""
    ready = [threading.Event() for _ in range(n_planes)]
    failed = threading.Event()

    def lr() -> list[tuple[int, int]]:
        try:
            return [task() for task in decode_part("lr", payloads[0], after_plane=lambda i: ready[i].set())]
        except BaseException:
            failed.set()
            raise
        finally:
            for event in ready:
                event.set()

    def wait(i: int) -> None:
        ready[i].wait()
        if failed.is_set():
            raise parallel.Stopped  # the LR's error is the one raised

    if workers <= 1:
        lr_results = lr()
        return lr_results, [task() for task in decode_part("detail", payloads[1], before_plane=wait)]
    with ThreadPoolExecutor(workers, thread_name_prefix="irr-decode") as pool:
        lr_future = pool.submit(lr)  # first: the detail tasks wait on it, never the other way
        try:
            detail_futures = [pool.submit(task) for task in decode_part("detail", payloads[1], before_plane=wait)]
        except BaseException:
            lr_future.result()  # the LR's error first, if it had one
            raise
        lr_results = lr_future.result()  # the LR's error first, if it had one
        return lr_results, [future.result() for future in detail_futures]


def decode(stream: bytes, layout: ImageLayout, tables: EntropyTables, max_stream: int, workers: int = 1) -> np.ndarray:
    """Inverse of :func:`encode`; the stream's size is checked before the native decoder sees it."""
    if len(stream) > max_stream:
        raise LimitError(f"LR stream of {len(stream)} bytes exceeds the {max_stream}-byte bound for {layout}")
    planes_q, steps, _ = decode_symbols([stream], layout, tables, ("all",))
    return synthesise(planes_q, steps, workers=workers)
