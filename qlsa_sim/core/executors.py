"""Run one function over many keyed items in-process, on a local process pool or on a Dask cluster.

A thin adapter over existing engines, nothing more: :mod:`concurrent.futures` for the process
pool and :mod:`distributed` (optional extra ``pip install .[distributed]``) for clusters. The same
``fn`` runs under all three, and every result carries its item's stable key, so callers merge
results by key whatever the executor, the number of workers or the retries.

Failure semantics (the same in every executor):

* ``fn`` raising a :class:`~qlsa_sim.errors.QlsaSimError` (bad input or data: deterministic) is
  recorded as that item's error at once, without a retry.
* ``fn`` raising anything else is retried up to ``retries`` times, then recorded with its traceback.
* A worker process that dies (OOM kill, segfault, ``os._exit``) is replaced and the tasks it was
  running are re-run, up to ``retries`` times each. Process pool: a dead worker breaks the whole
  ``ProcessPoolExecutor`` (``BrokenProcessPool``); the unfinished tasks are re-submitted on a fresh
  pool. At most ``workers`` tasks are in flight, so the tasks charged with a death are those that
  were running (the pool cannot tell which of them killed the worker; Dask likewise counts a death
  against every task on the dead worker). Dask: the nanny restarts the worker and the scheduler
  re-runs its tasks; a task on ``retries + 1`` dead workers fails with ``KilledWorker``
  (``distributed.scheduler.allowed-failures``, set to ``retries`` on a cluster started here; an
  external scheduler keeps its own setting).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import multiprocessing
import os
import traceback as tb_mod
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from qlsa_sim.core.logs import Progress
from qlsa_sim.errors import InputError, QlsaSimError

log = logging.getLogger(__name__)

EXECUTORS = ("inprocess", "process", "dask")
DASK_EXTRA_HINT = "pip install .[distributed]  (installs dask[distributed])"


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one item: ``value`` on success, else the ``error`` message and its ``error_type``.

    ``status`` is 'ok', 'error' or 'cancelled' (not run because an earlier task failed and
    ``stop_on_error`` was set). ``attempts`` counts runs started (None: the engine does not say,
    as with Dask). ``traceback`` is kept for unexpected exceptions (bugs), not for QlsaSimError.
    """

    key: str
    status: str
    value: Any = None
    error: str = ""
    error_type: str = ""
    attempts: int | None = None
    traceback: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """``"<key>: ok"`` or ``"<key>: <ErrorType>: <message>"``."""
        return f"{self.key}: ok" if self.ok else f"{self.key}: {self.error_type}: {self.error}"


@dataclass(frozen=True)
class _Outcome:
    """What ``_guarded`` sends back: a value, or an expected (QlsaSimError) failure."""

    ok: bool
    value: Any = None
    error_type: str = ""
    error: str = ""


def _guarded(fn: Callable[[Any], Any], arg: Any) -> _Outcome:
    """Run ``fn(arg)`` in a worker; expected failures come back as values (not retried)."""
    try:
        return _Outcome(True, fn(arg))
    except QlsaSimError as e:
        return _Outcome(False, None, type(e).__name__, str(e))


def _from_outcome(key: str, out: _Outcome, attempts: int | None) -> TaskResult:
    if out.ok:
        return TaskResult(key, "ok", out.value, attempts=attempts)
    return TaskResult(key, "error", error=out.error, error_type=out.error_type, attempts=attempts)


def _from_exception(key: str, exc: BaseException, attempts: int | None, tb: str = "") -> TaskResult:
    tb = tb or "".join(tb_mod.format_exception(exc))
    return TaskResult(key, "error", error=str(exc) or repr(exc), error_type=type(exc).__name__,
                      attempts=attempts, traceback=tb)


def _cancelled(key: str) -> TaskResult:
    return TaskResult(key, "cancelled", error="not run: an earlier task failed", error_type="Cancelled",
                      attempts=0)


