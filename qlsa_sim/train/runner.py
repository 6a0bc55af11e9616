"""The one training loop: any optimizer on a task until a stop rule, with hooks, checkpoints and resume.

Recording a trace (``train/record.py``: SGD with a trace hook) and the baselines runner
(``experiments/baselines.py``: SGD, Adam, HybridNewton to a target) both call :func:`run_training`.

A run keeps, in its directory, ``checkpoint.pt``: the one checkpoint format (``CHECKPOINT_FORMAT``;
model and optimizer state, the per-step history and held-out evaluations, the run's identity), written
atomically (``core/atomic.py``) and read with ``torch.load(weights_only=True)`` (no pickle). Ctrl-C
(KeyboardInterrupt) leaves the last checkpoint; calling again with ``resume=True`` continues from it,
skipping the batches already used, and gives the same parameters as an uninterrupted run (seeded,
deterministic batches).
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from qlsa_sim.core.atomic import atomic_write, identity_key
from qlsa_sim.core.logs import Progress
from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.curvature.blocks import named_params
from qlsa_sim.errors import InputError, TraceError
from qlsa_sim.train.task import TrainingTask

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "qlsa-sim-run/1"
CHECKPOINT = "checkpoint.pt"

#: What one training step reports: at least ``loss`` and ``measured_s``, ``modeled_s`` (seconds).
StepRecord = dict


@dataclass(frozen=True)
class StopRule:
    """Stop when every given target holds on ``task.evaluate`` (held-out) or after ``max_steps``.

    Held-out metrics are taken every ``eval_every`` steps and before the first (None: never, e.g. when
    recording a trace, whose hook evaluates at its snapshots)."""

    target_loss: float | None = None
    target_accuracy: float | None = None
    max_steps: int = 200
    eval_every: int | None = 1

    def __post_init__(self) -> None:
        if self.max_steps < 0 or (self.eval_every is not None and self.eval_every < 1):
            raise InputError(f"need max_steps >= 0 and eval_every >= 1, got {self.max_steps}, {self.eval_every}")
        if self.eval_every is None and self.has_target:
            raise InputError("a target needs held-out evaluations (eval_every >= 1)")

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


class TrainingHook(Protocol):
    """Called around the loop: ``before_update(step, batch)`` before update ``step`` on its batch, and
    ``at_end(step, batch)`` once after the last update (``step`` = updates made, ``batch`` the next one)."""

    def before_update(self, step: int, batch: Any) -> None: ...

    def at_end(self, step: int, batch: Any) -> None: ...


@dataclass
class TrainingState:
    """Where a run is: updates made, one record per update, held-out evaluations (``after_steps``)."""

    step: int = 0
    history: list[StepRecord] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    reason: str | None = None  # "target" | "max_steps" | "diverged" once stopped


def save_checkpoint(path: Path, identity: Mapping[str, Any], state: TrainingState, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer) -> None:
    """Write the run's checkpoint atomically (the one checkpoint format)."""
    payload = {"format": CHECKPOINT_FORMAT, "identity": dict(identity), "step": state.step,
               "model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": state.history,
               "evals": state.evals}

    def write(f):
        buf = io.BytesIO()
        torch.save(payload, buf)
        f.write(buf.getvalue())

    atomic_write(path, write)


def load_checkpoint(path: Path, identity: Mapping[str, Any] | None = None) -> dict:
    """Read a checkpoint (weights_only: no pickle); TraceError if unreadable or made with other settings."""
    from qlsa_sim.core.bounded import regular_file_size

    regular_file_size(path, "run checkpoint", error=TraceError)  # no device or FIFO (a read that never ends)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise TraceError(f"{path}: unreadable run checkpoint ({type(e).__name__}: {e}); "
                         "rerun with overwrite") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise TraceError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    if identity is not None and identity_key(ck["identity"]) != identity_key(identity):
        raise TraceError(f"{path}: cannot resume: the run was made with other settings ({ck['identity']}), "
                         f"this call asks for {dict(identity)}")
    return ck


