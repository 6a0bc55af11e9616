"""HybridNewton: block-diagonal damped Newton whose per-block solves are scheduled classical vs QLSA.

One step on a batch (``opt.step(batch=batch)`` or ``opt.set_batch(batch); opt.step(closure)``):

1. loss and gradient of ``task.loss`` on the whole batch, float64 (``torch.func.grad_and_value``);
2. the curvature blocks ``task.blocks()`` at the current parameters on the first
   ``curvature_batch`` samples (``curvature.compute.block_curvature``: exact Hessian, GGN or
   empirical Fisher; dense or as a factor);
3. per block, the matrix actually solved ``A = prune(H + eps I)`` and its features
   (``linalg.features.prepare_block``), every cost estimate of the calibration profile
   (``schedule.replay.block_estimates``: paper Eq. 3 / flop models, paper Eq. 4 or the resource
   model) and the scheduler's choice (``schedule.policy.decide``), restricted to classical solvers
   in mode ``"classical"`` and to the QLSA in mode ``"quantum"``;
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
     drawn one. Larger or indefinite blocks fall back to the perturbation above (``BlockLog.emulation``
     says which was used). The time charged is still the MODELED estimate; the simulation is unbilled;

5. the update ``theta <- theta + t d`` with ``d = -x`` on every block (block-diagonal Newton;
   Q-Newton paper arXiv:2405.00252 Sec. 3; damping = Levenberg-Marquardt, Nocedal & Wright,
   Numerical Optimization, 2nd ed., Sec. 10.3) and ``d = -uncovered_scale * g`` on coordinates in
   no block; ``t`` = the group's ``lr``, or with ``line_search=True`` the first of
   ``lr, lr*beta, lr*beta^2, ...`` that satisfies the Armijo condition on the batch loss
   ``L(theta + t d) <= L(theta) + c t g.d`` (Nocedal & Wright Alg. 3.1, backtracking); when none
   does within ``ls_max_evals`` tries, no update is made (``ls_failed``).

Logs (``opt.history``, one :class:`StepLog` per step, each with its :class:`BlockLog` rows) keep
MEASURED seconds (curvature, features/scheduling, classical solves, line search, update: all run
here) and MODELED seconds (quantum solves; plus, for comparison, every block's modeled estimates)
apart. Work done only to emulate the QLSA or to record (the exact solve behind a quantum result,
residuals, trace writing) is timed as ``unbilled_s`` and excluded from ``measured_s``.

Trace: with ``trace_dir`` every ``trace_every``-th step's blocks (at the parameters *before* the
update, as in ``train/record.py``) are written with ``traces.store.TraceWriter`` in the same format
as offline recording (the row's ``loss`` is the whole batch's), each manifest row carrying the live
decision (``live_chosen``, ``live_is_quantum``, ``live_modeled_s``, ``live_measured_s``). Features
are computed from exactly the representation the trace stores (``trace_dtype``; a factored block
as ``scale * M @ M.T``), so ``schedule.replay.replay`` on the trace (see
:func:`replay_live_trace`) reproduces every live hybrid decision. Writes are atomic; a step that is
already in the trace (a resumed run redoing it) is not written again.

Resuming: the optimizer's ``state_dict()`` holds the step count, the perturbation RNG state, the
config and the logs; restore the model and the optimizer from your checkpoint and open the same
``trace_dir`` with ``resume=True`` (``train.baselines.run_method`` does all of this).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.cost.calibrate import CalibrationProfile
from qlsa_sim.curvature.blocks import BlockSpec, flat_block, named_params
from qlsa_sim.curvature.compute import CURVATURE_KINDS, METHODS, STORAGES, block_curvature
from qlsa_sim.errors import InputError, TraceError, UnknownNameError
from qlsa_sim.linalg.features import FeatureConfig, MatrixFeatures, prepare_block
from qlsa_sim.linalg.solvers import cg_solve, cholesky_solve, lu_solve, woodbury_solve
from qlsa_sim.schedule.policy import Decision, decide
from qlsa_sim.schedule.replay import QUANTUM_MODELS, ReplayConfig, block_estimates
from qlsa_sim.traces.store import BlockData, TraceReader, TraceWriter, snapshot_id
from qlsa_sim.train.record import batch_head
from qlsa_sim.train.task import TrainingTask

MODES = ("hybrid", "classical", "quantum")
EMULATIONS = ("perturb", "circuit")
CIRCUIT_ENCODINGS = ("dilation", "pauli_lcu", "sparse")  # quantum.block_encoding.ENCODINGS (qiskit not imported here)
CIRCUIT_KAPPA_BUCKET = 1.25  # polynomials for kappa_eff rounded up to 1.25^k, so cached angles are reused
TRACE_DTYPES = ("float64", "float32")
CLASSICAL_SOLVERS = ("cholesky", "lu", "cg", "woodbury")
LIVE_FIELDS = ("live_chosen", "live_is_quantum", "live_modeled_s", "live_measured_s", "live_mode")


@dataclass(frozen=True)
class HybridNewtonConfig:
    """Settings of :class:`HybridNewton` (see the module docstring for what each step does).

    ``lr``: step size t (initial value of the param group's ``lr``; torch LR schedulers may change it).
    ``features``: damping ``reg_eps`` (absolute, or relative to lambda_max), pruning (density,
    strategy) and the kappa method: the same FeatureConfig offline replay takes.
    ``precision``: the QLSA's solution precision eps (relative 2-norm error of the returned
    solution, and the eps in paper Eq. 4's ln(n/eps)); None = the profile's.
    ``mode``: "hybrid" (cheapest of all estimates), "classical" (cheapest classical solver only),
    "quantum" (QLSA on every block).
    ``classical_solvers``: the classical solvers the scheduler may pick, e.g. ("lu",) for the paper's
    dense-LU baseline (None: every solver the profile calibrates). Offline replay compares all of
    them, so live == replay decisions holds for None.
    ``uncovered_scale``: direction ``-uncovered_scale * g`` on parameters in no block (0 = frozen).
    ``trace_every``: write every k-th step to the trace (when a trace directory is given).
    ``threads``: BLAS and torch threads during a step (None: leave as set); timings assume 1.
    ``quantum_emulation``: how a quantum decision's solution is produced: "perturb" (x* + eps |x*| u) or
    "circuit" (simulated QSVT circuit on blocks with n <= ``circuit_max_n`` and effective condition number
    <= ``circuit_max_kappa``, with block encoding ``circuit_encoding``; "perturb" on the others).
    """

    lr: float = 1.0
    features: FeatureConfig = FeatureConfig()
    curvature: str = "exact"
    storage: str = "dense"
    hessian_method: str = "auto"
    hvp_chunk: int = 128
    memory_budget_gb: float = 8.0
    curvature_batch: int | None = None
    quantum_model: str = "eq4"
    precision: float | None = None
    mode: str = "hybrid"
    line_search: bool = False
    ls_c: float = 1e-4
    ls_beta: float = 0.5
    ls_max_evals: int = 20
    classical_solvers: tuple[str, ...] | None = None
    uncovered_scale: float = 0.0
    seed: int = 0
    trace_every: int = 1
    trace_dtype: str = "float64"
    threads: int | None = 1
    quantum_emulation: str = "perturb"
    circuit_max_n: int = 16
    circuit_max_kappa: float = 100.0
    circuit_encoding: str = "dilation"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"step size lr must be finite and > 0, got {self.lr}")
        if self.mode not in MODES:
            raise UnknownNameError("HybridNewton mode", self.mode, MODES)
        for value, known, what in ((self.curvature, CURVATURE_KINDS, "curvature kind"),
                                   (self.storage, STORAGES, "storage"),
                                   (self.hessian_method, METHODS, "Hessian method"),
                                   (self.quantum_model, QUANTUM_MODELS, "quantum model"),
                                   (self.trace_dtype, TRACE_DTYPES, "trace dtype")):
            if value not in known:
                raise UnknownNameError(what, value, known)
        if self.precision is not None and not 0 < self.precision < 1:
            raise InputError(f"QLSA precision must be in (0, 1), got {self.precision}")
        if not (0 < self.ls_c < 1 and 0 < self.ls_beta < 1 and self.ls_max_evals >= 1):
            raise InputError(f"line search needs 0 < c < 1, 0 < beta < 1, max evals >= 1; got c={self.ls_c}, "
                             f"beta={self.ls_beta}, max evals={self.ls_max_evals}")
        if not (math.isfinite(self.uncovered_scale) and self.uncovered_scale >= 0):
            raise InputError(f"uncovered_scale must be finite and >= 0, got {self.uncovered_scale}")
        if self.trace_every < 1 or self.hvp_chunk < 1 or not self.memory_budget_gb > 0:
            raise InputError("trace_every and hvp_chunk must be >= 1 and memory_budget_gb > 0")
        if self.curvature_batch is not None and self.curvature_batch < 1:
            raise InputError(f"curvature_batch must be >= 1, got {self.curvature_batch}")
        if self.classical_solvers is not None:
            if not self.classical_solvers:
                raise InputError("classical_solvers must name at least one solver (or be None)")
            for name in self.classical_solvers:
                if name not in CLASSICAL_SOLVERS:
                    raise UnknownNameError("classical solver", name, CLASSICAL_SOLVERS)
            object.__setattr__(self, "classical_solvers", tuple(self.classical_solvers))
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be >= 1 or None, got {self.threads}")
        if self.quantum_emulation not in EMULATIONS:
            raise UnknownNameError("quantum emulation", self.quantum_emulation, EMULATIONS)
        if self.circuit_encoding not in CIRCUIT_ENCODINGS:
            raise UnknownNameError("block encoding", self.circuit_encoding, CIRCUIT_ENCODINGS)
        if self.circuit_max_n < 1 or not self.circuit_max_kappa >= 1:
            raise InputError(f"circuit_max_n must be >= 1 and circuit_max_kappa >= 1, got {self.circuit_max_n} "
                             f"and {self.circuit_max_kappa}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HybridNewtonConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown HybridNewtonConfig field(s): {', '.join(unknown)}")
        kw = dict(d)
        if isinstance(kw.get("features"), Mapping):
            kw["features"] = FeatureConfig(**kw["features"])
        if kw.get("classical_solvers") is not None:
            kw["classical_solvers"] = tuple(kw["classical_solvers"])
        return cls(**kw)

    def replay_config(self, *, measure_classical: bool = False) -> ReplayConfig:
        """The offline ReplayConfig that makes the same decisions as this config in mode "hybrid"."""
        return ReplayConfig(features=self.features, quantum_model=self.quantum_model,
                            measure_classical=measure_classical, threads=self.threads or 1)


def effective_profile(profile: CalibrationProfile, precision: float | None) -> CalibrationProfile:
    """``profile`` with the QLSA precision eps replaced (paper Eq. 4's eps and the resource model's).

    q1, q2 stay as fitted: Eq. 4 carries eps in its ln(n/eps) term.
    """
    if precision is None or precision == profile.quantum.precision:
        return profile
    return replace(profile, quantum=replace(profile.quantum, precision=float(precision)),
                   resource_model=replace(profile.resource_model, precision=float(precision)))


def profile_identity(profile: CalibrationProfile) -> dict:
    """Path and content hash of a profile (what a trace or a run was made with)."""
    raw = json.dumps(profile.raw, sort_keys=True, default=str).encode()
    return {"path": profile.path, "sha256": hashlib.sha256(raw).hexdigest(),
            "quantum": {"q1": profile.quantum.q1, "q2": profile.quantum.q2, "preset": profile.quantum.preset,
                        "hardware": profile.quantum.profile}}


@dataclass(frozen=True)
class BlockLog:
    """One block of one step. ``*_modeled_s`` are MODELED; ``measured_s`` is MEASURED (classical
    decisions only; NaN for quantum ones). ``rel_error`` = ||x - x*|| / ||x*|| against the exact
    solution (quantum decisions; NaN otherwise); ``residual`` = ||A x - g|| / ||g||;
    ``emulation`` and ``circuit_*``: how a quantum decision's x was produced (module docstring)."""

    block: str
    n: int
    density: float
    kappa: float
    lambda_min: float
    lambda_max: float
    positive_definite: bool
    chosen: str
    is_quantum: bool
    chosen_modeled_s: float
    measured_s: float
    best_classical: str
    best_classical_modeled_s: float
    quantum_solver: str
    quantum_modeled_s: float
    lu_modeled_s: float
    estimates: Mapping[str, float]
    features_s: float
    rel_error: float
    residual: float
    descent: bool
    fallback: str = ""
    emulation: str = ""  # quantum decisions: "circuit" (simulated QSVT) or "perturb"; "" for classical
    circuit_qubits: int = 0
    circuit_degree: int = 0
    circuit_success_probability: float = math.nan  # post-selection probability (simulated, one shot)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["estimates"] = dict(self.estimates)
        return d


@dataclass(frozen=True)
class StepLog:
    """One optimizer step. MEASURED: ``curvature_s``, ``features_s``, ``solve_measured_s``,
    ``linesearch_s``, ``update_s``, ``measured_s`` (= ``wall_s - unbilled_s``). MODELED:
    ``solve_modeled_s`` (quantum decisions), and the per-step sums over blocks of the chosen
    (``hybrid_modeled_s``), best classical, dense-LU (paper Eq. 3) and QLSA estimates.
    ``unbilled_s``: QLSA emulation, residuals and trace writing (not part of the method's cost)."""

    step: int
    mode: str
    loss: float
    loss_after: float
    lr: float
    step_size: float
    ls_evals: int
    ls_failed: bool
    grad_dot_dir: float
    n_blocks: int
    n_quantum: int
    curvature_s: float
    features_s: float
    solve_measured_s: float
    solve_modeled_s: float
    linesearch_s: float
    update_s: float
    unbilled_s: float
    wall_s: float
    measured_s: float
    hybrid_modeled_s: float
    best_classical_modeled_s: float
    lu_modeled_s: float
    quantum_modeled_s: float
    traced: bool
    blocks: tuple[BlockLog, ...] = field(default=(), repr=False)

    def as_dict(self, *, with_blocks: bool = True) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "blocks"}
        if with_blocks:
            d["blocks"] = [b.as_dict() for b in self.blocks]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StepLog":
        kw = dict(d)
        kw["blocks"] = tuple(BlockLog(**b) for b in kw.get("blocks", ()))
        return cls(**kw)


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


