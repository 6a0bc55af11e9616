"""Offline replay: trace -> per block :func:`~qlsa_sim.schedule.pipeline.decide_block` -> decisions table.

The driver reads only the manifest and makes one task per snapshot file (all blocks of one step); a worker
opens only that file, checks it (sha256, dtypes, shapes, finiteness: ``traces/store.py``) and decides its
blocks. Tasks run on any executor of ``core/executors.py`` (in-process, a process pool, Dask). Rows carry
the stable id ``<run>/<step:08d>/<block>``; they are de-duplicated by it and sorted by (step, manifest
order), so the table is the same whatever the executor and the number of workers, except the MEASURED
columns (:func:`is_timing_column`), which are measurements of this run, not results.

The trace is read through fsspec, so it may be a local path or a URL (``file://``, ``s3://``, ...).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qlsa_sim.core.executors import TaskResult, run_tasks
from qlsa_sim.core.names import Solver
from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.errors import InputError, QlsaSimError, TraceError
from qlsa_sim.schedule.pipeline import SchedulePolicy, classical_solve, decide_block
from qlsa_sim.traces.store import (
    READ_ONCE_MAX_BYTES,
    Snapshot,
    TraceMeta,
    check_snapshot_file,
    is_local_fs,
    iter_snapshot_file,
    read_manifest,
    snapshot_id,
    update_row_fields,
    verify_snapshot_file,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayConfig:
    """Replay settings: the scheduling policy (``schedule/pipeline.py``), whether to time real solves per block
    (MEASURED: a dense one, Cholesky if positive definite, else LU; and the best classical solver's, e.g. Woodbury
    on a factor reusing the features' Gram, if that is another), and the BLAS threads."""

    policy: SchedulePolicy = SchedulePolicy()
    measure_classical: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise InputError(f"threads must be >= 1, got {self.threads}")


def replay_snapshot(snap: Snapshot, profile: CalibrationProfile, config: ReplayConfig) -> dict:
    """The decision row of one block (plus the trace's loss and storage, and the measured solves if asked: the dense
    solve's solver and MEASURED seconds, ``matrix_build_measured_s``, the seconds of building the dense matrix it
    needs when the features came from a factor, and ``best_classical_solve_measured_s``, the best classical
    solver's MEASURED seconds, :func:`~qlsa_sim.schedule.pipeline.classical_solve`)."""
    with pinned_threads(config.threads, torch_too=False):
        sb = decide_block(snap.dense, config.policy, profile, run=snap.row.get("run", ""), step=snap.step,
                          block=snap.block, id=snap.id, factor=snap.factor, scale=snap.scale,
                          name=f"{snap.row.get('file')} block {snap.block!r}")
    row = {**sb.decision.to_row(), "loss": snap.loss, "storage": snap.row.get("storage", "dense")}
    f = sb.decision.features
    log.debug("%s: n=%d kappa=%.4g density=%.4g (%s) -> %s; scheduling %.2f s", snap.id, f.n, f.kappa, f.density,
              f.density_method, sb.decision.chosen.solver, sb.decision.scheduling_measured_s)
    if config.measure_classical:
        if not sb.prepared.matrix_built:
            log.debug("%s: building the dense n = %d matrix for the measured solve", snap.id, f.n)
        tb = time.perf_counter()
        with pinned_threads(config.threads, torch_too=False):  # Cholesky reads the lower triangle only
            sb.prepared.lower_matrix() if f.positive_definite else sb.matrix
        row["matrix_build_measured_s"] = time.perf_counter() - tb  # 0 unless built here (from a factor)
        g = np.asarray(snap.gradient, dtype=np.float64)
        direct = Solver.CHOLESKY if f.positive_definite else Solver.LU
        log.debug("%s: measuring a dense %s solve", snap.id, direct)
        with pinned_threads(config.threads, torch_too=False):
            _, row["solve_measured_s"], fallback = classical_solve(sb, direct, g, profile)
        row["measured_solver"] = str(fallback or direct)
        best = sb.decision.best_classical  # the classical side at its best, as it runs here (steelmanned)
        if best is not None and best.solver == row["measured_solver"]:
            row["best_classical_solve_measured_s"] = row["solve_measured_s"]
        elif best is not None:
            log.debug("%s: measuring the best classical solver, %s", snap.id, best.solver)
            with pinned_threads(config.threads, torch_too=False):
                _, row["best_classical_solve_measured_s"], _ = classical_solve(sb, best.solver, g, profile)
    return row


# ------------------------------------------------------------------------------------------ tasks
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
    meta: TraceMeta
    tasks: tuple[FileTask, ...]
    order: Mapping[str, tuple[int, int]] = field(repr=False)  # id -> (step, manifest index)

    @property
    def block_sizes(self) -> tuple[int, ...]:
        """The distinct block sizes n of the trace (from the manifest)."""
        return tuple(sorted({int(r["n"]) for t in self.tasks for r in t.rows}))


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
    for t in tasks:  # a device, a symlink out of the trace or an oversized file refuses the trace before any work
        check_snapshot_file(fs, t.path, t.rows, t.display, missing_ok=True)
    return ReplayPlan(fs, root, run, TraceMeta.from_manifest(man.get("meta"), str(trace_dir)), tasks, order)


def iter_file_snapshots(task: FileTask, verified: bytes | None = None
                        ) -> Iterator[tuple[Mapping[str, Any], Snapshot | TraceError]]:
    """The blocks of one snapshot file (the store's own reader and checks, on the task's file system);
    ``verified``: its bytes, already read and checked (:class:`_Prefetcher`)."""
    return iter_snapshot_file(task.fs, task.path, task.rows, task.run, display=task.display, verify=task.verify,
                              verified=verified)


@dataclass(frozen=True)
class FileResult:
    """What a worker sends back for one file: replayed rows and per-block failures (id, type, message)."""

    file: str
    rows: tuple[dict, ...]
    failures: tuple[tuple[str, str, str], ...] = ()


def replay_file(task: FileTask, profile: CalibrationProfile, config: ReplayConfig, *,
                verified: bytes | None = None) -> FileResult:
    """Replay every block of one snapshot file (the unit of work). A bad block is recorded and the others
    still run; with ``task.strict`` it raises instead (TraceError naming the file). ``verified``: the file's
    bytes, already read and checked."""
    rows, fails = [], []
    for row, snap in iter_file_snapshots(task, verified):
        sid = snapshot_id(task.run, row["step"], row["block"])
        try:
            if isinstance(snap, TraceError):
                raise snap
            rows.append(replay_snapshot(snap, profile, config))
        except QlsaSimError as e:
            if task.strict:
                raise _as_trace_error(task.display, e) from None
            fails.append((sid, type(e).__name__, str(e)))
    return FileResult(task.file, tuple(rows), tuple(fails))


class _Prefetcher:
    """In-process replay of several files: while one file is replayed, a thread reads and verifies the next
    (file reads and sha256 release the GIL), so on a machine with a free core its reading and hashing (0.2 s of a
    65 MB paper-scale snapshot) overlap the features. At most two files' bytes are held. A file the thread
    cannot read or verify is read again by its task, which reports the error as before."""

    def __init__(self, tasks: tuple[FileTask, ...], profile: CalibrationProfile, config: ReplayConfig) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._next = {a.file: b for a, b in zip(tasks, tasks[1:])}
        self._profile, self._config = profile, config
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="qlsa-sim-prefetch")
        self._pending: dict[str, Any] = {}

    @staticmethod
    def _read(task: FileTask) -> bytes | None:
        if not task.verify or task.fs.size(task.path) > READ_ONCE_MAX_BYTES:
            return None  # read in the task as before (no second hash of a file too big to keep)
        return verify_snapshot_file(task.fs, task.path, task.rows, task.display, keep=True)

    def __call__(self, task: FileTask) -> FileResult:
        fut = self._pending.pop(task.file, None)
        nxt = self._next.get(task.file)
        if nxt is not None:
            self._pending[nxt.file] = self._pool.submit(self._read, nxt)
        data = None
        if fut is not None:
            try:
                data = fut.result()
            except Exception:  # noqa: BLE001 - the task reads the file itself and reports its error
                data = None
        return replay_file(task, self._profile, self._config, verified=data)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()


