"""irr: a learned image codec built on an invertible neural network.

Public API::

    data = codec.encode("photo.png", quality=75)            # -> .irr bytes
    image = codec.decode(data)                               # -> PIL.Image
    array = codec.decode_array(data)                         # -> (H, W, C) uint8
    tensor = codec.decode_tensor(data)                       # -> (C, H, W) float32 in [0, 1]

Every error irr raises for bad input derives from :class:`IrrError`.

The API is imported on first use, so that ``codec.training`` and the network modules run on a
plain torch install (no compressai or construct), for example on a training machine.
"""

from __future__ import annotations

from bitstream.errors import (
    ChecksumError,
    FormatError,
    InputError,
    IrrError,
    LimitError,
    TruncatedError,
    UnsupportedVersionError,
    WeightsMismatchError,
)

__version__ = "0.1.0"

_API = ("DEFAULT_QUALITY", "DEFAULT_SCALE", "decode", "decode_array", "decode_tensor", "encode", "info",
        "quality_to_step")

__all__ = [
    "ChecksumError", "FormatError", "InputError", "IrrError", "LimitError", "TruncatedError",
    "UnsupportedVersionError", "WeightsMismatchError", *_API,
]


def __getattr__(name: str):
    if name in _API:
        from codec import api

        return getattr(api, name)
    raise AttributeError(f"module 'codec' has no attribute {name!r}")