def _exact_solve(A: np.ndarray, g: np.ndarray, positive_definite: bool) -> np.ndarray:
    if positive_definite:
        try:
            return cholesky_solve(A, g)
        except InputError:
            pass
    return lu_solve(A, g)


class HybridNewton(torch.optim.Optimizer):
    """Block-diagonal damped Newton with per-block classical / QLSA scheduling (torch.optim API).

    ``HybridNewton(task, profile, config, trace_dir=None, *, resume=False, overwrite=False)``.
    Parameters are ``task.model.parameters()`` in one param group with key ``lr``. Give the batch
    with ``step(batch=...)`` or ``set_batch``; ``step(closure)`` calls the closure once (torch
    convention) and returns its value, else returns the batch loss. See the module docstring.
    """

    def __init__(self, task: TrainingTask, profile: CalibrationProfile,
                 config: HybridNewtonConfig = HybridNewtonConfig(), trace_dir: str | Path | None = None, *,
                 resume: bool = False, overwrite: bool = False, progress: bool = False) -> None:
        super().__init__(task.model.parameters(), {"lr": config.lr})
        self.task, self.config, self.progress = task, config, progress
        self.profile = effective_profile(profile, config.precision)
        self.precision = float(self.profile.quantum.precision if config.quantum_model == "eq4"
                               else self.profile.resource_model.precision)
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
        identity = {"task": asdict(self.task.info), "optimizer": "HybridNewton", "config": cfg,
                    "precision": self.precision, "profile": profile_identity(self.profile),
                    "curvature": self.config.curvature, "storage": self.config.storage,
                    "dtype": self.config.trace_dtype, "every": self.config.trace_every}
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
        defaults = HybridNewtonConfig().to_dict()  # fields added since the state was saved take their defaults
        saved = {k: v for k, v in {**defaults, **mine["config"]}.items() if k not in ("lr", "threads")}
        now = {k: v for k, v in self.config.to_dict().items() if k not in ("lr", "threads")}
        if saved != now:
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            raise InputError(f"HybridNewton state was saved with a different config (differs in: {', '.join(diff)})")
        super().load_state_dict(sd)
        self._step_count = int(mine["step"])
        self._gen.set_state(mine["rng"])
        self.history = [StepLog.from_dict(d) for d in mine["history"]]

    # -- the step ------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None, *, batch: Any = None):
        """One Newton step on ``batch`` (or the one given to :meth:`set_batch`)."""
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

    def _stored(self, data: BlockData) -> tuple[BlockData, np.ndarray, np.ndarray | None, float]:
        """The block as the trace stores it, and the dense matrix rebuilt as replay rebuilds it."""
        dt = self.config.trace_dtype
        g = np.ascontiguousarray(data.gradient, dtype=dt)
        if data.matrix is not None:
            M = np.ascontiguousarray(data.matrix, dtype=dt)
            return BlockData(data.name, g, matrix=M), M, None, 1.0
        F = np.ascontiguousarray(data.factor, dtype=dt)
        scale = float(data.scale)
        return BlockData(data.name, g, factor=F, scale=scale), scale * (F @ F.T), F, scale

    def _classical(self, solver: str, A: np.ndarray, g: np.ndarray, f: MatrixFeatures,
                   factor: np.ndarray | None, scale: float) -> np.ndarray:
        if solver == "cholesky":
            return cholesky_solve(A, g)
        if solver == "lu":
            return lu_solve(A, g)
        if solver == "cg":
            return cg_solve(A, g, rtol=self.profile.classical_model("cg").rtol)[0]
        if solver == "woodbury":
            if factor is None:
                raise InputError("woodbury was chosen for a block without a factor")
            return woodbury_solve(factor, g, f.reg_eps, scale=scale)
        raise UnknownNameError("classical solver", solver, CLASSICAL_SOLVERS)

    def _allowed(self, estimates):
        mode, only = self.config.mode, self.config.classical_solvers
        keep = [e for e in estimates if e.is_quantum or only is None or e.solver in only]
        if mode != "hybrid":
            keep = [e for e in keep if e.is_quantum == (mode == "quantum")]
        return keep

    def _solve_block(self, step: int, block: BlockSpec, data: BlockData, g: np.ndarray):
        """Features, decision and solve of one block -> (BlockLog, x, stored BlockData, seconds dict)."""
        cfg = self.config
        tf = time.perf_counter()
        stored, H, factor, scale = self._stored(data)
        A, f = prepare_block(H, cfg.features, name=f"step {step} block {block.name!r}", factor=factor,
                             factor_scale=scale)
        ests = block_estimates(f, self.profile, cfg.quantum_model)
        allowed = self._allowed(ests)
        if not allowed:
            raise InputError(f"step {step}, block {block.name!r}: no {cfg.mode} solver in profile "
                             f"{self.profile.path!r} applies (positive definite: {f.positive_definite})")
        d: Decision = decide(snapshot_id(self.run, step, block.name), step, block.name, allowed)
        features_s = time.perf_counter() - tf
        fallback, measured, unbilled, rel_err = "", math.nan, 0.0, math.nan
        circuit: dict = {}
        if d.chosen.is_quantum:
            tu = time.perf_counter()
            x_exact = _exact_solve(A, g, f.positive_definite)
            x, circuit = self._emulate_qlsa(A, g, f, x_exact)
            nx = float(np.linalg.norm(x_exact))
            rel_err = float(np.linalg.norm(x - x_exact)) / nx if nx > 0 else 0.0
            unbilled += time.perf_counter() - tu
        else:
            ts = time.perf_counter()
            try:
                x = self._classical(d.chosen.solver, A, g, f, factor, scale)
            except InputError:
                if d.chosen.solver != "cholesky":
                    raise
                fallback = "lu"  # borderline PD: Cholesky failed; its cost is still counted
                x = lu_solve(A, g)
            measured = time.perf_counter() - ts
        tu = time.perf_counter()
        ng = float(np.linalg.norm(g))
        residual = float(np.linalg.norm(A @ x - g)) / ng if ng > 0 else 0.0
        unbilled += time.perf_counter() - tu
        est = {e.solver: float(e.seconds) for e in ests}
        q = next(e for e in ests if e.is_quantum)
        full = decide(d.id, step, block.name, ests)
        log = BlockLog(block=block.name, n=f.n, density=f.density, kappa=f.kappa, lambda_min=f.lambda_min,
                       lambda_max=f.lambda_max, positive_definite=f.positive_definite, chosen=d.chosen.solver,
                       is_quantum=d.chosen.is_quantum, chosen_modeled_s=float(d.chosen.seconds), measured_s=measured,
                       best_classical=full.best_classical.solver if any(not e.is_quantum for e in ests) else "",
                       best_classical_modeled_s=(float(full.best_classical.seconds)
                                                 if any(not e.is_quantum for e in ests) else math.nan),
                       quantum_solver=q.solver, quantum_modeled_s=float(q.seconds),
                       lu_modeled_s=est.get("lu", math.nan), estimates=est, features_s=features_s,
                       rel_error=rel_err, residual=residual, descent=bool(float(g @ x) > 0), fallback=fallback,
                       **circuit)
        return log, x, stored, {"unbilled": unbilled}

    def _emulate_qlsa(self, A: np.ndarray, g: np.ndarray, f: MatrixFeatures,
                      x_exact: np.ndarray) -> tuple[np.ndarray, dict]:
        """The solution a QLSA decision returns: simulated circuit where allowed, else x* + eps |x*| u."""
        cfg = self.config
        if (cfg.quantum_emulation == "circuit" and f.n <= cfg.circuit_max_n and f.positive_definite
                and float(np.linalg.norm(g)) > 0):
            from qlsa_sim.quantum.circuits.simulate import simulate_qsvt_solve

            try:
                s = simulate_qsvt_solve(A, g, self.precision, encoding=cfg.circuit_encoding,
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

    def _step(self, batch: Any) -> StepLog:
        cfg, step = self.config, self._step_count
        lr = float(self.param_groups[0]["lr"])
        t0 = time.perf_counter()
        unbilled = 0.0
        params = named_params(self.task.model, torch.float64)
        loss_fn = lambda p: self.task.loss(p, batch)  # noqa: E731
        tc = time.perf_counter()
        with torch.enable_grad():
            grads, loss_t = torch.func.grad_and_value(loss_fn)(params)
        loss = float(loss_t)
        curvature_s = time.perf_counter() - tc
        if not math.isfinite(loss):  # diverged: no update, nothing traced; the caller sees loss = nan/inf
            wall = time.perf_counter() - t0
            return StepLog(step=step, mode=cfg.mode, loss=loss, loss_after=math.nan, lr=lr, step_size=0.0,
                           ls_evals=0, ls_failed=False, grad_dot_dir=math.nan, n_blocks=0, n_quantum=0,
                           curvature_s=curvature_s, features_s=0.0, solve_measured_s=0.0, solve_modeled_s=0.0,
                           linesearch_s=0.0, update_s=0.0, unbilled_s=0.0, wall_s=wall, measured_s=wall,
                           hybrid_modeled_s=0.0, best_classical_modeled_s=0.0, lu_modeled_s=0.0,
                           quantum_modeled_s=0.0, traced=False)
        with torch.enable_grad():
            cbatch = batch_head(batch, cfg.curvature_batch)
            datas = [block_curvature(self.task, params, cbatch, b, kind=cfg.curvature, storage=cfg.storage,
                                     method=cfg.hessian_method, chunk=cfg.hvp_chunk,
                                     budget_bytes=cfg.memory_budget_gb * 2**30) for b in self.blocks]
        curvature_s = time.perf_counter() - tc
        dirs = {k: torch.zeros_like(v) for k, v in params.items()}
        covered = {k: torch.zeros(v.shape, dtype=torch.bool) for k, v in params.items()}
        traced = self.writer is not None and step % cfg.trace_every == 0
        logs, stored_blocks = [], []
        features_s = solve_measured = 0.0
        bar = tqdm(range(len(self.blocks)), desc=f"step {step}", unit="block", leave=False,
                   disable=not self.progress)
        for i in bar:
            block, data = self.blocks[i], datas[i]
            datas[i] = None  # free each block once solved (the trace keeps its own reference)
            stop = block.full_size if block.stop is None else block.stop
            g = flat_block(grads, block)[block.start:stop].detach().numpy().astype(np.float64, copy=False)
            blog, x, stored, sec = self._solve_block(step, block, data, g)
            del data
            _scatter(dirs, covered, block, torch.from_numpy(-np.asarray(x, dtype=np.float64)))
            logs.append(blog)
            if traced:
                stored_blocks.append(stored)
            features_s += blog.features_s
            if not blog.is_quantum:
                solve_measured += blog.measured_s
            unbilled += sec["unbilled"]
        bar.close()
        if cfg.uncovered_scale > 0:
            for k in dirs:
                dirs[k] = torch.where(covered[k], dirs[k], -cfg.uncovered_scale * grads[k])
        gd = float(sum(float((grads[k] * dirs[k]).sum()) for k in dirs))
        tl = time.perf_counter()
        t, evals, failed, loss_after = lr, 0, False, math.nan
        if cfg.line_search:
            while True:
                trial = {k: params[k] + t * dirs[k] for k in params}
                lt = float(self.task.loss(trial, batch))
                evals += 1
                ok = math.isfinite(lt) and lt <= loss + cfg.ls_c * t * gd and (gd < 0 or lt < loss)
                if ok:
                    loss_after = lt
                    break
                if evals >= cfg.ls_max_evals:
                    t, failed, loss_after = 0.0, True, loss
                    break
                t *= cfg.ls_beta
        linesearch_s = time.perf_counter() - tl
        tu = time.perf_counter()
        if t != 0.0:
            for p in self.param_groups[0]["params"]:
                name = self._param_names[id(p)]
                p.copy_((params[name] + t * dirs[name]).to(p.dtype))
        update_s = time.perf_counter() - tu
        if traced:
            tw = time.perf_counter()
            self._write_trace(step, loss, stored_blocks, logs, lr=lr, step_size=t)
            unbilled += time.perf_counter() - tw
        wall = time.perf_counter() - t0
        quantum = [b for b in logs if b.is_quantum]
        return StepLog(
            step=step, mode=cfg.mode, loss=loss, loss_after=loss_after, lr=lr, step_size=t, ls_evals=evals,
            ls_failed=failed, grad_dot_dir=gd, n_blocks=len(logs), n_quantum=len(quantum),
            curvature_s=curvature_s, features_s=features_s, solve_measured_s=solve_measured,
            solve_modeled_s=float(sum(b.chosen_modeled_s for b in quantum)), linesearch_s=linesearch_s,
            update_s=update_s, unbilled_s=unbilled, wall_s=wall, measured_s=wall - unbilled,
            hybrid_modeled_s=float(sum(b.chosen_modeled_s for b in logs)),
            best_classical_modeled_s=float(sum(b.best_classical_modeled_s for b in logs)),
            lu_modeled_s=float(sum(b.lu_modeled_s for b in logs)),
            quantum_modeled_s=float(sum(b.quantum_modeled_s for b in logs)), traced=traced, blocks=tuple(logs))

    def _write_trace(self, step: int, loss: float, stored: list[BlockData], logs: list[BlockLog], *,
                     lr: float, step_size: float) -> None:
        w = self.writer
        assert w is not None
        extra = {"live_step_size": step_size, "live_lr": lr}
        live = {b.block: {"live_chosen": b.chosen, "live_is_quantum": b.is_quantum,
                          "live_modeled_s": b.chosen_modeled_s, "live_measured_s": b.measured_s,
                          "live_mode": self.config.mode} for b in logs}
        if step in w.recorded_steps():  # a resumed run redoing a step written before the interruption
            w.update_rows({(step, name): fields for name, fields in live.items()})
        else:
            w.write_snapshot(step, stored, loss=loss, extra=extra, dtype=self.config.trace_dtype, block_extra=live)


def replay_live_trace(trace_dir: str | Path, profile: CalibrationProfile, *, progress: bool = False):
    """Replay a trace written by :class:`HybridNewton` with its own settings; adds ``live_chosen``
    and ``agrees`` (offline choice == live choice; meaningful for mode "hybrid") to replay's table."""
    from qlsa_sim.schedule.replay import replay

    reader = TraceReader(trace_dir)
    hn = reader.meta.get("hybrid_newton")
    if hn is None:
        raise TraceError(f"{reader.directory}: not written by HybridNewton (no 'hybrid_newton' metadata)")
    config = HybridNewtonConfig.from_dict(hn["config"])
    prof = effective_profile(profile, float(hn["precision"]))
    df = replay(reader, prof, config.replay_config(), progress=progress)
    live = {(int(r["step"]), r["block"]): r.get("live_chosen") for r in reader.rows}
    df["live_chosen"] = [live.get((int(s), b)) for s, b in zip(df["step"], df["block"])]
    df["agrees"] = df["live_chosen"] == df["chosen"]
    return df


def history_frames(history: Iterable[StepLog], run_id: str = "live"):
    """(steps, blocks) DataFrames of a HybridNewton history, ids ``<run>/<step:08d>[/<block>]``."""
    import pandas as pd

    steps, blocks = [], []
    for s in history:
        sid = f"{run_id}/{int(s.step):08d}"
        steps.append({"id": sid, "run": run_id, **s.as_dict(with_blocks=False)})
        for b in s.blocks:
            d = b.as_dict()
            est = d.pop("estimates")
            blocks.append({"id": f"{sid}/{b.block}", "run": run_id, "step": s.step, **d,
                           **{f"est_{k}_s": v for k, v in est.items()}})
    return pd.DataFrame(steps), pd.DataFrame(blocks)