def restore(ck: Mapping[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> TrainingState:
    """Model and optimizer state from a checkpoint; the run's state."""
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    return TrainingState(int(ck["step"]), list(ck["history"]), list(ck["evals"]))


def first_order_step(task: TrainingTask, optimizer: torch.optim.Optimizer) -> Callable[[Any], StepRecord]:
    """A step function for torch's first-order optimizers (SGD, Adam): MEASURED forward, backward, update."""
    def step(batch: Any) -> StepRecord:
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = task.loss(dict(task.model.named_parameters()), batch)
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach()), "measured_s": time.perf_counter() - t0, "modeled_s": 0.0,
                "solve_measured_s": 0.0, "solve_modeled_s": 0.0, "unbilled_s": 0.0, "n_blocks": 0, "n_quantum": 0,
                "step_size": float(optimizer.param_groups[0]["lr"])}
    return step


def run_training(task: TrainingTask, optimizer: torch.optim.Optimizer, step_fn: Callable[[Any], StepRecord],
                 stop: StopRule, *, directory: Path | None = None, identity: Mapping[str, Any] | None = None,
                 resume: bool = False, checkpoint_every: int = 1, hooks: Sequence[TrainingHook] = (),
                 threads: int | None = 1, progress: bool = True, desc: str = "train") -> TrainingState:
    """Train ``task.model`` with ``step_fn`` (one update per batch) until ``stop``; see the module docstring.

    With ``directory`` a checkpoint is kept there (every ``checkpoint_every`` updates and at the end);
    ``resume`` continues from it (its ``identity`` must equal this call's). The batches already used are
    skipped. Returns the final state (``reason`` says why it stopped)."""
    if checkpoint_every < 1:
        raise InputError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    identity = dict(identity or {})
    ck_path = None if directory is None else Path(directory) / CHECKPOINT
    state = TrainingState()
    if resume and ck_path is not None and ck_path.is_file():
        state = restore(load_checkpoint(ck_path, identity), task.model, optimizer)

    def evaluate(after: int) -> dict:
        rec = {"after_steps": after, **{k: float(v) for k, v in task.evaluate(named_params(task.model)).items()}}
        state.evals.append(rec)
        return rec

    def checkpoint() -> None:
        if ck_path is not None:
            save_checkpoint(ck_path, identity, state, task.model, optimizer)

    with pinned_threads(threads):
        _check_start(state, stop, evaluate)
        if ck_path is not None and not (resume and ck_path.is_file()):
            checkpoint()
        batches = itertools.islice(task.batches(), state.step, None)
        _loop(batches, step_fn, stop, state, evaluate, checkpoint, checkpoint_every, hooks, progress, desc)
        if stop.eval_every is not None and state.evals[-1]["after_steps"] != state.step:
            evaluate(state.step)
        if hooks:
            batch = next(batches)
            for h in hooks:
                h.at_end(state.step, batch)
        checkpoint()
    state.reason = state.reason or "max_steps"
    return state


def _check_start(state: TrainingState, stop: StopRule, evaluate: Callable[[int], dict]) -> None:
    """Evaluate before the first update; a resumed run that had diverged or reached its target stays stopped."""
    if stop.eval_every is not None and not state.evals:
        evaluate(state.step)
    if state.history and not math.isfinite(state.history[-1]["loss"]):
        state.reason = "diverged"
    elif state.evals and state.evals[-1]["after_steps"] == state.step and stop.reached(state.evals[-1]):
        state.reason = "target"


def _loop(batches, step_fn, stop, state, evaluate, checkpoint, checkpoint_every, hooks, progress, desc) -> None:
    with Progress(stop.max_steps, desc, unit="step", enabled=progress, initial=min(state.step, stop.max_steps),
                  logger=log) as bar:
        while state.reason is None and state.step < stop.max_steps:
            batch = next(batches)
            for h in hooks:
                h.before_update(state.step, batch)
            rec = step_fn(batch)
            state.history.append({"step": state.step, **rec})
            state.step += 1
            if not math.isfinite(rec["loss"]):
                state.reason = "diverged"
            elif stop.eval_every is not None and (state.step % stop.eval_every == 0 or state.step == stop.max_steps):
                if stop.reached(evaluate(state.step)):
                    state.reason = "target"
            if state.step % checkpoint_every == 0 or state.reason is not None:
                checkpoint()
            note = f"loss {rec['loss']:.4f}"
            if state.evals and "test_accuracy" in state.evals[-1]:
                note += f", acc {state.evals[-1]['test_accuracy']:.3f}"
            bar.update(1, note=note)