def _normalize_items(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    pairs = list(items.items()) if isinstance(items, Mapping) else [tuple(p) for p in items]
    keys = [k for k, _ in pairs]
    if any(not isinstance(k, str) for k in keys):
        raise InputError("task keys must be strings (stable ids)")
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise InputError(f"task keys must be unique; {dup!r} appears more than once")
    return pairs


def default_workers() -> int:
    """CPUs this process may use (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(fn: Callable[[Any], Any], items: Mapping[str, Any] | Iterable[tuple[str, Any]], *,
              executor: str = "inprocess", workers: int | None = None, scheduler_address: str | None = None,
              retries: int = 2, progress: bool = True, desc: str = "",
              stop_on_error: bool = False, preload: Sequence[str] = ()) -> list[TaskResult]:
    """Run ``fn(item)`` for every ``(key, item)``; one :class:`TaskResult` per key, in input order.

    ``executor``: 'inprocess' (default, no workers), 'process' (a local ``ProcessPoolExecutor`` of
    ``workers`` forkserver processes, default: the CPUs available), or 'dask' (a
    ``distributed.Client`` on ``scheduler_address``, or a ``LocalCluster`` of ``workers`` processes
    with one thread each, started here and closed at the end). ``fn`` and the items must be
    picklable for the last two (a module-level function, or a ``functools.partial`` of one).
    ``stop_on_error``: after the first failed task, run nothing new (the rest is 'cancelled').
    ``preload``: modules the process pool's server imports once before forking its workers (besides ``fn``'s).
    Progress (``core/logs.py``: a bar on a terminal, log lines elsewhere) counts finished tasks in every executor.
    """
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if not (isinstance(retries, int) and retries >= 0):
        raise InputError(f"retries must be an integer >= 0, got {retries!r}")
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    if scheduler_address and executor != "dask":
        raise InputError("a scheduler address needs --executor dask")
    if scheduler_address and workers is not None:
        raise InputError("give --workers (start a local cluster) or --scheduler-address (use a running one), "
                         "not both")
    pairs = _normalize_items(items)
    client = cluster = None
    if executor == "dask":
        distributed = _import_distributed()  # the clear error without the extra, before anything starts
        if pairs:
            client, cluster = _dask_connect(distributed, workers, scheduler_address, retries)
    try:
        with Progress(len(pairs), desc or f"{executor} tasks", unit="task", enabled=progress) as bar:
            if not pairs:
                return []
            if executor == "inprocess":
                done = _run_inprocess(fn, pairs, retries, bar, stop_on_error)
            elif executor == "process":
                done = _run_process_pool(fn, pairs, workers or default_workers(), retries, bar, stop_on_error,
                                         preload)
            else:
                done = _run_dask(fn, pairs, client, retries, bar, stop_on_error)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return [done.get(k) or _cancelled(k) for k, _ in pairs]


# ---------------------------------------------------------------- in-process
def _run_inprocess(fn, pairs, retries, bar, stop_on_error) -> dict[str, TaskResult]:
    done: dict[str, TaskResult] = {}
    for key, arg in pairs:
        bar.note = f"running {key}"
        for attempt in range(1, retries + 2):
            try:
                res = _from_outcome(key, _guarded(fn, arg), attempt)
                break
            except Exception as e:  # noqa: BLE001 - recorded with its traceback after the retries
                res = _from_exception(key, e, attempt)
        done[key] = res
        bar.update(1, note=f"{key} {res.status}")
        if stop_on_error and not res.ok:
            break
    return done


# ---------------------------------------------------------------- process pool
def _fn_module(fn: Callable[[Any], Any]) -> str | None:
    while isinstance(fn, functools.partial):
        fn = fn.func
    mod = getattr(fn, "__module__", None)
    return mod if mod and mod != "__main__" else None


def _pool_context(fn: Callable[[Any], Any], preload: Sequence[str]):
    """'forkserver' workers (POSIX): each is forked from one server process that imported ``fn``'s module and
    ``preload`` once, so N workers do not each re-import them (Qualtran alone takes ~2 s) and none is a fork of
    this possibly threaded process; 'spawn' where there is no forkserver (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX
    ctx = multiprocessing.get_context("forkserver")
    mods = [m for m in (_fn_module(fn), *preload) if m]
    ctx.set_forkserver_preload(list(dict.fromkeys(mods)))
    return ctx


def start_pool_server(fn: Callable[[Any], Any], preload: Sequence[str] = ()) -> None:
    """Start the process pool's forkserver now, so that its imports (``fn``'s module and ``preload``) run while
    the caller does other work; a later ``run_tasks(..., executor='process')`` forks its workers from it."""
    ctx = _pool_context(fn, preload)
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _run_process_pool(fn, pairs, workers, retries, bar, stop_on_error, preload=()) -> dict[str, TaskResult]:
    """concurrent.futures pool of forkserver workers (:func:`_pool_context`); a broken pool is replaced and its
    unfinished tasks re-submitted."""
    args = dict(pairs)
    pending = deque(k for k, _ in pairs)
    attempts = {k: 0 for k in args}
    done: dict[str, TaskResult] = {}
    ctx = _pool_context(fn, preload)
    stopping = False

    def finish(key: str, res: TaskResult) -> None:
        nonlocal stopping
        done[key] = res
        bar.update(1, note=f"{key} {res.status}")
        if stop_on_error and not res.ok:
            stopping = True

    while pending and not stopping:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        inflight: dict[Any, str] = {}
        broken = interrupted = False
        try:
            while (pending and not stopping) or inflight:
                while pending and not stopping and not broken and len(inflight) < workers:
                    key = pending.popleft()
                    try:
                        fut = pool.submit(_guarded, fn, args[key])
                    except BrokenProcessPool:
                        pending.appendleft(key)
                        broken = True
                        break
                    attempts[key] += 1
                    inflight[fut] = key
                if not inflight:
                    break
                ready, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in ready:
                    key = inflight.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if attempts[key] > retries:
                            finish(key, TaskResult(key, "error", error=f"the worker process running it died "
                                                   f"{attempts[key]} times", error_type="WorkerDied",
                                                   attempts=attempts[key]))
                        else:
                            pending.appendleft(key)
                        continue
                    except Exception as e:  # noqa: BLE001 - fn raised something unexpected: retry
                        if attempts[key] <= retries:
                            pending.append(key)
                        else:
                            finish(key, _from_exception(key, e, attempts[key]))
                        continue
                    finish(key, _from_outcome(key, out, attempts[key]))
                if broken and not inflight:
                    break  # every future of the broken pool has reported: start a fresh pool
        except BaseException:  # Ctrl-C: do not wait for the running tasks
            interrupted = True
            raise
        finally:
            pool.shutdown(wait=not (broken or interrupted), cancel_futures=True)
    return done


# ---------------------------------------------------------------- dask
def _import_distributed():
    try:
        import distributed
    except ImportError as e:
        raise QlsaSimError(f"the dask executor needs the optional extra: {DASK_EXTRA_HINT} ({e})") from None
    return distributed


def _dask_connect(distributed, workers, scheduler_address, retries):
    """A client on ``scheduler_address``, or on a LocalCluster started here; prints the dashboard."""
    import dask

    cluster = None
    if scheduler_address:
        try:
            client = distributed.Client(scheduler_address, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise QlsaSimError(f"cannot reach the Dask scheduler at {scheduler_address} ({e})") from None
    else:
        with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
            cluster = distributed.LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                               processes=True, dashboard_address=":0")
        try:
            client = distributed.Client(cluster)
        except BaseException:
            cluster.close()
            raise
    n = len(client.scheduler_info().get("workers", {}))
    note = "" if importlib.util.find_spec("bokeh") else " (install bokeh>=3.1 to serve it)"
    log.info("dask: %d worker(s) at %s; dashboard %s%s", n, client.scheduler.address, client.dashboard_link, note)
    return client, cluster


def _run_dask(fn, pairs, client, retries, bar, stop_on_error) -> dict[str, TaskResult]:
    import distributed

    run = uuid.uuid4().hex[:10]
    name = getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "task")
    futs = {}
    for i, (key, arg) in enumerate(pairs):
        f = client.submit(_guarded, fn, arg, key=f"qlsa-{name}-{run}-{i}", retries=retries, pure=False)
        futs[f.key] = (key, f)
    done: dict[str, TaskResult] = {}
    try:
        for f in distributed.as_completed([f for _, f in futs.values()]):
            key = futs[f.key][0]
            if f.status == "finished":
                res = _from_outcome(key, f.result(), None)
            elif f.status == "cancelled":
                continue
            else:
                exc = f.exception()
                tb = "".join(tb_mod.format_tb(f.traceback())) if f.traceback() is not None else ""
                res = _from_exception(key, exc, None, tb)
            done[key] = res
            bar.update(1, note=f"{key} {res.status}")
            if stop_on_error and not res.ok:
                break
    finally:
        client.cancel([f for _, f in futs.values()])  # stop what is left; release results held by the cluster
    return done
