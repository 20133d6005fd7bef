"""Memory needed to decode a file, checked against what the machine has before anything is allocated.

Linux's OOM killer ends a process without a Python exception, so "out of memory" must be
predicted, not caught. The estimate is deliberately generous (see ``decode_bytes``).
"""

from __future__ import annotations

from bitstream.container import Header
from bitstream.errors import LimitError
from codec.tiling import MARGIN, TILE

BASE_BYTES = 64 << 20  # interpreter-side working set beyond the decoded data


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, or None where it cannot be read (then nothing is checked)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def decode_bytes(h: Header, kind: str, stream_bytes: int = 0, hidden: int = 32) -> int:
    """Upper estimate of a decode's peak: entropy decoding, the network's inputs, tiles, the output.

    ``kind`` is the model's (``codec.models.kind_of``). ``stream_bytes`` (the entropy-coded payloads'
    size) matters for forged files: the decoder's zero padding grows with a stream's length
    (``entropy.streams.padding``), held twice.
    """
    planes = 1 if h.channels == 1 else 3
    alpha = h.width * h.height * 40 if h.channels == 4 else 0
    output = h.width * h.height * (h.channels + 3) * 2
    if kind == "level":  # the whole pyramid is coded; the network runs on the low band's grid
        entropy = h.width * h.height * planes * 40
        grid = (-(-h.height // 2)) * (-(-h.width // 2))
        network = grid * 12 * 4 * 6 + (TILE + 2 * MARGIN) ** 2 * hidden * 4 * 4  # float planes, then a tile
        return BASE_BYTES + entropy + alpha + 32 * stream_bytes + network + output
    lr_h, lr_w = h.lr_size
    lr_px = lr_h * lr_w
    entropy = lr_px * planes * 40 + alpha + 32 * stream_bytes
    network = kind == "rescaler"  # a scale-1 file is the image itself: no latent, no network tiles
    latent = lr_px * 3 * h.scale * h.scale * 4 if network else 0  # LR + z, float32, whole image
    tile = (TILE + 2 * MARGIN) ** 2 * (hidden * 6 + 3 * h.scale * h.scale * 4) * 4 if network else 0
    return BASE_BYTES + entropy + latent + tile + output


def check_decode_fits(h: Header, kind: str, stream_bytes: int = 0) -> None:
    need, have = decode_bytes(h, kind, stream_bytes), available_bytes()
    if have is not None and need > have:
        raise LimitError(
            f"decoding {h.width}x{h.height} needs about {need / 2**30:.1f} GiB of memory, "
            f"{have / 2**30:.1f} GiB is available"
        )
