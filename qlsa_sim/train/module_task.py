"""A user's own ``nn.Module`` as a :class:`HybridNewton` task: the torch.optim ``step(closure)`` convention.

``HybridNewton(model)`` (or ``HybridNewton.for_module(model)``) wraps the module in a :class:`ModuleTask`; the
training loop then calls ``opt.step(closure)`` where the closure computes the loss on the current batch with
the module and RETURNS it. The closure may call ``opt.zero_grad()`` but must NOT call ``loss.backward()``:
Newton needs second derivatives, so the optimizer differentiates the returned loss itself.

One step evaluates the closure once with autograd on (loss, gradient with ``create_graph=True``) and builds
every block's EXACT Hessian from Hessian-vector products of that graph (Pearlmutter 1994, "Fast exact
multiplication by the Hessian", Neural Computation 6(1); reverse-over-reverse double backward, ``chunk``
unit vectors per batched backward, ``torch.autograd.grad(..., is_grads_batched=True)``), by default one block
per parameter tensor (``curvature/blocks.py`` :func:`partition_per_tensor`). No model structure is assumed:
any activation (tanh, GELU, ...) and any loss. Everything after the curvature (features, scheduling by
``decide_block``, timed classical solves, QLSA emulation, line search, logs) is :class:`HybridNewton`'s own
path. The line search evaluates the closure at trial parameters (``torch.func.functional_call``, no autograd).

Curvature computed in the parameters' dtype (a float32 model gives float32 Hessian-vector products; use
``model.double()`` for float64 curvature), symmetrized ``(H + H^T)/2`` and solved in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from qlsa_sim.core.names import CurvatureKind, Storage
from qlsa_sim.curvature.blocks import BlockSpec, check_memory_budget, flat_block, partition_per_tensor
from qlsa_sim.curvature.compute import CurvatureConfig
from qlsa_sim.errors import InputError
from qlsa_sim.traces.store import BlockData
from qlsa_sim.train.task import TaskInfo

Closure = Callable[[], torch.Tensor]

CLOSURE_RULE = ("the closure must compute the loss with the model and return it without calling "
                "loss.backward() (HybridNewton differentiates it twice itself); it may call opt.zero_grad()")


class _CallClosure(nn.Module):
    """Holds the user's module as ``model`` so ``functional_call`` swaps its parameters while a closure runs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, closure: Closure) -> torch.Tensor:
        return closure()


