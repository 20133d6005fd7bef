"""Hand-built ICC profiles for the colour tests: no profile file ships with the system, and
Pillow's ``ImageCms.createProfile`` makes only sRGB, LAB and XYZ ones. Both are version 2."""

from __future__ import annotations

import itertools
import struct


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


_D50 = _s15(0.9642) + _s15(1.0) + _s15(0.8249)
_WHITE = (b"wtpt", b"XYZ " + bytes(4) + _D50)


def _profile(space: bytes, pcs: bytes, device_class: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        body += bytes(-(offset + len(body)) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I4sI4s4s4s12s4s4sI4s4sQI", offset + len(body), b"none", 0x02100000, device_class, space,
                         pcs, bytes(12), b"acsp", b"APPL", 0, b"none", b"none", 0, 0) + _D50 + b"none" + bytes(44)
    return header + struct.pack(">I", len(tags)) + table + body


def gray_profile(gamma: float = 2.2) -> bytes:
    """A gray display profile with a pure gamma curve."""
    return _profile(b"GRAY", b"XYZ ", b"mntr", [_WHITE, (b"kTRC", b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)))])


def cmyk_profile() -> bytes:
    """A CMYK printer profile (lut8, 2-point grid to Lab) whose colours differ clearly from
    Pillow's naive CMYK -> RGB formula: cyan comes out dark teal, not (0, 255, 255)."""
    clut = b""
    for c, m, y, k in itertools.product((0, 1), repeat=4):
        lightness = 100 * (1 - k) * (1 - 0.5 * max(c, m, y))
        clut += bytes([round(lightness * 2.55), round(128 + 60 * m - 40 * c), round(128 + 60 * y - 30 * c)])
    identity = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    ramp = bytes(range(256))
    a2b0 = b"mft1" + bytes(4) + bytes([4, 3, 2, 0]) + identity + ramp * 4 + clut + ramp * 3
    return _profile(b"CMYK", b"Lab ", b"prtr", [_WHITE, (b"A2B0", a2b0)])
