"""What a QLSA solve of one block would cost: counts per preset, time on logical gate-time profiles, and physical
surface-code figures (Qualtran's models), all through the resource model's one path (``cost/models.py``).

Every figure is MODELED. The machine-readable form is :class:`EstimateDocument` (schema
``qlsa-sim-estimate/1``: a version, units for every field, the inputs, nested objects); ``qlsa-sim estimate
--json`` prints it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from qlsa_sim.cost.models import QuantumResourceModel, grid_features
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import FeatureConfig, MatrixFeatures, prepare_block
from qlsa_sim.quantum.estimation.counting import TS_PER_TOFFOLI
from qlsa_sim.quantum.estimation.hardware import get_profile, profile_names
from qlsa_sim.quantum.estimation.physical import PhysicalEstimate, physical_estimate
from qlsa_sim.quantum.estimation.physical_profiles import get_physical_profile
from qlsa_sim.quantum.estimation.presets import get_preset, preset_names
from qlsa_sim.quantum.estimation.resources import QLSAResources, logical_counts
from qlsa_sim.quantum.estimation.validation import validate_kappa_eps

SCHEMA = "qlsa-sim-estimate/1"
DEFAULT_PHYSICAL = ("surface-p1e-3-1us", "surface-p1e-4-1us")
T_EQUIVALENT_RULE = (f"t_equivalent = t + {TS_PER_TOFFOLI} toffoli + t_per_rotation x rotations (Toffoli as 4 T: "
                     "Jones 2013, arXiv:1212.5069; rotations by Ross-Selinger synthesis, arXiv:1403.2975)")
UNITS = {"seconds": "s", "wall_time_s": "s", "gate_time_s": "s per logical gate", "cycle_time_s": "s per surface-code "
         "cycle", "toffoli": "gates", "t": "gates", "rotations": "gates", "clifford": "gates", "measurements":
         "operations", "t_equivalent": "T gates", "logical_qubits": "logical qubits", "physical_qubits":
         "physical qubits", "code_distance": "lattice spacings", "queries": "block-encoding queries", "alpha":
         "units of A", "kappa": "1", "kappa_eff": "1", "eps": "1 (relative l2 error)", "phys_error": "per operation",
         "error_budget": "probability", "n": "rows"}


def point_features(n: int, kappa: float, density: float, eps: float) -> MatrixFeatures:
    """Features of a hypothetical block (ideal encoding: entries unknown), checked."""
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    if not 0.0 < density <= 1.0:
        raise InputError(f"density must lie in (0, 1], got {density}")
    validate_kappa_eps(kappa, eps)
    return grid_features(n, kappa, density)


def matrix_features(a: np.ndarray, *, name: str = "matrix") -> MatrixFeatures:
    """Exact features (no damping) of a symmetric matrix, as the scheduler takes them (``linalg/features.py``)."""
    return prepare_block(a, FeatureConfig(reg_eps=0.0, kappa_method="exact", psd=False), name=name)[1]


# ------------------------------------------------------------------------------------------ schema
class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Counts(_Out):
    """Non-overlapping counts of one solve (expected totals over its repetitions)."""

    toffoli: float
    t: float
    rotations: float
    clifford: float
    measurements: float
    logical_qubits: int
    t_equivalent: float
    t_per_rotation: float
    t_equivalent_rule: str = T_EQUIVALENT_RULE


class LogicalTime(_Out):
    """Wall time at a fixed time per logical gate (idealized: no error correction, no qubits counted)."""

    hardware: str
    gate_time_s: float
    basis: str
    seconds: float
    components: dict[str, float]
    idealized: bool


class Physical(_Out):
    """A surface-code machine's figures (Qualtran's models); infeasible points carry the reason, no numbers."""

    profile: str
    model: str
    feasible: bool
    reason: str
    phys_error: float | None
    cycle_time_s: float | None
    error_budget: float | None
    wall_time_s: float | None
    physical_qubits: int | None
    data_qubits: int | None
    factory_qubits: int | None
    code_distance: int | None
    n_factories: int | None
    factory: str | None
    error_split: dict[str, float | None]


class Estimate(_Out):
    """One preset's QLSA solve of the block under its chosen encoding."""

    id: str
    preset: str
    preset_kind: str
    encoding: str
    alpha: float
    kappa_eff: float
    queries: float
    repetitions: float
    success_probability: float
    counts: Counts
    logical_time: list[LogicalTime]
    physical: list[Physical]


class EstimateDocument(_Out):
    """``qlsa-sim estimate --json``: every figure MODELED; ``units`` names the unit of every numeric field."""

    schema_version: Literal["qlsa-sim-estimate/1"] = SCHEMA
    modeled: Literal[True] = True
    units: dict[str, str]
    inputs: dict[str, float | int | str | bool | None]
    estimates: list[Estimate]


