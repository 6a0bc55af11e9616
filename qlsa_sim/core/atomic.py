"""Crash-safe file writes (temporary name, flush, fsync, rename, fsync the folder) and the one JSON rule.

The JSON rule (:func:`to_jsonable`, used for every JSON file the toolkit writes): numpy scalars become
Python numbers, tuples lists, frozen dataclasses dicts, and non-finite floats the strings ``"nan"``,
``"inf"`` and ``"-inf"`` (JSON has no such numbers); :func:`json_float` reads them back. Floats keep
full precision (``repr``), never a fixed number of decimals.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: Names of temporaries: ``.<name>.tmp-<pid>`` (atomic writes), ``.qlsa-staging-<pid>`` (output sets,
#: ``core/outputs.py``), ``.qlsa-probe-<pid>-*`` (writability probes); the pid says whose they are.
_TEMP = re.compile(r"^\..+\.tmp-(\d+)$|^\.qlsa-staging-(\d+)$|^\.qlsa-probe-(\d+)-.*$")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs here (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _temp_pid(name: str) -> int | None:
    m = _TEMP.match(name)
    if not m:
        return None
    return int(next(g for g in m.groups() if g is not None))


def remove_stale_temporaries(directory: str | Path, names: Iterable[str] | None = None) -> list[Path]:
    """Remove temporary files and staging folders in ``directory`` (only those in ``names`` if given) whose
    process is gone; returns what was removed. Missing folders and races are ignored."""
    directory = Path(directory)
    try:
        entries = list(names) if names is not None else os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in entries:
        pid = _temp_pid(name)
        if pid is None or pid_alive(pid):
            continue
        p = directory / name
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _remove_stale_tmp(path: Path) -> None:
    """Remove ``.<name>.tmp-<pid>`` files of ``path`` left by processes that are gone (killed mid-write)."""
    try:
        names = [p.name for p in path.parent.glob(f".{glob.escape(path.name)}.tmp-*")]
    except OSError:
        return
    if names:
        remove_stale_temporaries(path.parent, names)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``; on success rename it to ``path``.

    A crash at any point leaves either the old ``path`` or the new one, never a partial file
    (POSIX rename is atomic within a file system); temporary files of ``path`` left by killed processes are
    removed first.
    """
    path = Path(path)
    _remove_stale_tmp(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def to_jsonable(obj: Any) -> Any:
    """``obj`` with only JSON types, by the module's one rule (non-finite floats as strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, str):
        return str(obj)  # plain str (a StrEnum member becomes its value)
    if isinstance(obj, bool) or obj is None:
        return obj
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:  # numpy scalar
        obj = obj.item()
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ("nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf"))
    if isinstance(obj, Path):
        return str(obj)
    return obj


def json_float(v: Any) -> float:
    """A float written by :func:`to_jsonable` (a number, ``"nan"``, ``"inf"``, ``"-inf"``, or null as NaN)."""
    if v is None:
        return math.nan
    return float(v)


def identity_key(obj: Any) -> str:
    """The canonical text two run or trace identities are compared by: JSON by the one rule, keys sorted, and a
    file recorded with its ``sha256`` known by that hash alone (its ``path`` says where it was, not what it is,
    so a moved calibration file still resumes the runs made with it)."""
    def strip(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if not (k == "path" and "sha256" in o)}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o

    return json.dumps(strip(to_jsonable(obj)), sort_keys=True, allow_nan=False)


def json_dumps(obj: Any, *, indent: int | None = 1) -> str:
    """``obj`` as JSON text by the one rule."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON by the one rule (:func:`to_jsonable`)."""
    data = json_dumps(obj).encode() + b"\n"
    return atomic_write(path, lambda f: f.write(data))
