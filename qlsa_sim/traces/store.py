"""Hessian trace store: ``<trace>/manifest.json`` plus one pickle-free ``.npz`` per snapshot.

Layout::

    <trace>/manifest.json        format, metadata, one row per (step, block)
    <trace>/snap-00000050.npz    all blocks of step 50: H_<i> (dense) or M_<i> (factor), g_<i>
    <trace>/checkpoint.pt        the recording run's checkpoint (train/runner.py; for --resume)

Crash safety: a snapshot file is written under a temporary name, flushed, fsynced and renamed,
and only then listed in the manifest (itself replaced atomically). A run killed at any point
keeps every listed snapshot readable; an unlisted file is ignored and overwritten on resume.
The reader checks checksums, shapes, dtypes and finiteness and names the bad file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qlsa_sim.core.atomic import atomic_write, atomic_write_json, identity_key, to_jsonable
from qlsa_sim.core.bounded import format_bytes
from qlsa_sim.core.outputs import is_within
from qlsa_sim.errors import InputError, TraceError
from qlsa_sim.traces.npz_view import VerifiedNpz, write_aligned_npz
from qlsa_sim.traces.schema import FORMAT, check_member_sizes, snapshot_file_limit, validate_manifest

MANIFEST_MAX_BYTES = 256 << 20
MANIFEST = "manifest.json"
LEGACY_CHECKPOINT = "checkpoint.npz"  # recordings before the one checkpoint format (train/runner.py)
ROW_FIELDS = ("step", "block", "n", "dtype", "storage", "loss", "file", "key", "sha256")
STORAGES = ("dense", "factor")


@dataclass(frozen=True)
class TraceMeta:
    """What a trace's manifest says of how it was made (its ``meta``), typed.

    ``identity`` is the raw record a resumed writer must match; the other fields are read from it.
    ``live`` holds a HybridNewton trace's optimizer settings (``train/hybrid_newton.py``), else None."""

    identity: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    model: str = "?"
    dataset: str = "?"
    curvature: str = "exact"
    storage: str = "dense"
    dtype: str = "float64"
    every: int | None = None
    optimizer: str = "sgd"
    live: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @classmethod
    def from_manifest(cls, meta: Any, where: str = "manifest") -> TraceMeta:
        """Parse a manifest's ``meta`` (TraceError naming ``where`` if it has the wrong shape)."""
        if meta is None:
            meta = {}
        if not isinstance(meta, Mapping):
            raise TraceError(f"{where}: field 'meta' must be an object, got {type(meta).__name__}")
        ident = meta.get("identity", {})
        if not isinstance(ident, Mapping):
            raise TraceError(f"{where}: field 'meta.identity' must be an object, got {type(ident).__name__}")
        task = ident.get("task", {}) if isinstance(ident.get("task", {}), Mapping) else {}
        live = meta.get("hybrid_newton")
        every = ident.get("every")
        return cls(identity=ident, model=str(task.get("model", "?")), dataset=str(task.get("dataset", "?")),
                   curvature=str(ident.get("curvature", "exact")), storage=str(ident.get("storage", "dense")),
                   dtype=str(ident.get("dtype", "float64")), every=every if isinstance(every, int) else None,
                   optimizer=str(ident.get("optimizer", "sgd")), live=live if isinstance(live, Mapping) else None)

    @property
    def psd(self) -> bool:
        """Whether the blocks are positive semi-definite by construction: GGN and empirical-Fisher blocks
        always are, exact Hessian blocks only for ReLU MLPs (where they equal the GGN blocks)."""
        return self.curvature in ("ggn", "fisher") or self.model == "mlp"


