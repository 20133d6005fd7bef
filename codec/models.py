"""Shipped networks: a registry of stable model names and revisions, loaded from safetensors.

The registry is append-only. A model name never changes meaning; new weights get a new revision
and the old revision's file stays, so every ``.irr`` file ever written keeps decoding. The
SHA-256 of the weights file goes into each header and is checked before decoding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from bitstream.errors import WeightsMismatchError
from codec.registry import (DEFAULT_MODEL, DIRECT, DIRECT_HASH, LEVEL_MODEL, MODEL_KINDS,  # noqa: F401 (re-exported)
                           REGISTRY, revisions, kind_of, latest_revision, scale_of)
from codec.level import LearnedLevel, LevelConfig
from codec.network import InvertibleRescaler, NetworkConfig
from entropy.tables import EntropyTables

def weights_folder() -> Path:
    """Where the shipped weights and entropy models lie."""
    return Path(str(resources.files("codec") / "weights"))


def weights_path(name: str, revision: int) -> Path:
    files = revisions(name)
    if revision not in files:
        raise WeightsMismatchError(
            f"model {name} revision {revision} is not installed (this irr has revisions "
            f"{', '.join(map(str, sorted(files)))}); upgrade irr to decode this file"
        )
    return weights_folder() / files[revision]


Network = InvertibleRescaler | LearnedLevel
# What a weights file's "kind" metadata builds; files without it (r1) are rescalers.
KINDS: dict[str, tuple[type, type]] = {"rescaler": (InvertibleRescaler, NetworkConfig), "level": (LearnedLevel, LevelConfig)}


def serialize(net: Network, name: str, revision: int) -> bytes:
    """The bytes of a weights file: tensors plus the config and identity as safetensors metadata."""
    metadata = {
        "name": name,
        "revision": str(revision),
        "config": json.dumps(asdict(net.config), sort_keys=True),
    }
    if isinstance(net, LearnedLevel):
        metadata["kind"] = "level"
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    return save_safetensors(tensors, metadata=metadata)


def deserialize(data: bytes) -> Network:
    """Build a network from weights-file bytes (safetensors: no pickle, no code runs)."""
    header_len = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + header_len]).get("__metadata__", {})
    network, config = KINDS[metadata.get("kind", "rescaler")]
    # float32 whatever the caller's default dtype: the shipped weights and every decode are float32.
    net = network(config(**json.loads(metadata["config"]))).to(torch.float32)
    net.load_state_dict(load_safetensors(data))
    return net.eval()


@lru_cache(maxsize=8)
def load_model(name: str, revision: int) -> tuple[Network, bytes]:
    """The network and the SHA-256 of its weights file; cached, so call sites share one copy."""
    data = weights_path(name, revision).read_bytes()
    # Channels-last weights send the CPU's convolutions to oneDNN's direct kernels: the learned
    # level's inverse pass ran 1.8x faster on one thread, 3x on two (tests/test_speed.py), its output
    # within float rounding (1e-5) of the default layout's.
    net = deserialize(data).to(memory_format=torch.channels_last)
    for p in net.parameters():
        p.requires_grad_(False)
    return net, hashlib.sha256(data).digest()


def check_weights(name: str, revision: int, expected_hash: bytes) -> Network:
    """Load the weights a file was encoded with, refusing any other weights."""
    net, digest = load_model(name, revision)
    if digest != expected_hash:
        raise WeightsMismatchError(
            f"this file was encoded with {name} r{revision} weights {expected_hash.hex()[:16]}..., "
            f"but the installed weights hash to {digest.hex()[:16]}...; decoding with other weights "
            "would give a wrong image"
        )
    return net


def to_device(net: Network, device: torch.device, dtype: torch.dtype = torch.float32) -> Network:
    """The network on ``device`` in ``dtype`` (a cached copy unless it is the CPU float32 original)."""
    if device.type == "cpu" and dtype == torch.float32:
        return net
    return _device_copy(net, str(device), dtype)


@lru_cache(maxsize=4)
def _device_copy(net: Network, device: str, dtype: torch.dtype) -> Network:
    import copy

    return copy.deepcopy(net).to(device=device, dtype=dtype)


# Entropy-model id -> tables file in codec/weights. Append only; the id is written in every header.
ENTROPY_MODELS: dict[str, str] = {"w53-laplace-1": "w53-laplace-1.npz", "w97-laplace-1": "w97-laplace-1.npz",
                                  "w97-laplace-2": "w97-laplace-2.npz", "w97-adaptive-1": "w97-adaptive-1.npz",
                                  "w97-adaptive-2": "w97-adaptive-2.npz", "w97-adaptive-3": "w97-adaptive-3.npz"}
# w97-laplace-2: fitted on the learned level's output; its LR and detail are separate streams
# with a CRC per segment. w97-adaptive-1 (context scheme 4): the same streams, contexts from a
# learned integer predictor, and per-file bin shifts. w97-adaptive-2: w97-adaptive-1's family and
# predictor, its map refitted on the symbols the encoder writes (``fit-tables --written-by``).
# w97-adaptive-3: context scheme 5, whose finest level reads no other plane, so that the detail's
# planes decode on threads of their own; w97-adaptive-2's predictor, the map refitted on what that
# encoder writes. Scale-1 and rescaler files keep the model they were measured with.
LEVEL_ENTROPY_MODEL = "w97-adaptive-3"
LEVEL_ENTROPY_MODELS = ("w97-laplace-2", "w97-adaptive-1", "w97-adaptive-2", "w97-adaptive-3")  # fitted on the level's output: what it may code with
RESCALER_ENTROPY_MODEL = "w97-laplace-1"


@lru_cache(maxsize=4)
def load_tables(model_id: str) -> tuple[EntropyTables, bytes]:
    """Entropy tables by id, and the SHA-256 of their file."""
    if model_id not in ENTROPY_MODELS:
        raise WeightsMismatchError(f"unknown entropy model {model_id!r}; this irr knows {', '.join(ENTROPY_MODELS)}")
    data = (weights_folder() / ENTROPY_MODELS[model_id]).read_bytes()
    return EntropyTables.from_bytes(data), hashlib.sha256(data).digest()
