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

import io
import itertools
import json
import math
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.cost.calibrate import CalibrationProfile
from qlsa_sim.curvature.blocks import named_params
from qlsa_sim.errors import InputError, TraceError, UnknownNameError
from qlsa_sim.core.atomic import atomic_write, atomic_write_json
from qlsa_sim.train.hybrid_newton import (
    HybridNewton,
    HybridNewtonConfig,
    StepLog,
    history_frames,
    profile_identity,
)
from qlsa_sim.train.task import TrainingTask

METHODS = ("sgd", "adam", "newton-classical", "newton-quantum", "hybrid")
NEWTON_MODES = {"newton-classical": "classical", "newton-quantum": "quantum", "hybrid": "hybrid"}
CHECKPOINT_FORMAT = "qlsa-sim-run/1"
CHECKPOINT, RESULT, TRACE = "checkpoint.pt", "result.json", "trace"


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
class StopRule:
    """Stop when every given target holds on ``task.evaluate`` (held-out) or after ``max_steps``."""

    target_loss: float | None = None
    target_accuracy: float | None = None
    max_steps: int = 200
    eval_every: int = 1

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.eval_every < 1:
            raise InputError(f"need max_steps >= 0 and eval_every >= 1, got {self.max_steps}, {self.eval_every}")

    @property
    def has_target(self) -> bool:
        return self.target_loss is not None or self.target_accuracy is not None

    def reached(self, metrics: Mapping[str, float]) -> bool:
        if not self.has_target:
            return False
        ok = True
        if self.target_loss is not None:
            ok &= float(metrics.get("test_loss", math.inf)) <= self.target_loss
        if self.target_accuracy is not None:
            ok &= float(metrics.get("test_accuracy", -math.inf)) >= self.target_accuracy
        return bool(ok)


@dataclass(frozen=True)
class RunResult:
    """One run. ``steps_to_target``: updates until the target first held (None: not reached).
    Per-step and total seconds: MEASURED and MODELED apart (module docstring); ``total_s`` is
    their sum. ``history``: one dict per step; ``evals``: held-out metrics after ``after_steps``
    updates; ``blocks``: per-(step, block) decisions of Newton runs."""

    id: str
    task: str
    method: str
    label: str
    seed: int
    reached: bool
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


def _save_checkpoint(path: Path, payload: dict) -> None:
    def write(f):
        buf = io.BytesIO()
        torch.save(payload, buf)
        f.write(buf.getvalue())

    atomic_write(path, write)


def _load_checkpoint(path: Path) -> dict:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise TraceError(f"{path}: unreadable run checkpoint ({type(e).__name__}: {e}); "
                         "rerun with overwrite=True") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise TraceError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    return ck


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


def _first_order_step(task: TrainingTask, opt: torch.optim.Optimizer, batch) -> dict:
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = task.loss(dict(task.model.named_parameters()), batch)
    loss.backward()
    opt.step()
    s = time.perf_counter() - t0
    return {"loss": float(loss.detach()), "measured_s": s, "modeled_s": 0.0, "solve_measured_s": 0.0,
            "solve_modeled_s": 0.0, "unbilled_s": 0.0, "n_blocks": 0, "n_quantum": 0,
            "step_size": float(opt.param_groups[0]["lr"])}


