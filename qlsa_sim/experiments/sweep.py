"""Crossover sweeps: QLSA counts and times over presets x hardware profiles x (n, kappa, density).

Every point is MODELED: the resource model's estimate (``cost/models.py``, the one quantum-seconds path) of
a hypothetical block (:func:`~qlsa_sim.cost.models.grid_features`: entries unknown, so the ideal encoding
alpha = ||A||), and that solve on a surface-code machine (Qualtran's model, ``physical_*``); with a calibration
profile, also the classical solvers' modeled seconds and the ratio. Points are
grouped into chunks and run on any executor of ``schedule/executors.py``; each row carries a
stable id built from its parameters, so sweeps merge and resume safely and the table is the same
whatever the executor or the number of workers.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qlsa_sim.core.cache import DiskCache, code_identity
from qlsa_sim.core.executors import run_tasks, start_pool_server
from qlsa_sim.cost.models import QuantumResourceModel, grid_features
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.errors import InputError, QlsaSimError
from qlsa_sim.quantum.estimation.hardware import get_profile
from qlsa_sim.quantum.estimation.physical import physical_estimate
from qlsa_sim.quantum.estimation.physical_profiles import check_physical_profile
from qlsa_sim.quantum.estimation.presets import get_preset
from qlsa_sim.quantum.estimation.resources import logical_counts

#: The surface-code machine every sweep point is also priced on (p = 1e-4, 1 us cycle; Gidney-Fowler factory).
DEFAULT_PHYSICAL = "surface-p1e-4-1us"

#: What a process pool's server imports once for its workers: the estimator, not Qualtran. A worker imports
#: Qualtran on its first count or surface-code estimate missing from the disk cache (the workers of an empty cache
#: each pay it, in parallel); with the counts on disk none does (``bench/bench_startup.py``: on an idle 2-core
#: machine, 720 points with the counts on disk took 1.68 s on 2 workers against 3.75 s with Qualtran preloaded).
SWEEP_PRELOAD = ("qlsa_sim.quantum.estimation.counting", "qlsa_sim.quantum.estimation.physical")

if TYPE_CHECKING:  # pandas is imported by run_sweep only: pool workers evaluating chunks do not load it
    import pandas as pd


@dataclass(frozen=True)
class SweepPoint:
    preset: str
    profile: str
    n: int
    kappa: float
    density: float
    precision: float

    @property
    def id(self) -> str:
        return f"{self.preset}/{self.profile}/n={self.n}/kappa={self.kappa:g}/d={self.density:g}/eps={self.precision:g}"


def sweep_points(presets: Sequence[str], profiles: Sequence[str], ns: Sequence[int], kappas: Sequence[float],
                 densities: Sequence[float], precision: float) -> list[SweepPoint]:
    """The full grid, validated (unknown names and out-of-range values fail before any work)."""
    for p in presets:
        get_preset(p)
    for h in profiles:
        get_profile(h)
    if any(n < 1 for n in ns) or any(k < 1 for k in kappas) or any(not 0 < d <= 1 for d in densities):
        raise InputError("need n >= 1, kappa >= 1 and 0 < density <= 1 on every grid point")
    if not 0 < precision < 1:
        raise InputError(f"precision eps must be in (0, 1), got {precision}")
    return [SweepPoint(p, h, int(n), float(k), float(d), float(precision))
            for p, h, n, k, d in itertools.product(presets, profiles, ns, kappas, densities)]


def evaluate_points(points: Sequence[SweepPoint], calibration: CalibrationProfile | None = None,
                    physical: str | None = DEFAULT_PHYSICAL) -> list[dict]:
    """One row per point: modeled counts and seconds, the solve on the surface-code machine ``physical``
    (``physical_*``; Qualtran's model; None: left out) and, if a calibration is given, classical seconds."""
    rows = []
    for pt in points:
        f = grid_features(pt.n, pt.kappa, pt.density)
        est = QuantumResourceModel(precision=pt.precision, preset=pt.preset, hardware=pt.profile).estimate(f)
        res = est.resources
        row = {"id": pt.id, **asdict(pt), "nnz_per_row": f.max_nnz_per_row, "queries": res.queries,
               "t_count": res.t_count, "toffoli": res.toffoli, "rotations": res.rotations, "clifford": res.clifford,
               "qubits": res.qubits, "depth": res.depth, "quantum_modeled_s": est.seconds, "modeled": True}
        if physical is not None:
            row.update(physical_estimate(logical_counts(res), physical).row())
        if calibration is not None:
            for m in calibration.classical_models:
                row[f"{m.solver}_modeled_s"] = m.estimate(f).seconds if m.applies(f) else math.nan
            best = min(v for k, v in row.items() if k.endswith("_modeled_s") and k != "quantum_modeled_s"
                       and not math.isnan(v))
            row["quantum_over_best_classical"] = row["quantum_modeled_s"] / best
        rows.append(row)
    return rows


#: Finished sweep rows on disk (``core/cache.py``): a repeated sweep reads its rows back and starts no pool.
ROW_CACHE = DiskCache("sweep-rows")
#: The code a row depends on (digested into its key): the estimator, the cost models, the features, this module.
_ROW_SOURCE_DIRS = ("quantum/estimation", "cost")
_ROW_SOURCE_FILES = ("experiments/sweep.py", "linalg/features.py")


@functools.lru_cache(maxsize=1)
def row_identity() -> dict:
    """Package versions and a digest of the code that prices a sweep row."""
    root = Path(__file__).resolve().parents[1]
    found = sorted(str(f.relative_to(root)) for d in _ROW_SOURCE_DIRS for f in (root / d).glob("*.py"))
    return code_identity(root, (*found, *_ROW_SOURCE_FILES))


def _row_key(pt: SweepPoint, calibration_sha: str | None, physical: str | None) -> dict:
    return {"sweep_point": asdict(pt), "calibration": calibration_sha, "physical": physical, **row_identity()}


def _encode(row: dict) -> dict:
    """JSON-safe and in column order (a cache entry's keys come back sorted): a non-finite float becomes
    {"float": "nan" | "inf" | "-inf"}."""
    return {"id": row["id"], "items": [[k, {"float": repr(float(v))} if isinstance(v, float) and not math.isfinite(v)
                                        else v] for k, v in row.items()]}


def _decode(entry: dict) -> dict:
    return {k: float(v["float"]) if isinstance(v, dict) and set(v) == {"float"} else v for k, v in entry["items"]}


def run_sweep(points: Sequence[SweepPoint], *, calibration: CalibrationProfile | None = None, chunk: int = 64,
              physical: str | None = DEFAULT_PHYSICAL, executor: str = "inprocess", workers: int | None = None,
              scheduler_address: str | None = None, progress: bool = True, reuse_rows: bool = True
              ) -> "pd.DataFrame":
    """Evaluate ``points`` in chunks on the chosen executor; rows in grid order, one per point.

    Rows already on disk (``ROW_CACHE``, keyed by the point, the calibration's digest, ``physical`` and
    :func:`row_identity`) are read back unless ``reuse_rows`` is False; only the others are evaluated, and no pool
    is started when none is left. Chunks are cut from the points ordered by (n, density, precision): the gate
    counts of a point depend on those (and on the entry bits), so workers running different chunks rarely need the
    same count at the same time, and each count is made once and shared through the disk cache
    (``quantum/estimation/counting.py``)."""
    if physical is not None:
        check_physical_profile(physical)  # an unknown name fails before any work (without importing Qualtran)
    if chunk < 1:
        raise InputError(f"chunk must be >= 1, got {chunk}")
    cal_sha = None if calibration is None else calibration.identity()["sha256"]
    rows: dict[str, dict] = {}
    if reuse_rows:
        for p in points:
            hit = ROW_CACHE.get(_row_key(p, cal_sha, physical))
            if isinstance(hit, dict) and hit.get("id") == p.id and isinstance(hit.get("items"), list):
                try:
                    rows[p.id] = _decode(hit)
                except (TypeError, ValueError):  # an entry of another shape: evaluate the point again
                    pass
    todo = [p for p in points if p.id not in rows]
    fn = functools.partial(evaluate_points, calibration=calibration, physical=physical)
    if executor == "process" and todo:
        start_pool_server(fn, SWEEP_PRELOAD)  # the workers' imports overlap this process's own
    import pandas as pd

    if todo:
        ordered = sorted(todo, key=lambda p: (p.n, p.density, p.precision))
        chunks = [tuple(ordered[i:i + chunk]) for i in range(0, len(ordered), chunk)]
        results = run_tasks(fn, [(f"chunk-{i:06d}", c) for i, c in enumerate(chunks)], executor=executor,
                            workers=workers, scheduler_address=scheduler_address, progress=progress, desc="sweep",
                            preload=SWEEP_PRELOAD)
        failed = [r for r in results if not r.ok]
        if failed:
            raise QlsaSimError(f"{len(failed)} sweep chunk(s) failed; first: {failed[0].describe()}")
        by_id = {p.id: p for p in todo}
        for r in results:
            for row in r.value:
                rows[row["id"]] = row
                ROW_CACHE.put(_row_key(by_id[row["id"]], cal_sha, physical), _encode(row))
    return pd.DataFrame([rows[p.id] for p in points])
