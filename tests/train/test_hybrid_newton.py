"""HybridNewton: exact damped Newton when forced classical, QLSA error model, live == offline replay,
state_dict round trip, torch.optim conventions. Tiny float64 problem: 4x4 digits, MLP 16-6-10."""

import io

import numpy as np
import pytest
import torch

from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.cost.profile import profile_from_constants
from qlsa_sim.curvature.blocks import named_params
from qlsa_sim.curvature.compute import CurvatureConfig
from qlsa_sim.data.images import load_image_dataset
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.models.mlp import MLPConfig
from qlsa_sim.traces.store import TraceReader
from qlsa_sim.train.hybrid_newton import HybridNewton, HybridNewtonConfig, replay_live_trace
from qlsa_sim.train.mlp_task import MLPTask
from qlsa_sim.train.newton_log import history_frames

# torch's forward-AD decompositions (torch.func.hessian) load through the deprecated torch.jit.script
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

EPS = 1e-2  # damping (FeatureConfig.reg_eps)


def make_profile(*, q1=0.0, q2=6e-4, c1=1e-9, c2=0.0, precision=0.01):
    """Hand-made profile: Cholesky and LU cost c1 n^3 + c2 (Eq. 3); QLSA q1 d kappa ln(n/eps) + q2 (Eq. 4)."""
    return profile_from_constants(cholesky=(c1, c2), lu=(c1, c2), q1=q1, q2=q2,
                                  resource_model=QuantumResourceModel(precision=precision))


ALL_CLASSICAL = dict(q1=0.0, q2=1e30)
ALL_QUANTUM = dict(q1=0.0, q2=0.0, c1=1.0, c2=1e30)
MIXED = dict(q1=1e-6, q2=0.0)  # QLSA wins on well-conditioned blocks, Cholesky on the others


@pytest.fixture(scope="module")
def digits():
    return load_image_dataset("digits", image_size=4)


def make_task(digits, seed=1, partition="per-layer"):
    return MLPTask(digits, MLPConfig((16, 6, 10)), batch_size=64, seed=seed, dtype=torch.float64, partition=partition)


def curv(storage: str) -> CurvatureConfig:
    """Exact dense blocks, or GGN factors (the closed form of the ReLU MLP)."""
    return CurvatureConfig(kind="ggn" if storage == "factor" else "exact", storage=storage)


def cfg(**kw):
    kw.setdefault("lr", 0.5)
    kw.setdefault("features", FeatureConfig(reg_eps=EPS))
    return HybridNewtonConfig(**kw)


def run_steps(opt, task, k, start=0):
    import itertools

    for batch in itertools.islice(task.batches(), start, start + k):
        opt.step(batch=batch)


def damped_newton_reference(task, batch, lr, eps):
    """Plain damped Newton per block, by torch.func.hessian: theta_B - lr (H_B + eps I)^-1 g_B."""
    params = {k: v.detach().clone() for k, v in task.model.named_parameters()}
    out = dict(params)
    for block in task.blocks():
        shapes = [params[n].shape for n in block.params]
        sizes = [int(np.prod(s)) for s in shapes]
        v0 = torch.cat([params[n].reshape(-1) for n in block.params])

        def f(v):
            p, off = dict(params), 0
            for n, s, k in zip(block.params, shapes, sizes):
                p[n] = v[off:off + k].reshape(s)
                off += k
            return task.loss(p, batch)

        H = torch.func.hessian(f)(v0)
        H = 0.5 * (H + H.T)
        g = torch.func.grad(f)(v0)
        x = torch.linalg.solve(H + eps * torch.eye(len(v0), dtype=torch.float64), g)
        new, off = v0 - lr * x, 0
        for n, s, k in zip(block.params, shapes, sizes):
            out[n] = new[off:off + k].reshape(s)
            off += k
    return out


@pytest.mark.parametrize("mode,storage,partition", [("classical", "dense", "per-layer"),
                                                     ("hybrid", "factor", "per-layer"),
                                                     ("classical", "dense", "per-tensor")])
