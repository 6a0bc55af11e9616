"""Train one task with several optimizers to a target: the paper's Table 1 comparison, run live.

Methods (``METHODS``): ``sgd`` (optional momentum), ``adam`` (torch.optim), and HybridNewton in
its three modes: ``newton-classical`` (cheapest classical solver per block), ``newton-quantum``
(QLSA on every block) and ``hybrid`` (the scheduler picks per block; Q-Newton, arXiv:2405.00252).
Each run trains until the held-out metrics of ``task.evaluate`` reach the :class:`StopRule`'s
target (test loss <= ``target_loss`` and/or test accuracy >= ``target_accuracy``, checked every
``eval_every`` steps and before the first) or ``max_steps``.

Seconds are kept apart: MEASURED = wall time of the step's work on this machine (SGD/Adam: forward,
backward, update; Newton: curvature, features and scheduling, classical solves, line search,
update; evaluation and checkpointing excluded; Newton's QLSA emulation excluded, see
``train/hybrid_newton.py``); MODELED = the QLSA seconds of quantum decisions (never measured).
``total_s`` = measured + modeled, labelled as such.

Runs are resumable: with ``out_dir`` each run keeps ``<out_dir>/<task>/<label>/seed<k>/``
holding ``checkpoint.pt`` (model, optimizer state, logs; written atomically after every
``checkpoint_every`` steps; read with ``torch.load(weights_only=True)``), ``result.json`` when it
stops, and for Newton methods the live trace ``trace/`` (``traces.store`` format). Ctrl-C
(KeyboardInterrupt) leaves the last checkpoint and a readable partial trace; calling again with
``resume=True`` continues from the checkpoint (skipping the batches already used) and gives the
same parameters and decisions as an uninterrupted run.

Example (paper Table 1 analogue on the 4x4 digits MLP)::

    data = load_image_dataset("digits", image_size=4)
    make = lambda seed: MLPTask(data, MLPConfig((16, 6, 10)), batch_size=64, seed=seed)
    newton = HybridNewtonConfig(features=FeatureConfig(reg_eps=1e-2))
    specs = [MethodSpec("sgd", 0.5), MethodSpec("adam", 0.05),
             MethodSpec("newton-classical", 0.5, label="newton-lu",
                        newton=replace(newton, classical_solvers=("lu",))),   # the paper's dense-LU baseline
             MethodSpec("newton-quantum", 0.5, newton=newton), MethodSpec("hybrid", 0.5, newton=newton)]
    report = run_baselines(make, specs, StopRule(target_accuracy=0.7, max_steps=200), load_profile(path),
                           seeds=(0, 1), task_name="digits", out_dir="analysis/runs", resume=True)
    report.table    # one row per run: steps_to_target, *_s_per_step (measured / modeled), totals
    report.steps    # one row per step: loss, seconds, held-out metrics (convergence curves)
    report.blocks   # one row per (Newton step, block): features, decision, modeled estimates, measured solve
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from qlsa_sim.core.atomic import atomic_write_json
from qlsa_sim.core.logs import log as qlsa_log
from qlsa_sim.core.logs import progress as progress_of
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.errors import InputError, TraceError, UnknownNameError
from qlsa_sim.train.hybrid_newton import HybridNewton, HybridNewtonConfig
from qlsa_sim.train.newton_log import StepLog, history_frames
from qlsa_sim.train.runner import CHECKPOINT, StopRule, TrainingState, first_order_step, run_training
from qlsa_sim.train.task import TrainingTask

METHODS = ("sgd", "adam", "newton-classical", "newton-quantum", "hybrid")
NEWTON_MODES = {"newton-classical": "classical", "newton-quantum": "quantum", "hybrid": "hybrid"}
RESULT, TRACE = "result.json", "trace"


@dataclass(frozen=True)
class MethodSpec:
    """One optimizer to compare. ``newton`` configures the Newton methods (its ``lr``, ``mode`` and
    ``seed`` are replaced by this spec's ``lr``, the method's mode and the run's seed). ``label``
    names the run in ids and directories (default: the method), e.g. "hybrid-prune50"."""

    method: str
    lr: float
    label: str | None = None
    momentum: float = 0.0
    newton: HybridNewtonConfig = HybridNewtonConfig()
    write_trace: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UnknownNameError("method", self.method, METHODS)
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"{self.method}: learning rate must be finite and > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise InputError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.label is not None and (not self.label or "/" in self.label):
            raise InputError(f"label must be non-empty without '/', got {self.label!r}")

    @property
    def name(self) -> str:
        return self.label or self.method

    @property
    def is_newton(self) -> bool:
        return self.method in NEWTON_MODES

    def newton_config(self, seed: int) -> HybridNewtonConfig:
        return replace(self.newton, lr=self.lr, mode=NEWTON_MODES[self.method], seed=int(seed))

    def to_dict(self, seed: int = 0) -> dict:
        d = {"method": self.method, "lr": self.lr, "label": self.name, "momentum": self.momentum}
        if self.is_newton:
            d["newton"] = self.newton_config(seed).to_dict()
        return d


@dataclass(frozen=True)
class RunResult:
    """One run. ``reached``: whether the target held (None: no target was given, the run stopped at its cap);
    ``steps_to_target``: updates until the target first held (None: not reached or no target).
    Per-step and total seconds: MEASURED and MODELED apart (module docstring); ``total_s`` is
    their sum. ``history``: one dict per step; ``evals``: held-out metrics after ``after_steps``
    updates; ``blocks``: per-(step, block) decisions of Newton runs."""

    id: str
    task: str
    method: str
    label: str
    seed: int
    reached: bool | None
    steps_to_target: int | None
    steps_run: int
    stop_reason: str                   # "target" | "max_steps" | "diverged"
    initial_test_loss: float
    initial_test_accuracy: float
    final_test_loss: float
    final_test_accuracy: float
    final_batch_loss: float
    measured_s_per_step: float
    modeled_s_per_step: float
    solve_measured_s_per_step: float
    solve_modeled_s_per_step: float
    total_measured_s: float
    total_modeled_s: float
    total_s: float
    quantum_fraction: float
    unbilled_s: float
    directory: str | None
    trace_dir: str | None
    history: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)
    evals: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)
    blocks: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)

    def summary(self) -> dict:
        """The scalar fields (one row of :func:`results_table`)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("history", "evals", "blocks")}