@dataclass(frozen=True)
class BlockData:
    """One block to write: dense matrix ``H`` or factor ``M`` with ``H = scale * M @ M.T``."""

    name: str
    gradient: np.ndarray
    matrix: np.ndarray | None = None
    factor: np.ndarray | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if (self.matrix is None) == (self.factor is None):
            raise InputError(f"block {self.name!r}: give exactly one of matrix or factor")


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A block as read back: the dense matrix as stored (``dense``; None for a factored block), its gradient, the
    loss, the manifest row and the factor M of a factored block. :attr:`matrix` is the dense block, for a factored
    one ``scale * M @ M.T`` built on first use (4e11 flops and 1.3 GB at n = 12560, so only when asked)."""

    step: int
    block: str
    dense: np.ndarray | None = field(repr=False)
    gradient: np.ndarray = field(repr=False)
    loss: float
    row: Mapping[str, Any] = field(repr=False)
    factor: np.ndarray | None = field(default=None, repr=False)

    @cached_property
    def matrix(self) -> np.ndarray:
        """The dense block (a factored one rebuilt as ``scale * M @ M.T`` in the stored dtype, then kept)."""
        return self.dense if self.dense is not None else self.scale * (self.factor @ self.factor.T)

    @property
    def scale(self) -> float:
        """``scale`` of a factored block (H = scale M M^T); 1.0 for a dense one."""
        return float(self.row.get("scale", 1.0))

    @property
    def n(self) -> int:
        return int(self.gradient.shape[0])

    @property
    def id(self) -> str:
        return snapshot_id(self.row.get("run", ""), self.step, self.block)


def snapshot_id(run: str, step: int, block: str) -> str:
    """Stable id of one (run, step, block): the key that results merge and resume on."""
    return f"{run}/{int(step):08d}/{block}"


def sha256_of(fs, path: str) -> str:
    """sha256 of a file on an fsspec file system."""
    h = hashlib.sha256()
    with fs.open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    from fsspec.implementations.local import LocalFileSystem

    return sha256_of(LocalFileSystem(), str(path))


def is_local_fs(fs) -> bool:
    """Whether an fsspec file system is the local disk."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def open_location(location: str | Path) -> tuple[Any, str, bool]:
    """``(fs, root, is_local)`` of a trace at a local path or an fsspec URL (e.g. ``file://``, ``s3://``)."""
    import fsspec.core

    try:
        fs, root = fsspec.core.url_to_fs(str(location))
    except ImportError as e:
        raise TraceError(f"{location}: this kind of location cannot be read here ({' '.join(str(e).split())})") \
            from None
    except (ValueError, OSError) as e:
        raise TraceError(f"{location}: cannot open ({' '.join(str(e).split())})") from None
    return fs, root.rstrip("/") or "/", is_local_fs(fs)


def _file_info(fs, path: str, display: str, what: str) -> int:
    """The size of a regular file on ``fs`` (TraceError naming ``display`` for a missing file, a folder, a
    device or a FIFO, whatever a symlink points to)."""
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise TraceError(f"{display}: {what} is missing") from None
    except OSError as e:
        raise TraceError(f"{display}: cannot read {what} ({e})") from None
    if info.get("type") != "file":
        raise TraceError(f"{display}: {what} is not a regular file (type {info.get('type')!r})")
    return int(info.get("size") or 0)


def _read_manifest_bytes(fs, path: str, where: str) -> bytes:
    size = _file_info(fs, path, where, "the manifest")
    if size > MANIFEST_MAX_BYTES:
        raise TraceError(f"{where}: manifest of {format_bytes(size)}, more than the {format_bytes(MANIFEST_MAX_BYTES)} "
                         "allowed")
    with fs.open(path, "rb") as f:
        data = f.read(MANIFEST_MAX_BYTES + 1)
    if len(data) > MANIFEST_MAX_BYTES:
        raise TraceError(f"{where}: manifest larger than the {format_bytes(MANIFEST_MAX_BYTES)} allowed")
    return data


