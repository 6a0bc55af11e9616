"""HybridNewton on a user's own nn.Module with ``opt.step(closure)``: a tanh (non-ReLU) network trains in a plain
loop; its per-tensor curvature blocks are the exact Hessian blocks (torch.func.hessian, float64); the step is
exact damped Newton when forced classical; decisions are logged and replay from the trace."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import qlsa_sim as qs
from qlsa_sim.cost.defaults import DEFAULT_PROFILE_NAME, DefaultProfileWarning
from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.cost.profile import profile_from_constants
from qlsa_sim.curvature.blocks import BlockSpec, partition_per_layer, split_rows
from qlsa_sim.curvature.compute import CurvatureConfig
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.traces.store import TraceReader
from qlsa_sim.train.hybrid_newton import HybridNewton, HybridNewtonConfig, replay_live_trace
from qlsa_sim.train.module_task import ModuleTask

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

EPS = 1e-2


def data(seed: int = 0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(48, 3, generator=g, dtype=dtype)
    return X, torch.sin(X.sum(1, keepdim=True)) + 0.5 * X[:, :1] ** 2


def tanh_net(seed: int = 0, act: type[nn.Module] = nn.Tanh) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 6), act(), nn.Linear(6, 1)).double()


def profile(**kw):
    """Hand-made profile: Eq. 3 classical, Eq. 4 QLSA (q1, q2) as in test_hybrid_newton."""
    kw = {"q1": 1e-6, "q2": 0.0, "c1": 1e-9, "c2": 0.0, **kw}
    return profile_from_constants(cholesky=(kw["c1"], kw["c2"]), lu=(kw["c1"], kw["c2"]), q1=kw["q1"], q2=kw["q2"],
                                  resource_model=QuantumResourceModel())


def reference_blocks(model: nn.Module, X, y) -> dict[str, np.ndarray]:
    """d^2 L / d theta_T^2 of every parameter tensor T by torch.func.hessian on the functional loss (float64)."""
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    out = {}
    for name, p in params.items():
        def f(t, name=name):
            q = dict(params)
            q[name] = t.reshape(p.shape)
            return nn.functional.mse_loss(torch.func.functional_call(model, q, (X,)), y)
        out[name] = torch.func.hessian(f)(p.reshape(-1)).numpy()
    return out


def test_tanh_net_trains_with_step_closure_in_a_plain_loop(tmp_path):
    X, y = data()
    model = tanh_net()
    before = reference_blocks(model, X, y)
    # damping relative to lambda_max (Levenberg-Marquardt): a tanh net's exact Hessian blocks are indefinite
    config = HybridNewtonConfig(lr=1.0, line_search=True, features=FeatureConfig(reg_eps=0.1, reg_relative=True))
    with pytest.warns(DefaultProfileWarning, match=f"{DEFAULT_PROFILE_NAME}.*qlsa-sim calibrate"):
        opt = qs.HybridNewton(model, config=config, trace_dir=tmp_path / "live")

    def closure():
        opt.zero_grad()  # allowed; backward() is not
        return nn.functional.mse_loss(model(X), y)

    losses = [float(opt.step(closure)) for _ in range(10)]
    with torch.no_grad():
        final = float(closure())
    assert final < 0.3 * losses[0] and all(b < a for a, b in zip(losses, losses[1:]))
    # decisions are logged, one row per parameter tensor, with features, estimates and the solve record
    assert len(opt.history) == 10
    names = [n for n, _ in model.named_parameters()]
    for log in opt.history:
        assert [b["block"] for b in log.blocks] == names
        assert all({"chosen", "chosen_modeled_s", "kappa", "n", "residual"} <= set(b) for b in log.blocks)
    assert any(b["chosen_is_quantum"] for log in opt.history for b in log.blocks)
    # step 0's blocks (traced at the parameters before the update) are the exact Hessian blocks
    reader = TraceReader(tmp_path / "live")
    for name in names:
        H = reader.snapshot(0, name).matrix
        assert np.allclose(H, before[name], rtol=1e-10, atol=1e-12), name
    # the live decisions replay offline from the trace
    df = replay_live_trace(tmp_path / "live", opt.profile)
    assert len(df) == 10 * len(names) and df["agrees"].all()


def test_classical_step_is_exact_damped_newton_per_tensor():
    """Forced classical, lr = 1, no line search: theta_T <- theta_T - (H_TT + eps I)^-1 g_T for every tensor,
    with H_TT from torch.func.hessian and g_T from autograd (float64, numpy solve: the obvious reference)."""
    X, y = data(1)
    model = tanh_net(1, act=nn.GELU)
    H = reference_blocks(model, X, y)
    loss = nn.functional.mse_loss(model(X), y)
    grads = dict(zip([n for n, _ in model.named_parameters()], torch.autograd.grad(loss, list(model.parameters()))))
    old = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = HybridNewton.for_module(model, profile(), HybridNewtonConfig(
        lr=1.0, mode="classical", features=FeatureConfig(reg_eps=EPS)))
    opt.step(lambda: nn.functional.mse_loss(model(X), y))
    for k, p in model.named_parameters():
        A = H[k] + EPS * np.eye(H[k].shape[0])
        expect = old[k].numpy().reshape(-1) - np.linalg.solve(A, grads[k].numpy().reshape(-1))
        assert np.allclose(p.detach().numpy().reshape(-1), expect, rtol=1e-8, atol=1e-10), k
    assert opt.history[0].n_quantum == 0


@pytest.mark.parametrize("blocks", ["per-layer", "rows"])
def test_module_blocks_beyond_per_tensor_match_the_reference(blocks):
    X, y = data(2)
    model = tanh_net(2)
    specs = partition_per_layer(model) if blocks == "per-layer" else split_rows(
        BlockSpec("w0", ("0.weight",), ((6, 3),)), 7)
    task = ModuleTask(model, specs)
    _, _, _, datas = task.loss_grads_blocks(lambda: nn.functional.mse_loss(model(X), y),
                                            CurvatureConfig(hvp_chunk=5))
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    for spec, d in zip(specs, datas):
        def f(flat, spec=spec):
            q, off = dict(params), 0
            for name, shape in zip(spec.params, spec.shapes):
                k = int(np.prod(shape))
                q[name] = flat[off:off + k].reshape(shape)
                off += k
            return nn.functional.mse_loss(torch.func.functional_call(model, q, (X,)), y)
        x0 = torch.cat([params[n].reshape(-1) for n in spec.params])
        stop = spec.full_size if spec.stop is None else spec.stop
        ref = torch.func.hessian(f)(x0).numpy()[spec.start:stop, spec.start:stop]
        assert np.allclose(d.matrix, ref, rtol=1e-10, atol=1e-12), spec.name


def test_float32_model_trains_and_keeps_its_dtype():
    X, y = data(3, torch.float32)
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1))
    opt = HybridNewton(model, profile(), HybridNewtonConfig(lr=1.0, line_search=True,
                                                           features=FeatureConfig(reg_eps=EPS)))
    closure = lambda: nn.functional.mse_loss(model(X), y)  # noqa: E731
    first = float(closure().detach())
    for _ in range(6):
        opt.step(closure)
    assert float(closure().detach()) < 0.5 * first
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_explicit_profile_gives_no_default_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DefaultProfileWarning)
        HybridNewton(tanh_net(), profile())


def test_closure_misuse_is_a_clear_error():
    X, y = data()
    model = tanh_net()
    opt = HybridNewton(model, profile())

    def calls_backward():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        return loss

    with pytest.raises(InputError, match="without calling loss.backward"):
        opt.step(calls_backward)
    with pytest.raises(InputError, match="opt.step\\(closure\\)"):
        opt.step()
    with pytest.raises(InputError, match="scalar loss"):
        opt.step(lambda: model(X))
    with torch.no_grad():
        with pytest.raises(InputError):
            opt.step(lambda: torch.tensor(1.0))
    ggn = HybridNewton(model, profile(), HybridNewtonConfig(curvature=CurvatureConfig(kind="ggn")))
    with pytest.raises(InputError, match="TrainingTask"):
        ggn.step(lambda: nn.functional.mse_loss(model(X), y))
    with pytest.raises(InputError, match="no parameter"):
        ModuleTask(model, [BlockSpec("x", ("nope",), ((2,),))])
    assert opt.step_count == 0


def test_state_dict_round_trip_on_a_module():
    X, y = data(4)
    model = tanh_net(4)
    closure = lambda: nn.functional.mse_loss(model(X), y)  # noqa: E731
    opt = HybridNewton(model, profile(), HybridNewtonConfig(features=FeatureConfig(reg_eps=0.1, reg_relative=True)))
    opt.step(closure)
    again = HybridNewton(model, profile(), HybridNewtonConfig(features=FeatureConfig(reg_eps=0.1, reg_relative=True)))
    again.load_state_dict(opt.state_dict())
    assert again.step_count == 1 and again.history == opt.history
    again.step(closure)
    assert again.step_count == 2 and again.history[-1].step == 1