def _newton_record(log: StepLog) -> dict:
    return {"loss": log.loss, "measured_s": log.measured_s, "modeled_s": log.solve_modeled_s,
            "solve_measured_s": log.solve_measured_s, "solve_modeled_s": log.solve_modeled_s,
            "unbilled_s": log.unbilled_s, "n_blocks": log.n_blocks, "n_quantum": log.n_quantum,
            "step_size": log.step_size, "curvature_s": log.curvature_s, "features_s": log.features_s,
            "linesearch_s": log.linesearch_s, "hybrid_modeled_s": log.hybrid_modeled_s,
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
    """Train ``make_task(seed)`` with ``spec`` until ``stop``; see the module docstring.

    ``make_task(seed)`` must build a fresh task (model initialised from ``seed``). Without
    ``out_dir`` nothing is written and the run cannot resume. ``threads`` pins torch and BLAS
    threads for every method alike (None: unchanged).
    """
    if checkpoint_every < 1:
        raise InputError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    task = make_task(seed)
    rid = run_id(task_name, spec.name, seed)
    directory = None if out_dir is None else Path(out_dir) / task_name / spec.name / f"seed{int(seed)}"
    identity = {"id": rid, "task": asdict(task.info), "spec": spec.to_dict(seed), "seed": int(seed),
                "eval_every": stop.eval_every,
                "profile": profile_identity(profile) if (spec.is_newton and profile is not None) else None}
    ck = None
    if directory is not None:
        _prepare_dir(directory, resume, overwrite)
        if resume and (directory / CHECKPOINT).is_file():
            ck = _load_checkpoint(directory / CHECKPOINT)
            if _canonical(ck["identity"]) != _canonical(identity):
                raise TraceError(f"{directory / CHECKPOINT}: cannot resume: the run was made with other settings "
                                 f"({ck['identity']}), this call asks for {identity}")
    trace_dir = directory / TRACE if (directory is not None and spec.is_newton and spec.write_trace) else None
    opt = _make_optimizer(spec, task, profile, seed, trace_dir, resume=resume, overwrite=overwrite and not resume,
                          progress=progress)
    history: list[dict] = []
    evals: list[dict] = []
    start = 0
    if ck is not None:
        task.model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        history, evals, start = list(ck["history"]), list(ck["evals"]), int(ck["step"])

    def evaluate(after: int) -> dict:
        m = {k: float(v) for k, v in task.evaluate(named_params(task.model)).items()}
        rec = {"after_steps": after, **m}
        evals.append(rec)
        return rec

    def checkpoint(step: int) -> None:
        if directory is not None:
            _save_checkpoint(directory / CHECKPOINT, {
                "format": CHECKPOINT_FORMAT, "identity": identity, "step": step, "model": task.model.state_dict(),
                "optimizer": opt.state_dict(), "history": history, "evals": evals})

    with pinned_threads(threads):
        if not evals:
            evaluate(start)
        last = evals[-1]
        reason = None
        if history and not math.isfinite(history[-1]["loss"]):
            reason = "diverged"
        elif last["after_steps"] == start and stop.reached(last):
            reason = "target"
        if start == 0 and ck is None:
            checkpoint(0)
        batches = itertools.islice(task.batches(), start, None)
        bar = tqdm(total=stop.max_steps, initial=min(start, stop.max_steps), desc=rid, unit="step",
                   disable=not progress, leave=False)
        step = start
        try:
            while reason is None and step < stop.max_steps:
                batch = next(batches)
                if spec.is_newton:
                    opt.step(batch=batch)
                    rec = _newton_record(opt.history[-1])
                else:
                    rec = _first_order_step(task, opt, batch)
                step += 1
                history.append({"step": step - 1, **rec})
                if not math.isfinite(rec["loss"]):
                    reason = "diverged"
                elif step % stop.eval_every == 0 or step == stop.max_steps:
                    if stop.reached(evaluate(step)):
                        reason = "target"
                if step % checkpoint_every == 0 or reason is not None or step == stop.max_steps:
                    checkpoint(step)
                bar.update(1)
                bar.set_postfix(loss=f"{rec['loss']:.4f}", acc=f"{evals[-1].get('test_accuracy', math.nan):.3f}")
        except KeyboardInterrupt:
            bar.close()
            if directory is not None:
                tqdm.write(f"interrupted: {rid} during step {step}; the last checkpoint (and trace) in {directory} "
                           f"are readable; rerun with resume=True to continue")
            raise
        bar.close()
        if evals[-1]["after_steps"] != step:
            evaluate(step)
            checkpoint(step)
    reason = reason or "max_steps"
    blocks: list[dict] = []
    if spec.is_newton:
        _, bdf = history_frames(opt.history, rid)
        blocks = bdf.to_dict("records")
    result = _result(rid, task_name, spec, seed, reason, history, evals, blocks,
                     None if directory is None else str(directory), None if trace_dir is None else str(trace_dir))
    if directory is not None:
        atomic_write_json(directory / RESULT, result.summary())
    return result


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _result(rid: str, task_name: str, spec: MethodSpec, seed: int, reason: str, history: list[dict],
            evals: list[dict], blocks: list[dict], directory: str | None, trace_dir: str | None) -> RunResult:
    steps = len(history)
    tot = {k: float(sum(h[k] for h in history)) for k in ("measured_s", "modeled_s", "solve_measured_s",
                                                          "solve_modeled_s", "unbilled_s")}
    per = {k: (v / steps if steps else math.nan) for k, v in tot.items()}
    nb = sum(h["n_blocks"] for h in history)
    first, last = evals[0], evals[-1]
    return RunResult(
        id=rid, task=task_name, method=spec.method, label=spec.name, seed=int(seed), reached=reason == "target",
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
    for spec, seed in tqdm(jobs, desc=f"baselines {task_name}", unit="run", disable=not progress):
        results.append(run_method(make_task, spec, stop, profile, seed=seed, task_name=task_name, out_dir=out_dir,
                                  resume=resume, overwrite=overwrite, checkpoint_every=checkpoint_every,
                                  threads=threads, progress=progress))
    return BaselineReport(tuple(results))