def read_manifest(location: str | Path) -> tuple[Any, str, dict]:
    """``(fs, root, manifest)`` with the manifest validated; errors name the manifest's path."""
    fs, root, _ = open_location(location)
    where = f"{str(location).rstrip('/')}/{MANIFEST}"
    try:
        is_dir = fs.isdir(root)
    except (OSError, ValueError) as e:
        raise TraceError(f"{location}: cannot open ({' '.join(str(e).split())})") from None
    if not is_dir:
        raise TraceError(f"{location}: trace directory not found")
    if not fs.exists(f"{root}/{MANIFEST}"):
        raise TraceError(f"{where}: no manifest (not a trace directory, or nothing was recorded)")
    try:
        man = json.loads(_read_manifest_bytes(fs, f"{root}/{MANIFEST}", where))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise TraceError(f"{where}: manifest is not valid JSON ({e})") from None
    return fs, root, validate_manifest(man, where)


def _read_manifest(directory: Path) -> dict:
    return read_manifest(directory)[2]


def read_block_arrays(z, row: Mapping[str, Any], where_file: str) -> tuple[np.ndarray, np.ndarray]:
    """The validated (matrix or factor, gradient) of one manifest row from an open npz ``z``.

    Checks presence, dtype, shape and finiteness; a TraceError names ``where_file`` and the block.
    """
    key = row["key"]
    gkey = "g_" + key.split("_", 1)[1]
    where = f"{where_file}: block {row['block']!r}"
    if key not in z.files or gkey not in z.files:
        raise TraceError(f"{where_file}: lacks array {key!r} or {gkey!r} for block {row['block']!r}")
    check_member_sizes(z, row, key, gkey, where)
    try:
        A, g = z[key], z[gkey]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise TraceError(f"{where}: corrupt or truncated snapshot ({e})") from None
    n = int(row["n"])
    if str(A.dtype) != row["dtype"] or str(g.dtype) != row["dtype"]:
        raise TraceError(f"{where}: dtype {A.dtype}/{g.dtype}, manifest says {row['dtype']}")
    if A.ndim != 2 or A.shape[0] != n or g.shape != (n,) or (row["storage"] == "dense" and A.shape[1] != n):
        raise TraceError(f"{where}: shapes {A.shape} and {g.shape} do not match n={n}")
    if not (np.isfinite(A).all() and np.isfinite(g).all()):
        raise TraceError(f"{where}: contains NaN or Inf")
    return A, g


def snapshot_from_arrays(row: Mapping[str, Any], A: np.ndarray, g: np.ndarray, run: str) -> Snapshot:
    """A Snapshot from validated arrays; a factored block keeps its factor (its dense matrix is built on first use
    of :attr:`Snapshot.matrix`)."""
    factor = A if row["storage"] == "factor" else None
    row = dict(row, run=run)
    return Snapshot(int(row["step"]), row["block"], None if factor is not None else A, g, float(row["loss"]), row,
                    factor)


