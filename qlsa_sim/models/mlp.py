"""Multilayer perceptron (the seed paper's DNN: 784-16-10, ReLU, cross-entropy)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from qlsa_sim.errors import InputError


@dataclass(frozen=True)
class MLPConfig:
    """Layer widths from input to logits, e.g. (784, 16, 10)."""

    sizes: tuple[int, ...] = (784, 16, 10)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(int(s) < 1 for s in self.sizes):
            raise InputError(f"MLP sizes must be >= 2 positive integers, got {self.sizes}")

    @property
    def label(self) -> str:
        return "-".join(str(s) for s in self.sizes)


def build_mlp(config: MLPConfig, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """``nn.Sequential`` of Linear layers with ReLU between them (none after the last)."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(config.sizes[:-1], config.sizes[1:])):
        lin = nn.Linear(a, b, dtype=dtype)
        bound = 1.0 / a ** 0.5  # PyTorch's default init, drawn from our own generator for determinism
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=gen)
            lin.bias.uniform_(-bound, bound, generator=gen)
        layers.append(lin)
        if i < len(config.sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def parse_sizes(text: str) -> MLPConfig:
    """Parse '784-16-10' into an MLPConfig."""
    try:
        return MLPConfig(tuple(int(t) for t in text.split("-")))
    except ValueError as e:
        raise InputError(f"cannot parse MLP sizes {text!r}; expected e.g. 784-16-10") from e
