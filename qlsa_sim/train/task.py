"""What the recorder needs from a model + data set: the TrainingTask protocol.

The recorder (``qlsa_sim.train.record``) is model-agnostic: it trains ``task.model`` on
``task.batches()`` with SGD on ``task.loss`` and, every k steps, computes the curvature blocks
``task.blocks`` of that loss on the current batch. MLP and transformer tasks implement this.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from qlsa_sim.curvature.blocks import BlockSpec


@dataclass(frozen=True)
class TaskInfo:
    """Identity of a task, written into the trace metadata."""

    model: str                      # "mlp" | "bert" | "gpt"
    dataset: str                    # the data set actually used, e.g. "fashion-mnist (/usr/share/...)"
    config: Mapping[str, Any] = field(default_factory=dict)


class TrainingTask(Protocol):
    info: TaskInfo
    model: nn.Module

    def batches(self) -> Iterator[Any]:
        """An endless, seeded, deterministic stream of training batches."""

    def loss(self, params: Mapping[str, torch.Tensor], batch: Any) -> torch.Tensor:
        """Scalar training loss of the model with ``params`` (functional) on ``batch``."""

    def blocks(self) -> list[BlockSpec]:
        """The curvature blocks to record, in a fixed order."""

    def evaluate(self, params: Mapping[str, torch.Tensor]) -> Mapping[str, float]:
        """Held-out metrics, e.g. {"test_loss": ..., "test_accuracy": ...}."""
