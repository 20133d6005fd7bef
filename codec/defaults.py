"""The encoder's user-facing defaults, in a module that imports nothing: ``irr --help`` shows them
without loading torch (``codec.settings`` checks and applies them)."""

DEFAULT_QUALITY = 75
DEFAULT_SCALE: int | None = None  # the learned level
SCALES = (1, 2, 4)
DEFAULT_TEMPERATURE = 0.0
LOSSLESS_QUALITY = 100
