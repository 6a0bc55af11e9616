"""A calibration profile: the fitted constants of every cost model, what they were fitted to, and its file.

In memory a profile is typed and frozen (:class:`CalibrationProfile`; no raw dict). On disk it is JSON
(``calibration/*.json``) with a schema (:class:`ProfileFile`, pydantic): every field's type and range,
finite numbers, known names. A file that breaks the schema is refused with one line naming the file,
the field and the problem (CalibrationError); nothing is guessed or substituted.

The quantum side has one path: :meth:`CalibrationProfile.quantum_model` gives the model of a kind
("eq4" or "resources"), whose ``estimate(features)`` every caller uses (``cost/models.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qlsa_sim.core.atomic import atomic_write_json, json_dumps, to_jsonable
from qlsa_sim.core.names import QuantumModel, Solver
from qlsa_sim.cost.models import (
    ENCODING_CHOICES,
    ClassicalCubicModel,
    ClassicalFlopModel,
    ClassicalModel,
    QuantumCostModel,
    QuantumEq4Model,
    QuantumResourceModel,
    quantum_model,
)
from qlsa_sim.errors import CalibrationError
from qlsa_sim.quantum.estimation.hardware import profile_names
from qlsa_sim.quantum.estimation.physical_profiles import surface_code_profile_names
from qlsa_sim.quantum.estimation.presets import preset_names
from qlsa_sim.quantum.estimation.timing import BASES, BASIS_ALIASES

FORMAT = "qlsa-sim-calibration/2"
READABLE_FORMATS = (FORMAT, "qlsa-sim-calibration/1")
PROFILE_MAX_BYTES = 64 << 20
EQ3_SOLVERS = (Solver.CHOLESKY, Solver.LU)

#: A fit is flagged poor when, at the sizes it was fitted on, R^2 of log10 seconds is below POOR_FIT_R2_LOG
#: (relative errors, what matters when a model is carried across decades of n) or R^2 of seconds is below
#: POOR_FIT_R2 (the model predicts worse than the mean of its own timings).
POOR_FIT_R2_LOG = 0.9
POOR_FIT_R2 = 0.0


def fit_problem(r2: float, r2_log: float) -> str | None:
    """Why a fit with these R^2 values is poor (thresholds above), or None if it is not (or was not fitted)."""
    why = []
    if math.isfinite(r2) and r2 < POOR_FIT_R2:
        why.append(f"R^2 = {r2:.3g} < {POOR_FIT_R2:g}")
    if math.isfinite(r2_log) and r2_log < POOR_FIT_R2_LOG:
        why.append(f"R^2 of log10 seconds = {r2_log:.3g} < {POOR_FIT_R2_LOG:g}")
    return "poor fit: " + ", ".join(why) if why else None


# ------------------------------------------------------------------------------------------ in memory
@dataclass(frozen=True)
class ClassicalFit:
    """One classical solver's model, how it was fitted and to what (MEASURED timings, or none if given).

    ``r2``/``r2_log``: R^2 of the model on all timed sizes (raw and log10 seconds); NaN when nothing was
    fitted. ``rule``: how the constants were obtained. ``timings``: the measurements, one dict per size."""

    model: ClassicalModel
    r2: float = math.nan
    r2_log: float = math.nan
    rule: str = "given"
    fit_sizes: tuple[int, ...] = ()
    gflops_at_largest_n: float = math.nan
    timings: tuple[dict, ...] = field(default=(), repr=False, compare=False, hash=False)

    @property
    def solver(self) -> str:
        return self.model.solver

    @property
    def problem(self) -> str | None:
        """Why this fit is poor (:func:`fit_problem`), or None."""
        return fit_problem(self.r2, self.r2_log)


@dataclass(frozen=True)
class QuantumFit:
    """Paper Eq. 4 fitted to the resource model: the model, R^2 (raw and log10 seconds) of the fit on its grid,
    how it was fitted, the grid (one dict per point: n, kappa, density, nnz_per_row, x, seconds), and the fit's
    error per size n (``error_by_n``: median, min and max of Eq. 4 / resource-model seconds over the grid)."""

    model: QuantumEq4Model
    r2: float = math.nan
    r2_log: float = math.nan
    rule: str = "given"
    grid: tuple[dict, ...] = field(default=(), repr=False, compare=False, hash=False)
    error_by_n: tuple[dict, ...] = field(default=(), compare=False, hash=False)  # Eq. 4 / resource model per n

    @property
    def problem(self) -> str | None:
        """Why this fit is poor (:func:`fit_problem`), or None."""
        return fit_problem(self.r2, self.r2_log)


@dataclass(frozen=True)
class MemoryFit:
    """The roofline's memory side (``cost/models.py::ClassicalFlopModel``), MEASURED here by a float64 GEMV ladder
    (``cost/calibrate.py::measure_memory``): ``bandwidth_Bps``, bytes per second streamed from memory once the
    operand is out of cache; ``cache_bytes``, the largest working set still served from cache; the timings."""

    bandwidth_Bps: float
    cache_bytes: float
    timings: tuple[dict, ...] = field(default=(), repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class CalibrationProfile:
    """Fitted constants of the classical solvers' and the quantum cost models, and their source."""

    classical: tuple[ClassicalFit, ...]
    eq4: QuantumFit
    resources: QuantumResourceModel
    measured: bool
    source: str
    created: str = ""
    threads: int = 1
    repeats: int = 0
    machine: tuple[tuple[str, Any], ...] = field(default=(), compare=False, hash=False)
    path: str = field(default="", compare=False)
    memory: MemoryFit | None = None  # None: a profile from before the memory term (flop models a*flops+b)

    def __post_init__(self) -> None:
        bw, cache = (None, None) if self.memory is None else (self.memory.bandwidth_Bps, self.memory.cache_bytes)
        object.__setattr__(self, "classical", tuple(  # the flop models carry the profile's memory term
            replace(c, model=c.model.with_memory(bw, cache)) if isinstance(c.model, ClassicalFlopModel) else c
            for c in self.classical))
        solvers = [c.solver for c in self.classical]
        if Solver.CHOLESKY not in solvers:
            raise CalibrationError(f"{self.path or 'profile'}: no cholesky model (paper Eq. 3 is required)")
        if len(set(solvers)) != len(solvers):
            raise CalibrationError(f"{self.path or 'profile'}: classical solvers listed twice: {solvers}")

    @property
    def classical_models(self) -> tuple[ClassicalModel, ...]:
        return tuple(c.model for c in self.classical)

    def classical_model(self, solver: str) -> ClassicalModel:
        for c in self.classical:
            if c.solver == solver:
                return c.model
        raise CalibrationError(f"{self.path or 'profile'}: no calibration for classical solver {solver!r}")

    def quantum_model(self, kind: str) -> QuantumCostModel:
        """The quantum cost model of ``kind``: "eq4" (paper Eq. 4 as fitted) or "resources"."""
        return quantum_model(kind, self.eq4.model, self.resources)

    def with_precision(self, precision: float | None) -> CalibrationProfile:
        """This profile with the QLSA precision eps replaced in both quantum models (q1, q2 stay as
        fitted: Eq. 4 carries eps in its ln(n/eps) term)."""
        if precision is None or precision == self.eq4.model.precision:
            return self
        p = float(precision)
        return replace(self, eq4=replace(self.eq4, model=replace(self.eq4.model, precision=p)),
                       resources=replace(self.resources, precision=p))

    def with_readout(self) -> CalibrationProfile:
        """This profile whose resource model charges tomography readout (``quantum/estimation/timing.py``:
        36 n ln n / delta^2 copies, Kerenidis & Prakash arXiv:1808.09266 Thm 4.3)."""
        return replace(self, resources=replace(self.resources, include_readout=True))

    def to_json(self) -> dict:
        """The profile as the JSON of :class:`ProfileFile` (format ``FORMAT``)."""
        return to_jsonable({"format": FORMAT, "created": self.created, "source": self.source,
                            "machine": dict(self.machine),
                            "classical": {"measured": self.measured, "threads": self.threads, "repeats": self.repeats,
                                          "solvers": {c.solver: _classical_json(c) for c in self.classical},
                                          **_memory_json(self.memory)},
                            "quantum": {"model": "q1*d*kappa*ln(n/eps)+q2 (paper Eq. 4)", "modeled": True,
                                        "q1": self.eq4.model.q1, "q2": self.eq4.model.q2, "r2": self.eq4.r2,
                                        "r2_log": self.eq4.r2_log, "fit": self.eq4.rule,
                                        "fit_quality": self.eq4.problem or "ok",
                                        "resource_model": _resource_json(self.resources),
                                        "error_by_n": list(self.eq4.error_by_n), "grid": list(self.eq4.grid)}})

    def memory_description(self) -> str:
        """How this profile prices the flop models' memory traffic (a clause to follow "fitted to solves timed
        here"): the roofline term, or its absence."""
        m = self.memory
        if m is None:
            return ("; this profile has no memory term, so CG and Woodbury are priced by flops alone (optimistic where "
                    "their operand is out of cache)")
        return (f", with a roofline memory term per kernel (Williams et al. 2009): at least bytes streamed / "
                f"{m.bandwidth_Bps / 1e9:.3g} GB/s once its operand exceeds {m.cache_bytes / 2 ** 20:.0f} MiB (both "
                "MEASURED here); CG runs matrix-free on blocks stored as a factor, and Woodbury reuses the Gram the "
                "features computed")

    def identity(self) -> dict:
        """Path and content hash of the profile (what a trace or a run was made with)."""
        digest = hashlib.sha256(json_dumps(self.to_json(), indent=None).encode()).hexdigest()
        return {"path": self.path, "sha256": digest,
                "quantum": {"q1": self.eq4.model.q1, "q2": self.eq4.model.q2, "preset": self.resources.preset,
                            "hardware": self.resources.hardware, "precision": self.resources.precision}}