def run_id(task_name: str, label: str, seed: int) -> str:
    """Stable id of a run: ``<task>/<label>/<seed>``."""
    return f"{task_name}/{label}/{int(seed)}"


def _make_optimizer(spec: MethodSpec, task: TrainingTask, profile: CalibrationProfile | None, seed: int,
                    trace_dir: Path | None, resume: bool, overwrite: bool, progress: bool):
    params = task.model.parameters()
    if spec.method == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum)
    if spec.method == "adam":
        return torch.optim.Adam(params, lr=spec.lr)
    if profile is None:
        raise InputError(f"method {spec.method!r} needs a calibration profile")
    return HybridNewton(task, profile, spec.newton_config(seed), trace_dir, resume=resume, overwrite=overwrite,
                        progress=progress)


def _newton_record(log: StepLog) -> dict:
    return {"loss": log.loss, "measured_s": log.measured_s, "modeled_s": log.solve_modeled_s,
            "solve_measured_s": log.solve_measured_s, "solve_modeled_s": log.solve_modeled_s,
            "unbilled_s": log.unbilled_measured_s, "n_blocks": log.n_blocks, "n_quantum": log.n_quantum,
            "step_size": log.step_size, "curvature_measured_s": log.curvature_measured_s,
            "scheduling_measured_s": log.scheduling_measured_s, "linesearch_measured_s": log.linesearch_measured_s,
            "chosen_modeled_s": log.chosen_modeled_s, "hybrid_modeled_s": log.hybrid_modeled_s,
            "best_classical_modeled_s": log.best_classical_modeled_s, "lu_modeled_s": log.lu_modeled_s,
            "quantum_modeled_s": log.quantum_modeled_s}


def _prepare_dir(directory: Path, resume: bool, overwrite: bool) -> None:
    exists = directory.is_dir() and any(directory.iterdir())
    if exists and not (resume or overwrite):
        raise TraceError(f"{directory}: a run already exists; use resume=True to continue it or overwrite=True")
    if exists and overwrite and not resume:
        for name in (CHECKPOINT, RESULT):
            (directory / name).unlink(missing_ok=True)
        if (directory / TRACE).is_dir():
            shutil.rmtree(directory / TRACE)
    directory.mkdir(parents=True, exist_ok=True)


