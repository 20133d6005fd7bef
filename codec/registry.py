"""The names of irr's networks, their revisions and kinds: what a header's model fields mean.

Torch-free, so that reading a header (``irr info``, the Pillow plugin's ``open``) never loads the
network stack; ``codec.models`` loads the weights these names point at.
"""

from __future__ import annotations

from bitstream.errors import WeightsMismatchError

# name -> {revision: file name in codec/weights}. Append only.
REGISTRY: dict[str, dict[int, str]] = {
    "irr-x2": {1: "irr-x2-r1.safetensors", 2: "irr-x2-r2.safetensors"},
    "irr-x4": {1: "irr-x4-r1.safetensors", 2: "irr-x4-r2.safetensors", 3: "irr-x4-r3.safetensors", 4: "irr-x4-r4.safetensors",
               5: "irr-x4-r5.safetensors"},
    # r0 is the untrained level (zero-initialised couplings: exactly the 9/7 level), kept for the
    # ablation that measures what training bought; r1 on are trained (``irr train``).
    # r2: one coupling block of 16 channels, 1.8x faster to decode than r1 for +0.4-0.5 % BD-rate.
    "irr-level": {0: "irr-level-r0.safetensors", 1: "irr-level-r1.safetensors", 2: "irr-level-r2.safetensors"},
}
# name -> what the network is ("rescaler": IRN, the LR only; "level": irr's learned first
# transform level) and the scale of its files' LR. Append only, like REGISTRY.
MODEL_KINDS: dict[str, tuple[str, int]] = {"irr-x2": ("rescaler", 2), "irr-x4": ("rescaler", 4), "irr-level": ("level", 2)}
DEFAULT_MODEL = {2: "irr-x2", 4: "irr-x4"}
LEVEL_MODEL = "irr-level"
# What a scale-1 file (the image stored directly) names instead of a network.
DIRECT, DIRECT_HASH = "none", bytes(32)


def kind_of(name: str) -> str:
    """"none", "rescaler" or "level"; unknown names are refused."""
    if name == DIRECT:
        return "none"
    revisions(name)
    return MODEL_KINDS[name][0]


def scale_of(name: str) -> int:
    return 1 if name == DIRECT else MODEL_KINDS[name][1]


def latest_revision(name: str) -> int:
    return max(revisions(name))


def revisions(name: str) -> dict[int, str]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise WeightsMismatchError(
            f"unknown model {name!r}; this irr knows {', '.join(sorted(REGISTRY))}"
        ) from None
