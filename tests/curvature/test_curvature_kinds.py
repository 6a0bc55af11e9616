"""Curvature kinds through the recorder's entry point, each against a slow reference (float64)."""

import numpy as np
import pytest
import torch

from qlsa_sim.curvature.blocks import named_params
from qlsa_sim.curvature.compute import block_curvature, mlp_layer_index
from qlsa_sim.data.images import load_image_dataset
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.models.mlp import MLPConfig
from qlsa_sim.train.mlp_task import MLPTask


@pytest.fixture(scope="module")
def task():
    return MLPTask(load_image_dataset("digits", image_size=4), MLPConfig((16, 5, 4, 10)), batch_size=12, seed=2)


def _dense(bd):
    return bd.matrix if bd.matrix is not None else bd.scale * bd.factor @ bd.factor.T


def test_closed_form_equals_generic_exact_hessian(task):
    batch = next(task.batches())
    P = named_params(task.model, torch.float64)
    for b in task.blocks():
        assert mlp_layer_index(task.model, b) is not None
        fast = block_curvature(task, P, batch, b, method="auto")
        ref = block_curvature(task, P, batch, b, method="hessian")
        np.testing.assert_allclose(fast.matrix, ref.matrix, rtol=1e-9, atol=1e-13)
        np.testing.assert_array_equal(fast.gradient, ref.gradient)
        fac = block_curvature(task, P, batch, b, kind="ggn", storage="factor")
        assert fac.factor.shape == (b.n, 12 * 10)
        np.testing.assert_allclose(_dense(fac), ref.matrix, rtol=1e-9, atol=1e-13)


def test_empirical_fisher_against_per_sample_loop(task):
    x, y = next(task.batches())
    P = named_params(task.model, torch.float64)
    b = task.blocks()[1]
    dense = block_curvature(task, P, (x, y), b, kind="fisher")
    fac = block_curvature(task, P, (x, y), b, kind="fisher", storage="factor")
    grads = []
    for i in range(len(y)):
        gi = block_curvature(task, P, (x[i:i + 1], y[i:i + 1]), b, kind="exact").gradient
        grads.append(gi)
    G = np.stack(grads)
    ref = G.T @ G / len(y)
    np.testing.assert_allclose(dense.matrix, ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(_dense(fac), ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(G.mean(0), dense.gradient, rtol=1e-10, atol=1e-14)  # mean loss


def test_bad_kinds(task):
    batch = next(task.batches())
    P = named_params(task.model, torch.float64)
    b = task.blocks()[0]
    with pytest.raises(UnknownNameError, match="curvature kind"):
        block_curvature(task, P, batch, b, kind="kfac")
    with pytest.raises(InputError, match="no factor"):
        block_curvature(task, P, batch, b, kind="exact", storage="factor", method="hvp")