def _as_trace_error(name: str, e: BaseException | str) -> TraceError:
    """A TraceError whose message names the file ``name``."""
    if isinstance(e, TraceError):
        return e
    msg = str(e)
    return TraceError(msg if name in msg else f"{name}: {msg}")


def collect_replay(plan: ReplayPlan, results: list[TaskResult]) -> tuple[pd.DataFrame, list[Failure]]:
    """Merge task results into the decisions table: keyed by id (first copy wins, so a result delivered
    twice adds no row), sorted by (step, manifest order); plus the failures."""
    by_file = {t.file: t for t in plan.tasks}
    rows: dict[str, dict] = {}
    failures: list[Failure] = []
    for res in results:
        task = by_file[res.key]
        if not res.ok:
            failures.append(Failure(task.display, task.ids, res.error_type, res.error))
            continue
        for r in res.value.rows:
            rows.setdefault(r["id"], r)
        for sid, etype, msg in res.value.failures:
            failures.append(Failure(task.display, (sid,), etype, msg))
    ordered = sorted(rows.values(), key=lambda r: plan.order.get(r["id"], (int(r["step"]), 1 << 62)))
    return pd.DataFrame(ordered), failures


def replay_trace(trace_dir: str | Any, profile: CalibrationProfile, config: ReplayConfig = ReplayConfig(), *,
                 executor: str = "inprocess", workers: int | None = None, scheduler_address: str | None = None,
                 strict: bool = False, progress: bool = True, retries: int = 2, verify: bool = True
                 ) -> tuple[pd.DataFrame, list[Failure]]:
    """Replay a trace with one task per snapshot file on the chosen executor.

    Returns the decisions table (one :meth:`BlockDecision.to_row` per replayed block, plus ``loss``,
    ``storage`` and the measured solve; sorted by (step, manifest order)) and the failures (bad files or
    blocks, skipped). With ``strict`` the first failure raises TraceError naming the file, and no new task
    starts."""
    plan = plan_replay(trace_dir, verify=verify, strict=strict)
    prefetch = executor == "inprocess" and len(plan.tasks) > 1
    fn = _Prefetcher(plan.tasks, profile, config) if prefetch else functools.partial(replay_file, profile=profile,
                                                                                      config=config)
    try:
        results = run_tasks(fn, [(t.file, t) for t in plan.tasks], executor=executor, workers=workers,
                            scheduler_address=scheduler_address, retries=retries, progress=progress,
                            desc=f"replay {plan.run}", stop_on_error=strict)
    finally:
        if prefetch:
            fn.close()
    df, failures = collect_replay(plan, results)
    if strict and failures:
        first = next((f for f in failures if f.error_type != "Cancelled"), failures[0])
        raise _as_trace_error(first.file, first.message if first.error_type in _QLSA_ERRORS
                              else f"{first.error_type}: {first.message}")
    return df, failures


