"""Offline: training irr's networks (``irr train``). Nothing here runs when a file is encoded or
decoded, and nothing here imports compressai or construct: it runs on a plain torch install.

- ``config``: each kind's settings and their defaults (the CLI's defaults too);
- ``loop``: the one run loop (resume, schedule, logging, checkpoints);
- ``data``: training photos, the held-out split, patch sampling;
- ``level`` and ``rescaler``: the two kinds of training, as loop tasks;
- ``proxy`` and ``split``: the coder's rate and the 9/7 split, differentiable, for ``level``.
"""
