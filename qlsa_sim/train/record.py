"""Record a Hessian trace while training with SGD (model-agnostic; see train/task.py)."""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from qlsa_sim.curvature.blocks import named_params
from qlsa_sim.curvature.compute import CURVATURE_KINDS, METHODS, STORAGES, block_curvature
from qlsa_sim.errors import InputError
from qlsa_sim.traces.store import BlockData, TraceWriter
from qlsa_sim.train.task import TrainingTask

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class RecordConfig:
    """How to train and when to snapshot. Blocks are computed in float64 and stored as ``dtype``."""

    steps: int = 200
    every: int = 50
    lr: float = 0.1
    curvature: str = "exact"               # exact | ggn | fisher (curvature/compute.py)
    storage: str = "dense"                 # dense | factor
    hessian_method: str = "auto"           # auto (closed form where exact) | hessian | hvp
    dtype: str = "float64"
    memory_budget_gb: float = 8.0
    hvp_chunk: int = 128                  # unit vectors per batched HVP call (method "hvp")
    curvature_batch: int | None = None    # compute blocks on the first k samples of the batch

    def __post_init__(self) -> None:
        if self.steps < 0 or self.every < 1:
            raise InputError(f"need steps >= 0 and every >= 1, got steps={self.steps}, every={self.every}")
        if not self.lr > 0:
            raise InputError(f"learning rate must be > 0, got {self.lr}")
        for value, known, what in ((self.hessian_method, METHODS, "Hessian method"),
                                   (self.curvature, CURVATURE_KINDS, "curvature kind"),
                                   (self.storage, STORAGES, "storage")):
            if value not in known:
                raise InputError(f"unknown {what} {value!r}; known: {', '.join(known)}")
        if self.hvp_chunk < 1 or (self.curvature_batch is not None and self.curvature_batch < 1):
            raise InputError("hvp_chunk and curvature_batch must be >= 1")
        if self.dtype not in _DTYPES:
            raise InputError(f"unknown storage dtype {self.dtype!r}; known: {', '.join(_DTYPES)}")


@dataclass(frozen=True)
class RecordSummary:
    directory: str
    snapshots_written: int
    steps_run: int
    seconds: float
    curvature_seconds: float
    final_loss: float


def batch_head(batch, k: int | None):
    """The first ``k`` samples of a batch (tuple of tensors, or an object with ``.head(k)``)."""
    if k is None:
        return batch
    if hasattr(batch, "head"):
        return batch.head(k)
    return tuple(t[:k] for t in batch)


def snapshot_blocks(task: TrainingTask, batch, config: "RecordConfig") -> tuple[float, list[BlockData]]:
    """Loss and every curvature block (float64) + gradient of ``task`` on ``batch``."""
    params = named_params(task.model, torch.float64)
    out = [block_curvature(task, params, batch, b, kind=config.curvature, storage=config.storage,
                           method=config.hessian_method, chunk=config.hvp_chunk,
                           budget_bytes=config.memory_budget_gb * 2**30)
           for b in task.blocks()]
    with torch.no_grad():
        loss = float(task.loss(params, batch))
    return loss, out


def record_trace(task: TrainingTask, directory: str | Path, config: RecordConfig = RecordConfig(), *,
                 resume: bool = False, overwrite: bool = False, progress: bool = True) -> RecordSummary:
    """Train ``task.model`` with SGD for ``config.steps`` steps; snapshot every ``config.every`` steps.

    A snapshot at step s holds the blocks at the parameters *before* update s, on batch s.
    Seeded and deterministic: a resumed run reproduces the uninterrupted one.
    """
    identity = {"task": asdict(task.info), "lr": config.lr, "every": config.every,
                "curvature": config.curvature, "storage": config.storage, "dtype": config.dtype,
                "hessian_method": config.hessian_method,
                "curvature_batch": config.curvature_batch}
    meta = {"identity": identity, "blocks": [b.to_meta() for b in task.blocks()],
            "torch": torch.__version__, "numpy": np.__version__}
    writer = TraceWriter(directory, meta=meta, resume=resume, overwrite=overwrite)
    recorded = set(writer.recorded_steps())
    start = 0
    if resume:
        ckpt = writer.load_checkpoint()
        if ckpt is not None:
            start, saved = ckpt
            with torch.no_grad():
                for name, p in task.model.named_parameters():
                    p.copy_(torch.from_numpy(saved[name]))
    opt = torch.optim.SGD(task.model.parameters(), lr=config.lr)
    batches = itertools.islice(task.batches(), start, None)
    t0, t_curv, written, loss_val = time.perf_counter(), 0.0, 0, float("nan")
    bar = tqdm(range(start, config.steps + 1), desc=f"record {Path(directory).name}", unit="step",
               disable=not progress, leave=False)
    for step in bar:
        batch = next(batches)
        if step % config.every == 0 and step not in recorded:
            tc = time.perf_counter()
            loss_val, blocks = snapshot_blocks(task, batch_head(batch, config.curvature_batch), config)
            metrics = task.evaluate(named_params(task.model))
            writer.write_snapshot(step, blocks, loss=loss_val, extra=metrics, dtype=config.dtype)
            writer.save_checkpoint(step, {k: v.numpy() for k, v in named_params(task.model).items()})
            t_curv += time.perf_counter() - tc
            written += 1
            bar.set_postfix(loss=f"{loss_val:.4f}", snapshots=written)
        if step == config.steps:
            break
        opt.zero_grad()
        loss = task.loss(dict(task.model.named_parameters()), batch)
        loss.backward()
        opt.step()
        loss_val = float(loss.detach())
    bar.close()
    return RecordSummary(str(directory), written, config.steps + 1 - start,
                         time.perf_counter() - t0, t_curv, loss_val)
