"""The ``estimate`` table: a block's modeled QLSA counts and seconds under every preset and hardware profile,
all through the resource model's one path (``cost/models.py``). Every figure is MODELED."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qlsa_sim.cost.models import QuantumResourceModel, grid_features
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import FeatureConfig, MatrixFeatures, prepare_block
from qlsa_sim.quantum.estimation.hardware import get_profile, profile_names
from qlsa_sim.quantum.estimation.presets import get_preset, preset_names
from qlsa_sim.quantum.estimation.validation import validate_kappa_eps

TABLE_COLUMNS = [
    "id", "preset", "kind", "hardware", "encoding", "n", "nnz_per_row", "kappa", "kappa_eff", "alpha", "eps",
    "queries", "toffoli", "t_count", "rotations", "clifford", "measurements", "t_equivalent", "qubits", "depth",
    "depth_is_upper_bound", "success_probability", "repetitions", "gate_time_s", "basis", "seconds", "components",
    "method", "modeled",
]


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


def estimate_table(features: MatrixFeatures, eps: float, presets: Sequence[str] | None = None,
                   hardware: Sequence[str] | None = None, *, basis: str = "gates", include_state_prep: bool = False,
                   include_readout: bool = False, encoding: str = "cheapest") -> pd.DataFrame:
    """One row per (preset, hardware profile): modeled counts and time of the block under ``encoding`` (the
    cheapest one by default; ``components`` as JSON)."""
    presets = list(presets) if presets else list(preset_names())
    hardware = list(hardware) if hardware else list(profile_names())
    for p in presets:
        get_preset(p)
    profs = [get_profile(h) for h in hardware]
    if not math.isfinite(features.kappa):
        raise InputError("the matrix is singular (kappa = inf): no QLSA applies")
    rows = []
    for p in presets:
        kind = get_preset(p).kind
        for prof in profs:
            model = QuantumResourceModel(eps, p, prof.name, basis, include_state_prep, include_readout, encoding)
            est = model.estimate(features)
            res = est.resources
            rows.append({"id": f"{p}@{prof.name}", "preset": p, "kind": kind, "hardware": prof.name,
                         "encoding": res.encoding, "n": res.n, "nnz_per_row": res.nnz_per_row, "kappa": res.kappa,
                         "kappa_eff": res.kappa_eff, "alpha": res.alpha, "eps": res.eps, "queries": res.queries,
                         "toffoli": res.toffoli, "t_count": res.t_count, "rotations": res.rotations,
                         "clifford": res.clifford, "measurements": res.measurements,
                         "t_equivalent": res.t_equivalent, "qubits": res.qubits, "depth": res.depth, "depth_is_upper_bound": res.depth_is_upper_bound,
                         "success_probability": res.success_probability, "repetitions": res.repetitions,
                         "gate_time_s": prof.gate_time_s, "basis": model.basis, "seconds": est.seconds,
                         "components": json.dumps(dict(est.components)), "method": res.method, "modeled": True})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