class TraceWriter:
    """Appends snapshots to a trace directory, crash-safely. Use ``resume=True`` to continue."""

    def __init__(self, directory: str | Path, *, meta: Mapping[str, Any], resume: bool = False,
                 overwrite: bool = False, extra_files: Sequence[str] = ()) -> None:
        self.directory = Path(directory)
        exists = (self.directory / MANIFEST).is_file()
        if exists and not (resume or overwrite):
            raise TraceError(f"{self.directory}: a trace already exists; use --resume to continue it "
                             f"or --overwrite to replace it")
        if exists and resume:
            self.manifest = _read_manifest(self.directory)
            old = self.manifest.get("meta", {}).get("identity")
            new = to_jsonable(meta.get("identity"))
            if old is not None and new is not None and identity_key(old) != identity_key(new):
                raise TraceError(f"{self.directory / MANIFEST}: cannot resume: the trace was recorded "
                                 f"with {old}, this run asks for {new}")
        else:
            if exists and overwrite:
                for p in self.directory.glob("snap-*.npz"):
                    p.unlink()
                for name in (MANIFEST, LEGACY_CHECKPOINT, *extra_files):
                    (self.directory / name).unlink(missing_ok=True)
            self.directory.mkdir(parents=True, exist_ok=True)
            self.manifest = {"format": FORMAT, "run": self.directory.name,
                             "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             "meta": to_jsonable(dict(meta)), "rows": []}
            self._flush_manifest()

    @property
    def run(self) -> str:
        return self.manifest["run"]

    def recorded_steps(self) -> list[int]:
        return sorted({int(r["step"]) for r in self.manifest["rows"]})

    def _flush_manifest(self) -> None:
        atomic_write_json(self.directory / MANIFEST, self.manifest)

    def write_snapshot(self, step: int, blocks: Sequence[BlockData], *, loss: float,
                       extra: Mapping[str, Any] | None = None, dtype: str = "float64",
                       block_extra: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict]:
        """Write all blocks of one step to one file, then list them in the manifest.

        ``extra`` fields go into every row of the step, ``block_extra[name]`` into that block's row.
        """
        if step in self.recorded_steps():
            raise TraceError(f"{self.directory}: step {step} is already recorded")
        if not math.isfinite(loss):
            raise InputError(f"step {step}: loss is {loss}; refusing to record a diverged run")
        arrays: dict[str, np.ndarray] = {}
        rows = []
        fname = f"snap-{int(step):08d}.npz"
        for i, b in enumerate(blocks):
            g = np.ascontiguousarray(b.gradient, dtype=dtype)
            if b.matrix is not None:
                A, storage, key = np.ascontiguousarray(b.matrix, dtype=dtype), "dense", f"H_{i}"
                if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] != g.shape[0]:
                    raise InputError(f"block {b.name!r}: matrix {A.shape} and gradient {g.shape} do not match")
            else:
                A, storage, key = np.ascontiguousarray(b.factor, dtype=dtype), "factor", f"M_{i}"
                if A.ndim != 2 or A.shape[0] != g.shape[0]:
                    raise InputError(f"block {b.name!r}: factor {A.shape} and gradient {g.shape} do not match")
            if not (np.isfinite(A).all() and np.isfinite(g).all()):
                raise InputError(f"step {step}, block {b.name!r}: matrix or gradient has NaN/Inf")
            arrays[key], arrays[f"g_{i}"] = A, g
            row = {"step": int(step), "block": b.name, "n": int(g.shape[0]), "dtype": dtype,
                   "storage": storage, "loss": float(loss), "file": fname, "key": key}
            if storage == "factor":
                row.update(rank=int(A.shape[1]), scale=float(b.scale))
            rows.append(row)
        path = atomic_write(self.directory / fname, lambda f: write_aligned_npz(f, arrays))
        digest = _sha256_file(path)
        for r in rows:
            r["sha256"] = digest
            r.update(to_jsonable(dict(extra or {})))
            r.update(to_jsonable(dict((block_extra or {}).get(r["block"], {}))))
        self.manifest["rows"].extend(rows)
        self._flush_manifest()
        return rows

    def update_rows(self, updates: Mapping[tuple[int, str], Mapping[str, Any]]) -> None:
        """Add fields to recorded rows keyed by (step, block); the manifest is replaced atomically."""
        _apply_updates(self.manifest["rows"], updates)
        self._flush_manifest()


