"""Closed-form / GGN layer blocks of a ReLU MLP against torch.func.hessian (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from qlsa_sim.curvature.mlp_ggn import (
    block_from_factor,
    factor_from_kron,
    gram_from_kron,
    mlp_layer_ggn_factor,
    mlp_layer_hessian_closed_form,
    mlp_layer_kron,
)
from qlsa_sim.errors import InputError, MemoryBudgetError


def _mlp(sizes=(12, 5, 4, 3), seed=0, bias=True):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _reference_block(model, X, y, layer_index):
    """torch.func.hessian of the mean cross-entropy w.r.t. concat(W.reshape(-1), b) of one layer."""
    lins = [m for m in model if isinstance(m, nn.Linear)]
    lin = lins[layer_index]
    W0 = lin.weight.detach().double()
    nw = W0.numel()
    has_b = lin.bias is not None

    def f(theta):
        h = X.double()
        for m in model:
            if isinstance(m, nn.Linear):
                if m is lin:
                    b = theta[nw:] if has_b else None
                    h = torch.nn.functional.linear(h, theta[:nw].reshape(W0.shape), b)
                else:
                    b = None if m.bias is None else m.bias.detach().double()
                    h = torch.nn.functional.linear(h, m.weight.detach().double(), b)
            else:
                h = torch.relu(h)
        return torch.nn.functional.cross_entropy(h, y)

    parts = [W0.reshape(-1)] + ([lin.bias.detach().double()] if has_b else [])
    return torch.func.hessian(f)(torch.cat(parts))


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(3)
    return torch.randn(9, 12, generator=g), torch.randint(0, 3, (9,), generator=g)


@pytest.mark.parametrize("layer_index", [0, 1, 2])
def test_closed_form_equals_exact_hessian_every_layer(data, layer_index):
    X, y = data
    model = _mlp()
    Href = _reference_block(model, X, y, layer_index)
    H = mlp_layer_hessian_closed_form(model, X, y, layer_index)
    assert H.dtype == torch.float64 and H.shape == Href.shape
    assert torch.allclose(H, Href, rtol=1e-10, atol=1e-13 * Href.abs().max())
    assert torch.equal(H, H.T)  # assembled exactly symmetric


@pytest.mark.parametrize("layer_index", [0, 1, 2])
def test_factor_round_trip(data, layer_index):
    X, y = data
    model = _mlp()
    M = mlp_layer_ggn_factor(model, X, y, layer_index)
    H = mlp_layer_hessian_closed_form(model, X, y, layer_index)
    assert M.shape == (H.shape[0], X.shape[0] * 3)
    assert torch.allclose(block_from_factor(M, X.shape[0]), H, rtol=1e-12, atol=1e-15)
    k = mlp_layer_kron(model, X, y, layer_index)
    assert torch.allclose(gram_from_kron(k), M.T @ M, rtol=1e-12, atol=1e-15)
    assert torch.allclose(factor_from_kron(k), M)


def test_no_bias_and_two_layer_net():
    g = torch.Generator().manual_seed(5)
    X, y = torch.randn(6, 7, generator=g), torch.randint(0, 4, (6,), generator=g)
    for model in (_mlp((7, 6, 4), bias=False), _mlp((7, 4))):
        for li in range(sum(isinstance(m, nn.Linear) for m in model)):
            Href = _reference_block(model, X, y, li)
            assert torch.allclose(mlp_layer_hessian_closed_form(model, X, y, li), Href, rtol=1e-10, atol=1e-14)


def test_float32_close_to_float64(data):
    X, y = data
    model = _mlp()
    H64 = mlp_layer_hessian_closed_form(model, X, y, 0)
    H32 = mlp_layer_hessian_closed_form(model, X, y, 0, dtype=torch.float32)
    assert H32.dtype == torch.float32
    assert torch.allclose(H32.double(), H64, rtol=1e-4, atol=1e-6 * H64.abs().max())


def test_coords_sub_block(data):
    X, y = data
    model = _mlp()
    H = mlp_layer_hessian_closed_form(model, X, y, 0)
    Hs = mlp_layer_hessian_closed_form(model, X, y, 0, coords=(10, 40))
    assert torch.allclose(Hs, H[10:40, 10:40], rtol=1e-12, atol=1e-16)


def test_block_is_psd_and_rank_limited(data):
    X, y = data
    model = _mlp()
    H = mlp_layer_hessian_closed_form(model, X, y, 0).numpy()
    w = np.linalg.eigvalsh(H)
    assert w.min() > -1e-12 * w.max()
    # at most (K - 1) per sample
    assert (w > 1e-10 * w.max()).sum() <= X.shape[0] * (3 - 1)


def test_bad_inputs(data):
    X, y = data
    model = _mlp()
    with pytest.raises(InputError, match="out of range"):
        mlp_layer_hessian_closed_form(model, X, y, 3)
    with pytest.raises(InputError, match="unsupported module"):
        mlp_layer_hessian_closed_form(nn.Sequential(nn.Linear(12, 3), nn.Tanh(), nn.Linear(3, 3)), X, y, 0)
    with pytest.raises(InputError, match="end in an nn.Linear"):
        mlp_layer_hessian_closed_form(nn.Sequential(nn.Linear(12, 3), nn.ReLU()), X, y, 0)
    with pytest.raises(InputError, match="labels"):
        mlp_layer_hessian_closed_form(model, X, y + 5, 0)
    with pytest.raises(InputError, match="shape"):
        mlp_layer_hessian_closed_form(model, X, y[:-1], 0)
    Xn = X.clone()
    Xn[0, 0] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        mlp_layer_hessian_closed_form(model, Xn, y, 0)
    with pytest.raises(MemoryBudgetError, match="budget"):
        mlp_layer_hessian_closed_form(model, X, y, 0, memory_budget_bytes=1000)
    with pytest.raises(InputError, match="coords"):
        mlp_layer_hessian_closed_form(model, X, y, 0, coords=(5, 1000))


def test_capture_array_is_reused_only_when_no_one_holds_it(data):
    """Captures reuse the last block's memory (no page faults), but never while a block (or a view of it) lives."""
    X, y = data
    model = _mlp()
    ref = _reference_block(model, X, y, 0)
    first = mlp_layer_hessian_closed_form(model, X, y, 0)
    view = first.numpy()[:3]
    kept = first.clone()
    del first
    second = mlp_layer_hessian_closed_form(model, X, y, 0)          # the first lives on through the view
    assert second.data_ptr() != view.ctypes.data
    torch.testing.assert_close(torch.from_numpy(view.copy()), kept[:3], rtol=0, atol=0)
    ptr = second.data_ptr()
    del second, view
    third = mlp_layer_hessian_closed_form(model, X, y, 0)
    assert third.data_ptr() == ptr                                  # reused once nothing refers to it
    torch.testing.assert_close(third, ref, rtol=1e-10, atol=1e-12)