def test_forced_classical_step_equals_damped_newton(digits, mode, storage, partition):
    task = make_task(digits, partition=partition)
    batch = next(task.batches())
    ref = damped_newton_reference(task, batch, 0.5, EPS)
    opt = HybridNewton(task, make_profile(**ALL_CLASSICAL), cfg(mode=mode, curvature=curv(storage)))
    opt.step(batch=batch)
    for name, p in task.model.named_parameters():
        assert torch.allclose(p, ref[name], rtol=1e-10, atol=1e-13), name
    log = opt.history[0]
    assert [b["chosen"] for b in log.blocks] == ["cholesky"] * len(task.blocks())
    assert log.n_quantum == 0 and log.solve_modeled_s == 0.0
    assert log.solve_measured_s > 0 and all(b["solve_measured_s"] > 0 for b in log.blocks)  # MEASURED, really run
    assert all(b["residual"] < 1e-10 for b in log.blocks)


def test_optimizer_decreases_loss_and_mixes_solvers(digits):
    task = make_task(digits)
    before = task.evaluate(named_params(task.model))
    opt = HybridNewton(task, make_profile(**MIXED), cfg())
    run_steps(opt, task, 15)
    after = task.evaluate(named_params(task.model))
    assert after["test_loss"] < 0.5 * before["test_loss"]
    assert after["test_accuracy"] > before["test_accuracy"] + 0.4
    chosen = {b["chosen"] for s in opt.history for b in s.blocks}
    assert chosen == {"cholesky", "qlsa:jennings2023_v1"}
    for s in opt.history:  # measured and modeled seconds kept apart
        q = [b for b in s.blocks if b["chosen_is_quantum"]]
        assert s.solve_modeled_s == pytest.approx(sum(b["chosen_modeled_s"] for b in q))
        assert s.solve_measured_s == pytest.approx(sum(b["solve_measured_s"] for b in s.blocks if not b["chosen_is_quantum"]))
        assert all(np.isnan(b["solve_measured_s"]) for b in q)
        assert s.measured_s == pytest.approx(s.wall_measured_s - s.unbilled_measured_s)
    steps, blocks = history_frames(opt.history, "digits/hybrid/1")
    assert len(steps) == 15 and len(blocks) == 30 and blocks["id"].is_unique
    assert blocks["id"].iloc[0] == "digits/hybrid/1/00000000/layer:0"


def test_quantum_direction_error_is_eps(digits):
    eps_q = 0.05
    task = make_task(digits)
    batch = next(task.batches())
    ref = damped_newton_reference(task, batch, 1.0, EPS)
    before = {k: v.detach().clone() for k, v in task.model.named_parameters()}
    opt = HybridNewton(task, make_profile(**ALL_QUANTUM), cfg(lr=1.0, precision=eps_q, seed=3))
    opt.step(batch=batch)
    log = opt.history[0]
    assert all(b["chosen_is_quantum"] for b in log.blocks) and log.solve_measured_s == 0 and log.solve_modeled_s >= 0
    for block, blog in zip(task.blocks(), log.blocks):
        now = named_params(task.model)
        x_q = torch.cat([(before[n] - now[n]).reshape(-1) for n in block.params])
        x_star = torch.cat([(before[n] - ref[n]).reshape(-1) for n in block.params])
        err = float((x_q - x_star).norm() / x_star.norm())
        assert 0.99 * eps_q < err <= eps_q * (1 + 1e-6)  # the worst error the QLSA precision allows
        assert blog["rel_error"] == pytest.approx(eps_q, rel=1e-12)
    # seeded: the same seed gives the same perturbation, another seed another one
    t2, t3 = make_task(digits), make_task(digits)
    HybridNewton(t2, make_profile(**ALL_QUANTUM), cfg(lr=1.0, precision=eps_q, seed=3)).step(batch=batch)
    HybridNewton(t3, make_profile(**ALL_QUANTUM), cfg(lr=1.0, precision=eps_q, seed=4)).step(batch=batch)
    p1, p2, p3 = (dict(t.model.named_parameters())["0.weight"] for t in (task, t2, t3))
    assert torch.equal(p1, p2) and not torch.equal(p1, p3)