# ------------------------------------------------------------------------------------------ building
def _counts(res: QLSAResources) -> Counts:
    return Counts(toffoli=res.toffoli, t=res.t_count, rotations=res.rotations, clifford=res.clifford,
                  measurements=res.measurements, logical_qubits=res.logical_qubits, t_equivalent=res.t_equivalent,
                  t_per_rotation=res.t_per_rotation)


def _physical(p: PhysicalEstimate) -> Physical:
    return Physical(profile=p.profile, model=p.model, feasible=p.feasible, reason=p.reason, phys_error=p.phys_error,
                    cycle_time_s=p.cycle_time_s, error_budget=p.error_budget, wall_time_s=p.wall_time_s,
                    physical_qubits=p.physical_qubits, data_qubits=p.data_qubits, factory_qubits=p.factory_qubits,
                    code_distance=p.code_distance, n_factories=p.n_factories, factory=p.factory,
                    error_split={"data": p.error_data, "distillation": p.error_distillation,
                                 "rotation_synthesis": p.error_rotation_synthesis, "total": p.failure_probability})


def estimate_document(features: MatrixFeatures, eps: float, *, presets: Sequence[str] | None = None,
                      hardware: Sequence[str] | None = None, physical: Sequence = DEFAULT_PHYSICAL,
                      gate_time_s: float | None = None, basis: str = "gates", include_state_prep: bool = False,
                      include_readout: bool = False, encoding: str = "cheapest",
                      inputs: dict | None = None) -> EstimateDocument:
    """Every preset's estimate of the block: counts, time per logical gate-time profile (and at ``gate_time_s``
    if given), and the physical figures of each profile in ``physical`` (names or profile objects)."""
    presets = list(presets) if presets else list(preset_names())
    hardware = list(hardware) if hardware else list(profile_names())
    kinds = {p: get_preset(p).kind for p in presets}
    for h in hardware:
        get_profile(h)
    phys_profiles = [get_physical_profile(p) for p in physical]
    if not math.isfinite(features.kappa):
        raise InputError("the matrix is singular (kappa = inf): no QLSA applies")
    out = []
    for p in presets:
        base = QuantumResourceModel(eps, p, hardware[0], basis, include_state_prep, include_readout, encoding)
        res = base.estimate(features).resources
        times = [replace(base, hardware=h) for h in hardware]
        if gate_time_s is not None:
            times.append(replace(base, gate_time_s=gate_time_s))
        logical = []
        for m in times:
            t = m.time(res)
            logical.append(LogicalTime(hardware=m.hardware_label, gate_time_s=m.gate_time, basis=t.basis,
                                       seconds=t.seconds, components=dict(t.components), idealized=True))
        counts = logical_counts(res, include_state_prep=include_state_prep)
        phys = [_physical(physical_estimate(counts, prof)) for prof in phys_profiles]
        out.append(Estimate(id=p, preset=p, preset_kind=kinds[p], encoding=res.encoding, alpha=res.alpha,
                            kappa_eff=res.kappa_eff, queries=res.queries, repetitions=res.repetitions,
                            success_probability=res.success_probability, counts=_counts(res),
                            logical_time=logical, physical=phys))
    ins = {"n": features.n, "nnz_per_row": features.max_nnz_per_row, "kappa": features.kappa, "eps": eps,
           "encoding": encoding, "basis": basis, "state_prep": include_state_prep, "readout": include_readout,
           **(inputs or {})}
    return EstimateDocument(units=UNITS, inputs=ins, estimates=out)


def logical_rows(doc: EstimateDocument) -> list[dict]:
    """One row per (preset, logical gate-time profile): counts and modeled seconds (plain dicts: the command prints
    them without importing pandas, a third of a warm ``estimate``)."""
    return [{"id": f"{e.preset}@{t.hardware}", "preset": e.preset, "hardware": t.hardware, "encoding": e.encoding,
             "alpha": e.alpha, "kappa_eff": e.kappa_eff, "queries": e.queries, "toffoli": e.counts.toffoli,
             "t": e.counts.t, "rotations": e.counts.rotations, "t_equivalent": e.counts.t_equivalent,
             "logical_qubits": e.counts.logical_qubits, "gate_time_s": t.gate_time_s, "seconds": t.seconds,
             "modeled": True} for e in doc.estimates for t in e.logical_time]


def physical_rows(doc: EstimateDocument) -> list[dict]:
    """One row per (preset, physical profile): feasible or why not; qubits, distance, factories, wall time."""
    return [{"id": f"{e.preset}@{p.profile}", "preset": e.preset, "profile": p.profile, "feasible": p.feasible,
             "physical_qubits": p.physical_qubits, "code_distance": p.code_distance, "n_factories": p.n_factories,
             "wall_time_s": p.wall_time_s, "reason": p.reason if not p.feasible else "", "modeled": True}
            for e in doc.estimates for p in e.physical]
