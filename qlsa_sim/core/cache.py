"""A small on-disk cache of JSON values, shared by every process of a machine (sweep workers, replays, ``estimate``).

Where: ``$QLSA_SIM_CACHE_DIR/<namespace>/`` (default ``~/.cache/qlsa-sim``); ``QLSA_SIM_CACHE=off`` turns it off.
Each entry is one file named by the sha256 of its key (a JSON object holding EVERY input of the value: arguments,
package versions, a digest of the code that computes it), and holds the key itself, the value and a checksum of both.
A read that finds no file, unreadable JSON, a wrong checksum (a torn or tampered file) or a different key (a hash
collision) is a miss: the value is recomputed and the entry rewritten. Writes go to a unique temporary file that is
renamed over the entry (POSIX rename is atomic), so concurrent workers writing the same entry leave one whole
file; a failed write (read-only disk, full disk) only costs the cache. JSON, not pickle: reading an entry never runs
code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_ENV = "QLSA_SIM_CACHE_DIR"
SWITCH_ENV = "QLSA_SIM_CACHE"   # "off" disables the disk cache
FORMAT = "qlsa-sim-cache/1"


def cache_root() -> Path:
    """``$QLSA_SIM_CACHE_DIR`` or ``~/.cache/qlsa-sim``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "qlsa-sim"


def code_identity(directory: Path, sources: tuple[str, ...]) -> dict:
    """What a cached value computed by the code in ``directory`` also depends on: the qualtran and qlsa-sim
    versions and a digest of the ``sources`` there ("unreadable" when they are not files, e.g. a zipped install)."""
    from importlib.metadata import PackageNotFoundError, version

    from qlsa_sim import __version__

    try:
        qualtran = version("qualtran")
    except PackageNotFoundError:  # pragma: no cover - qualtran is a dependency
        qualtran = "absent"
    try:
        digest = hashlib.sha256(b"".join((directory / f).read_bytes() for f in sources)).hexdigest()[:16]
    except OSError:
        digest = "unreadable"
    return {"qualtran": qualtran, "qlsa_sim": __version__, "source": digest}


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _checksum(key: Mapping[str, Any], value: Any) -> str:
    return hashlib.sha256(_canonical({"format": FORMAT, "key": key, "value": value}).encode()).hexdigest()


@dataclass(frozen=True)
class DiskCache:
    """JSON values under ``cache_root() / namespace`` (module docstring). Keys and values must be JSON data
    (dicts, lists, str, int, finite float, bool, None)."""

    namespace: str

    @property
    def enabled(self) -> bool:
        return os.environ.get(SWITCH_ENV, "").lower() not in ("off", "0", "false", "no")

    @property
    def directory(self) -> Path:
        return cache_root() / self.namespace

    def path(self, key: Mapping[str, Any]) -> Path:
        return self.directory / f"{hashlib.sha256(_canonical(key).encode()).hexdigest()[:32]}.json"

    def get(self, key: Mapping[str, Any]) -> Any | None:
        """The cached value, or None on a miss (absent, unreadable, tampered, or another key's entry)."""
        if not self.enabled:
            return None
        try:
            entry = json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            return None
        try:
            if entry.get("key") != json.loads(_canonical(key)) or entry.get("sha256") != _checksum(key, entry["value"]):
                return None
        except (KeyError, TypeError, ValueError):
            return None
        return entry["value"]

    def put(self, key: Mapping[str, Any], value: Any) -> None:
        """Write the entry atomically; a failure to write, or a value JSON cannot hold exactly (inf, NaN),
        is ignored: the value was computed anyway and is just not kept."""
        if not self.enabled:
            return
        try:
            text = _canonical({"format": FORMAT, "key": key, "value": value, "sha256": _checksum(key, value)})
        except (TypeError, ValueError):
            return
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(text)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return
