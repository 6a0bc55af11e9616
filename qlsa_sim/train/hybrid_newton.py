"""HybridNewton: block-diagonal damped Newton whose per-block solves are scheduled classical vs QLSA.

One step on a batch (``opt.step(batch=batch)`` or ``opt.set_batch(batch); opt.step(closure)``), or, on a
user's own ``nn.Module`` (``HybridNewton(model)`` / :meth:`HybridNewton.for_module`), ``opt.step(closure)``
with a closure that returns the loss without calling ``backward()`` (``train/module_task.py``: steps 1-2 are
then one closure call and exact per-tensor Hessian blocks by Hessian-vector products; the rest is the same):

1. loss and gradient of ``task.loss`` on the whole batch, float64 (``torch.func.grad_and_value``);
2. the curvature blocks ``task.blocks()`` at the current parameters (``curvature.compute.task_curvature``
   with the config's ``CurvatureConfig``: exact Hessian, GGN or empirical Fisher; dense or as a factor;
   on the first ``curvature.batch`` samples);
3. per block, :func:`qlsa_sim.schedule.pipeline.decide_block` (the function offline replay calls): the
   matrix actually solved ``A = prune(H + eps I)``, its features, every cost estimate of the calibration
   profile (paper Eq. 3 / flop models, paper Eq. 4 or the resource model) and the scheduler's choice
   under the config's :class:`~qlsa_sim.schedule.pipeline.SchedulePolicy` (classical solvers only in
   mode ``"classical"``, the QLSA only in mode ``"quantum"``);
4. the solve of ``A x = g``:

   * classical decision: the chosen solver (``linalg.solvers``: Cholesky, LU, CG, Woodbury) RUNS
     here and is timed: MEASURED seconds;
   * quantum decision: no quantum hardware runs here. The result is the exact solution ``x*``
     (Cholesky, or LU if ``A`` is not positive definite; its time is not charged) perturbed to the
     QLSA's worst allowed 2-norm error: ``x = x* + eps ||x*|| u`` with ``u`` a uniformly random unit
     vector (a normalized standard Gaussian from the optimizer's seeded ``torch.Generator``), so
     ``||x - x*|| / ||x*|| = eps`` exactly (eps = the QLSA precision of the cost model; the
     solution's norm is taken as known). Its time is the MODELED seconds of the chosen QLSA
     estimate (counts x gate time, never measured);
   * quantum decision with ``quantum_emulation="circuit"``: on blocks small enough to simulate
     (``n <= circuit_max_n``, positive definite, ``kappa_eff <= circuit_max_kappa``) the QSVT circuit
     of :mod:`qlsa_sim.quantum.circuits.simulate` is built for ``A`` and ``g`` and simulated (noiseless Aer
     statevector), and ``x`` is read from its post-selected amplitudes, norm included
     (:func:`qlsa_sim.quantum.simulate.simulate_qsvt_solve`); its error is the circuit's own, not a
     drawn one. Larger or indefinite blocks fall back to the perturbation above (the block row's
     ``emulation`` says which was used). The time charged is still the MODELED estimate; the simulation is unbilled;

5. the update ``theta <- theta + t d`` with ``d = -x`` on every block (block-diagonal Newton;
   Q-Newton paper arXiv:2405.00252 Sec. 3; damping = Levenberg-Marquardt, Nocedal & Wright,
   Numerical Optimization, 2nd ed., Sec. 10.3) and ``d = -uncovered_scale * g`` on coordinates in
   no block; ``t`` = the group's ``lr``, or with ``line_search=True`` the first of
   ``lr, lr*beta, lr*beta^2, ...`` that satisfies the Armijo condition on the batch loss
   ``L(theta + t d) <= L(theta) + c t g.d`` (Nocedal & Wright Alg. 3.1, backtracking); when none
   does within ``ls_max_evals`` tries, no update is made (``ls_failed``).

Logs (``opt.history``, one :class:`StepLog` per step, each with its block rows: the decision's
:meth:`~qlsa_sim.schedule.pipeline.BlockDecision.to_row` and the :class:`SolveRecord` of the solve) keep
MEASURED seconds (curvature, features/scheduling, classical solves, line search, update: all run
here) and MODELED seconds (quantum solves; plus, for comparison, every block's modeled estimates)
apart. Work done only to emulate the QLSA or to record (the exact solve behind a quantum result,
residuals, trace writing) is timed as ``unbilled_s`` and excluded from ``measured_s``.

Trace: with ``trace_dir`` every ``trace_every``-th step's blocks (at the parameters *before* the
update, as in ``train/record.py``) are written with ``traces.store.TraceWriter`` in the same format
as offline recording (the row's ``loss`` is the whole batch's), each manifest row carrying the live
decision (``live_chosen``, ``live_is_quantum``, ``live_modeled_s``, ``live_measured_s``). Features
are computed from exactly the representation the trace stores (``trace_dtype``; a factored block
as ``scale * M @ M.T``), so ``schedule.replay.replay`` on the trace with the same policy
(:func:`replay_live_trace`) reproduces every live decision. Writes are atomic; a step that is
already in the trace (a resumed run redoing it) is not written again.

Resuming: the optimizer's ``state_dict()`` holds the step count, the perturbation RNG state, the
config and the logs; restore the model and the optimizer from your checkpoint and open the same
``trace_dir`` with ``resume=True`` (``train/runner.py`` does all of this).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from qlsa_sim.core.logs import Progress
from qlsa_sim.core.names import CircuitEncoding, Emulation, Mode, QuantumModel, TraceDtype, parse
from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.cost.defaults import default_profile
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.curvature.blocks import BlockSpec, flat_block, named_params
from qlsa_sim.curvature.compute import CurvatureConfig, task_curvature
from qlsa_sim.errors import InputError, TraceError
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.linalg.solvers import exact_solve, factor_apply, woodbury_solve
from qlsa_sim.schedule.pipeline import ScheduledBlock, SchedulePolicy, classical_solve, decide_block
from qlsa_sim.schedule.replay import ReplayConfig, replay
from qlsa_sim.traces.store import BlockData, TraceReader, TraceWriter, snapshot_id
from qlsa_sim.train.module_task import CLOSURE_RULE, ModuleTask
from qlsa_sim.train.newton_log import SolveRecord, StepLog, step_sums
from qlsa_sim.train.task import TrainingTask

CIRCUIT_KAPPA_BUCKET = 1.25  # polynomials for kappa_eff rounded up to 1.25^k, so cached angles are reused


@dataclass(frozen=True)
class HybridNewtonConfig:
    """Settings of :class:`HybridNewton` (see the module docstring for what each step does).

    ``lr``: step size t (initial value of the param group's ``lr``; torch LR schedulers may change it).
    ``features``, ``quantum_model``, ``mode``, ``classical_solvers``: the scheduling policy (:attr:`policy`,
    the same :class:`SchedulePolicy` offline replay takes): damping ``reg_eps``, pruning, the kappa method;
    "eq4" or "resources"; "hybrid" (cheapest of all), "classical", "quantum"; the classical solvers the
    scheduler may pick, e.g. ("lu",) for the paper's dense-LU baseline (None: every calibrated one).
    ``curvature``: how blocks are computed (``curvature/compute.py``; shared with recording).
    ``precision``: the QLSA's solution precision eps (None = the profile's).
    ``uncovered_scale``: direction ``-uncovered_scale * g`` on parameters in no block (0 = frozen).
    ``trace_every``: write every k-th step to the trace (when a trace directory is given).
    ``threads``: BLAS and torch threads during a step (None: leave as set); timings assume 1.
    ``quantum_emulation``: "perturb" (x* + eps |x*| u) or "circuit" (simulated QSVT circuit on blocks with
    n <= ``circuit_max_n`` and effective condition number <= ``circuit_max_kappa``, block encoding
    ``circuit_encoding``; "perturb" on the others).
    """

    lr: float = 1.0
    features: FeatureConfig = FeatureConfig()
    curvature: CurvatureConfig = CurvatureConfig()
    quantum_model: str = QuantumModel.EQ4
    precision: float | None = None
    mode: str = Mode.HYBRID
    line_search: bool = False
    ls_c: float = 1e-4
    ls_beta: float = 0.5
    ls_max_evals: int = 20
    classical_solvers: tuple[str, ...] | None = None
    uncovered_scale: float = 0.0
    seed: int = 0
    trace_every: int = 1
    trace_dtype: str = TraceDtype.FLOAT64
    threads: int | None = 1
    quantum_emulation: str = Emulation.PERTURB
    circuit_max_n: int = 16
    circuit_max_kappa: float = 100.0
    circuit_encoding: str = CircuitEncoding.DILATION

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"step size lr must be finite and > 0, got {self.lr}")
        policy = self.policy  # validates mode, quantum model and classical solvers
        object.__setattr__(self, "mode", policy.mode)
        object.__setattr__(self, "quantum_model", policy.quantum_model)
        object.__setattr__(self, "classical_solvers", policy.classical_solvers)
        object.__setattr__(self, "trace_dtype", parse(TraceDtype, self.trace_dtype, "trace dtype"))
        object.__setattr__(self, "quantum_emulation", parse(Emulation, self.quantum_emulation, "quantum emulation"))
        object.__setattr__(self, "circuit_encoding", parse(CircuitEncoding, self.circuit_encoding, "block encoding"))
        if self.precision is not None and not 0 < self.precision < 1:
            raise InputError(f"QLSA precision must be in (0, 1), got {self.precision}")
        if not (0 < self.ls_c < 1 and 0 < self.ls_beta < 1 and self.ls_max_evals >= 1):
            raise InputError(f"line search needs 0 < c < 1, 0 < beta < 1, max evals >= 1; got c={self.ls_c}, "
                             f"beta={self.ls_beta}, max evals={self.ls_max_evals}")
        if not (math.isfinite(self.uncovered_scale) and self.uncovered_scale >= 0):
            raise InputError(f"uncovered_scale must be finite and >= 0, got {self.uncovered_scale}")
        if self.trace_every < 1:
            raise InputError(f"trace_every must be >= 1, got {self.trace_every}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be >= 1 or None, got {self.threads}")
        if self.circuit_max_n < 1 or not self.circuit_max_kappa >= 1:
            raise InputError(f"circuit_max_n must be >= 1 and circuit_max_kappa >= 1, got {self.circuit_max_n} "
                             f"and {self.circuit_max_kappa}")

    @property
    def policy(self) -> SchedulePolicy:
        """The scheduling policy (the one offline replay takes to make the same decisions)."""
        return SchedulePolicy(self.features, self.quantum_model, self.mode, self.classical_solvers)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HybridNewtonConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown HybridNewtonConfig field(s): {', '.join(unknown)}")
        kw = dict(d)
        if isinstance(kw.get("features"), Mapping):
            kw["features"] = FeatureConfig(**kw["features"])
        if isinstance(kw.get("curvature"), Mapping):
            kw["curvature"] = CurvatureConfig(**kw["curvature"])
        if kw.get("classical_solvers") is not None:
            kw["classical_solvers"] = tuple(kw["classical_solvers"])
        return cls(**kw)

    def replay_config(self, *, measure_classical: bool = False) -> ReplayConfig:
        """The offline ReplayConfig that makes the same decisions as this config."""
        return ReplayConfig(policy=self.policy, measure_classical=measure_classical, threads=self.threads or 1)


def _scatter(dirs: Mapping[str, torch.Tensor], covered: Mapping[str, torch.Tensor], block: BlockSpec,
             vec: torch.Tensor) -> None:
    """Write ``vec`` (the block's coordinates start:stop) into the per-parameter tensors."""
    stop = block.full_size if block.stop is None else block.stop
    off = 0
    for name, shape in zip(block.params, block.shapes):
        k = int(torch.Size(shape).numel())
        lo, hi = max(off, block.start), min(off + k, stop)
        if lo < hi:
            dirs[name].view(-1)[lo - off:hi - off] = vec[lo - block.start:hi - block.start]
            covered[name].view(-1)[lo - off:hi - off] = True
        off += k


class HybridNewton(torch.optim.Optimizer):
    """Block-diagonal damped Newton with per-block classical / QLSA scheduling (torch.optim API).

    ``HybridNewton(task, profile=None, config, trace_dir=None, *, resume=False, overwrite=False)``.
    Parameters are ``task.model.parameters()`` in one param group with key ``lr``. Give the batch
    with ``step(batch=...)`` or ``set_batch``; ``step(closure)`` calls the closure once (torch
    convention) and returns its value, else returns the batch loss. See the module docstring.

    ``task`` may be your own ``nn.Module`` (see :meth:`for_module`): then ``step(closure)`` is the only way
    to step, the closure computes and returns the loss WITHOUT calling ``backward()``, and the curvature is
    the exact Hessian block of each parameter tensor (``train/module_task.py``). ``profile=None``: the
    built-in calibration profile (``cost/defaults.py``), with a warning naming it.
    """

    def __init__(self, task: TrainingTask | nn.Module, profile: CalibrationProfile | None = None,
                 config: HybridNewtonConfig = HybridNewtonConfig(), trace_dir: str | Path | None = None, *,
                 resume: bool = False, overwrite: bool = False, progress: bool = False) -> None:
        if isinstance(task, nn.Module):
            task = ModuleTask(task)
        if profile is None:
            profile = default_profile(warn=True)
        super().__init__(task.model.parameters(), {"lr": config.lr})
        self.task, self.config, self.progress = task, config, progress
        self.profile = profile.with_precision(config.precision)
        self.policy = config.policy
        self.precision = float(self.profile.quantum_model(config.quantum_model).precision)
        self.blocks = list(task.blocks())
        names = [b.name for b in self.blocks]
        if len(set(names)) != len(names):
            raise InputError(f"block names must be unique, got {names}")
        self._param_names = {id(p): n for n, p in task.model.named_parameters()}
        self._gen = torch.Generator().manual_seed(int(config.seed))
        self._step_count = 0
        self._batch: Any = None
        self.history: list[StepLog] = []
        self.writer: TraceWriter | None = None
        if trace_dir is not None:
            self.writer = TraceWriter(trace_dir, meta=self.trace_meta(), resume=resume, overwrite=overwrite)

    @classmethod
    def for_module(cls, model: nn.Module, profile: CalibrationProfile | None = None,
                   config: HybridNewtonConfig = HybridNewtonConfig(), *, blocks: list[BlockSpec] | None = None,
                   **kwargs: Any) -> "HybridNewton":
        """The optimizer for your own ``model`` in a plain loop: ``opt.step(closure)`` with a closure that
        returns the loss (no ``backward()``); ``blocks``: curvature blocks (default one per parameter tensor,
        exact Hessian). ``kwargs``: ``trace_dir``, ``progress``, ... as for the constructor."""
        return cls(ModuleTask(model, blocks), profile, config, **kwargs)

    @property
    def closure_driven(self) -> bool:
        """True for a user's ``nn.Module``: the closure is the batch."""
        return bool(getattr(self.task, "closure_driven", False))

    # -- bookkeeping ---------------------------------------------------------------------------
    @property
    def step_count(self) -> int:
        """Steps taken so far (= batches consumed); a resumed run skips this many batches."""
        return self._step_count

    @property
    def run(self) -> str:
        return self.writer.run if self.writer is not None else "live"

    def trace_meta(self) -> dict:
        """Trace metadata: ``identity`` (checked on resume) and what replay needs."""
        cfg = self.config.to_dict()
        cfg.pop("lr")  # a schedule may change lr; it is logged per step instead
        cfg.pop("threads")
        c = self.config.curvature
        identity = {"task": asdict(self.task.info), "optimizer": "HybridNewton", "config": cfg,
                    "precision": self.precision, "profile": self.profile.identity(),
                    "curvature": c.kind, "storage": c.storage, "dtype": self.config.trace_dtype,
                    "every": self.config.trace_every}
        return {"identity": identity, "blocks": [b.to_meta() for b in self.blocks],
                "hybrid_newton": {"config": self.config.to_dict(), "precision": self.precision,
                                  "perturbation": "x = x* + eps*||x*||*u, u uniform on the unit sphere",
                                  "emulation": self.config.quantum_emulation},
                "torch": torch.__version__, "numpy": np.__version__}

    def set_batch(self, batch: Any) -> None:
        """The batch the next ``step()`` uses (when none is passed to it)."""
        self._batch = batch

    def state_dict(self) -> dict:
        sd = super().state_dict()
        sd["hybrid_newton"] = {"step": self._step_count, "rng": self._gen.get_state(),
                               "config": self.config.to_dict(), "precision": self.precision,
                               "history": [s.as_dict() for s in self.history]}
        return sd

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        sd = dict(state_dict)
        mine = sd.pop("hybrid_newton", None)
        if mine is None:
            raise InputError("not a HybridNewton state dict (no 'hybrid_newton' entry)")
        saved = HybridNewtonConfig.from_dict({**mine["config"], "lr": self.config.lr, "threads": self.config.threads})
        if saved != replace(self.config, lr=self.config.lr):
            diff = sorted(k for k, v in self.config.to_dict().items() if saved.to_dict().get(k) != v)
            raise InputError(f"HybridNewton state was saved with a different config (differs in: {', '.join(diff)})")
        super().load_state_dict(sd)
        self._step_count = int(mine["step"])
        self._gen.set_state(mine["rng"])
        self.history = [StepLog.from_dict(d) for d in mine["history"]]

    # -- the step ------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None, *, batch: Any = None):
        """One Newton step on ``batch`` (or the one given to :meth:`set_batch`); on an ``nn.Module``, on the
        loss the closure returns (called once with autograd, then at trial points by the line search)."""
        if self.closure_driven:
            return self._closure_step(closure, batch)
        result = None
        if closure is not None:
            with torch.enable_grad():
                result = closure()
        if batch is None:
            batch = self._batch
        if batch is None:
            raise InputError("HybridNewton.step needs the batch: step(batch=...) or set_batch(batch) first")
        with pinned_threads(self.config.threads):
            log = self._step(batch)
        self.history.append(log)
        self._step_count += 1
        return result if closure is not None else torch.tensor(log.loss, dtype=torch.float64)

    def _closure_step(self, closure: Callable[[], Any] | None, batch: Any) -> torch.Tensor:
        if closure is None or batch is not None:
            raise InputError(f"HybridNewton on an nn.Module steps with opt.step(closure) only: {CLOSURE_RULE}")
        with pinned_threads(self.config.threads):
            log = self._step(closure)
        self.history.append(log)
        self._step_count += 1
        return torch.tensor(log.loss, dtype=torch.float64)

    def _loss_and_curvature(self, batch: Any) -> tuple[dict, dict, float, list]:
        """(parameters, gradients, loss, curvature blocks) at the current parameters: the task's own (an
        ``nn.Module``: one closure call, exact Hessian blocks by HVPs) or float64 ``torch.func``."""
        if self.closure_driven:
            return self.task.loss_grads_blocks(batch, self.config.curvature)
        params = named_params(self.task.model, torch.float64)
        with torch.enable_grad():
            grads, loss_t = torch.func.grad_and_value(lambda p: self.task.loss(p, batch))(params)
            loss = float(loss_t)
            datas = (task_curvature(self.task, params, batch, self.blocks, self.config.curvature)
                     if math.isfinite(loss) else [])
        return params, grads, loss, datas

    def _stored(self, data: BlockData) -> tuple[BlockData, np.ndarray | None, np.ndarray | None, float]:
        """The block as the trace stores it: (stored BlockData, dense matrix or None, factor or None, scale). A
        factored block's dense matrix is left to the pipeline, which builds it (as replay rebuilds it) only if the
        features or the chosen solver need it."""
        dt = self.config.trace_dtype
        g = np.ascontiguousarray(data.gradient, dtype=dt)
        if data.matrix is not None:
            M = np.ascontiguousarray(data.matrix, dtype=dt)
            return BlockData(data.name, g, matrix=M), M, None, 1.0
        F = np.ascontiguousarray(data.factor, dtype=dt)
        scale = float(data.scale)
        return BlockData(data.name, g, factor=F, scale=scale), None, F, scale

    def _solve_block(self, step: int, block: BlockSpec, data: BlockData, g: np.ndarray
                     ) -> tuple[dict, np.ndarray, BlockData]:
        """Decision (the shared pipeline) and solve of one block -> (block row, x, stored BlockData)."""
        stored, H, factor, scale = self._stored(data)
        sb = decide_block(H, self.policy, self.profile, run=self.run, step=step, block=block.name,
                          id=snapshot_id(self.run, step, block.name), factor=factor, scale=scale)
        x, record = self._solve(sb, g)
        return {**sb.decision.to_row(), **record.to_row()}, x, stored

    def _solve(self, sb: ScheduledBlock, g: np.ndarray) -> tuple[np.ndarray, SolveRecord]:
        """Run the chosen classical solver (timed), or emulate the QLSA (unbilled); residual and descent. A block
        whose features came from its factor is solved and checked through the factor (no n x n matrix) unless a
        dense solver (Cholesky, LU) is chosen or a circuit is simulated."""
        d, f = sb.decision, sb.decision.features
        lazy = sb.prepared.from_factor
        fallback, measured, rel_err, extra = "", math.nan, math.nan, {}
        tu = time.perf_counter()
        if d.chosen.is_quantum:
            x_exact = (woodbury_solve(sb.factor, g, f.reg_eps, scale=sb.scale, gram=sb.gram) if lazy
                       else exact_solve(sb.matrix, g, f.positive_definite))
            x, extra = self._emulate_qlsa(sb, g, f, x_exact)
            nx = float(np.linalg.norm(x_exact))
            rel_err = float(np.linalg.norm(x - x_exact)) / nx if nx > 0 else 0.0
            unbilled = time.perf_counter() - tu
        else:  # Woodbury, and CG (matrix-free), solve a block stored as a factor without its n x n matrix
            x, measured, fallback = classical_solve(sb, d.chosen.solver, g, self.profile)
            unbilled = 0.0
        tr = time.perf_counter()
        ng = float(np.linalg.norm(g))
        built = sb.prepared.matrix_built
        Ax = sb.matrix @ x if built else factor_apply(sb.factor, x, f.reg_eps, scale=sb.scale)
        residual = float(np.linalg.norm(Ax - g)) / ng if ng > 0 else 0.0
        unbilled += time.perf_counter() - tr
        return x, SolveRecord(solve_measured_s=measured, rel_error=rel_err, residual=residual,
                              descent=bool(float(g @ x) > 0), fallback=fallback, unbilled_measured_s=unbilled, **extra)

    def _emulate_qlsa(self, sb: ScheduledBlock, g: np.ndarray, f, x_exact: np.ndarray) -> tuple[np.ndarray, dict]:
        """The solution a QLSA decision returns: simulated circuit where allowed, else x* + eps |x*| u."""
        cfg = self.config
        if (cfg.quantum_emulation == Emulation.CIRCUIT and f.n <= cfg.circuit_max_n and f.positive_definite
                and float(np.linalg.norm(g)) > 0):
            from qlsa_sim.quantum.circuits.simulate import simulate_qsvt_solve  # qiskit: only when asked

            try:
                s = simulate_qsvt_solve(sb.matrix, g, self.precision, encoding=cfg.circuit_encoding,
                                        kappa_bucket=CIRCUIT_KAPPA_BUCKET, max_kappa_eff=cfg.circuit_max_kappa)
            except InputError:
                pass  # kappa_eff above the limit (or not PD to the encoding's check): perturb instead
            else:
                return s.x, {"emulation": "circuit", "circuit_qubits": s.qubits, "circuit_degree": s.degree,
                             "circuit_success_probability": s.success_probability}
        z = torch.randn(len(g), generator=self._gen, dtype=torch.float64).numpy()
        nz = float(np.linalg.norm(z))
        u = z / nz if nz > 0 else z
        return x_exact + self.precision * float(np.linalg.norm(x_exact)) * u, {"emulation": "perturb"}

    def _directions(self, step: int, grads: Mapping[str, torch.Tensor], datas: list[BlockData], traced: bool
                    ) -> tuple[dict, list[dict], list[BlockData], dict]:
        """Per-parameter Newton directions from every block's solve; the block rows; the stored blocks."""
        dirs = {k: torch.zeros_like(v) for k, v in grads.items()}
        covered = {k: torch.zeros(v.shape, dtype=torch.bool) for k, v in grads.items()}
        rows, stored_blocks = [], []
        secs = {"scheduling": 0.0, "solve": 0.0, "unbilled": 0.0}
        with Progress(len(self.blocks), f"step {step}", unit="block", enabled=self.progress) as bar:
            for i in range(len(self.blocks)):
                block, data = self.blocks[i], datas[i]
                datas[i] = None  # free each block once solved (the trace keeps its own reference)
                stop = block.full_size if block.stop is None else block.stop
                g = flat_block(grads, block)[block.start:stop].detach().numpy().astype(np.float64, copy=False)
                row, x, stored = self._solve_block(step, block, data, g)
                _scatter(dirs, covered, block, torch.from_numpy(-np.asarray(x, dtype=np.float64)))
                rows.append(row)
                if traced:
                    stored_blocks.append(stored)
                secs["scheduling"] += row["scheduling_measured_s"]
                secs["solve"] += 0.0 if row["chosen_is_quantum"] else row["solve_measured_s"]
                secs["unbilled"] += row["unbilled_measured_s"]
                bar.update(1, note=f"{block.name}: {row['chosen']}")
        if self.config.uncovered_scale > 0:
            for k in dirs:
                dirs[k] = torch.where(covered[k], dirs[k], -self.config.uncovered_scale * grads[k])
        return dirs, rows, stored_blocks, secs

    def _line_search(self, params, dirs, batch, loss: float, gd: float, lr: float) -> tuple[float, int, bool, float]:
        """(step size t, loss evaluations, failed, loss after): Armijo backtracking, or t = lr without it."""
        cfg = self.config
        t, evals = lr, 0
        if not cfg.line_search:
            return t, 0, False, math.nan
        while True:
            lt = float(self.task.loss({k: params[k] + t * dirs[k] for k in params}, batch))
            evals += 1
            if math.isfinite(lt) and lt <= loss + cfg.ls_c * t * gd and (gd < 0 or lt < loss):
                return t, evals, False, lt
            if evals >= cfg.ls_max_evals:
                return 0.0, evals, True, loss
            t *= cfg.ls_beta

    def _step(self, batch: Any) -> StepLog:
        cfg, step = self.config, self._step_count
        lr = float(self.param_groups[0]["lr"])
        t0 = time.perf_counter()
        params, grads, loss, datas = self._loss_and_curvature(batch)
        curvature_s = time.perf_counter() - t0
        if not math.isfinite(loss):  # diverged: no update, nothing traced; the caller sees loss = nan/inf
            return self._log(step, loss, lr, t0, curvature_s, [], {"scheduling": 0.0, "solve": 0.0, "unbilled": 0.0},
                             (0.0, 0, False, math.nan), math.nan, 0.0, 0.0, False)
        traced = self.writer is not None and step % cfg.trace_every == 0
        dirs, rows, stored, secs = self._directions(step, grads, datas, traced)
        gd = float(sum(float((grads[k] * dirs[k]).sum()) for k in dirs))
        tl = time.perf_counter()
        ls = self._line_search(params, dirs, batch, loss, gd, lr)
        linesearch_s, tu = time.perf_counter() - tl, time.perf_counter()
        if ls[0] != 0.0:
            for p in self.param_groups[0]["params"]:
                name = self._param_names[id(p)]
                p.copy_((params[name] + ls[0] * dirs[name]).to(p.dtype))
        update_s = time.perf_counter() - tu
        if traced:
            tw = time.perf_counter()
            self._write_trace(step, loss, stored, rows, lr=lr, step_size=ls[0])
            secs["unbilled"] += time.perf_counter() - tw
        return self._log(step, loss, lr, t0, curvature_s, rows, secs, ls, gd, linesearch_s, update_s, traced)

    def _log(self, step, loss, lr, t0, curvature_s, rows, secs, ls, gd, linesearch_s, update_s, traced) -> StepLog:
        t, evals, failed, loss_after = ls
        wall = time.perf_counter() - t0
        return StepLog(step=step, mode=self.config.mode, loss=loss, loss_after=loss_after, lr=lr, step_size=t,
                       ls_evals=evals, ls_failed=failed, grad_dot_dir=gd, n_blocks=len(rows),
                       curvature_measured_s=curvature_s, scheduling_measured_s=secs["scheduling"],
                       solve_measured_s=secs["solve"], linesearch_measured_s=linesearch_s,
                       update_measured_s=update_s, unbilled_measured_s=secs["unbilled"], wall_measured_s=wall,
                       measured_s=wall - secs["unbilled"], traced=traced, blocks=tuple(rows), **step_sums(rows))

    def _write_trace(self, step: int, loss: float, stored: list[BlockData], rows: list[dict], *,
                     lr: float, step_size: float) -> None:
        w = self.writer
        assert w is not None
        extra = {"live_step_size": step_size, "live_lr": lr}
        live = {r["block"]: {"live_chosen": r["chosen"], "live_is_quantum": r["chosen_is_quantum"],
                             "live_modeled_s": r["chosen_modeled_s"], "live_measured_s": r["solve_measured_s"],
                             "live_mode": self.config.mode} for r in rows}
        if step in w.recorded_steps():  # a resumed run redoing a step written before the interruption
            w.update_rows({(step, name): fields for name, fields in live.items()})
        else:
            w.write_snapshot(step, stored, loss=loss, extra=extra, dtype=self.config.trace_dtype, block_extra=live)


def replay_live_trace(trace_dir: str | Path, profile: CalibrationProfile, *, progress: bool = False) -> pd.DataFrame:
    """Replay a trace written by :class:`HybridNewton` with its own policy; adds ``live_chosen`` and
    ``agrees`` (offline choice == live choice) to replay's table."""
    reader = TraceReader(trace_dir)
    hn = reader.meta.live
    if hn is None:
        raise TraceError(f"{reader.location}: not written by HybridNewton (no 'hybrid_newton' metadata)")
    config = HybridNewtonConfig.from_dict(hn["config"])
    df = replay(reader.location, profile.with_precision(float(hn["precision"])), config.replay_config(),
                progress=progress)
    live = {(int(r["step"]), r["block"]): r.get("live_chosen") for r in reader.rows}
    df["live_chosen"] = [live.get((int(s), b)) for s, b in zip(df["step"], df["block"])]
    df["agrees"] = df["live_chosen"] == df["chosen"]
    return df
