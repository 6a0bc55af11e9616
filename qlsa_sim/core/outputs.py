"""Where commands write: output paths checked before any work, a command's files written as one set, and the
temporary files of dead processes removed.

* :func:`check_output_dir` / :func:`check_output_file`: refuse (InputError naming the flag) an output that is an
  existing file where a folder is needed (or the reverse), or a place that cannot be written; nothing is created.
* :func:`safe_name` / :func:`inside`: a name read from a file (a trace's run name, ...) becomes a path only as one
  plain component inside a chosen folder, never ``..``, an absolute path or a path with separators.
* :class:`OutputSet` (:func:`output_set`): a command's outputs as a set. *Staged* (the default): the command
  writes into a hidden staging folder inside the target; at the end its files are moved in under an
  ``INCOMPLETE`` marker, files of the previous set that the new one lacks are removed, and the marker goes last.
  A run killed while writing leaves the previous complete set (and a staging folder the next run removes); one
  killed while moving leaves the folder marked ``INCOMPLETE`` until a rerun replaces it. *Marked* (for
  commands that write in place, e.g. ``reproduce`` beside its resumable ``runs/``): the marker is written
  first and removed last.
* :func:`remove_stale_temporaries`: ``.<name>.tmp-<pid>`` files (:func:`qlsa_sim.core.atomic.atomic_write`) and
  staging folders whose process is gone.
* :func:`write_csv`, :func:`write_text`, :func:`save_figure_file`: single files written atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import fields, is_dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qlsa_sim.core.atomic import _fsync_dir, atomic_write, atomic_write_json, remove_stale_temporaries
from qlsa_sim.errors import InputError

MARKER = "INCOMPLETE"
RECORD = ".qlsa-outputs-{command}.json"
STAGING_PREFIX = ".qlsa-staging-"
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


# ------------------------------------------------------------------------------------------ names
def safe_name(text: Any, what: str) -> str:
    """``text`` if it is usable as one path component (no separators, not ``.``/``..``, no control characters,
    at most 255 bytes); InputError naming ``what`` otherwise."""
    if not isinstance(text, str) or not text or text in (".", "..") or _BAD_NAME.search(text) \
            or len(text.encode("utf-8", "surrogateescape")) > 255:
        raise InputError(f"{what} {text!r} is not a plain name (no '/', '\\', '..', control characters; "
                         "1 to 255 bytes)")
    return text


def inside(base: str | Path, name: Any, what: str) -> Path:
    """``base / name`` for a name read from a file: one plain component (:func:`safe_name`), so the path stays
    inside ``base``."""
    return Path(base) / safe_name(name, what)


def is_within(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or a path below it."""
    p, r = os.path.realpath(path), os.path.realpath(root)
    return p == r or p.startswith(r.rstrip(os.sep) + os.sep)