def run_method(make_task: Callable[[int], TrainingTask], spec: MethodSpec, stop: StopRule,
               profile: CalibrationProfile | None = None, *, seed: int = 0, task_name: str = "task",
               out_dir: str | Path | None = None, resume: bool = False, overwrite: bool = False,
               checkpoint_every: int = 1, threads: int | None = 1, progress: bool = True) -> RunResult:
    """Train ``make_task(seed)`` with ``spec`` until ``stop`` (``train/runner.py``'s loop); see the module
    docstring. ``make_task(seed)`` must build a fresh task (model initialised from ``seed``). Without
    ``out_dir`` nothing is written and the run cannot resume. ``threads`` pins torch and BLAS threads for
    every method alike (None: unchanged)."""
    task = make_task(seed)
    rid = run_id(task_name, spec.name, seed)
    directory = None if out_dir is None else Path(out_dir) / task_name / spec.name / f"seed{int(seed)}"
    identity = {"id": rid, "task": asdict(task.info), "spec": spec.to_dict(seed), "seed": int(seed),
                "eval_every": stop.eval_every,
                "profile": profile.identity() if (spec.is_newton and profile is not None) else None}
    if directory is not None:
        _prepare_dir(directory, resume, overwrite)
    trace_dir = directory / TRACE if (directory is not None and spec.is_newton and spec.write_trace) else None
    opt = _make_optimizer(spec, task, profile, seed, trace_dir, resume=resume, overwrite=overwrite and not resume,
                          progress=progress)
    step_fn = ((lambda batch: _newton_step(opt, batch)) if spec.is_newton else first_order_step(task, opt))
    try:
        state = run_training(task, opt, step_fn, stop, directory=directory, identity=identity, resume=resume,
                             checkpoint_every=checkpoint_every, threads=threads, progress=progress, desc=rid)
    except KeyboardInterrupt:
        if directory is not None:
            qlsa_log.warning(f"interrupted: {rid}; the last checkpoint (and trace) in {directory} are readable; "
                       "rerun with resume=True to continue")
        raise
    blocks = history_frames(opt.history, rid)[1].to_dict("records") if spec.is_newton else []
    result = _result(rid, task_name, spec, seed, state, blocks, None if directory is None else str(directory),
                     None if trace_dir is None else str(trace_dir), has_target=stop.has_target)
    if directory is not None:
        atomic_write_json(directory / RESULT, result.summary())
    return result


def _newton_step(opt: HybridNewton, batch: Any) -> dict:
    opt.step(batch=batch)
    return _newton_record(opt.history[-1])


def _result(rid: str, task_name: str, spec: MethodSpec, seed: int, state: TrainingState, blocks: list[dict],
            directory: str | None, trace_dir: str | None, *, has_target: bool = True) -> RunResult:
    history, evals, reason = state.history, state.evals, state.reason
    steps = len(history)
    tot = {k: float(sum(h[k] for h in history)) for k in ("measured_s", "modeled_s", "solve_measured_s",
                                                          "solve_modeled_s", "unbilled_s")}
    per = {k: (v / steps if steps else math.nan) for k, v in tot.items()}
    nb = sum(h["n_blocks"] for h in history)
    first, last = evals[0], evals[-1]
    return RunResult(
        id=rid, task=task_name, method=spec.method, label=spec.name, seed=int(seed),
        reached=(reason == "target") if has_target else None,
        steps_to_target=last["after_steps"] if reason == "target" else None, steps_run=steps, stop_reason=reason,
        initial_test_loss=first.get("test_loss", math.nan), initial_test_accuracy=first.get("test_accuracy", math.nan),
        final_test_loss=last.get("test_loss", math.nan), final_test_accuracy=last.get("test_accuracy", math.nan),
        final_batch_loss=history[-1]["loss"] if history else math.nan,
        measured_s_per_step=per["measured_s"], modeled_s_per_step=per["modeled_s"],
        solve_measured_s_per_step=per["solve_measured_s"], solve_modeled_s_per_step=per["solve_modeled_s"],
        total_measured_s=tot["measured_s"], total_modeled_s=tot["modeled_s"],
        total_s=tot["measured_s"] + tot["modeled_s"],
        quantum_fraction=(sum(h["n_quantum"] for h in history) / nb) if nb else 0.0, unbilled_s=tot["unbilled_s"],
        directory=directory, trace_dir=trace_dir, history=tuple(history), evals=tuple(evals), blocks=tuple(blocks))


