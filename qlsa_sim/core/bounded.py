"""Bounded reads of files named by a user or by another file: regular files only (no device, FIFO or folder,
whatever a symlink points to), a size limit checked before reading, and reads that stop at the limit even if
the file grows or lies about its size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from qlsa_sim.errors import InputError

MiB = 1 << 20


def regular_file_size(path: str | Path, what: str, *, max_bytes: int | None = None,
                      error: type[Exception] = InputError) -> int:
    """The size of ``path`` if it is an existing regular file (symlinks followed) of at most ``max_bytes``;
    ``error`` naming ``what`` and the file otherwise."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{what} {p}: not found") from None
    except OSError as e:
        raise error(f"{what} {p}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise error(f"{what} {p}: {kind}")
    if max_bytes is not None and st.st_size > max_bytes:
        raise error(f"{what} {p}: {format_bytes(st.st_size)}, more than the {format_bytes(max_bytes)} allowed")
    return int(st.st_size)


def read_bounded(path: str | Path, what: str, *, max_bytes: int, error: type[Exception] = InputError) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before and while reading)."""
    regular_file_size(path, what, max_bytes=max_bytes, error=error)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise error(f"{what} {path}: cannot read ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise error(f"{what} {path}: more than the {format_bytes(max_bytes)} allowed")
    return data


def read_exactly(f, nbytes: int, what: str, error: type[Exception] = InputError) -> bytes:
    """``nbytes`` from the binary stream ``f`` (in chunks, so a short or endless stream is caught without
    reading more than ``nbytes + 1`` bytes); ``error`` naming ``what`` if it holds fewer or more."""
    chunks, got = [], 0
    while got < nbytes:
        chunk = f.read(min(nbytes - got, 64 * MiB))
        if not chunk:
            raise error(f"{what}: truncated ({got} of {nbytes} bytes of data)")
        chunks.append(chunk)
        got += len(chunk)
    if f.read(1):
        raise error(f"{what}: more data than its header declares ({nbytes} bytes)")
    return b"".join(chunks)


def format_bytes(n: float) -> str:
    """A byte count for people: ``512 B``, ``3.1 MiB``, ``7.3 TiB``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"
