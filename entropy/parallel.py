"""Work on the planes of an image in threads: the C kernels (lifting, bins, rANS) and numpy's
loops release the GIL, so planes that do not depend on each other run on separate cores. The
results are the same integers whatever the thread count: each plane's work is the serial code."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

MIN_SAMPLES = 1 << 16  # below this a plane's work is shorter than a thread's start


def map_planes(work: Callable[[int], T], n: int, workers: int, samples: int) -> list[T]:
    """[work(0), ..., work(n - 1)], on up to ``workers`` threads when a plane has ``samples`` or more."""
    workers = min(workers, n)
    if workers <= 1 or samples < MIN_SAMPLES:
        return [work(i) for i in range(n)]
    with ThreadPoolExecutor(workers, thread_name_prefix="irr-plane") as pool:
        return list(pool.map(work, range(n)))


def map_items(work: Callable[[T], U], items: list[T], workers: int) -> list[U]:
    """[work(item) for item in items], on up to ``workers`` threads when there are several."""
    workers = min(workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="irr-item") as pool:
        return list(pool.map(work, items))