@dataclass(frozen=True, eq=False)
class BaselineReport:
    """Results of :func:`run_baselines` and their tables (each row with a stable ``id``)."""

    results: tuple[RunResult, ...]

    @property
    def table(self) -> pd.DataFrame:
        return results_table(self.results)

    @property
    def steps(self) -> pd.DataFrame:
        return steps_table(self.results)

    @property
    def blocks(self) -> pd.DataFrame:
        return blocks_table(self.results)


def results_table(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run (id ``<task>/<label>/<seed>``); seconds columns say measured / modeled."""
    df = pd.DataFrame([r.summary() for r in results])
    if len(df):
        df.attrs["seconds"] = ("measured_*: wall seconds of work run here; modeled_*: QLSA seconds from the "
                               "cost model (never measured); total_s = measured + modeled")
    return df


def steps_table(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per (run, step) (id ``<run>/<step:08d>``): batch loss, seconds (measured / modeled,
    cumulative too) and the held-out metrics after the step where evaluated (NaN otherwise)."""
    rows = []
    for r in results:
        ev = {e["after_steps"]: e for e in r.evals}
        cm = cq = 0.0
        for h in r.history:
            cm += h["measured_s"]
            cq += h["modeled_s"]
            e = ev.get(h["step"] + 1, {})
            rows.append({"id": f"{r.id}/{int(h['step']):08d}", "run": r.id, "task": r.task, "method": r.method,
                         "label": r.label, "seed": r.seed, **h, "cum_measured_s": cm, "cum_modeled_s": cq,
                         "test_loss": e.get("test_loss", math.nan), "test_accuracy": e.get("test_accuracy", math.nan)})
    return pd.DataFrame(rows)


def blocks_table(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per (Newton run, step, block) (id ``<run>/<step:08d>/<block>``): features, the
    decision, its MODELED estimates (``est_<solver>_s``) and the MEASURED classical solve."""
    rows = []
    for r in results:
        for b in r.blocks:
            rows.append({"task": r.task, "method": r.method, "label": r.label, "seed": r.seed, **b})
    return pd.DataFrame(rows)


def run_baselines(make_task: Callable[[int], TrainingTask], specs: Sequence[MethodSpec], stop: StopRule,
                  profile: CalibrationProfile | None = None, *, seeds: Sequence[int] = (0,), task_name: str = "task",
                  out_dir: str | Path | None = None, resume: bool = False, overwrite: bool = False,
                  checkpoint_every: int = 1, threads: int | None = 1, progress: bool = True) -> BaselineReport:
    """Every spec x seed through :func:`run_method` (in order; resumable as a whole)."""
    labels = [s.name for s in specs]
    if len(set(labels)) != len(labels):
        raise InputError(f"method labels must be unique, got {labels}")
    results = []
    jobs = [(spec, seed) for spec in specs for seed in seeds]
    for spec, seed in progress_of(jobs, f"baselines {task_name}", unit="run", enabled=progress):
        results.append(run_method(make_task, spec, stop, profile, seed=seed, task_name=task_name, out_dir=out_dir,
                                  resume=resume, overwrite=overwrite, checkpoint_every=checkpoint_every,
                                  threads=threads, progress=progress))
    return BaselineReport(tuple(results))


def write_run_outputs(report: BaselineReport, out: str | Path, name: str, *, first_seed: int,
                      target: tuple[str, float | None]) -> list[Path]:
    """``table.csv/.md`` (one row per run), ``steps.csv``, ``blocks.csv`` (per Newton step and block: the decision
    row and how it was solved) and the convergence plot of the first seed, in ``out``."""
    from qlsa_sim.core.outputs import write_csv
    from qlsa_sim.report.paper_figures import plot_convergence
    from qlsa_sim.report.tables import write_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table, steps, blocks = report.table, report.steps, report.blocks
    paths = list(write_table(table, out, "table", title=f"{name}: one row per run",
                             note="measured_* seconds: wall time of work run here; modeled_* seconds: QLSA cost-model "
                                  "time (never measured); total_s = measured + modeled"))
    write_csv(steps, out / "steps.csv")
    write_csv(blocks, out / "blocks.csv")
    paths += [out / "steps.csv", out / "blocks.csv"]
    conv = steps.dropna(subset=["test_loss"]).assign(task=name, step=lambda d: d["step"] + 1,
                                                     seconds=lambda d: d["cum_measured_s"] + d["cum_modeled_s"])
    conv = conv[conv["seed"] == first_seed]
    if len(conv):
        paths += plot_convergence(conv, out / "convergence", targets={name: target},
                                  note="first seed; seconds = cumulative measured + modeled (QLSA cost model) seconds")
    return paths
