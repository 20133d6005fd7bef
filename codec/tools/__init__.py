"""Offline tools, run by hand when a model changes (``irr tools ...``); nothing here runs when a
file is encoded or decoded:

- ``fit_entropy``: fit an entropy model's context map (and scheme 4's predictor) on training photos;
- ``compare_entropy``: bytes of entropy models on equal symbols, and as the encoder codes them;
- ``calibrate_quality``: the measurement behind the quality scale's constants.
"""
