"""Calibration: measure dense SPD solves here, fit paper Eq. 3; fit paper Eq. 4 to the resource model.

A profile is a JSON file under ``calibration/`` holding the machine, the raw timings, the
fitted constants and the fit quality (R^2). Fits minimize *relative* squared error (weights
1/T, so that small-n timings count as much as large ones) with non-negative constants
(``scipy.optimize.nnls``); R^2 is reported on the raw seconds and on log10 seconds, always on
all sizes. Eq. 3 (Cholesky, LU) is fitted by :func:`fit_eq3`, by default "asymptotic" (c1 from
the largest sizes), which extrapolates to larger n far better than one relative fit over all sizes.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm.auto import tqdm

from qlsa_sim.cost import classical_solvers as cs
from qlsa_sim.cost.models import (ClassicalCubicModel, ClassicalFlopModel, QuantumEq4Model, QuantumResourceModel,
                                  eq4_regressor)
from qlsa_sim.errors import CalibrationError, InputError, UnknownNameError
from qlsa_sim.linalg import solvers
from qlsa_sim.core.atomic import atomic_write_json

FORMAT = "qlsa-sim-calibration/1"


@dataclass(frozen=True)
class LinearFit:
    """``y ~ a * x + b`` with its quality."""

    a: float
    b: float
    r2: float
    r2_log: float


def fit_linear_relative(x: Sequence[float], y: Sequence[float]) -> LinearFit:
    """Fit ``y = a x + b`` with a, b >= 0 minimizing sum(((a x + b - y) / y)^2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.size < 2:
        raise InputError(f"need at least two (x, y) points of equal length, got {x.size} and {y.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or (y <= 0).any():
        raise InputError("fit data must be finite with positive y")
    w = 1.0 / y
    (a, b), _ = nnls(np.column_stack([x * w, w]), np.ones_like(y))
    return LinearFit(float(a), float(b), *_r2(y, a * x + b))


def _r2(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """R^2 of ``pred`` against ``y`` on raw and on log10 values."""
    r2 = 1.0 - float(np.sum((y - pred) ** 2)) / max(float(np.sum((y - y.mean()) ** 2)), 1e-300)
    ly, lp = np.log10(y), np.log10(np.maximum(pred, 1e-300))
    r2_log = 1.0 - float(np.sum((ly - lp) ** 2)) / max(float(np.sum((ly - ly.mean()) ** 2)), 1e-300)
    return r2, r2_log


EQ3_FITS = ("asymptotic", "relative")
EQ3_FIT_RULES = {
    "asymptotic": "c1 = n^3 coefficient of a non-negative relative-error fit of c1 n^3 + b n^2 to the medians "
                  "minus the overhead (median at the smallest n) at n >= max n / 4 (at least the 3 largest sizes), "
                  "the n^2 term (blocked-factorization panel work) then dropped; c2 = overhead - c1 n_min^3, >= 0",
    "relative": "c1, c2 by non-negative least squares on relative error (weights 1/T) of the medians at all sizes",
}


@dataclass(frozen=True)
class Eq3Fit:
    """Paper Eq. 3 constants ``t = c1 n^3 + c2``, the rule that fitted them (``EQ3_FIT_RULES``),
    the sizes c1 was fitted on and R^2 of the model on all sizes (raw and log10 seconds)."""

    c1: float
    c2: float
    r2: float
    r2_log: float
    method: str
    c1_sizes: tuple[int, ...]

    def seconds(self, n: float) -> float:
        return self.c1 * float(n) ** 3 + self.c2


def fit_eq3(n: Sequence[float], t: Sequence[float], method: str = "asymptotic") -> Eq3Fit:
    """Fit paper Eq. 3, ``t = c1 n^3 + c2``, to dense-solve seconds ``t`` at sizes ``n``.

    "relative": :func:`fit_linear_relative` on all sizes; it weighs the overhead-dominated small
    sizes as much as the large ones, so with a BLAS whose GFLOP/s still rise at the largest
    calibrated n it over-predicts at larger n (1.9-3.6x at 6x the largest n, measured).
    "asymptotic": a blocked factorization costs ~ c1 n^3 (level-3 updates) + b n^2 (panels,
    level-2) + overhead, so c1 is fitted with b to t minus the overhead (the median t at the
    smallest n) on the largest sizes (n >= max n / 4, at least the 3 largest); b is then dropped
    and c2 is that overhead minus c1 n_min^3. If that c1 is 0 (overhead-dominated or noisy
    sizes), c1 is fitted alone, by relative error, to the band's seconds. Measured with sizes up
    to N = 2048 (1 thread; bench/bench_calibration_extrapolation.py): 0.55-0.9x at N (the dropped
    b n^2), 0.7-1.1x at 2N, 0.9-1.3x at 3N-6N.
    """
    if method not in EQ3_FITS:
        raise UnknownNameError("Eq. 3 fit", method, EQ3_FITS)
    n, t = np.asarray(n, float), np.asarray(t, float)
    if n.shape != t.shape or n.ndim != 1 or np.unique(n).size < 2:
        raise InputError(f"Eq. 3 fit needs timings at two or more distinct sizes, got sizes {n.tolist()}")
    if not (np.isfinite(n).all() and np.isfinite(t).all()) or (n <= 0).any() or (t <= 0).any():
        raise InputError("Eq. 3 fit needs finite, positive sizes and seconds")
    if method == "relative":
        f = fit_linear_relative(n ** 3, t)
        return Eq3Fit(f.a, f.b, f.r2, f.r2_log, method, tuple(int(v) for v in np.unique(n)))
    sizes = np.unique(n)
    band = n >= min(n.max() / 4, sizes[-min(3, sizes.size)])
    overhead = float(np.median(t[n == n.min()]))
    w, y = 1.0 / t[band], 1.0 - overhead / t[band]          # relative error of (t - overhead)
    (c1, _), _ = nnls(np.column_stack([n[band] ** 3 * w, n[band] ** 2 * w]), y)
    if c1 <= 0:   # n^3 term not resolved: c1 n^3 alone on the band's seconds (always > 0)
        (c1,), _ = nnls((n[band] ** 3 * w)[:, None], np.ones(int(band.sum())))
    c2 = max(0.0, overhead - c1 * n.min() ** 3)
    return Eq3Fit(float(c1), c2, *_r2(t, c1 * n ** 3 + c2), method, tuple(int(v) for v in np.unique(n[band])))


def random_spd(n: int, rng: np.random.Generator, kappa: float | None = None) -> np.ndarray:
    """Dense SPD test matrix: ``A A^T / n + I``, or ``Q diag(geomspace(1, kappa)) Q^T`` if ``kappa``."""
    A = rng.standard_normal((n, n))
    if kappa is None:
        return A @ A.T / n + np.eye(n)
    Q, _ = np.linalg.qr(A)
    return (Q * np.geomspace(1.0, kappa, n)) @ Q.T


def _time(fn: Callable[[], Any], repeats: int, budget_seconds: float) -> tuple[list[float], Any]:
    times, out = [], None
    for r in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if r >= 1 and sum(times) > budget_seconds:
            break
    return times, out


def _residual(A, x, b) -> float:
    return float(np.linalg.norm(A @ x - b) / np.linalg.norm(b))


def time_dense_solves(solver: str, sizes: Sequence[int], *, repeats: int = 5, seed: int = 0,
                      progress: bool = True, budget_seconds: float = 2.0) -> list[dict]:
    """MEASURED seconds of one dense ``cholesky`` or ``lu`` solve (float64, ``linalg.solvers``) per n.

    Every repeat and the median are kept; repeats at large n stop after ``budget_seconds``.
    """
    fn = {"cholesky": solvers.cholesky_solve, "lu": solvers.lu_solve}[solver]
    rng = np.random.default_rng(seed)
    out = []
    for n in tqdm(list(sizes), desc=f"calibrate {solver}", unit="n", disable=not progress, leave=False):
        A, b = random_spd(int(n), rng), rng.standard_normal(int(n))
        times, x = _time(lambda: fn(A, b), repeats, budget_seconds)
        out.append({"n": int(n), "seconds": times, "median": float(np.median(times)),
                    "flops": (cs.cholesky_flops if solver == "cholesky" else cs.lu_flops)(n),
                    "relative_residual": _residual(A, x, b)})
    return out


def time_cg_solves(sizes: Sequence[int], kappas: Sequence[float], *, rtol: float, repeats: int = 3,
                   seed: int = 0, progress: bool = True) -> list[dict]:
    """MEASURED CG solves on dense SPD matrices of known kappa; flops from the MEASURED iterations."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for n in tqdm(list(sizes), desc="calibrate cg", unit="n", disable=not progress, leave=False):
        for kappa in kappas:
            A, b = random_spd(int(n), rng, kappa), rng.standard_normal(int(n))
            times, (x, iters) = _time(lambda: solvers.cg_solve(A, b, rtol=rtol), repeats, 2.0)
            out.append({"n": int(n), "kappa": float(kappa), "iterations": int(iters),
                        "modeled_iterations": cs.cg_iterations(kappa, rtol),
                        "flops": float(iters) * (2.0 * n * n + 10.0 * n), "seconds": times,
                        "median": float(np.median(times)), "relative_residual": _residual(A, x, b)})
    return out


def time_woodbury_solves(shapes: Sequence[tuple[int, int]], *, repeats: int = 3, seed: int = 0,
                         progress: bool = True, eps: float = 1e-3) -> list[dict]:
    """MEASURED Woodbury solves of (M M^T / r + eps I) x = b for factors M of shape (n, r)."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for n, r in tqdm(list(shapes), desc="calibrate woodbury", unit="shape", disable=not progress, leave=False):
        M, b = rng.standard_normal((n, r)), rng.standard_normal(n)
        times, x = _time(lambda: solvers.woodbury_solve(M, b, eps, scale=1.0 / r), repeats, 2.0)
        resid = float(np.linalg.norm(M @ (M.T @ x) / r + eps * x - b) / np.linalg.norm(b))
        out.append({"n": int(n), "r": int(r), "flops": cs.woodbury_flops(n, r), "seconds": times,
                    "median": float(np.median(times)), "relative_residual": resid})
    return out


def default_quantum_grid(n_max: int = 1 << 14) -> list[tuple[int, float, float]]:
    """(n, kappa, density) points spanning the trace blocks' range for the Eq. 4 fit."""
    ns = [int(v) for v in np.unique(np.geomspace(16, n_max, 6).astype(int))]
    kappas = [2.0, 10.0, 1e2, 1e3, 1e4, 1e5]
    densities = [0.01, 0.1, 0.5, 1.0]
    return [(n, k, d) for n in ns for k in kappas for d in densities]


def fit_quantum_eq4(model: QuantumResourceModel, grid: Sequence[tuple[int, float, float]]) -> tuple[LinearFit, list[dict]]:
    """Fit paper Eq. 4 to the resource model's modeled seconds over ``grid``."""
    rows = []
    for n, kappa, d in grid:
        s = max(1, int(math.ceil(d * n)))
        est = model.seconds_for(n, s, kappa)
        rows.append({"n": n, "kappa": kappa, "density": d, "nnz_per_row": s,
                     "x": eq4_regressor(n, kappa, d, model.precision), "seconds": est.seconds})
    fit = fit_linear_relative([r["x"] for r in rows], [r["seconds"] for r in rows])
    return fit, rows


def machine_info(threads: int) -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpu": cpu, "cpu_count": os.cpu_count(), "numpy": np.__version__,
            "blas": [{k: d.get(k) for k in ("internal_api", "version", "num_threads")} for d in threadpool_info()],
            "threads_used": threads}


@dataclass(frozen=True)
class CalibrationProfile:
    """Fitted constants of the classical solvers' and the quantum cost models, and their source."""

    classical_models: tuple[ClassicalCubicModel | ClassicalFlopModel, ...]
    classical_fits: dict[str, LinearFit] = field(compare=False, hash=False)
    quantum: QuantumEq4Model
    quantum_fit: LinearFit
    resource_model: QuantumResourceModel
    path: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def classical(self) -> ClassicalCubicModel:
        """The Cholesky model (paper Eq. 3), the reference classical cost."""
        return next(m for m in self.classical_models if m.solver == "cholesky")

    def classical_model(self, solver: str):
        for m in self.classical_models:
            if m.solver == solver:
                return m
        raise CalibrationError(f"{self.path}: no calibration for classical solver {solver!r}")


CLASSICAL_SOLVERS = ("cholesky", "lu", "cg", "woodbury")


def calibrate(*, sizes: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048), repeats: int = 5, threads: int = 1,
              resource_model: QuantumResourceModel = QuantumResourceModel(), seed: int = 0,
              progress: bool = True, quantum_grid: Sequence[tuple[int, float, float]] | None = None,
              solvers_to_fit: Sequence[str] = CLASSICAL_SOLVERS, eq3_fit: str = "asymptotic") -> CalibrationProfile:
    """Measure classical solves (1 BLAS thread by default), fit Eq. 3 (Cholesky, LU; by
    :func:`fit_eq3` with ``eq3_fit``) and a*flops+b (CG, Woodbury); fit Eq. 4 to the resource
    model. Nothing is written."""
    import torch

    if len(set(sizes)) < 2:
        raise InputError("calibration needs at least two distinct matrix sizes")
    if eq3_fit not in EQ3_FITS:
        raise UnknownNameError("Eq. 3 fit", eq3_fit, EQ3_FITS)
    unknown = [s for s in solvers_to_fit if s not in CLASSICAL_SOLVERS]
    if unknown or "cholesky" not in solvers_to_fit:
        raise InputError(f"solvers to fit must include cholesky and be among {', '.join(CLASSICAL_SOLVERS)}")
    sections: dict[str, dict] = {}
    old_torch_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            for solver in ("cholesky", "lu"):
                if solver not in solvers_to_fit:
                    continue
                t = time_dense_solves(solver, sizes, repeats=repeats, seed=seed, progress=progress)
                e = fit_eq3([r["n"] for r in t], [r["median"] for r in t], eq3_fit)
                sections[solver] = {"model": "c1*n^3+c2 (paper Eq. 3)", "fit": e.method, "c1": e.c1, "c2": e.c2,
                                    "c1_sizes": list(e.c1_sizes), "r2": e.r2, "r2_log": e.r2_log,
                                    "gflops_at_largest_n": t[-1]["flops"] / t[-1]["median"] / 1e9, "timings": t}
            small = [n for n in sizes if n <= 1024] or list(sizes[:2])
            if "cg" in solvers_to_fit:
                t = time_cg_solves(small, (10.0, 1e3), rtol=resource_model.precision, repeats=repeats, seed=seed,
                                   progress=progress)
                f = fit_linear_relative([r["flops"] for r in t], [r["median"] for r in t])
                sections["cg"] = {"model": "a*flops+b, flops = iterations*(2 nnz + 10 n) (Shewchuk 1994 Sec. 10)",
                                  "a": f.a, "b": f.b, "r2": f.r2, "r2_log": f.r2_log,
                                  "rtol": resource_model.precision, "timings": t}
            if "woodbury" in solvers_to_fit:
                shapes = [(n, r) for n in (max(sizes) // 4, max(sizes)) for r in (16, 64, 256) if r < n]
                t = time_woodbury_solves(shapes, repeats=repeats, seed=seed, progress=progress)
                f = fit_linear_relative([r["flops"] for r in t], [r["median"] for r in t])
                sections["woodbury"] = {"model": "a*flops+b, flops = n r^2 + r^3/3 + 4 n r (Woodbury)",
                                        "a": f.a, "b": f.b, "r2": f.r2, "r2_log": f.r2_log, "timings": t}
    finally:
        torch.set_num_threads(old_torch_threads)
    qfit, qrows = fit_quantum_eq4(resource_model, quantum_grid or default_quantum_grid())
    raw = {
        "format": FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(threads),
        "classical": {"measured": True, "dtype": "float64", "threads": threads, "repeats": repeats,
                      "fit": (f"Eq. 3 ({eq3_fit}): {EQ3_FIT_RULES[eq3_fit]}; CG, Woodbury: non-negative least "
                              "squares on relative error (weights 1/T) of the medians; R^2 on all sizes"),
                      "solvers": sections},
        "quantum": {"model": "q1*d*kappa*ln(n/eps)+q2 (paper Eq. 4)", "modeled": True,
                    "fitted_to": "QuantumResourceModel (queries x block-encoding cost x gate time)",
                    "resource_model": asdict(resource_model),
                    "q1": qfit.a, "q2": qfit.b, "r2": qfit.r2, "r2_log": qfit.r2_log, "grid": qrows},
    }
    return profile_from_json(raw)


_REQUIRED_SOLVER = {"cholesky": ("c1", "c2", "r2", "r2_log", "timings"), "lu": ("c1", "c2", "r2", "r2_log"),
                    "cg": ("a", "b", "r2", "r2_log", "rtol"), "woodbury": ("a", "b", "r2", "r2_log")}
_REQUIRED_QUANTUM = ("q1", "q2", "r2", "r2_log", "resource_model")


def profile_from_json(raw: Any, *, path: str = "<memory>") -> CalibrationProfile:
    """Validate a profile dict; a missing or bad field is a CalibrationError naming it and the file."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CalibrationError(f"{path}: not a {FORMAT} profile")
    c, q = raw.get("classical"), raw.get("quantum")
    if not isinstance(c, dict) or not isinstance(c.get("solvers"), dict):
        raise CalibrationError(f"{path}: missing section 'classical' with 'solvers'")
    if not isinstance(q, dict):
        raise CalibrationError(f"{path}: missing section 'quantum'")
    if "cholesky" not in c["solvers"]:
        raise CalibrationError(f"{path}: section 'classical.solvers' lacks 'cholesky'")
    for solver, sec in c["solvers"].items():
        if solver not in _REQUIRED_SOLVER:
            raise CalibrationError(f"{path}: unknown classical solver {solver!r}")
        missing = [k for k in _REQUIRED_SOLVER[solver] if k not in sec]
        if missing:
            raise CalibrationError(f"{path}: section 'classical.solvers.{solver}' lacks field(s) {', '.join(missing)}")
    missing = [k for k in _REQUIRED_QUANTUM if k not in q]
    if missing:
        raise CalibrationError(f"{path}: section 'quantum' lacks field(s) {', '.join(missing)}")
    try:
        rm = QuantumResourceModel(**q["resource_model"])
        classical = []
        fits = {}
        for solver, sec in c["solvers"].items():
            if solver in ("cholesky", "lu"):
                classical.append(ClassicalCubicModel(float(sec["c1"]), float(sec["c2"]), solver))
            else:
                classical.append(ClassicalFlopModel(float(sec["a"]), float(sec["b"]), solver,
                                                    float(sec.get("rtol", rm.precision))))
            fits[solver] = LinearFit(float(sec.get("c1", sec.get("a"))), float(sec.get("c2", sec.get("b"))),
                                     _float_or_nan(sec["r2"]), _float_or_nan(sec["r2_log"]))
        quantum = QuantumEq4Model(float(q["q1"]), float(q["q2"]), rm.precision, rm.preset, rm.profile)
        qfit = LinearFit(quantum.q1, quantum.q2, _float_or_nan(q["r2"]), _float_or_nan(q["r2_log"]))
    except (TypeError, ValueError, InputError) as e:
        raise CalibrationError(f"{path}: bad value ({e})") from None
    return CalibrationProfile(tuple(classical), fits, quantum, qfit, rm, path, raw)


def profile_from_constants(*, cholesky: tuple[float, float], lu: tuple[float, float] | None = None,
                           cg: tuple[float, float] | None = None, woodbury: tuple[float, float] | None = None,
                           q1: float, q2: float, resource_model: QuantumResourceModel = QuantumResourceModel(),
                           note: str = "constants given by hand, not measured") -> CalibrationProfile:
    """A profile from given constants (tests, examples, what-if studies): nothing is measured or
    fitted, so every R^2 is null and ``source`` says so. Pairs are (c1, c2) for Eq. 3 solvers and
    (a, b) for the flop models."""
    def cubic(c):
        return {"model": "c1*n^3+c2 (paper Eq. 3)", "c1": c[0], "c2": c[1], "r2": None, "r2_log": None, "timings": []}

    solvers = {"cholesky": cubic(cholesky)}
    if lu is not None:
        solvers["lu"] = cubic(lu)
    if cg is not None:
        solvers["cg"] = {"a": cg[0], "b": cg[1], "r2": None, "r2_log": None, "rtol": resource_model.precision}
    if woodbury is not None:
        solvers["woodbury"] = {"a": woodbury[0], "b": woodbury[1], "r2": None, "r2_log": None}
    raw = {"format": FORMAT, "source": note,
           "classical": {"measured": False, "solvers": solvers},
           "quantum": {"model": "q1*d*kappa*ln(n/eps)+q2 (paper Eq. 4)", "modeled": True, "q1": q1, "q2": q2,
                       "r2": None, "r2_log": None, "resource_model": asdict(resource_model)}}
    return profile_from_json(raw, path="<constants>")


def _float_or_nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def save_profile(profile: CalibrationProfile, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(path, profile.raw)


def load_profile(path: str | Path) -> CalibrationProfile:
    import json

    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: calibration profile not found (run `qlsa-sim calibrate` first)")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CalibrationError(f"{path}: not valid JSON ({e})") from None
    return profile_from_json(raw, path=str(path))
