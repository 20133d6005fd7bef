"""Every error irr raises on bad input. ``codec`` re-exports these; catch ``IrrError`` for all of them.

They live in the lowest layer (``bitstream``, which imports no torch) so that every layer above
can raise them without importing upwards.
"""

from __future__ import annotations


class IrrError(Exception):
    """Base of all errors irr raises for bad input, corrupt files or unsupported requests."""


class FormatError(IrrError):
    """The bytes are not a well-formed ``.irr`` file (wrong magic, bad structure, truncation)."""


class TruncatedError(FormatError):
    """The file ends before the container says it should."""


class ChecksumError(FormatError):
    """A chunk's CRC-32 or the decoded image's checksum does not match: the file is corrupt."""


class UnsupportedVersionError(IrrError):
    """The file's major container version is one this irr cannot read."""


class LimitError(IrrError):
    """A size declared by the file or the input exceeds a configured limit."""


class WeightsMismatchError(IrrError):
    """The file needs network weights other than the ones installed."""


class InputError(IrrError):
    """An input image or an argument cannot be encoded as asked."""