def test_circuit_emulation_solves_small_blocks_with_the_simulated_qsvt(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path / "cache"))  # private QSVT angle cache
    eps_q = 0.05
    batch = next(make_task(digits, partition="per-tensor").batches())
    runs = {}
    for emulation in ("perturb", "circuit"):
        task = make_task(digits, partition="per-tensor")  # blocks: W1 (96), b1 (6), W2 (60), b2 (10)
        ref = damped_newton_reference(task, batch, 1.0, EPS)
        before = {k: v.detach().clone() for k, v in task.model.named_parameters()}
        opt = HybridNewton(task, make_profile(**ALL_QUANTUM),
                           cfg(lr=1.0, precision=eps_q, quantum_emulation=emulation, circuit_max_n=16))
        opt.step(batch=batch)
        runs[emulation] = opt.history[0]
        for block, blog in zip(task.blocks(), opt.history[0].blocks):
            now = named_params(task.model)
            x_q = torch.cat([(before[n] - now[n]).reshape(-1) for n in block.params])
            x_star = torch.cat([(before[n] - ref[n]).reshape(-1) for n in block.params])
            err = float((x_q - x_star).norm() / x_star.norm())
            assert blog["rel_error"] == pytest.approx(err, rel=1e-6, abs=1e-12)
            if emulation == "circuit" and blog["n"] <= 16:
                # the simulated circuit's own error: within eps, and not the drawn worst case
                assert blog["emulation"] == "circuit" and err <= eps_q and err < 0.9 * eps_q
                assert blog["circuit_qubits"] >= 4 and blog["circuit_degree"] % 2 == 1
                assert 0 < blog["circuit_success_probability"] <= 1
            else:
                assert blog["emulation"] == "perturb" and err == pytest.approx(eps_q, rel=1e-9)
                assert blog["circuit_degree"] == 0 and np.isnan(blog["circuit_success_probability"])
    circ = runs["circuit"]
    assert [b["emulation"] for b in circ.blocks] == ["perturb", "circuit", "perturb", "circuit"]
    # emulation changes how x is produced, never the decision or the modeled charge
    assert [b["chosen"] for b in circ.blocks] == [b["chosen"] for b in runs["perturb"].blocks]
    assert circ.solve_modeled_s == runs["perturb"].solve_modeled_s
    with pytest.raises(UnknownNameError):
        HybridNewtonConfig(quantum_emulation="hardware")
    with pytest.raises(UnknownNameError):
        HybridNewtonConfig(circuit_encoding="qrom")
    with pytest.raises(InputError):
        HybridNewtonConfig(circuit_max_kappa=0.5)


@pytest.mark.parametrize("storage,prune,quantum_model,precision", [
    ("dense", None, "eq4", None), ("factor", None, "eq4", None), ("dense", 0.5, "eq4", None),
    ("dense", None, "resources", 0.05)])
def test_live_decisions_equal_offline_replay(digits, tmp_path, storage, prune, quantum_model, precision):
    task = make_task(digits)
    features = FeatureConfig(reg_eps=EPS, prune_density=prune)
    opt = HybridNewton(task, make_profile(**MIXED), cfg(features=features, curvature=curv(storage),
                                                        quantum_model=quantum_model, precision=precision),
                       tmp_path / "live")
    run_steps(opt, task, 8)
    df = replay_live_trace(tmp_path / "live", make_profile(**MIXED))
    assert len(df) == 16 and df["agrees"].all()
    live = {(s.step, b["block"]): b["chosen"] for s in opt.history for b in s.blocks}
    assert {(int(r.step), r.block): r.chosen for r in df.itertuples()} == live
    if quantum_model == "eq4":  # the choices really mix (the resource model's attosecond QLSA always wins)
        assert df["chosen_is_quantum"].any() and not df["chosen_is_quantum"].all()
    reader = TraceReader(tmp_path / "live")
    assert reader.steps == list(range(8)) and reader.meta.optimizer == "HybridNewton"
    row = reader.rows[0]
    assert row["live_chosen"] == opt.history[0].blocks[0]["chosen"] and row["storage"] == storage
    # the snapshot holds the block at the parameters before the update, on that step's batch
    assert reader.snapshot(0, "layer:0").loss == pytest.approx(opt.history[0].loss, rel=1e-14)


