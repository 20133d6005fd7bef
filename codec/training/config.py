"""Each kind of training's settings, with the one set of defaults the CLI shows and uses. No torch
here: ``irr --help`` reads these without loading the network stack."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunConfig:
    """What every run has: data, folder, identity of the exported weights, schedule, machine."""

    data: str
    out: str
    name: str = ""
    revision: int = 1
    iterations: int = 0
    batch: int = 0
    patch: int = 0
    lr: float = 0.0  # peak learning rate
    blocks: int = 0
    hidden: int = 32
    minutes: float = 0.0  # wall-clock budget (0: none); the run ends at whichever of it and iterations comes first
    threads: int = 0  # CPU threads (0: PyTorch's default)
    device: str = "cpu"
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 250
    validate_every: int = 500
    init: str | None = None  # weights file to start from (a level then skips its prediction warm start)


@dataclass
class LevelTrainConfig(RunConfig):
    name: str = "irr-level"
    iterations: int = 2500  # rate-distortion steps, after the prediction warm start
    batch: int = 8
    patch: int = 128
    lr: float = 1e-4
    blocks: int = 2
    checkpoint_every: int = 200
    validate_every: int = 250
    tables: str | None = None  # entropy tables the rate proxy follows; None: models.LEVEL_ENTROPY_MODEL's
    pretrain: int = 2000  # steps of the first prediction subnet alone on plain detail prediction (MSE)
    pretrain_lr: float = 2e-3
    min_step: float = 1.0  # quantiser steps drawn log-uniformly in [min_step, max_step]
    max_step: float = 200.0
    depth: int = 3
    update_hidden: int = 16


@dataclass
class RescalerTrainConfig(RunConfig):
    scale: int = 2  # the exported weights are named irr-x{scale} unless ``name`` says otherwise
    iterations: int = 8000
    batch: int = 16
    patch: int = 64
    lr: float = 5e-4
    blocks: int = 4
    guide: float = 1.0
    z_weight: float = 0.5
    temperature: float = 1.0
    subnet: str = "plain"
    # "bf16": autocast the subnets to bfloat16 (CUDA); the coupling arithmetic and losses stay float32.
    precision: str = "fp32"
    # torch.compile the training step (CUDA: fused kernels; CPU works but compiles for a minute).
    compile: bool = False
    # SAIN's point: train for LRs recompressed on the way. >0: half the batch's 8-bit LRs pass through
    # Pillow JPEG at a quality drawn from lr_jpeg..95 (straight-through), and validation also
    # measures JPEG 75 LRs. 0: lossless LRs only.
    lr_jpeg: int = 0

    def __post_init__(self) -> None:
        self.name = self.name or f"irr-x{self.scale}"