class TraceReader:
    """Reads and validates a trace at a local path or an fsspec URL."""

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self.fs, self.root, self.manifest = read_manifest(location)
        self.is_local = is_local_fs(self.fs)
        self.directory = Path(self.root) if self.is_local else None
        self._verified: set[str] = set()

    @property
    def run(self) -> str:
        return self.manifest.get("run") or self.root.rsplit("/", 1)[-1]

    @property
    def meta(self) -> TraceMeta:
        return TraceMeta.from_manifest(self.manifest.get("meta", {}), f"{self.location}/{MANIFEST}")

    @property
    def rows(self) -> list[dict]:
        return self.manifest["rows"]

    def table(self):
        """The manifest rows as a DataFrame with a stable ``id`` column."""
        import pandas as pd

        df = pd.DataFrame(self.rows)
        if len(df):
            df.insert(0, "id", [snapshot_id(self.run, s, b) for s, b in zip(df["step"], df["block"])])
        return df

    @property
    def steps(self) -> list[int]:
        return sorted({int(r["step"]) for r in self.rows})

    @property
    def blocks(self) -> list[str]:
        return list(dict.fromkeys(r["block"] for r in self.rows))

    def display(self, file: str) -> str:
        """A file's name in messages: a plain path on local disk, else the URL."""
        path = f"{self.root}/{file}"
        return path if self.is_local else self.fs.unstrip_protocol(path)

    def verify_file(self, file: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Check that ``file`` exists and matches the manifest's checksum (once per reader)."""
        if file not in self._verified:
            every = [r for r in self.rows if r["file"] == file] or list(rows)  # the size bound needs all its rows
            verify_snapshot_file(self.fs, f"{self.root}/{file}", every, self.display(file))
            self._verified.add(file)

    def iter_file(self, file: str, rows: Sequence[Mapping[str, Any]] | None = None, *,
                  verify: bool = True) -> Iterator[tuple[Mapping[str, Any], Snapshot | TraceError]]:
        """The blocks of one snapshot file; see :func:`iter_snapshot_file`."""
        rows = [r for r in self.rows if r["file"] == file] if rows is None else rows
        if verify:
            self.verify_file(file, rows)
        else:  # kind, place and size only, bounded by all of the file's rows
            check_snapshot_file(self.fs, f"{self.root}/{file}", [r for r in self.rows if r["file"] == file] or rows,
                                self.display(file))
        yield from iter_snapshot_file(self.fs, f"{self.root}/{file}", rows, self.run,
                                      display=self.display(file), verify=None)

    def _row(self, step: int, block: str) -> dict:
        for r in self.rows:
            if int(r["step"]) == int(step) and r["block"] == block:
                return r
        raise TraceError(f"{self.location}: no snapshot for step {step}, block {block!r}")

    def _snapshot_from_row(self, row: Mapping[str, Any], verify: bool) -> Snapshot:
        for _, snap in self.iter_file(row["file"], [row], verify=verify):
            if isinstance(snap, TraceError):
                raise snap
            return snap
        raise TraceError(f"{self.display(row['file'])}: block {row['block']!r} not read")  # pragma: no cover

    def snapshot(self, step: int, block: str, *, verify: bool = True) -> Snapshot:
        """One block, validated; a factored block is rebuilt densely as ``scale * M @ M.T``."""
        return self._snapshot_from_row(self._row(step, block), verify)

    def __iter__(self) -> Iterator[Snapshot]:
        for row in self.rows:
            yield self._snapshot_from_row(row, True)

    def __len__(self) -> int:
        return len(self.rows)


#: Snapshot files up to this size are read once: hashed and parsed from the same bytes (larger ones are hashed,
#: then read block by block, so a file of many large blocks is never held in memory at once).
READ_ONCE_MAX_BYTES = 256 << 20


def verify_snapshot_file(fs, path: str, rows: Sequence[Mapping[str, Any]], display: str, *,
                         keep: bool = False) -> bytes | None:
    """TraceError naming ``display`` if the file is missing or its sha256 differs from the manifest's
    (after :func:`check_snapshot_file`, so nothing unbounded or outside the trace is hashed). With ``keep``, a
    file of at most :data:`READ_ONCE_MAX_BYTES` is read once and its verified bytes returned (else None)."""
    check_snapshot_file(fs, path, rows, display)
    data = None
    if keep and _file_info(fs, path, display, "snapshot file") <= READ_ONCE_MAX_BYTES:
        with fs.open(path, "rb") as f:
            data = f.read(READ_ONCE_MAX_BYTES + 1)
        digest = hashlib.sha256(data).hexdigest()
    else:
        digest = sha256_of(fs, path)
    _check_digest(digest, rows, display)
    return data


def _check_digest(digest: str, rows: Sequence[Mapping[str, Any]], display: str) -> None:
    for want in dict.fromkeys(str(r["sha256"]) for r in rows):
        if digest != want:
            raise TraceError(f"{display}: checksum mismatch (sha256 {digest[:12]}..., manifest says "
                             f"{want[:12]}...): the file is corrupt or was changed")


def check_snapshot_file(fs, path: str, rows: Sequence[Mapping[str, Any]], display: str, *,
                        missing_ok: bool = False) -> None:
    """TraceError naming ``display`` unless the file exists (or is missing and ``missing_ok``), is a regular
    file no larger than its rows imply, and (on local disk) does not lead out of the trace folder through a
    symlink. Reads no data."""
    if missing_ok and not fs.exists(path):
        return
    size = _file_info(fs, path, display, "snapshot file listed in the manifest")
    if is_local_fs(fs) and not is_within(path, path.rsplit("/", 1)[0] or "/"):
        raise TraceError(f"{display}: is a symlink leading out of the trace folder")
    limit = snapshot_file_limit([dict(r) for r in rows])
    if size > limit:
        raise TraceError(f"{display}: {format_bytes(size)}, more than its {len(rows)} block(s) can take "
                         f"({format_bytes(limit)}); not a snapshot of this manifest")


def iter_snapshot_file(fs, path: str, rows: Sequence[Mapping[str, Any]], run: str, *, display: str,
                       verify: bool | None = True, verified: bytes | None = None
                       ) -> Iterator[tuple[Mapping[str, Any], Snapshot | TraceError]]:
    """The blocks of one snapshot file as ``(row, Snapshot)``, or ``(row, TraceError)`` for a bad block.

    ``verify``: True checks the file and its sha256 first, False only its kind, place and size
    (:func:`check_snapshot_file`, bounded by ``rows``: pass all of the file's rows), None neither (the caller did).
    ``verified``: the file's bytes as :func:`verify_snapshot_file` returned them (``keep=True``), already checked:
    nothing is read or hashed again.

    A file-level problem (missing, checksum mismatch, not a zip) raises TraceError naming the file.
    Blocks are loaded one at a time (a file of many large blocks is not held in memory at once).
    Works on any fsspec file system, so workers can read shared storage.
    """
    data = verified
    if data is None and verify:
        data = verify_snapshot_file(fs, path, rows, display, keep=True)
    elif data is None and verify is not None:
        check_snapshot_file(fs, path, rows, display)
    try:
        with contextlib.ExitStack() as stack:
            if data is not None:  # verified bytes: stored members are read as views, no CRC pass or copy
                z = stack.enter_context(VerifiedNpz(data))
            else:
                z = stack.enter_context(np.load(stack.enter_context(fs.open(path, "rb")), allow_pickle=False))
            for row in rows:
                try:
                    A, g = read_block_arrays(z, row, display)
                except TraceError as e:
                    yield row, e
                    continue
                yield row, snapshot_from_arrays(row, A, g, run)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise TraceError(f"{display}: corrupt or truncated snapshot ({e})") from None


def update_row_fields(directory: str | Path, updates: Mapping[tuple[int, str], Mapping[str, Any]]) -> None:
    """Add fields (e.g. computed features) to manifest rows keyed by (step, block), atomically."""
    directory = Path(directory)
    man = _read_manifest(directory)
    _apply_updates(man["rows"], updates)
    atomic_write_json(directory / MANIFEST, man)


def _apply_updates(rows: list[dict], updates: Mapping[tuple[int, str], Mapping[str, Any]]) -> None:
    for r in rows:
        u = updates.get((int(r["step"]), r["block"]))
        if u:
            r.update(to_jsonable(dict(u)))