def test_rowwise_pruned_training_solves_nonsymmetric_blocks_and_replays(digits, tmp_path):
    task = make_task(digits)
    features = FeatureConfig(reg_eps=EPS, prune_density=0.3, prune_strategy="rowwise-topk")
    before = task.evaluate(named_params(task.model))
    opt = HybridNewton(task, make_profile(**MIXED), cfg(features=features, line_search=True), tmp_path / "live")
    run_steps(opt, task, 6)
    blocks = [b for s in opt.history for b in s.blocks]
    assert {b["chosen"] for b in blocks} <= {"lu", "qlsa:jennings2023_v1"}  # Cholesky needs a symmetric block
    assert not any(b["positive_definite"] for b in blocks)
    assert all(b["residual"] < 1e-8 for b in blocks if not b["chosen_is_quantum"])  # LU really solved the pruned system
    assert task.evaluate(named_params(task.model))["test_loss"] < before["test_loss"]
    df = replay_live_trace(tmp_path / "live", make_profile(**MIXED))
    assert len(df) == 12 and df["agrees"].all() and not df["symmetric"].any()


def test_state_dict_round_trip(digits):
    prof = make_profile(**MIXED)
    full_task = make_task(digits)
    full = HybridNewton(full_task, prof, cfg(seed=7))
    run_steps(full, full_task, 6)

    task = make_task(digits)
    opt = HybridNewton(task, prof, cfg(seed=7))
    run_steps(opt, task, 3)
    buf = io.BytesIO()
    torch.save({"model": task.model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    task2 = make_task(digits, seed=1)
    task2.model.load_state_dict(saved["model"])
    opt2 = HybridNewton(task2, prof, cfg(seed=7))
    opt2.load_state_dict(saved["opt"])
    assert opt2.step_count == 3 and len(opt2.history) == 3
    run_steps(opt2, task2, 3, start=3)
    for (n, a), (_, b) in zip(full_task.model.named_parameters(), task2.model.named_parameters()):
        assert torch.equal(a, b), n
    assert [b["chosen"] for s in opt2.history for b in s.blocks] == [b["chosen"] for s in full.history for b in s.blocks]
    np.testing.assert_array_equal([b["rel_error"] for s in opt2.history for b in s.blocks],
                                  [b["rel_error"] for s in full.history for b in s.blocks])  # NaN for classical
    assert any(b["chosen_is_quantum"] for s in opt2.history[3:] for b in s.blocks)  # the restored RNG was used
    with pytest.raises(InputError, match="different config"):
        HybridNewton(make_task(digits), prof, cfg(seed=8)).load_state_dict(saved["opt"])


def test_torch_conventions_and_line_search(digits):
    task = make_task(digits)
    batches = task.batches()
    opt = HybridNewton(task, make_profile(**ALL_CLASSICAL), cfg(lr=50.0, line_search=True))
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["lr"] == 50.0
    with pytest.raises(InputError, match="needs the batch"):
        opt.step()
    b = next(batches)
    opt.set_batch(b)
    assert opt.step(lambda: torch.tensor(123.0)) == 123.0  # closure called once, its value returned
    s = opt.history[-1]
    assert s.step_size < 50.0 and not s.ls_failed and s.ls_evals >= 2
    assert s.loss_after <= s.loss + 1e-4 * s.step_size * s.grad_dot_dir  # Armijo condition
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    opt.step(batch=next(batches))
    sched.step()
    opt.step(batch=next(batches))
    assert [h.lr for h in opt.history[-2:]] == pytest.approx([50.0, 5.0])
    with pytest.raises(UnknownNameError):
        HybridNewtonConfig(mode="fast")
    with pytest.raises(InputError):
        HybridNewtonConfig(precision=1.5)
    assert HybridNewtonConfig.from_dict(cfg(classical_solvers=("lu",)).to_dict()) == cfg(classical_solvers=("lu",))


def test_classical_solver_restriction_and_uncovered(digits):
    task = make_task(digits)
    opt = HybridNewton(task, make_profile(**ALL_CLASSICAL), cfg(mode="classical", classical_solvers=("lu",)))
    run_steps(opt, task, 1)
    assert [b["chosen"] for b in opt.history[0].blocks] == ["lu", "lu"]
    assert all(b["best_classical"] == "cholesky" for b in opt.history[0].blocks)  # logged beside the choice

    class LastLayerOnly(MLPTask):
        def blocks(self):
            return [b for b in super().blocks() if b.name == "layer:2"]

    for scale in (0.0, 0.3):
        t = LastLayerOnly(digits, MLPConfig((16, 6, 10)), batch_size=64, seed=1, dtype=torch.float64)
        batch = next(t.batches())
        w0 = t.model[0].weight.detach().clone()
        g = torch.func.grad(lambda p: t.loss(p, batch))(named_params(t.model))["0.weight"]
        HybridNewton(t, make_profile(**ALL_CLASSICAL), cfg(uncovered_scale=scale)).step(batch=batch)
        assert torch.allclose(t.model[0].weight, w0 - 0.5 * scale * g, rtol=1e-12, atol=1e-15)


def _profile_with(**kwargs):
    """All-classical profile where Cholesky and LU cost 1 s, plus flop-model solvers given as (a, b)."""
    return profile_from_constants(cholesky=(1e-9, 1.0), lu=(1e-9, 1.0), q1=0.0, q2=1e30, **kwargs)


def test_woodbury_and_cg_choices_solve_the_damped_system(digits):
    task = make_task(digits)
    batch = next(task.batches())
    ref = damped_newton_reference(task, batch, 0.5, EPS)
    free = (0.0, 0.0)  # a, b: these solvers cost nothing, so the scheduler picks them
    opt = HybridNewton(task, _profile_with(woodbury=free), cfg(mode="classical", curvature=curv("factor")))
    opt.step(batch=batch)
    assert [b["chosen"] for b in opt.history[0].blocks] == ["woodbury", "woodbury"]
    for name, p in task.model.named_parameters():
        assert torch.allclose(p, ref[name], rtol=1e-9, atol=1e-12), name
    task = make_task(digits)
    opt = HybridNewton(task, _profile_with(cg=free, resource_model=QuantumResourceModel(precision=1e-3)),
                       cfg(mode="classical"))  # CG's rtol is the profile's precision
    opt.step(batch=batch)
    assert [b["chosen"] for b in opt.history[0].blocks] == ["cg", "cg"]
    assert all(0 < b["residual"] <= 1e-3 for b in opt.history[0].blocks)  # CG's own stopping rule


def test_nonfinite_loss_makes_no_update(digits, tmp_path):
    task = make_task(digits)
    with torch.no_grad():
        task.model[2].bias[0] = float("nan")
    before = [p.detach().clone() for p in task.model.parameters()]
    opt = HybridNewton(task, make_profile(**MIXED), cfg(), tmp_path / "t")
    run_steps(opt, task, 1)
    assert np.isnan(opt.history[0].loss) and opt.history[0].step_size == 0 and opt.step_count == 1
    assert all(torch.allclose(a, b, rtol=0, atol=0, equal_nan=True) for a, b in zip(task.model.parameters(), before))
    assert TraceReader(tmp_path / "t").steps == []


def test_text_task_row_blocks_and_replay(tmp_path):
    from qlsa_sim.models.transformer import TransformerConfig
    from qlsa_sim.train.text_tasks import make_text_task

    tiny = TransformerConfig(n_layers=1, n_heads=2, width=8, mlp_width=32, context=8)
    task = make_text_task("gpt", config=tiny, batch_size=4, seed=0, dtype=torch.float64, max_block=64)
    assert any("rows" in b.name for b in task.blocks())
    emb = {k: v.detach().clone() for k, v in task.model.named_parameters() if "emb" in k}
    assert emb
    before = {k: v.clone() for k, v in named_params(task.model).items()}
    opt = HybridNewton(task, make_profile(**MIXED), cfg(lr=1.0, features=FeatureConfig(reg_eps=0.1), line_search=True),
                       tmp_path / "gpt")
    run_steps(opt, task, 2)
    after = named_params(task.model)
    for k in emb:  # in no block: frozen with uncovered_scale = 0
        assert torch.equal(after[k], emb[k])
    covered = {n for b in task.blocks() for n in b.params}
    assert all(not torch.equal(after[k], before[k]) for k in covered)  # every blocked parameter moved
    assert opt.history[-1].loss_after < opt.history[-1].loss
    df = replay_live_trace(tmp_path / "gpt", make_profile(**MIXED))
    assert df["agrees"].all() and len(df) == 2 * len(task.blocks())


def test_circuit_encodings_are_the_block_encodings():
    from qlsa_sim.core.names import CircuitEncoding, names
    from qlsa_sim.quantum.circuits.block_encoding import ENCODINGS

    assert ENCODINGS == names(CircuitEncoding)
    with pytest.raises(UnknownNameError, match="block encoding"):
        HybridNewtonConfig(circuit_encoding="qram")


SMALL_FACTOR = FeatureConfig(reg_eps=EPS, exact_max_n=32)  # blocks of n > 32 take their features from the factor


def test_factor_path_solves_through_the_factor_and_replays_the_same(digits, tmp_path, monkeypatch):
    """Batch 4: the GGN factor has r = 40 columns, fewer than n = 102 and 70, so the features come from the factor;
    Woodbury (free here) reuses the features' Gram, and no n x n matrix is built."""
    from qlsa_sim.linalg.features import PreparedBlock

    task = MLPTask(digits, MLPConfig((16, 6, 10)), batch_size=4, seed=1, dtype=torch.float64)
    batch = next(task.batches())
    ref = damped_newton_reference(task, batch, 0.5, EPS)
    monkeypatch.setattr(PreparedBlock, "matrix", property(lambda self: pytest.fail("dense matrix built")))
    opt = HybridNewton(task, _profile_with(woodbury=(0.0, 0.0)),
                       cfg(mode="classical", curvature=curv("factor"), features=SMALL_FACTOR), tmp_path / "live")
    opt.step(batch=batch)
    blocks = opt.history[0].blocks
    assert [b["chosen"] for b in blocks] == ["woodbury", "woodbury"]
    assert all(b["density_method"] == "sampled" and b["kappa_method"] == "factor-gram-lanczos" for b in blocks)
    assert all(b["residual"] < 1e-10 for b in blocks)
    for name, p in task.model.named_parameters():
        assert torch.allclose(p, ref[name], rtol=1e-9, atol=1e-12), name
    # CG runs matrix-free on the factor (the patched property fails if the n x n matrix is built)
    task_cg = MLPTask(digits, MLPConfig((16, 6, 10)), batch_size=4, seed=1, dtype=torch.float64)
    opt_cg = HybridNewton(task_cg, _profile_with(cg=(0.0, 0.0), resource_model=QuantumResourceModel(precision=1e-6)),
                          cfg(mode="classical", curvature=curv("factor"), features=SMALL_FACTOR))
    opt_cg.step(batch=batch)
    assert [b["chosen"] for b in opt_cg.history[0].blocks] == ["cg", "cg"]
    assert all(0 < b["residual"] <= 1e-6 for b in opt_cg.history[0].blocks)
    for name, p in task_cg.model.named_parameters():
        assert torch.allclose(p, ref[name], rtol=1e-4, atol=1e-6), name
    # quantum decisions too: the exact solution behind the emulated QLSA comes from the factor
    opt2 = HybridNewton(task, make_profile(**ALL_QUANTUM),
                        cfg(curvature=curv("factor"), features=SMALL_FACTOR), tmp_path / "live2")
    run_steps(opt2, task, 2)
    assert all(b["chosen_is_quantum"] and b["rel_error"] == pytest.approx(0.01) for s in opt2.history
               for b in s.blocks)
    df = replay_live_trace(tmp_path / "live2", make_profile(**ALL_QUANTUM))
    assert len(df) == 4 and df["agrees"].all() and (df["density_method"] == "sampled").all()
