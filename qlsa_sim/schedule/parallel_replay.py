"""Replay split by snapshot file, on any executor of :mod:`qlsa_sim.core.executors`.

The driver reads only the manifest and makes one task per snapshot file (all blocks of one step);
a worker opens only that file, checks it (sha256, dtypes, shapes, finiteness, as
:class:`~qlsa_sim.traces.store.TraceReader` does) and replays its blocks with
:func:`~qlsa_sim.schedule.replay.replay_snapshot`. Rows are keyed by the stable id
``<run>/<step>/<block>``, de-duplicated by it and sorted by (step, manifest order), so the table is
the same whatever the executor and the number of workers, except the measured-time columns
(:data:`TIMING_COLUMNS`, see :func:`drop_timing_columns`), which differ from run to run: they are
measurements of this run, not results.

The trace is read through fsspec, so ``trace_dir`` may be a local path or a URL such as
``file:///shared/traces/run1`` (or any fsspec protocol whose file system the workers can reach).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from qlsa_sim.cost.calibrate import CalibrationProfile, load_profile
from qlsa_sim.errors import InputError, QlsaSimError, TraceError
from qlsa_sim.core.executors import EXECUTORS, TaskResult, run_tasks
from qlsa_sim.schedule.replay import ReplayConfig, replay_snapshot, write_features_to_manifest
from qlsa_sim.traces.store import Snapshot, is_local_fs, iter_snapshot_file, read_manifest, snapshot_id

#: Columns that are measurements of this run (seconds), not results: they differ run to run.
#: (Also dropped by :func:`drop_timing_columns`: any other ``*_seconds`` or ``measured*_s`` column.)
TIMING_COLUMNS = ("features_seconds", "kappa_seconds", "measured_classical_s")
#: Feature fields written back to the manifest by ``save_features`` (as ``replay(save_features=True)``).
@dataclass(frozen=True)
class Failure:
    """A snapshot file (or some blocks of it) that could not be replayed, and why."""

    file: str
    ids: tuple[str, ...]
    error_type: str
    message: str


@dataclass(frozen=True)
class FileTask:
    """One unit of work: the blocks of one snapshot file. Carries the fsspec file system (picklable)."""

    fs: Any = field(repr=False)
    root: str
    file: str
    run: str
    rows: tuple[Mapping[str, Any], ...] = field(repr=False)
    verify: bool = True
    strict: bool = False

    @property
    def path(self) -> str:
        return f"{self.root.rstrip('/')}/{self.file}"

    @property
    def display(self) -> str:
        """The file's name in messages: a plain path on local disk, else the URL."""
        return self.path if is_local_fs(self.fs) else self.fs.unstrip_protocol(self.path)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(snapshot_id(self.run, r["step"], r["block"]) for r in self.rows)


@dataclass(frozen=True)
class ReplayPlan:
    """The tasks of a replay and the order of its rows; from :func:`plan_replay`."""

    fs: Any = field(repr=False)
    root: str
    run: str
    tasks: tuple[FileTask, ...]
    order: Mapping[str, tuple[int, int]] = field(repr=False)  # id -> (step, manifest index)


def plan_replay(trace_dir: str | Any, *, verify: bool = True, strict: bool = False) -> ReplayPlan:
    """One :class:`FileTask` per snapshot file, in manifest order (the driver reads only the manifest)."""
    fs, root, man = read_manifest(trace_dir)
    run = man.get("run") or root.rstrip("/").rsplit("/", 1)[-1]
    by_file: dict[str, list[dict]] = {}
    order: dict[str, tuple[int, int]] = {}
    for i, r in enumerate(man["rows"]):
        by_file.setdefault(r["file"], []).append(r)
        order.setdefault(snapshot_id(run, r["step"], r["block"]), (int(r["step"]), i))
    tasks = tuple(FileTask(fs, root, f, run, tuple(rs), verify, strict) for f, rs in by_file.items())
    return ReplayPlan(fs, root, run, tasks, order)


def iter_file_snapshots(task: FileTask) -> Iterator[tuple[Mapping[str, Any], Snapshot | TraceError]]:
    """The blocks of one snapshot file (the store's own reader and checks, on the task's file system)."""
    return iter_snapshot_file(task.fs, task.path, task.rows, task.run, display=task.display, verify=task.verify)


@dataclass(frozen=True)
class FileResult:
    """What a worker sends back for one file: replayed rows and per-block failures (id, type, message)."""

    file: str
    rows: tuple[dict, ...]
    failures: tuple[tuple[str, str, str], ...] = ()


def replay_file(task: FileTask, profile: CalibrationProfile, config: ReplayConfig) -> FileResult:
    """Replay every block of one snapshot file (the unit of work of a parallel replay).

    A bad block is recorded and the others still run; with ``task.strict`` it raises instead
    (TraceError naming the file).
    """
    rows, fails = [], []
    for row, snap in iter_file_snapshots(task):
        sid = snapshot_id(task.run, row["step"], row["block"])
        try:
            if isinstance(snap, TraceError):
                raise snap
            rows.append(replay_snapshot(snap, profile, config)[1])
        except QlsaSimError as e:
            if task.strict:
                raise _as_trace_error(task.display, e) from None
            fails.append((sid, type(e).__name__, str(e)))
    return FileResult(task.file, tuple(rows), tuple(fails))


