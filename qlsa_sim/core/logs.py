"""Logging and progress of long commands: the ``qlsa_sim`` logger, a log file beside the outputs, and progress that
is a bar on a terminal and log lines elsewhere.

- :func:`setup_logging` (called by the CLI): messages of the ``qlsa_sim`` loggers go to stderr at WARNING
  (``--quiet``), INFO (default) or DEBUG (``--verbose``), and, at DEBUG with timestamps, to a log file: the one
  given, or the one a command opens beside its outputs (:func:`log_beside`); records made before the file is known
  are kept in memory and written to it when it opens.
- :class:`Progress` (:func:`progress`): a tqdm bar only when stderr is a terminal and no other bar is showing (so at
  most one bar at a time; a nested stage shows as the outer bar's postfix); otherwise INFO lines, at most one every
  ``LOG_EVERY_S`` seconds, plus a heartbeat line naming the innermost running stage whenever nothing was said for
  ``HEARTBEAT_S`` seconds, so no stage is silent for longer than that. Nothing writes escape codes to a file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

LOGGER = "qlsa_sim"
LOG_EVERY_S = 5.0        # progress lines (not on a terminal) at most this often
HEARTBEAT_S = 10.0       # a running stage says something at least this often
_FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

log = logging.getLogger(LOGGER)
_state: dict[str, Any] = {"stderr": None, "file": None, "buffer": None, "last_emit": 0.0}
_stack: list["Progress"] = []
_lock = threading.RLock()


class _Stamp(logging.Handler):
    """Notes when anything was last said (the heartbeat keeps quiet while other messages flow)."""

    def emit(self, record: logging.LogRecord) -> None:
        _state["last_emit"] = time.monotonic()


def setup_logging(verbosity: int = 0, log_file: str | Path | None = None) -> None:
    """Configure the ``qlsa_sim`` logger: stderr at WARNING (verbosity < 0), INFO (0) or DEBUG (> 0); a DEBUG log
    file at ``log_file`` now, or later at :func:`log_beside` (records until then are buffered)."""
    root = logging.getLogger(LOGGER)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO)
    err.setFormatter(logging.Formatter("qlsa-sim: %(message)s"))
    root.addHandler(err)
    root.addHandler(_Stamp(logging.DEBUG))
    _state.update(stderr=err, file=None, buffer=None)
    if log_file is not None:
        _open_file(Path(log_file))
    else:
        buf = logging.handlers.MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1)
        buf.setLevel(logging.DEBUG)
        root.addHandler(buf)
        _state["buffer"] = buf


def _open_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as e:
        log.warning("cannot write the log file %s (%s)", path, e)
        return
    fh.setLevel(logging.DEBUG)
    fh.setFormatter(logging.Formatter(_FILE_FORMAT))
    root = logging.getLogger(LOGGER)
    root.addHandler(fh)
    buf = _state.get("buffer")
    if buf is not None:
        root.removeHandler(buf)
        for record in buf.buffer:
            fh.handle(record)
        buf.close()
        _state["buffer"] = None
    _state["file"] = fh
    log.debug("log file %s (pid %d, argv %s)", path, os.getpid(), " ".join(sys.argv))


def log_beside(directory: str | Path, name: str = "qlsa-sim.log") -> Path | None:
    """Open the log file ``directory/name`` beside a command's outputs, unless a log file is open already or
    logging was not set up by the CLI (library use); returns its path, or None."""
    if _state.get("file") is not None or _state.get("buffer") is None:
        return Path(_state["file"].baseFilename) if _state.get("file") is not None else None
    _open_file(Path(directory) / name)
    return Path(directory) / name if _state.get("file") is not None else None


def close_logging() -> None:
    """Flush and close the log file and undo :func:`setup_logging` (the CLI calls this on exit)."""
    root = logging.getLogger(LOGGER)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.propagate = True
    root.setLevel(logging.NOTSET)
    _state.update(stderr=None, file=None, buffer=None)


# ------------------------------------------------------------------------------------------ progress
def _bar_showing() -> bool:
    """Whether a tqdm bar (ours or anyone's) is on screen now."""
    if any(p.bar is not None for p in _stack):
        return True
    try:
        from tqdm import tqdm

        return any(not getattr(b, "disable", True) for b in list(getattr(tqdm, "_instances", ())))
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return False


def _on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of one stage (module docstring). Use as a context manager, or iterate :func:`progress`.

    ``enabled=False`` shows no bar (``--quiet``, or a caller that wants none); the log lines are made all the same
    (``--quiet`` keeps them off stderr; the log file has them)."""

    def __init__(self, total: int | None, desc: str, *, unit: str = "it", enabled: bool = True,
                 logger: logging.Logger | None = None, initial: int = 0) -> None:
        self.total, self.desc, self.unit, self.enabled = total, desc, unit, enabled
        self.log = logger or log
        self.n = self.initial = int(initial)
        self.note = ""
        self.bar = None
        self.t0 = time.monotonic()
        self._last_line = 0.0

    def __enter__(self) -> "Progress":
        with _lock:
            if self.enabled and _on_terminal() and not _bar_showing():
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, desc=self.desc, unit=self.unit, leave=False, file=sys.stderr,
                                initial=self.initial)
            _stack.append(self)
            _state["last_emit"] = time.monotonic()
            _ensure_heartbeat()
        self.log.debug("%s: started (%s %s)", self.desc, self.total if self.total is not None else "?", self.unit)
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            if self in _stack:
                _stack.remove(self)
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            elif _stack and _stack[-1].bar is not None:
                _stack[-1].bar.set_postfix_str("", refresh=True)
        long = time.monotonic() - self.t0 >= 1.0
        level = logging.INFO if self.bar is None and not _stack and long else logging.DEBUG
        self.log.log(level, "%s: %s", self.desc, self.status(done=exc[0] is None))

    def status(self, *, done: bool = False) -> str:
        el = time.monotonic() - self.t0
        tot = f"/{self.total}" if self.total is not None else ""
        text = f"{self.n}{tot} {self.unit} in {el:.1f} s"
        if done and self.total is not None and self.n >= self.total:
            return f"done, {text}"
        if self.total and self.n > self.initial and not done:
            text += f", ~{el * (self.total - self.n) / (self.n - self.initial):.0f} s left"
        return text + (f" ({self.note})" if self.note else "")

    def update(self, k: int = 1, note: str | None = None) -> None:
        """``k`` more units done; ``note`` says what the last one was."""
        self.n += k
        if note is not None:
            self.note = note
        if self.bar is not None:
            self.bar.update(k)
            if note is not None:
                self.bar.set_postfix_str(note, refresh=False)
            return
        outer = next((p for p in reversed(_stack) if p.bar is not None), None)
        if outer is not None:  # a nested stage: shown on the outer bar, not as a second one
            outer.bar.set_postfix_str(f"{self.desc} {self.n}/{self.total or '?'}", refresh=True)
            self.log.debug("%s: %s", self.desc, self.status())
            return
        now = time.monotonic()
        if now - max(self._last_line, _state["last_emit"]) >= LOG_EVERY_S:
            self._last_line = now
            self.log.info("%s: %s", self.desc, self.status())
        else:
            self.log.debug("%s: %s", self.desc, self.status())

    def write(self, message: str, level: int = logging.INFO) -> None:
        """A message that does not break the bar."""
        if self.bar is not None:
            self.bar.clear()
            self.log.log(level, message)
            self.bar.refresh()
        else:
            self.log.log(level, message)


def progress(iterable: Iterable[Any], desc: str, *, total: int | None = None, unit: str = "it",
             enabled: bool = True) -> Iterator[Any]:
    """Iterate ``iterable`` under a :class:`Progress`."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(total, desc, unit=unit, enabled=enabled) as p:
        for item in iterable:
            yield item
            p.update()


# ------------------------------------------------------------------------------------------ heartbeat
_heartbeat: dict[str, Any] = {"thread": None}


def _ensure_heartbeat() -> None:
    t = _heartbeat["thread"]
    if t is None or not t.is_alive():
        t = threading.Thread(target=_beat, name="qlsa-sim-heartbeat", daemon=True)
        _heartbeat["thread"] = t
        t.start()


def _beat() -> None:
    while True:
        time.sleep(1.0)
        with _lock:
            if not _stack:
                continue
            inner = _stack[-1]
            bar = next((p.bar for p in _stack if p.bar is not None), None)
        if bar is not None:  # on a terminal: redraw the bar so its elapsed time runs on between updates
            try:
                bar.refresh()
            except Exception:  # noqa: BLE001 - a bar closed meanwhile
                pass
            continue
        if time.monotonic() - _state["last_emit"] >= HEARTBEAT_S:
            inner.log.info("%s: still working, %s", inner.desc, inner.status())
            _state["last_emit"] = time.monotonic()
