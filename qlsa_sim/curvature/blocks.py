"""Partition of parameters into curvature blocks and exact block Hessians.

A *block* is a set of named parameter tensors, flattened and concatenated in the order given
(each tensor row-major), optionally restricted to a contiguous range of that vector ("row
block"). The block Hessian is the diagonal sub-block of the full Hessian of the loss for
those coordinates; block-diagonal Newton (one solve per block) uses only these.

Exact blocks are computed with ``torch.func`` on a functional loss, either by
``torch.func.hessian`` (the reference) or by batched Hessian-vector products
(forward-over-reverse, Pearlmutter 1994), which also gives row blocks of big layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from qlsa_sim.errors import InputError, MemoryBudgetError

LossFn = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class BlockSpec:
    """A curvature block: parameter names, their shapes, and an optional coordinate range."""

    name: str
    params: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    start: int = 0
    stop: int | None = None  # None = the whole concatenated vector

    @property
    def full_size(self) -> int:
        return sum(int(torch.Size(s).numel()) for s in self.shapes)

    @property
    def n(self) -> int:
        stop = self.full_size if self.stop is None else self.stop
        return stop - self.start

    def to_meta(self) -> dict:
        return {"name": self.name, "params": list(self.params),
                "shapes": [list(s) for s in self.shapes], "start": self.start,
                "stop": self.stop, "n": self.n}


def _module_prefix(param_name: str) -> str:
    return param_name.rsplit(".", 1)[0] if "." in param_name else param_name


def partition_per_tensor(model: nn.Module) -> list[BlockSpec]:
    """One block per parameter tensor."""
    return [BlockSpec(name, (name,), (tuple(p.shape),))
            for name, p in model.named_parameters() if p.requires_grad]


def partition_per_layer(model: nn.Module) -> list[BlockSpec]:
    """One block per module owning parameters (e.g. weight and bias of a Linear together)."""
    groups: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault(_module_prefix(name), []).append((name, tuple(p.shape)))
    return [BlockSpec(f"layer:{prefix}", tuple(n for n, _ in items), tuple(s for _, s in items))
            for prefix, items in groups.items()]


def split_rows(block: BlockSpec, max_n: int) -> list[BlockSpec]:
    """Split a block into contiguous row blocks of at most ``max_n`` coordinates."""
    if max_n < 1:
        raise InputError(f"max_n must be >= 1, got {max_n}")
    stop = block.full_size if block.stop is None else block.stop
    out = []
    for i, s in enumerate(range(block.start, stop, max_n)):
        out.append(BlockSpec(f"{block.name}[rows {s}:{min(s + max_n, stop)}]", block.params,
                             block.shapes, s, min(s + max_n, stop)))
    return out


def check_memory_budget(block: BlockSpec, *, dtype: torch.dtype, budget_bytes: float) -> None:
    """Refuse a dense block that would not fit ``budget_bytes``."""
    need = block.n * block.n * torch.empty((), dtype=dtype).element_size()
    if need > budget_bytes:
        raise MemoryBudgetError(
            f"block {block.name!r} (n={block.n}) needs {need / 2**30:.2f} GiB dense in {dtype}, "
            f"over the memory budget of {budget_bytes / 2**30:.2f} GiB; use row blocks or a factored block")


def flat_block(params: Mapping[str, torch.Tensor], block: BlockSpec) -> torch.Tensor:
    """The block's parameters as one flat vector (full vector, before the row range)."""
    return torch.cat([params[n].reshape(-1) for n in block.params])


def _unflatten(flat: torch.Tensor, block: BlockSpec) -> dict[str, torch.Tensor]:
    out, off = {}, 0
    for name, shape in zip(block.params, block.shapes):
        k = int(torch.Size(shape).numel())
        out[name] = flat[off:off + k].reshape(shape)
        off += k
    return out


def _block_loss(loss_fn: LossFn, params: Mapping[str, torch.Tensor], block: BlockSpec):
    base = {k: v.detach() for k, v in params.items()}
    full0 = flat_block(base, block).detach()
    stop = block.full_size if block.stop is None else block.stop

    def f(sub: torch.Tensor) -> torch.Tensor:
        full = torch.cat([full0[:block.start], sub, full0[stop:]])
        p = dict(base)
        p.update(_unflatten(full, block))
        return loss_fn(p)

    return f, full0[block.start:stop].clone()


def block_gradient(loss_fn: LossFn, params: Mapping[str, torch.Tensor], block: BlockSpec) -> torch.Tensor:
    """Gradient of the loss with respect to the block's coordinates."""
    f, x0 = _block_loss(loss_fn, params, block)
    return torch.func.grad(f)(x0)


def block_hessian(loss_fn: LossFn, params: Mapping[str, torch.Tensor], block: BlockSpec, *,
                  method: str = "hessian", chunk: int = 128) -> torch.Tensor:
    """Exact Hessian block d^2 L / d theta_B^2, symmetrized.

    ``method="hessian"`` uses forward-over-reverse ``jacfwd(grad(f))`` (the reference; in
    torch 2.13 ``torch.func.hessian`` = ``jacfwd(jacrev(f))`` returns wrong entries through
    ``F.layer_norm`` when its input and weight both vary, off by ~1.45 against finite
    differences, so it is not used); ``"hvp"`` stacks
    Hessian-vector products with unit vectors, ``chunk`` at a time (Pearlmutter 1994,
    forward-over-reverse), so memory stays O(chunk * n). torch.func.hessian is not exactly
    symmetric (differences ~1e-18, design.md), so the result is (H + H^T)/2.
    """
    f, x0 = _block_loss(loss_fn, params, block)
    if method == "hessian":
        H = torch.func.jacfwd(torch.func.grad(f))(x0)
    elif method == "hvp":
        g = torch.func.grad(f)

        def hvp(v: torch.Tensor) -> torch.Tensor:
            return torch.func.jvp(g, (x0,), (v,))[1]

        n = x0.numel()
        eye = torch.eye(n, dtype=x0.dtype)
        H = torch.cat([torch.func.vmap(hvp)(eye[i:i + chunk]) for i in range(0, n, chunk)])
    else:
        raise InputError(f"unknown Hessian method {method!r}; known: hessian, hvp")
    return 0.5 * (H + H.T)


def named_params(model: nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Detached parameters of a model by name, optionally cast."""
    return {k: (v.detach().to(dtype) if dtype is not None else v.detach())
            for k, v in model.named_parameters()}


def select_blocks(blocks: Iterable[BlockSpec], names: Iterable[str] | None) -> list[BlockSpec]:
    """Blocks by name (all when ``names`` is None); unknown names are an error."""
    blocks = list(blocks)
    if names is None:
        return blocks
    by = {b.name: b for b in blocks}
    out = []
    for n in names:
        if n not in by:
            from qlsa_sim.errors import UnknownNameError
            raise UnknownNameError("block", n, list(by))
        out.append(by[n])
    return out
