"""irr: a learned image codec built on an invertible rescaler.

Public API::

    data = codec.encode("photo.png", quality=75)            # -> .irr bytes (scale: the rate ladder's)
    image = codec.decode(data)                               # -> PIL.Image
    array = codec.decode_array(data)                         # -> (H, W, C) uint8
    tensor = codec.decode_tensor(data)                       # -> (C, H, W) float32 in [0, 1]

Every error irr raises for bad input derives from :class:`IrrError`.
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
from codec.api import (
    DEFAULT_QUALITY,
    DEFAULT_SCALE,
    decode,
    decode_array,
    decode_tensor,
    encode,
    info,
    quality_to_step,
)

__version__ = "0.1.0"

__all__ = [
    "ChecksumError", "FormatError", "InputError", "IrrError", "LimitError", "TruncatedError",
    "UnsupportedVersionError", "WeightsMismatchError", "DEFAULT_QUALITY", "DEFAULT_SCALE",
    "decode", "decode_array", "decode_tensor", "encode", "info", "quality_to_step",
]
