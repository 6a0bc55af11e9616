"""Compute one curvature block of a training task: exact Hessian, GGN, or empirical Fisher.

- ``exact``: d^2 L / d theta_B^2. For a ReLU MLP with a linear last layer and a per-layer block it
  equals the GGN block and is computed in closed (Kronecker) form (``curvature/mlp_ggn.py``,
  Schraudolph 2002; Botev et al. 2017), several times faster than ``torch.func.hessian``;
  otherwise by ``torch.func`` (``curvature/blocks.py``).
- ``ggn``: generalized Gauss-Newton J^T H_z J (Schraudolph 2002). Offered where the closed form
  holds (ReLU MLPs); stored densely or as its factor M with G = M M^T / B.
- ``fisher``: empirical Fisher (1/B) sum_b g_b g_b^T of per-sample gradients (what the seed
  paper's code used; Kunstner et al. 2019 discuss its limits), stored densely or as the factor
  [g_1 ... g_B] with F = G G^T / B.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from qlsa_sim.core.names import CurvatureKind, HessianMethod, Storage, names, parse
from qlsa_sim.curvature.blocks import BlockSpec, _block_loss, block_gradient, block_hessian, check_memory_budget
from qlsa_sim.curvature.mlp_ggn import block_from_kron, factor_from_kron, mlp_layer_kron
from qlsa_sim.errors import InputError
from qlsa_sim.traces.store import BlockData

CURVATURE_KINDS = names(CurvatureKind)
STORAGES = names(Storage)
METHODS = names(HessianMethod)


@dataclass(frozen=True)
class CurvatureConfig:
    """How curvature blocks are computed, shared by recording (``train/record.py``) and live training
    (``train/hybrid_newton.py``): the kind (exact / GGN / empirical Fisher), the storage (dense, or the
    factor M with H = M M^T / B), the method for exact blocks, the HVP chunk, a memory budget for dense
    blocks, and the number of samples of the batch the blocks are computed on (None: all)."""

    kind: str = CurvatureKind.EXACT
    storage: str = Storage.DENSE
    method: str = HessianMethod.AUTO
    hvp_chunk: int = 128
    memory_budget_gb: float = 8.0
    batch: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse(CurvatureKind, self.kind, "curvature kind"))
        object.__setattr__(self, "storage", parse(Storage, self.storage, "storage"))
        object.__setattr__(self, "method", parse(HessianMethod, self.method, "Hessian method"))
        if self.hvp_chunk < 1:
            raise InputError(f"hvp_chunk must be >= 1, got {self.hvp_chunk}")
        if not self.memory_budget_gb > 0:
            raise InputError(f"memory budget must be > 0 GB, got {self.memory_budget_gb}")
        if self.batch is not None and self.batch < 1:
            raise InputError(f"curvature batch must be >= 1 sample, got {self.batch}")


def batch_head(batch, k: int | None):
    """The first ``k`` samples of a batch (tuple of tensors, or an object with ``.head(k)``)."""
    if k is None:
        return batch
    if hasattr(batch, "head"):
        return batch.head(k)
    return tuple(t[:k] for t in batch)


def task_curvature(task, params: Mapping[str, torch.Tensor], batch, blocks: Sequence[BlockSpec],
                   config: CurvatureConfig) -> list[BlockData]:
    """Every block of ``task`` at ``params`` (float64), on the first ``config.batch`` samples of ``batch``."""
    head = batch_head(batch, config.batch)
    return [block_curvature(task, params, head, b, kind=config.kind, storage=config.storage, method=config.method,
                            chunk=config.hvp_chunk, budget_bytes=config.memory_budget_gb * 2**30) for b in blocks]


def mlp_layer_index(model: nn.Module, block: BlockSpec) -> int | None:
    """Index among Linear layers if ``block`` is exactly one Linear's (weight, bias) of a ReLU MLP."""
    if not isinstance(model, nn.Sequential) or block.start != 0 or block.stop not in (None, block.full_size):
        return None
    if not all(isinstance(m, (nn.Linear, nn.ReLU)) for m in model):
        return None
    linear = [str(i) for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    prefix = block.params[0].rsplit(".", 1)[0]
    if prefix not in linear or block.params != (f"{prefix}.weight", f"{prefix}.bias"):
        return None
    return linear.index(prefix)


def _per_sample_gradients(loss, params: Mapping[str, torch.Tensor], batch, block: BlockSpec) -> torch.Tensor:
    if not (isinstance(batch, tuple) and all(isinstance(t, torch.Tensor) for t in batch)):
        raise InputError("empirical Fisher needs a batch of per-sample tensors (e.g. (X, y)); this task's "
                         f"batches are {type(batch).__name__}")

    def single(*sample):
        f, x0 = _block_loss(lambda p: loss(p, tuple(s.unsqueeze(0) for s in sample)), params, block)
        return torch.func.grad(f)(x0)

    return torch.func.vmap(single)(*batch)  # (B, n)


def block_curvature(task, params: Mapping[str, torch.Tensor], batch, block: BlockSpec, *, kind: str = "exact",
                    storage: str = "dense", method: str = "auto", chunk: int = 128,
                    budget_bytes: float = 8 * 2**30) -> BlockData:
    """One block (float64) of ``task`` at ``params`` on ``batch``, with its gradient."""
    kind, storage = parse(CurvatureKind, kind, "curvature kind"), parse(Storage, storage, "storage")
    method = parse(HessianMethod, method, "Hessian method")
    loss_fn = lambda p: task.loss(p, batch)
    g = block_gradient(loss_fn, params, block).numpy()
    if storage == "dense":
        check_memory_budget(block, dtype=torch.float64, budget_bytes=budget_bytes)
    layer = mlp_layer_index(task.model, block)
    if kind == "fisher":
        G = _per_sample_gradients(task.loss, params, batch, block)
        B = G.shape[0]
        if storage == "factor":
            return BlockData(block.name, g, factor=G.T.contiguous().numpy(), scale=1.0 / B)
        return BlockData(block.name, g, matrix=(G.T @ G / B).numpy())
    closed_form = layer is not None and method == "auto"
    if kind == "ggn" and layer is None:
        raise InputError(f"block {block.name!r}: GGN blocks are offered in closed form for per-layer blocks of "
                         "ReLU MLPs; use --curvature exact or fisher")
    if closed_form or kind == "ggn":
        x, y = batch
        k = mlp_layer_kron(task.model, x, y, layer, dtype=torch.float64)
        if storage == "factor":
            return BlockData(block.name, g, factor=factor_from_kron(k).numpy(), scale=1.0 / k.batch)
        return BlockData(block.name, g, matrix=block_from_kron(k).numpy())
    if storage == "factor":
        raise InputError(f"block {block.name!r}: an exact Hessian of this model has no factor; "
                         "use --storage dense, or --curvature ggn / fisher")
    H = block_hessian(loss_fn, params, block, method="hessian" if method == "auto" else method, chunk=chunk)
    return BlockData(block.name, g, matrix=H.numpy())