def _classical_json(c: ClassicalFit) -> dict:
    m = c.model
    consts = ({"model": "c1*n^3+c2 (paper Eq. 3)", "c1": m.c1, "c2": m.c2} if isinstance(m, ClassicalCubicModel)
              else {"model": f"a*flops+b ({m.solver} flops)", "a": m.a, "b": m.b, "rtol": m.rtol})
    return {**consts, "r2": c.r2, "r2_log": c.r2_log, "fit": c.rule, "fit_quality": c.problem or "ok",
            "c1_sizes": list(c.fit_sizes),
            "gflops_at_largest_n": c.gflops_at_largest_n, "timings": list(c.timings)}


def _memory_json(m: MemoryFit | None) -> dict:
    """The ``memory`` entry of the classical section (absent for a profile without it, so its hash is unchanged)."""
    if m is None:
        return {}
    return {"memory": {"model": "roofline: max(a*flops, bytes/bandwidth) past the cache (Williams et al. 2009)",
                       "bandwidth_Bps": m.bandwidth_Bps, "cache_bytes": m.cache_bytes, "timings": list(m.timings)}}


def _resource_json(r: QuantumResourceModel) -> dict:
    return {"precision": r.precision, "preset": r.preset, "hardware": r.hardware, "basis": r.basis,
            "include_state_prep": r.include_state_prep, "include_readout": r.include_readout, "encoding": r.encoding,
            "gate_time_s": r.gate_time_s}