_QLSA_ERRORS = ("TraceError", "InputError", "DataError", "CalibrationError", "UnknownNameError",
                "MemoryBudgetError", "QlsaSimError")


def replay(trace_dir: str | Any, profile: CalibrationProfile, config: ReplayConfig = ReplayConfig(), *,
           progress: bool = True) -> pd.DataFrame:
    """:func:`replay_trace` in this process; the first bad snapshot raises."""
    return replay_trace(trace_dir, profile, config, strict=True, progress=progress)[0]


#: Feature fields written back to the manifest by :func:`write_features_to_manifest`.
SAVED_FEATURES = ("n", "nnz", "density", "density_tol", "max_nnz_per_row", "reg_eps", "kappa", "lambda_min",
                  "lambda_max", "kappa_method", "kappa_measured_s")


def write_features_to_manifest(trace_dir: str | Any, decisions: pd.DataFrame) -> None:
    """Store the replay's features as ``feature_*`` fields of a local trace's manifest rows."""
    fs, root, _ = read_manifest(trace_dir)
    if not is_local_fs(fs):
        raise InputError(f"{trace_dir}: saving features needs a local trace directory")
    update_row_fields(root, {(int(r.step), r.block): {f"feature_{k}": getattr(r, k) for k in SAVED_FEATURES}
                             for r in decisions.itertuples()})


def is_timing_column(name: str) -> bool:
    """True for a MEASURED-time column (``*_measured_s``, ``*_seconds``): it differs run to run."""
    return name.endswith("_measured_s") or name.endswith("_seconds")


def drop_timing_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The table without its measured-time columns (for comparing replays)."""
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
