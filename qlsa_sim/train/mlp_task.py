"""The MLP-on-images training task (seed paper's DNN experiment)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from qlsa_sim.curvature.blocks import BlockSpec, partition_per_layer, partition_per_tensor
from qlsa_sim.data.images import ImageDataset
from qlsa_sim.errors import DataError, InputError, UnknownNameError
from qlsa_sim.models.mlp import MLPConfig, build_mlp
from qlsa_sim.train.task import TaskInfo

PARTITIONS = ("per-layer", "per-tensor")


def check_task_data(data: ImageDataset, config: MLPConfig, batch_size: int) -> None:
    """Refuse a batch larger than the training set (no batch could be drawn) and labels the output layer
    cannot score (InputError / DataError naming the data set)."""
    n = len(data.y_train)
    if not 1 <= batch_size <= n:
        raise InputError(f"batch size {batch_size} must lie in [1, {n}] (the training set of {data.label})")
    if data.n_classes > config.sizes[-1]:
        raise DataError(f"{data.label}: labels go up to {data.n_classes - 1}, but the MLP's output width "
                        f"{config.sizes[-1]} scores classes 0 to {config.sizes[-1] - 1}")


@dataclass
class MLPTask:
    """MLP with mean cross-entropy on an image data set; seeded minibatches without replacement."""

    data: ImageDataset
    config: MLPConfig
    batch_size: int = 128
    seed: int = 0
    partition: str = "per-layer"
    dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        if self.partition not in PARTITIONS:
            raise UnknownNameError("partition", self.partition, PARTITIONS)
        if self.config.sizes[0] != self.data.n_features:
            self.config = MLPConfig((self.data.n_features, *self.config.sizes[1:]))
        check_task_data(self.data, self.config, self.batch_size)
        self.model = build_mlp(self.config, seed=self.seed, dtype=self.dtype)
        self.info = TaskInfo("mlp", self.data.label,
                             {"sizes": list(self.config.sizes), "batch_size": self.batch_size,
                              "seed": self.seed, "partition": self.partition, "activation": "relu",
                              "loss": "cross-entropy (mean)"})
        self._xtr = torch.from_numpy(self.data.x_train).to(self.dtype)
        self._ytr = torch.from_numpy(self.data.y_train)
        self._xte = torch.from_numpy(self.data.x_test).to(self.dtype)
        self._yte = torch.from_numpy(self.data.y_test)

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rng = np.random.default_rng(self.seed)
        n = len(self._ytr)
        while True:
            perm = torch.from_numpy(rng.permutation(n))
            for i in range(0, n - self.batch_size + 1, self.batch_size):
                idx = perm[i:i + self.batch_size]
                yield self._xtr[idx], self._ytr[idx]

    def loss(self, params: Mapping[str, torch.Tensor], batch) -> torch.Tensor:
        x, y = batch
        dtype = next(iter(params.values())).dtype
        return F.cross_entropy(torch.func.functional_call(self.model, dict(params), (x.to(dtype),)), y)

    def blocks(self) -> list[BlockSpec]:
        return partition_per_layer(self.model) if self.partition == "per-layer" else partition_per_tensor(self.model)

    @torch.no_grad()
    def evaluate(self, params: Mapping[str, torch.Tensor]) -> dict[str, float]:
        dtype = next(iter(params.values())).dtype
        logits = torch.func.functional_call(self.model, dict(params), (self._xte.to(dtype),))
        return {"test_loss": float(F.cross_entropy(logits, self._yte)),
                "test_accuracy": float((logits.argmax(1) == self._yte).double().mean())}