_QLSA_ERRORS = ("TraceError", "InputError", "DataError", "CalibrationError", "UnknownNameError",
                "MemoryBudgetError", "QlsaSimError")


def _as_trace_error(name: str, e: BaseException | str) -> TraceError:
    """A TraceError whose message names the file ``name``."""
    if isinstance(e, TraceError):
        return e
    msg = str(e)
    return TraceError(msg if name in msg else f"{name}: {msg}")


def collect_replay(plan: ReplayPlan, results: list[TaskResult]) -> tuple[pd.DataFrame, list[Failure]]:
    """Merge task results into the decisions table: keyed by id (first copy wins, so a result
    delivered twice adds no row), sorted by (step, manifest order); plus the failures summary."""
    by_file = {t.file: t for t in plan.tasks}
    rows: dict[str, dict] = {}
    failures: list[Failure] = []
    for res in results:
        task = by_file[res.key]
        if not res.ok:
            failures.append(Failure(task.display, task.ids, res.error_type, res.error))
            continue
        value: FileResult = res.value
        for r in value.rows:
            rows.setdefault(r["id"], r)
        for sid, etype, msg in value.failures:
            failures.append(Failure(task.display, (sid,), etype, msg))
    ordered = sorted(rows.values(), key=lambda r: plan.order.get(r["id"], (int(r["step"]), 1 << 62)))
    return pd.DataFrame(ordered), failures


def replay_parallel(trace_dir: str | Any, profile_path: str | Any, config: ReplayConfig = ReplayConfig(), *,
                    executor: str = "inprocess", workers: int | None = None, scheduler_address: str | None = None,
                    strict: bool = False, progress: bool = True, retries: int = 2, verify: bool = True,
                    save_features: bool = False) -> tuple[pd.DataFrame, list[Failure]]:
    """Replay a trace with one task per snapshot file on the chosen executor.

    Returns the decisions table (the columns of :func:`~qlsa_sim.schedule.replay.replay`, one row
    per replayed block, sorted by (step, manifest order)) and the failures (bad files or blocks,
    skipped). With ``strict`` the first failure raises TraceError naming the file, and no new task
    starts. ``profile_path`` may also be a loaded :class:`CalibrationProfile`.
    ``save_features`` writes the features back into a local trace's manifest.
    """
    profile = profile_path if isinstance(profile_path, CalibrationProfile) else load_profile(profile_path)
    plan = plan_replay(trace_dir, verify=verify, strict=strict)
    if save_features and not is_local_fs(plan.fs):
        raise InputError(f"{trace_dir}: --save-features needs a local trace directory")
    fn = functools.partial(replay_file, profile=profile, config=config)
    results = run_tasks(fn, [(t.file, t) for t in plan.tasks], executor=executor, workers=workers,
                        scheduler_address=scheduler_address, retries=retries, progress=progress,
                        desc=f"replay {plan.run}", stop_on_error=strict)
    df, failures = collect_replay(plan, results)
    if strict and failures:
        first = next((f for f in failures if f.error_type != "Cancelled"), failures[0])
        raise _as_trace_error(first.file, first.message if first.error_type in _QLSA_ERRORS
                              else f"{first.error_type}: {first.message}")
    if save_features and len(df):
        write_features_to_manifest(plan.root, df)
    return df, failures


def is_timing_column(name: str) -> bool:
    """True for a measured-time column (differs run to run): :data:`TIMING_COLUMNS`, ``*_seconds``,
    ``measured*_s``."""
    return name in TIMING_COLUMNS or name.endswith("_seconds") or (name.startswith("measured") and name.endswith("_s"))


def drop_timing_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The table without its measured-time columns (for comparing replays: timings differ run to run)."""
    return df.drop(columns=[c for c in df.columns if is_timing_column(str(c))])


def format_failures(failures: list[Failure]) -> str:
    """A short summary: one line per failed file (or block) with the reason."""
    if not failures:
        return "no failures"
    lines = [f"{len(failures)} failure(s); skipped:"]
    for f in failures:
        what = f.ids[0] if len(f.ids) == 1 else f"{len(f.ids)} blocks"
        lines.append(f"  {f.file} ({what}): {f.message}")
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI
def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """Add --executor, --workers, --scheduler-address, --strict to a subcommand's parser."""
    g = parser.add_argument_group("parallel execution")
    g.add_argument("--executor", choices=EXECUTORS, default="inprocess",
                   help="inprocess (default) | process (local process pool) | dask (needs pip install .[distributed])")
    g.add_argument("--workers", type=int, default=None,
                   help="process pool size, or the size of a Dask LocalCluster started for you (default: CPUs)")
    g.add_argument("--scheduler-address", default=None, metavar="tcp://HOST:PORT",
                   help="use a running Dask scheduler (implies --executor dask)")
    g.add_argument("--strict", action="store_true", help="stop at the first bad snapshot instead of skipping it")


def parallel_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`replay_parallel` from the options of :func:`add_parallel_options`."""
    executor = "dask" if args.scheduler_address else args.executor
    return {"executor": executor, "workers": args.workers, "scheduler_address": args.scheduler_address,
            "strict": args.strict}
