"""Task functions of the executor tests. They live in a module of their own, so pool and Dask workers can
import them by name, and each is written once."""

from __future__ import annotations

import os
from pathlib import Path

from qlsa_sim.errors import TraceError
from qlsa_sim.schedule.replay import replay_file


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise TraceError(f"item {x} is bad")
    return x * x


def flaky(arg):
    """Raises a non-QlsaSimError the first ``fails`` times it is called for an item (counted on disk);
    a negative item is bad for good (TraceError)."""
    marker_dir, x, fails = arg
    marker = Path(marker_dir) / f"flaky-{x}"
    n = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(n + 1))
    if n < fails:
        raise RuntimeError(f"transient failure {n + 1} of item {x}")
    if x < 0:
        raise TraceError(f"item {x} is bad")
    return x * x


def die_once(arg):
    """Kills its worker process the first time it sees ``x == victim`` (a marker file makes the retry pass)."""
    marker_dir, x, victim = arg
    marker = Path(marker_dir) / f"died-{x}"
    if x == victim and not marker.exists():
        marker.touch()
        os._exit(1)
    return x * x


def always_die(arg):
    """Kills its worker process every time it sees ``x == victim`` (leaving a marker per death)."""
    marker_dir, x, victim = arg
    if x == victim:
        (Path(marker_dir) / f"death-{os.getpid()}").touch()
        os._exit(1)
    return x * x


def die_then_replay(task, marker_dir, victim, **kw):
    """replay_file, but the first time it meets ``victim`` it kills its worker process."""
    marker = Path(marker_dir) / "died"
    if task.file == victim and not marker.exists():
        marker.touch()
        os._exit(1)
    return replay_file(task, **kw)


def hammer_cache(arg):
    """Writes and reads one disk-cache entry many times (the concurrent-writers test); returns the misses seen."""
    from qlsa_sim.core.cache import DiskCache

    root, rounds = arg
    os.environ["QLSA_SIM_CACHE_DIR"] = root
    cache, key, misses = DiskCache("hammer"), {"k": 1}, 0
    for i in range(rounds):
        cache.put(key, {"value": list(range(200))})
        misses += cache.get(key) is None
    return misses