# ------------------------------------------------------------------------------------------ on disk
FiniteNonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]


def _r2(v: Any) -> float:
    """R^2 as written: a number <= 1, or null / "nan" when nothing was fitted."""
    if v is None or v == "nan":
        return math.nan
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v > 1 + 1e-12:
        raise ValueError(f"R^2 must be a finite number <= 1 or null, got {v!r}")
    return float(v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class _R2(_Strict):
    r2: Any = None
    r2_log: Any = None

    @field_validator("r2", "r2_log")
    @classmethod
    def _check_r2(cls, v: Any) -> float:
        return _r2(v)


class Eq3Section(_R2):
    c1: FiniteNonNeg
    c2: FiniteNonNeg
    fit: str = "relative"
    c1_sizes: list[Annotated[int, Field(ge=1)]] = []
    gflops_at_largest_n: Any = None
    timings: list[dict] = []


class FlopSection(_R2):
    a: FiniteNonNeg
    b: FiniteNonNeg
    rtol: Fraction = 1e-2
    fit: str = "relative"
    timings: list[dict] = []


class ResourceSection(_Strict):
    precision: Fraction
    preset: str
    hardware: str
    basis: str = "gates"
    include_state_prep: bool = False
    include_readout: bool = False
    encoding: str = "cheapest"
    gate_time_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        if v not in ENCODING_CHOICES:
            raise ValueError(f"unknown block encoding {v!r}; known: {', '.join(ENCODING_CHOICES)}")
        return v

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str) -> str:
        if v not in preset_names():
            raise ValueError(f"unknown QLSA preset {v!r}; known: {', '.join(preset_names())}")
        return v

    @field_validator("hardware")
    @classmethod
    def _hardware(cls, v: str) -> str:
        known = (*profile_names(), *surface_code_profile_names())
        if v not in known:
            raise ValueError(f"unknown hardware profile {v!r}; known: {', '.join(known)}")
        return v

    @field_validator("basis")
    @classmethod
    def _basis(cls, v: str) -> str:
        if v not in BASES and v not in BASIS_ALIASES:
            raise ValueError(f"unknown time basis {v!r}; known: {', '.join(BASES)}")
        return BASIS_ALIASES.get(v, v)


