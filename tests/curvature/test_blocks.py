"""Exact per-layer blocks against torch.func.hessian of the FULL parameter vector (float64)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qlsa_sim.curvature.blocks import (
    block_gradient,
    block_hessian,
    check_memory_budget,
    named_params,
    partition_per_layer,
    partition_per_tensor,
    split_rows,
)
from qlsa_sim.errors import MemoryBudgetError
from qlsa_sim.models.mlp import MLPConfig, build_mlp


@pytest.fixture
def small_problem():
    torch.manual_seed(0)
    model = build_mlp(MLPConfig((5, 4, 3, 3)), seed=3, dtype=torch.float64)
    X = torch.randn(17, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (17,))
    loss = lambda p: F.cross_entropy(torch.func.functional_call(model, p, (X,)), y)
    return model, loss


def _full_hessian(model, loss):
    P = named_params(model)
    names = list(P)
    shapes = [P[n].shape for n in names]
    flat = torch.cat([P[n].reshape(-1) for n in names])

    def f(v):
        out, off = {}, 0
        for n, s in zip(names, shapes):
            k = int(np.prod(s))
            out[n] = v[off:off + k].reshape(s)
            off += k
        return loss(out)

    return torch.func.hessian(f)(flat), names, shapes


@pytest.mark.parametrize("method", ["hessian", "hvp"])
def test_layer_blocks_are_diagonal_blocks_of_full_hessian(small_problem, method):
    model, loss = small_problem
    H, names, shapes = _full_hessian(model, loss)
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    where = {n: (offsets[i], offsets[i + 1]) for i, n in enumerate(names)}
    P = named_params(model)
    blocks = partition_per_layer(model)
    assert [b.params for b in blocks] == [("0.weight", "0.bias"), ("2.weight", "2.bias"), ("4.weight", "4.bias")]
    for b in blocks:
        lo, hi = where[b.params[0]][0], where[b.params[-1]][1]
        Hb = block_hessian(loss, P, b, method=method)
        assert Hb.shape == (b.n, b.n)
        torch.testing.assert_close(Hb, H[lo:hi, lo:hi], rtol=1e-10, atol=1e-12)
        assert torch.equal(Hb, Hb.T)
    full_grad = torch.func.grad(lambda p: loss(p))(P)
    for b in partition_per_tensor(model):
        torch.testing.assert_close(block_gradient(loss, P, b), full_grad[b.params[0]].reshape(-1))


def test_row_blocks_are_sub_blocks(small_problem):
    model, loss = small_problem
    P = named_params(model)
    b = partition_per_layer(model)[0]
    Hb = block_hessian(loss, P, b)
    rows = split_rows(b, 7)
    assert sum(r.n for r in rows) == b.n
    for r in rows:
        torch.testing.assert_close(block_hessian(loss, P, r, method="hvp"), Hb[r.start:r.stop, r.start:r.stop])


def test_memory_budget_refuses_big_block(small_problem):
    model, _ = small_problem
    b = partition_per_layer(model)[0]
    check_memory_budget(b, dtype=torch.float64, budget_bytes=b.n ** 2 * 8)
    with pytest.raises(MemoryBudgetError, match="budget"):
        check_memory_budget(b, dtype=torch.float64, budget_bytes=b.n ** 2 * 8 - 1)