def _check_loss(loss: Any) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InputError(f"the closure must return the scalar loss tensor, got {type(loss).__name__}"
                         + (f" of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else ""))
    return loss.reshape(())


class ModuleTask:
    """A TrainingTask over a user's ``nn.Module`` whose "batch" is the training loop's closure.

    ``blocks``: the curvature blocks (default: one per trainable parameter tensor). Only exact, dense
    Hessian blocks are offered here (``CurvatureConfig(kind="exact", storage="dense")``); ``hvp_chunk`` and
    ``memory_budget_gb`` apply."""

    closure_driven = True

    def __init__(self, model: nn.Module, blocks: Sequence[BlockSpec] | None = None) -> None:
        if not isinstance(model, nn.Module):
            raise InputError(f"expected an nn.Module, got {type(model).__name__}")
        self.model = model
        self._caller = _CallClosure(model)
        self._blocks = list(partition_per_tensor(model) if blocks is None else blocks)
        if not self._blocks:
            raise InputError("the module has no trainable parameters (requires_grad=True)")
        known = dict(model.named_parameters())
        for b in self._blocks:
            for name, shape in zip(b.params, b.shapes):
                if name not in known or tuple(known[name].shape) != tuple(shape):
                    raise InputError(f"block {b.name!r}: no parameter {name!r} of shape {tuple(shape)} in the module")
        self.info = TaskInfo(model=f"user-module:{type(model).__name__}", dataset="user closure",
                             config={"blocks": [b.name for b in self._blocks]})

    def batches(self) -> Iterator[Any]:
        raise InputError("a ModuleTask has no data stream: the training loop feeds the closure to opt.step")

    def blocks(self) -> list[BlockSpec]:
        return list(self._blocks)

    def evaluate(self, params: Mapping[str, torch.Tensor]) -> Mapping[str, float]:
        return {}

    def loss(self, params: Mapping[str, torch.Tensor], closure: Closure) -> torch.Tensor:
        """The closure's loss with the module's parameters replaced by ``params`` (the module is unchanged)."""
        try:
            out = torch.func.functional_call(self._caller, {f"model.{k}": v for k, v in params.items()}, (closure,))
        except RuntimeError as e:
            if "does not require grad" in str(e) or "backward through the graph" in str(e):
                raise InputError(f"{CLOSURE_RULE} ({e})") from None
            raise
        return _check_loss(out)

    def loss_grads_blocks(self, closure: Closure, config: CurvatureConfig
                          ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], float, list[BlockData]]:
        """(parameters, gradients, loss, blocks) at the module's current parameters: one closure call."""
        _check_config(config)
        named = dict(self.model.named_parameters())
        live = {k: p for k, p in named.items() if p.requires_grad}
        with torch.enable_grad():
            loss = _check_loss(closure())
            if not loss.requires_grad:
                raise InputError(f"the closure's loss does not depend on the parameters with autograd on; {CLOSURE_RULE}")
            value = float(loss.detach())
            try:
                gl = torch.autograd.grad(loss, list(live.values()), create_graph=True, allow_unused=True)
            except RuntimeError as e:
                raise InputError(f"{CLOSURE_RULE} ({e})") from None
            graph = {k: (g if g is not None else torch.zeros_like(live[k])) for k, g in zip(live, gl)}
            grads = {k: (graph[k].detach() if k in graph else torch.zeros_like(p)) for k, p in named.items()}
            datas = [] if not np.isfinite(value) else [
                self._block(b, graph, live, config) for b in self._blocks]
        params = {k: p.detach().clone() for k, p in named.items()}
        return params, grads, value, datas

    def _block(self, block: BlockSpec, graph: Mapping[str, torch.Tensor], live: Mapping[str, torch.Tensor],
               config: CurvatureConfig) -> BlockData:
        check_memory_budget(block, dtype=torch.float64, budget_bytes=config.memory_budget_gb * 2**30)
        stop = block.full_size if block.stop is None else block.stop
        g_full = flat_block(graph, block)
        g = g_full[block.start:stop].detach().to(torch.float64).numpy().copy()
        H = block_hessian_autograd(g_full, [live[k] for k in block.params], block.start, stop, config.hvp_chunk)
        return BlockData(block.name, g, matrix=H)


def _check_config(config: CurvatureConfig) -> None:
    if config.kind != CurvatureKind.EXACT or config.storage != Storage.DENSE:
        raise InputError(f"HybridNewton on an nn.Module computes exact dense Hessian blocks by Hessian-vector "
                         f"products; curvature kind {config.kind!r} / storage {config.storage!r} needs a "
                         "TrainingTask (e.g. train/mlp_task.py)")
    if config.batch is not None:
        raise InputError("CurvatureConfig.batch (curvature on the first samples) needs a TrainingTask; the closure "
                         "decides the batch of an nn.Module")


def block_hessian_autograd(grad_flat: torch.Tensor, params: Sequence[torch.Tensor], start: int, stop: int,
                           chunk: int = 128) -> np.ndarray:
    """Rows ``start:stop`` x columns ``start:stop`` of d(grad_flat)/d(params), float64, symmetrized.

    ``grad_flat``: the block's gradient (flattened, concatenated in ``params`` order) built with
    ``create_graph=True``. Row i is the Hessian-vector product with the unit vector e_i (Pearlmutter 1994),
    ``chunk`` of them per batched backward (``is_grads_batched``; a plain loop where a batching rule is
    missing). A gradient without a graph (the loss is linear in these parameters) gives zeros."""
    n, full = stop - start, grad_flat.numel()
    H = torch.zeros(n, n, dtype=torch.float64)
    if not grad_flat.requires_grad:
        return H.numpy()
    for i in range(0, n, chunk):
        k = min(chunk, n - i)
        E = torch.zeros(k, full, dtype=grad_flat.dtype)
        E[torch.arange(k), start + i + torch.arange(k)] = 1.0
        H[i:i + k] = _hvp_rows(grad_flat, params, E)[:, start:stop].to(torch.float64)
    return (0.5 * (H + H.T)).numpy()


def _hvp_rows(grad_flat: torch.Tensor, params: Sequence[torch.Tensor], E: torch.Tensor) -> torch.Tensor:
    """``E @ H`` (k x full) for the rows of unit vectors ``E``: one batched double backward, else a loop."""
    def cat(parts, k):
        return torch.cat([(p if p is not None else torch.zeros(k, *q.shape, dtype=q.dtype)).reshape(k, -1)
                          for p, q in zip(parts, params)], dim=1)

    try:
        parts = torch.autograd.grad(grad_flat, list(params), grad_outputs=E, retain_graph=True,
                                    is_grads_batched=True, allow_unused=True)
        return cat(parts, E.shape[0])
    except RuntimeError:  # an op without a vmap rule for its double backward: one row at a time
        rows = [torch.autograd.grad(grad_flat, list(params), grad_outputs=e, retain_graph=True, allow_unused=True)
                for e in E]
        return torch.cat([cat([None if p is None else p.unsqueeze(0) for p in r], 1) for r in rows])
