"""Example of the public API (run: ``python bench/example_api.py``; tests/api/test_example.py runs it too).

1. ``qs.estimate``: the MODELED cost of a QLSA solve of one matrix, passed dense, as scipy.sparse and as a
   LinearOperator (the same answer); an operator without entry bounds falls back to the ideal encoding.
2. ``qs.HybridNewton``: a drop-in torch optimizer on your own ``nn.Module`` (a tanh net, not a ReLU MLP) in a
   plain training loop with ``opt.step(closure)``; every block's solve is scheduled classical vs QLSA.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch
from torch import nn

import qlsa_sim as qs
from qlsa_sim.linalg.features import FeatureConfig


def estimate_one_matrix(n: int = 256) -> None:
    A = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(n, n), format="csr")  # SPD, 3 nonzeros per row
    sparse = qs.estimate(A, eps=1e-2)                 # features from the sparse structure, kappa exact (n <= 1024)
    dense = qs.estimate(A.toarray(), eps=1e-2)        # the scheduler's own feature path
    w = np.linalg.eigvalsh(A.toarray())
    op = spl.aslinearoperator(A)                      # entries unknown to the API: pass what you know
    known = qs.estimate(op, eps=1e-2, lambda_min=w[0], lambda_max=w[-1], nnz_per_row=3, max_abs_entry=4.0,
                        frobenius_norm=float(np.linalg.norm(A.toarray())))
    ideal = qs.estimate(op, eps=1e-2, lambda_min=w[0], lambda_max=w[-1], nnz_per_row=3, physical=())
    print(sparse.summary())
    print(f"same answer: dense {dense.seconds:.6g} s, sparse {sparse.seconds:.6g} s, operator {known.seconds:.6g} s "
          "(MODELED)")
    print(f"operator without max|A_ij|: encoding {ideal.encoding}, alpha {ideal.alpha:.3g} (vs {sparse.alpha:.3g}), "
          f"{ideal.seconds:.3g} s (MODELED); {ideal.notes[-1]}")


def train_tanh_net(steps: int = 8) -> list[float]:
    torch.manual_seed(0)
    X = torch.randn(64, 3, dtype=torch.float64)
    y = torch.sin(X.sum(1, keepdim=True))
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    # Levenberg-Marquardt damping 0.1 lambda_max: a tanh net's exact Hessian blocks are indefinite
    config = qs.HybridNewtonConfig(lr=1.0, line_search=True, features=FeatureConfig(reg_eps=0.1, reg_relative=True))
    with warnings.catch_warnings():  # profile=None: the built-in default profile, which it warns about
        warnings.simplefilter("ignore")
        opt = qs.HybridNewton(model, config=config)

    def closure():
        opt.zero_grad()
        return nn.functional.mse_loss(model(X), y)   # return the loss; no backward(): Newton differentiates twice

    losses = [float(opt.step(closure)) for _ in range(steps)]
    last = opt.history[-1]
    print(f"tanh net: loss {losses[0]:.4f} -> {losses[-1]:.4f} in {steps} HybridNewton steps; last step: "
          f"{last.n_quantum}/{last.n_blocks} blocks to the QLSA, "
          f"{last.solve_modeled_s:.3g} s QLSA (MODELED), {last.solve_measured_s:.3g} s classical (MEASURED)")
    return losses


if __name__ == "__main__":
    estimate_one_matrix()
    train_tanh_net()