class QuantumSection(_R2):
    q1: FiniteNonNeg
    q2: FiniteNonNeg
    fit: str = "relative"
    resource_model: ResourceSection
    grid: list[dict] = []
    error_by_n: list[dict] = []


class MemorySection(_Strict):
    bandwidth_Bps: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    cache_bytes: FiniteNonNeg
    timings: list[dict] = []


class ClassicalSection(_Strict):
    measured: bool = True
    memory: MemorySection | None = None
    threads: Annotated[int, Field(ge=1)] = 1
    repeats: Annotated[int, Field(ge=0)] = 0
    solvers: dict[Literal["cholesky", "lu", "cg", "woodbury"], dict]

    @field_validator("solvers")
    @classmethod
    def _has_cholesky(cls, v: dict) -> dict:
        if "cholesky" not in v:
            raise ValueError("lacks 'cholesky' (paper Eq. 3 is required)")
        return v


class ProfileFile(_Strict):
    """The JSON schema of a calibration profile (formats ``READABLE_FORMATS``)."""

    format: Literal["qlsa-sim-calibration/2", "qlsa-sim-calibration/1"]
    created: str = ""
    source: str = ""
    machine: dict = {}
    classical: ClassicalSection
    quantum: QuantumSection


def _upgrade_v1(raw: dict) -> dict:
    """Format 1 named the hardware profile ``profile`` (format 2: ``hardware``) and knew only the sparse-access
    encoding, so a format-1 file keeps meaning sparse access."""
    if raw.get("format") != "qlsa-sim-calibration/1":
        return raw
    raw = json.loads(json.dumps(raw))
    q = raw.get("quantum")
    rm = q.get("resource_model") if isinstance(q, dict) else None
    if isinstance(rm, dict):
        if "profile" in rm and "hardware" not in rm:
            rm["hardware"] = rm.pop("profile")
        rm.setdefault("encoding", "sparse")
    return raw


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing":
        return f"field '{loc}' is missing"
    got = err.get("input")
    shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    return f"field '{loc}': {msg}{shown}"


def _parse_solver(name: str, sec: Any, where: str) -> ClassicalFit:
    try:
        s = (Eq3Section if name in EQ3_SOLVERS else FlopSection).model_validate(sec)
    except ValidationError as e:
        raise CalibrationError(f"{where}: classical.solvers.{name}: {_first_error(e)}") from None
    model = (ClassicalCubicModel(s.c1, s.c2, name) if isinstance(s, Eq3Section)
             else ClassicalFlopModel(s.a, s.b, name, s.rtol))
    gf = getattr(s, "gflops_at_largest_n", None)
    return ClassicalFit(model, s.r2, s.r2_log, s.fit, tuple(getattr(s, "c1_sizes", ())),
                        float(gf) if isinstance(gf, (int, float)) else math.nan, tuple(s.timings))


