"""Record a Hessian trace: SGD training (``train/runner.py``'s one loop) with a trace hook.

Every ``every`` steps the hook computes the task's curvature blocks (``curvature/compute.py``, with the
same :class:`CurvatureConfig` live training uses) at the parameters *before* that step's update, on that
step's batch, and writes them with the held-out metrics to the trace (``traces/store.py``). The run's
checkpoint lives in the trace directory, so ``--resume`` continues an interrupted recording and gives a
trace bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qlsa_sim.core.logs import log_beside
from qlsa_sim.core.names import TraceDtype, parse
from qlsa_sim.curvature.blocks import named_params
from qlsa_sim.curvature.compute import CurvatureConfig, task_curvature
from qlsa_sim.errors import InputError, TraceError
from qlsa_sim.traces.store import BlockData, TraceWriter
from qlsa_sim.train.runner import CHECKPOINT, StopRule, first_order_step, run_training
from qlsa_sim.train.task import TrainingTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordConfig:
    """How to train and when to snapshot. Blocks are computed in float64 and stored as ``dtype``."""

    steps: int = 200
    every: int = 50
    lr: float = 0.1
    curvature: CurvatureConfig = CurvatureConfig()
    dtype: str = TraceDtype.FLOAT64

    def __post_init__(self) -> None:
        if self.steps < 0 or self.every < 1:
            raise InputError(f"need steps >= 0 and every >= 1, got steps={self.steps}, every={self.every}")
        if not self.lr > 0:
            raise InputError(f"learning rate must be > 0, got {self.lr}")
        object.__setattr__(self, "dtype", parse(TraceDtype, self.dtype, "storage dtype"))


@dataclass(frozen=True)
class RecordSummary:
    directory: str
    snapshots_written: int
    steps_run: int
    seconds: float
    curvature_seconds: float
    final_loss: float


def snapshot_blocks(task: TrainingTask, batch, config: CurvatureConfig) -> tuple[float, list[BlockData]]:
    """Loss and every curvature block (float64) + gradient of ``task`` on ``batch`` (its first
    ``config.batch`` samples for the blocks)."""
    params = named_params(task.model, torch.float64)
    out = task_curvature(task, params, batch, task.blocks(), config)
    with torch.no_grad():
        loss = float(task.loss(params, batch))
    return loss, out


class TraceHook:
    """Snapshot the blocks every ``every`` steps before the update, skipping steps already recorded."""

    def __init__(self, task: TrainingTask, writer: TraceWriter, config: RecordConfig) -> None:
        self.task, self.writer, self.config = task, writer, config
        self.recorded = set(writer.recorded_steps())
        self.written, self.seconds = 0, 0.0

    def before_update(self, step: int, batch: Any) -> None:
        if step % self.config.every or step in self.recorded:
            return
        t0 = time.perf_counter()
        log.debug("step %d: computing %s curvature blocks", step, self.config.curvature.kind)
        loss, blocks = snapshot_blocks(self.task, batch, self.config.curvature)
        t1 = time.perf_counter()
        metrics = self.task.evaluate(named_params(self.task.model))
        self.writer.write_snapshot(step, blocks, loss=loss, extra=metrics, dtype=self.config.dtype)
        self.recorded.add(step)
        self.written += 1
        self.seconds += time.perf_counter() - t0
        log.info("step %d: snapshot of %d block(s) written (curvature %.1f s, evaluation and writing %.1f s)", step,
                 len(blocks), t1 - t0, time.perf_counter() - t1)

    def at_end(self, step: int, batch: Any) -> None:
        self.before_update(step, batch)


def record_trace(task: TrainingTask, directory: str | Path, config: RecordConfig = RecordConfig(), *,
                 resume: bool = False, overwrite: bool = False, progress: bool = True) -> RecordSummary:
    """Train ``task.model`` with SGD for ``config.steps`` steps; snapshot every ``config.every`` steps.

    A snapshot at step s holds the blocks at the parameters *before* update s, on batch s. Seeded and
    deterministic: a resumed run reproduces the uninterrupted one. ``resume`` on a directory that holds no
    trace is an error (TraceError), not a fresh start."""
    directory = Path(directory)
    c = config.curvature
    identity = {"task": asdict(task.info), "lr": config.lr, "every": config.every, "curvature": c.kind,
                "storage": c.storage, "dtype": config.dtype, "hessian_method": c.method, "curvature_batch": c.batch}
    if resume and not (directory / "manifest.json").is_file():
        raise TraceError(f"{directory}: nothing to resume (no trace was recorded there); drop --resume to start one")
    meta = {"identity": identity, "blocks": [b.to_meta() for b in task.blocks()],
            "torch": torch.__version__, "numpy": np.__version__}
    writer = TraceWriter(directory, meta=meta, resume=resume, overwrite=overwrite, extra_files=(CHECKPOINT,))
    log_beside(directory)  # the CLI's log file, in the trace folder unless given
    hook = TraceHook(task, writer, config)
    opt = torch.optim.SGD(task.model.parameters(), lr=config.lr)
    t0 = time.perf_counter()
    state = run_training(task, opt, first_order_step(task, opt), StopRule(max_steps=config.steps, eval_every=None),
                         directory=directory, identity={"recording": identity}, resume=resume,
                         checkpoint_every=config.every, hooks=(hook,), threads=None, progress=progress,
                         desc=f"record {directory.name}")
    final = state.history[-1]["loss"] if state.history else float("nan")
    return RecordSummary(str(directory), hook.written, config.steps + 1, time.perf_counter() - t0, hook.seconds,
                         final)
