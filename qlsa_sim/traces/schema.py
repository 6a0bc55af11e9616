"""The JSON schema of a trace manifest (``<trace>/manifest.json``), as pydantic models.

Every field has a type and a range: steps are non-negative integers (not strings, floats or lists), sizes
positive, losses finite, dtypes, storages and curvature kinds known names, checksums 64 hex digits, the
array key matches the storage (``H_<i>`` dense, ``M_<i>`` factor, which also needs its rank and a finite,
positive scale). A snapshot ``file`` is one plain file name ending in ``.npz`` (no folder, no ``..``, not
absolute), so it names a file in the trace folder itself; the ``run`` name is one plain name, so it never
leads a writer outside its output folder. Fields the toolkit adds (held-out metrics, ``feature_*`` from
``replay --save-features``, live decisions) are kept as they are.

:func:`validate_manifest` returns the manifest unchanged or raises one TraceError naming the manifest, the
field (``rows[3].step``) and the problem.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from qlsa_sim.core.bounded import format_bytes
from qlsa_sim.errors import TraceError

FORMAT = "qlsa-sim-trace/1"
DTYPES = ("float64", "float32")
STORAGES = ("dense", "factor")
CURVATURES = ("exact", "ggn", "fisher")
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,250}\.npz$")
KEY = re.compile(r"^(H|M)_(0|[1-9][0-9]{0,8})$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")

NonNegInt = Annotated[StrictInt, Field(ge=0)]
PosInt = Annotated[StrictInt, Field(ge=1)]


def _finite(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v!r}")
    return float(v)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class Identity(_Model):
    """``meta.identity``: how the trace was made (checked on resume; read by replay)."""

    task: dict = {}
    curvature: Literal["exact", "ggn", "fisher"] = "exact"
    storage: Literal["dense", "factor"] = "dense"
    dtype: Literal["float64", "float32"] = "float64"
    every: PosInt | None = None
    optimizer: StrictStr = "sgd"


class Meta(_Model):
    """``meta``: the identity, the block list and versions (all optional)."""

    identity: Identity = Identity()
    blocks: list[dict] = []
    hybrid_newton: dict | None = None


class Row(_Model):
    """One block of one step."""

    step: NonNegInt
    block: Annotated[StrictStr, Field(min_length=1, max_length=1000)]
    n: PosInt
    dtype: Literal["float64", "float32"]
    storage: Literal["dense", "factor"]
    loss: Any
    file: StrictStr
    key: StrictStr
    sha256: StrictStr
    rank: PosInt | None = None
    scale: Any = None

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: Any) -> float:
        return _finite(v, "loss")

    @field_validator("file")
    @classmethod
    def _file(cls, v: str) -> str:
        if not FILE_NAME.match(v):
            raise ValueError(f"must be a plain file name in the trace folder ending in .npz (no folder, '..' or "
                             f"leading '.'), got {v!r}")
        return v

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not KEY.match(v):
            raise ValueError(f"must be H_<i> (dense) or M_<i> (factor), got {v!r}")
        return v

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str) -> str:
        if not SHA256.match(v):
            raise ValueError(f"must be 64 lowercase hex digits, got {v!r}")
        return v

    @model_validator(mode="after")
    def _storage_fields(self) -> "Row":
        want = "H" if self.storage == "dense" else "M"
        if self.key[0] != want:
            raise ValueError(f"key {self.key!r} does not match storage {self.storage!r} (expected {want}_<i>)")
        if self.storage == "factor":
            if self.rank is None:
                raise ValueError("a factor block needs 'rank'")
            if self.scale is None or _finite(self.scale, "scale") <= 0:
                raise ValueError(f"a factor block needs a finite 'scale' > 0, got {self.scale!r}")
        elif self.scale is not None:
            _finite(self.scale, "scale")
        return self


class Manifest(_Model):
    """A whole manifest."""

    format: Literal["qlsa-sim-trace/1"]
    run: StrictStr | None = None
    created: StrictStr = ""
    meta: Meta | None = None
    rows: list[Row]

    @field_validator("run")
    @classmethod
    def _run(cls, v: str | None) -> str | None:
        if v is not None and (not v or v in (".", "..") or _BAD_NAME.search(v) or len(v) > 255):
            raise ValueError(f"must be a plain name (no '/', '\\', '..' or control characters), got {v!r}")
        return v

    @model_validator(mode="after")
    def _unique(self) -> "Manifest":
        seen: dict[tuple[int, str], int] = {}
        for i, r in enumerate(self.rows):
            j = seen.setdefault((r.step, r.block), i)
            if j != i:
                raise ValueError(f"rows {j} and {i} both hold step {r.step}, block {r.block!r}")
        return self


def _loc(loc: tuple) -> str:
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        elif str(p).startswith(("function-", "literal[", "nullable[", "constrained-", "json-or-python")):
            continue
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


def describe_error(e: ValidationError) -> str:
    """The first problem of a pydantic error as ``field 'rows[3].step': <problem> (got ...)``."""
    err = e.errors()[0]
    loc = _loc(tuple(err.get("loc", ())))
    if err.get("type") == "missing":
        return f"field '{loc}' is missing"
    msg = re.sub(r"a valid dictionary( or instance of \w+)?", "a JSON object",
                 str(err.get("msg", "invalid")).removeprefix("Value error, "))
    if loc == "(top level)":
        return msg
    got = err.get("input")
    shown = "" if isinstance(got, (dict, list)) or repr(got)[:60] in msg else f" (got {repr(got)[:60]})"
    return f"field '{loc}': {msg}{shown}"


def validate_manifest(raw: Any, where: str) -> dict:
    """``raw`` (a parsed manifest) if it follows the schema; TraceError naming ``where`` and the field otherwise."""
    if not isinstance(raw, dict):
        raise TraceError(f"{where}: not a {FORMAT} manifest (a JSON object is expected, got "
                         f"{type(raw).__name__})")
    if raw.get("format") != FORMAT:
        raise TraceError(f"{where}: not a {FORMAT} manifest (format={raw.get('format')!r})")
    try:
        Manifest.model_validate(raw)
    except ValidationError as e:
        raise TraceError(f"{where}: {describe_error(e)}") from None
    return raw


def snapshot_file_limit(rows: list[dict]) -> int:
    """The most bytes a snapshot file holding ``rows`` can take (uncompressed ``.npz``: the arrays, their
    ``.npy`` headers and the zip records; 8 bytes an entry whatever the dtype, so a dtype mismatch is reported
    as such)."""
    total = 1 << 16
    for r in rows:
        item = 8
        cols = r["n"] if r["storage"] == "dense" else r["rank"]
        total += (r["n"] * cols + r["n"]) * item + 2 * 1024
    return total


def array_limit(row: dict, gradient: bool = False) -> int:
    """The most bytes one array of ``row`` can take as ``.npy`` (data plus header; 8 bytes an entry)."""
    item = 8
    cols = 1 if gradient else (row["n"] if row["storage"] == "dense" else row["rank"])
    return row["n"] * cols * item + 4096


def check_member_sizes(z, row: dict, key: str, gkey: str, where: str) -> None:
    """Refuse an array whose stored size exceeds what the row's n, storage and dtype allow, before reading it
    (no decompression beyond that size)."""
    zf = getattr(z, "zip", None)
    if zf is None:
        return
    for k, grad in ((key, False), (gkey, True)):
        try:
            size = zf.getinfo(f"{k}.npy").file_size
        except KeyError:
            continue
        if size > array_limit(dict(row), grad):
            raise TraceError(f"{where}: array {k!r} holds {format_bytes(size)}, more than n={row['n']} allows")
