"""A mid-size layer block (n = 3152) against torch.func.hessian and the spectrum routes against eigvalsh."""

from __future__ import annotations

import pytest
import torch

from qlsa_sim.curvature.mlp_ggn import block_from_kron, gram_from_kron, mlp_layer_kron
from qlsa_sim.linalg.spectrum import kappa_exact, kappa_from_factor, kappa_lanczos, numerical_rank
from qlsa_sim.models.mlp import MLPConfig, build_mlp


@pytest.mark.slow
def test_mid_size_block_against_func_hessian_and_eigvalsh():
    torch.set_num_threads(1)
    model = build_mlp(MLPConfig((196, 16, 10)), seed=1)
    g = torch.Generator().manual_seed(0)
    X = (torch.rand(32, 196, generator=g) > 0.6).double() * torch.rand(32, 196, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (32,), generator=g)
    k = mlp_layer_kron(model, X, y, 0)
    H = block_from_kron(k)
    lin = model[0]
    W0, b0 = lin.weight.detach().double(), lin.bias.detach().double()
    W1, b1 = model[2].weight.detach().double(), model[2].bias.detach().double()

    def f(theta):
        h = torch.relu(torch.nn.functional.linear(X, theta[:3136].reshape(16, 196), theta[3136:]))
        return torch.nn.functional.cross_entropy(torch.nn.functional.linear(h, W1, b1), y)

    Href = torch.func.hessian(f)(torch.cat([W0.reshape(-1), b0]))
    assert torch.allclose(H, Href, rtol=1e-9, atol=1e-14 * Href.abs().max())
    Hn = H.numpy()
    ref = kappa_exact(Hn, 1e-3)
    assert kappa_lanczos(Hn, 1e-3).kappa == pytest.approx(ref.kappa, rel=1e-5)
    assert kappa_lanczos(Hn, 1e-3, rank=k.rank_bound).kappa == pytest.approx(ref.kappa, rel=1e-5)
    fac = kappa_from_factor(None, 1e-3, scale=1 / 32, gram=gram_from_kron(k).numpy(), n=k.n)
    assert fac.kappa == pytest.approx(ref.kappa, rel=1e-8)
    assert numerical_rank(Hn) <= k.rank_bound < k.n