def profile_from_json(raw: Any, *, path: str = "<memory>") -> CalibrationProfile:
    """Validate a profile's JSON against :class:`ProfileFile`; a bad field is a one-line CalibrationError
    naming ``path`` and the field."""
    if not isinstance(raw, dict):
        raise CalibrationError(f"{path}: not a calibration profile (a JSON object is expected)")
    if raw.get("format") not in READABLE_FORMATS:
        raise CalibrationError(f"{path}: not a calibration profile (format {raw.get('format')!r}; "
                               f"readable: {', '.join(READABLE_FORMATS)})")
    try:
        f = ProfileFile.model_validate(_upgrade_v1(raw))
    except ValidationError as e:
        raise CalibrationError(f"{path}: {_first_error(e)}") from None
    classical = tuple(_parse_solver(name, sec, path) for name, sec in f.classical.solvers.items())
    rs = f.quantum.resource_model
    resources = QuantumResourceModel(rs.precision, rs.preset, rs.hardware, rs.basis, rs.include_state_prep,
                                     rs.include_readout, rs.encoding, rs.gate_time_s)
    eq4 = QuantumFit(QuantumEq4Model(f.quantum.q1, f.quantum.q2, rs.precision, rs.preset, rs.hardware),
                     f.quantum.r2, f.quantum.r2_log, f.quantum.fit, tuple(f.quantum.grid), tuple(f.quantum.error_by_n))
    return CalibrationProfile(classical, eq4, resources, measured=f.classical.measured,
                              source=f.source or ("measured here" if f.classical.measured else "given"),
                              created=f.created, threads=f.classical.threads, repeats=f.classical.repeats,
                              machine=tuple(f.machine.items()), path=path,
                              memory=None if (m := f.classical.memory) is None
                              else MemoryFit(m.bandwidth_Bps, m.cache_bytes, tuple(m.timings)))


def profile_from_constants(*, cholesky: tuple[float, float], lu: tuple[float, float] | None = None,
                           cg: tuple[float, float] | None = None, woodbury: tuple[float, float] | None = None,
                           q1: float, q2: float, resource_model: QuantumResourceModel = QuantumResourceModel(),
                           memory: tuple[float, float] | None = None,
                           note: str = "constants given by hand, not measured") -> CalibrationProfile:
    """A profile from given constants (tests, examples, what-if studies): nothing is measured or fitted,
    so every R^2 is NaN and ``source`` says so. Pairs are (c1, c2) for Eq. 3 solvers, (a, b) for the
    flop models and (bandwidth bytes/s, cache bytes) for their memory term."""
    fits = [ClassicalFit(ClassicalCubicModel(*cholesky, Solver.CHOLESKY))]
    if lu is not None:
        fits.append(ClassicalFit(ClassicalCubicModel(*lu, Solver.LU)))
    if cg is not None:
        fits.append(ClassicalFit(ClassicalFlopModel(*cg, Solver.CG, resource_model.precision)))
    if woodbury is not None:
        fits.append(ClassicalFit(ClassicalFlopModel(*woodbury, Solver.WOODBURY)))
    rm = resource_model
    eq4 = QuantumFit(QuantumEq4Model(q1, q2, rm.precision, rm.preset, rm.hardware))
    return CalibrationProfile(tuple(fits), eq4, rm, measured=False, source=note, path="<constants>",
                              memory=None if memory is None else MemoryFit(*map(float, memory)))


def save_profile(profile: CalibrationProfile, path: str | Path) -> Path:
    """Write ``profile`` as JSON (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(path, profile.to_json())


def load_profile(path: str | Path) -> CalibrationProfile:
    """Read and validate a profile file (CalibrationError naming the file otherwise)."""
    from qlsa_sim.core.bounded import read_bounded

    path = Path(path)
    if not path.exists():
        raise CalibrationError(f"{path}: calibration profile not found (run `qlsa-sim calibrate` first)")
    try:
        raw = json.loads(read_bounded(path, "calibration profile", max_bytes=PROFILE_MAX_BYTES,
                                      error=CalibrationError))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise CalibrationError(f"{path}: not valid JSON ({e})") from None
    return profile_from_json(raw, path=str(path))


__all__ = [
    "CalibrationProfile",
    "ClassicalFit",
    "MemoryFit",
    "QuantumFit",
    "QuantumModel",
    "load_profile",
    "profile_from_constants",
    "profile_from_json",
    "save_profile",
]
