"""Work on the planes of an image in threads: the C kernels (lifting, bins, rANS) and numpy's
loops release the GIL, so planes that do not depend on each other run on separate cores. The
results are the same integers whatever the thread count: each plane's work is the serial code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

MIN_SAMPLES = 1 << 16  # below this a plane's work is shorter than a thread's start


def map_planes(work: Callable[[int], T], n: int, workers: int, samples: int) -> list[T]:
    """[work(0), ..., work(n - 1)], on up to ``workers`` threads when a plane has ``samples`` or more."""
    return map_items(work, list(range(n)), workers if samples >= MIN_SAMPLES else 1)


def map_items(work: Callable[[T], U], items: list[T], workers: int) -> list[U]:
    """[work(item) for item in items], on up to ``workers`` threads when there are several."""
    workers = min(workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="irr") as pool:
        return list(pool.map(work, items))


class Stopped(Exception):
    """Another plane's thread failed: this one stops waiting (that plane's error is the one raised)."""


class BandProgress:
    """How many bands each plane's walk has coded, for walks on threads in which a plane's band waits
    for the same band of the planes its contexts read (``needs``: plane -> those planes). Every
    plane visits the same sequence of bands, so "the same band" is the same count. After
    :meth:`fail`, every plane raises :class:`Stopped` at its next band (its work is moot)."""

    def __init__(self, n_planes: int, needs: dict[int, tuple[int, ...]]) -> None:
        self._done = [0] * n_planes
        self._needs = needs
        self._failed = False
        self._changed = threading.Condition()

    def before_band(self, plane: int) -> None:
        with self._changed:
            band = self._done[plane]
            self._changed.wait_for(lambda: self._failed or all(self._done[q] > band for q in self._needs.get(plane, ())))
            if self._failed:
                raise Stopped

    def after_band(self, plane: int) -> None:
        with self._changed:
            self._done[plane] += 1
            self._changed.notify_all()

    def fail(self) -> None:
        with self._changed:
            self._failed = True
            self._changed.notify_all()
