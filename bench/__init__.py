"""Rate-distortion and speed benchmarks of irr against classical codecs (public API only)."""