# ------------------------------------------------------------------------------------------ checks
def _nearest_existing(p: Path) -> Path:
    p = Path(os.path.abspath(p))
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _probe_writable(directory: Path, shown: str) -> None:
    try:
        d = tempfile.mkdtemp(prefix=f".qlsa-probe-{os.getpid()}-", dir=directory)
    except OSError as e:
        raise InputError(f"{shown}: cannot write in {directory} ({e.strerror or e})") from None
    os.rmdir(d)


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """``path`` as an output folder: refused if it exists and is not a folder, or if it (or the nearest
    folder above it that exists) cannot be written. Creates nothing."""
    p = Path(path)
    shown = f"{what} {p}"
    if os.path.lexists(p) and not p.is_dir():
        raise InputError(f"{shown}: exists and is not a folder")
    anc = _nearest_existing(p)
    if not anc.is_dir():
        raise InputError(f"{shown}: {anc} is not a folder")
    _probe_writable(anc, shown)
    return p


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` as an output file: refused if it is an existing folder or its folder cannot be written."""
    p = Path(path)
    if str(path).endswith(("/", os.sep)) or p.is_dir():
        raise InputError(f"{what} {p}: is a folder, a file name is needed")
    if os.path.lexists(p) and not p.is_file():
        raise InputError(f"{what} {p}: exists and is not a regular file")
    check_output_dir(p.parent if str(p.parent) else Path("."), what=f"{what} {p}: folder")
    return p


def check_input_dir(path: str | Path, what: str, error: type[Exception] = InputError) -> Path:
    """``path`` as an existing folder to read from (``error`` naming ``what`` otherwise)."""
    p = Path(path)
    if not p.exists():
        raise error(f"{what} {p}: not found")
    if not p.is_dir():
        raise error(f"{what} {p}: not a folder")
    return p


# ------------------------------------------------------------------------------------------ temporaries
# ------------------------------------------------------------------------------------------ output sets
def _files_under(root: Path, skip: Iterable[str] = ()) -> dict[str, tuple[int, int, int]]:
    """Relative path -> (inode, size, mtime_ns) of the regular files under ``root``, hidden entries and
    the top-level names in ``skip`` left out."""
    skip = set(skip)
    out: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        top = dirnames if rel_dir == "." else None
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not (top is not None and d in skip)]
        for f in filenames:
            rel = f if rel_dir == "." else os.path.join(rel_dir, f)
            if f.startswith(".") or (rel_dir == "." and (f in skip or f == MARKER)):
                continue
            st = os.stat(os.path.join(dirpath, f))
            out[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


class OutputSet:
    """A command's output files in ``directory``, written as a set (module docstring). Use :func:`output_set`."""

    def __init__(self, directory: str | Path, command: str, *, staged: bool = True, keep: Iterable[str] = (),
                 what: str = "--out") -> None:
        self.directory, self.command, self.staged = Path(directory), command, staged
        self.keep, self.what = tuple(keep), what
        self.path = self.directory
        self.files: tuple[str, ...] = ()
        self._before: dict[str, tuple[int, int, int]] = {}

    @property
    def marker(self) -> Path:
        return self.directory / MARKER

    @property
    def record(self) -> Path:
        return self.directory / RECORD.format(command=self.command)

    def __enter__(self) -> "OutputSet":
        check_output_dir(self.directory, self.what)
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.directory)
        if self.staged:
            self.path = self.directory / f"{STAGING_PREFIX}{os.getpid()}"
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir()
        else:
            self._before = _files_under(self.directory, self.keep)
            self._mark()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.commit()
        elif self.staged:
            shutil.rmtree(self.path, ignore_errors=True)  # the previous set stays as it was
        return False

    def final(self, obj: Any) -> Any:
        """``obj`` with every path inside the staging folder mapped to where it ends up (paths, or tuples,
        lists, dicts and dataclasses holding them)."""
        if not self.staged:
            return obj
        if isinstance(obj, Path):
            try:
                return self.directory / obj.relative_to(self.path)
            except ValueError:
                return obj
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.final(v) for v in obj)
        if isinstance(obj, dict):
            return {k: self.final(v) for k, v in obj.items()}
        if is_dataclass(obj) and not isinstance(obj, type):
            return replace(obj, **{f.name: self.final(getattr(obj, f.name)) for f in fields(obj) if f.init})
        return obj

    def _mark(self) -> None:
        text = (f"qlsa-sim {self.command} (process {os.getpid()}) started writing this folder at "
                f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} and did not finish: its files may "
                "mix old, new and partial ones. Rerun the command to replace them.\n")
        atomic_write(self.marker, lambda f: f.write(text.encode()))

    def _previous(self) -> list[str]:
        try:
            files = json.loads(self.record.read_text()).get("files", [])
        except (OSError, ValueError, AttributeError):
            return []
        return [f for f in files if isinstance(f, str)]

    def commit(self) -> None:
        """Move the staged files in (or take the files written in place) and drop what the previous set had
        that this one lacks; the ``INCOMPLETE`` marker covers the whole change."""
        if self.staged:
            new = sorted(_files_under(self.path))
            self._mark()
            for rel in new:
                dest = self.directory / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.path / rel, dest)
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            after = _files_under(self.directory, self.keep)
            new = sorted(rel for rel, sig in after.items() if self._before.get(rel) != sig)
        for rel in self._previous():
            p = self.directory / rel
            if rel not in new and is_within(p, self.directory) and p.is_file():
                p.unlink()
        self.files = tuple(new)
        atomic_write_json(self.record, {"command": self.command, "files": list(new),
                                        "written": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        _fsync_dir(self.directory)
        self.marker.unlink(missing_ok=True)


def output_set(directory: str | Path, command: str, *, staged: bool = True, keep: Iterable[str] = (),
               what: str = "--out") -> OutputSet:
    """A context manager writing ``command``'s outputs in ``directory`` as one set (:class:`OutputSet`).

    Staged: write into ``s.path`` and map returned paths with ``s.final(...)``. Marked (``staged=False``): write
    into ``directory`` itself; ``keep`` names top-level entries that are not part of the set (e.g. ``runs``)."""
    return OutputSet(directory, command, staged=staged, keep=keep, what=what)


# ------------------------------------------------------------------------------------------ atomic files
def write_csv(df, path: str | Path) -> Path:
    """``df.to_csv(path, index=False)`` written atomically (full precision: pandas writes floats by repr)."""
    return atomic_write(path, lambda f: df.to_csv(f, index=False))


def write_text(path: str | Path, text: str) -> Path:
    """``path.write_text(text)`` written atomically (UTF-8)."""
    data = text.encode()
    return atomic_write(path, lambda f: f.write(data))


def save_figure_file(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig(path, ...)`` written atomically (the format from the suffix)."""
    path = Path(path)
    return atomic_write(path, lambda f: fig.savefig(f, format=path.suffix.lstrip("."), **kwargs))
