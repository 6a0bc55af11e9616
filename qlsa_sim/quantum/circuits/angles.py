"""QSVT phase angles for the inversion polynomial of :mod:`qlsa_sim.quantum.estimation.inversion`:
pyqsp's symmetric-QSP Newton solver (``method="sym_qsp"``; Dong, Lin, Ni, Wang, arXiv:2307.12468), whose
W_x-convention phases satisfy ``Im <0|U_Phi(x)|0> = P(x)``, converted to the reflection convention of the QSVT
circuit (phases ``phi_0 + 3pi/4, phi_k + pi/2, phi_d - pi/4``, from ``W(x) = -i e^{i 3pi/4 Z} R(x) e^{-i pi/4 Z}``),
checked against ``P`` on a grid, and cached on disk as JSON keyed by (kappa, eps, method).

The cache is not trusted: an entry carries its key (the inputs: kappa, eps, method, construction) and a
sha256 of key and content, and on every read both are checked and the phases are checked again against the
polynomial on the grid (cheap next to finding them). An entry that fails any check is recomputed and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qlsa_sim.core.atomic import atomic_write
from qlsa_sim.core.bounded import read_bounded
from qlsa_sim.errors import InputError, QlsaSimError
from qlsa_sim.quantum.estimation.inversion import CONSTRUCTION, ETA, inversion_polynomial
from qlsa_sim.quantum.estimation.validation import validate_kappa_eps

ANGLE_METHOD = "sym_qsp"
#: Largest |sign * Re response - P| on the check grid for angles to be used (found or cached).
MAX_RESPONSE_ERROR = 1e-6
CACHE_MAX_BYTES = 16 << 20


# --------------------------------------------------------------------------- angles


def wx_to_reflection(phases_wx: np.ndarray) -> np.ndarray:
    """Convert W_x-convention QSP phases to the reflection convention used by the QSVT circuit."""
    p = np.array(phases_wx, dtype=float)
    out = p.copy()
    out[0] += 3.0 * math.pi / 4.0
    out[1:-1] += math.pi / 2.0
    out[-1] -= math.pi / 4.0
    return out


def reflection_response(phases_r: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``<0| e^{i phi_0 Z} R(x) e^{i phi_1 Z} ... R(x) e^{i phi_d Z} |0>`` for each ``x`` (vectorised)."""
    x = np.asarray(x, dtype=float)
    s = np.sqrt(np.clip(1.0 - x * x, 0.0, None))
    # state row vector <0| propagated left to right: v <- v e^{i phi Z}, then v <- v R
    v0 = np.exp(1j * phases_r[0]) * np.ones_like(x, dtype=complex)
    v1 = np.zeros_like(x, dtype=complex)
    for phi in phases_r[1:]:
        a0 = v0 * x + v1 * s
        a1 = v0 * s - v1 * x
        v0, v1 = a0 * np.exp(1j * phi), a1 * np.exp(-1j * phi)
    return v0


def qsvt_block_sign(degree: int) -> float:
    """``Re`` of the reflection-convention response equals ``sign * P(x)``: ``-1`` if ``d = 1 mod 4``."""
    return -1.0 if degree % 4 == 1 else 1.0


def cache_dir() -> Path:
    """Angle cache directory: ``$QLSA_SIM_CACHE_DIR/qsvt-angles`` or ``~/.cache/qlsa-sim/qsvt-angles``."""
    root = os.environ.get("QLSA_SIM_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "qlsa-sim"
    return base / "qsvt-angles"


def _cache_key(kappa: float, eps: float, method: str) -> dict:
    return {"kappa": float(kappa), "eps": float(eps), "method": method, "construction": CONSTRUCTION, "eta": ETA}


def _cache_path(key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return cache_dir() / f"angles-{digest}.json"


@dataclass(frozen=True)
class QSVTAngles:
    """Reflection-convention phases (``degree + 1`` of them) for the inversion polynomial."""

    kappa: float
    eps: float
    method: str
    degree: int
    scale: float
    phases: tuple[float, ...]
    max_error: float  # max |sign*Re response - P| on a grid of [-1, 1]
    from_cache: bool
    seconds: float


def find_angles(kappa: float, eps: float, method: str = ANGLE_METHOD, *, use_cache: bool = True) -> QSVTAngles:
    """Phase angles for the inversion polynomial, from the JSON cache or pyqsp (stdout silenced)."""
    k, e = validate_kappa_eps(kappa, eps)
    if method != ANGLE_METHOD:
        raise InputError(f"unknown angle-finding method {method!r}; known: {ANGLE_METHOD}")
    key = _cache_key(k, e, method)
    path = _cache_path(key)
    t0 = time.perf_counter()
    poly = inversion_polynomial(k, e)
    if use_cache:
        cached = _read_cache(path, key, poly)
        if cached is not None:
            phases, max_err = cached
            return QSVTAngles(k, e, method, poly.degree, poly.scale, phases, max_err, True, time.perf_counter() - t0)
    from pyqsp.angle_sequence import QuantumSignalProcessingPhases

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        full, _reduced, _parity = QuantumSignalProcessingPhases(
            np.asarray(poly.coef), method="sym_qsp", chebyshev_basis=True
        )
    phases = wx_to_reflection(np.asarray(full, dtype=float))
    max_err = response_error(phases, poly)
    if not max_err < MAX_RESPONSE_ERROR:
        raise QlsaSimError(
            f"QSP angle finding failed for kappa={k}, eps={e}: response differs from the polynomial by {max_err:.2e}"
        )
    seconds = time.perf_counter() - t0
    if use_cache:
        _write_cache(path, key, poly, phases, max_err, seconds)
    return QSVTAngles(k, e, method, poly.degree, poly.scale, tuple(float(p) for p in phases), max_err, False, seconds)


def response_error(phases, poly) -> float:
    """max |sign * Re response - P| of reflection-convention ``phases`` on a grid of 801 points of [-1, 1]."""
    xs = np.linspace(-1.0, 1.0, 801)
    resp = qsvt_block_sign(poly.degree) * reflection_response(np.asarray(phases, dtype=float), xs).real
    return float(np.max(np.abs(resp - poly(xs))))


def _digest(key: dict, degree: int, scale: float, phases) -> str:
    body = {"key": key, "degree": int(degree), "scale": float(scale), "phases": [float(p) for p in phases]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _read_cache(path: Path, key: dict, poly) -> tuple[tuple[float, ...], float] | None:
    """The phases of a cache entry and their error if the entry holds ``key``, its checksum matches and its
    phases still reproduce ``poly``; else None (the entry is recomputed)."""
    try:
        data = json.loads(read_bounded(path, "angle cache entry", max_bytes=CACHE_MAX_BYTES))
        phases = tuple(float(p) for p in data["phases"])
        if (data.get("key") != key or int(data["degree"]) != poly.degree or len(phases) != poly.degree + 1
                or data.get("sha256") != _digest(key, poly.degree, float(data["scale"]), phases)
                or not all(math.isfinite(p) for p in phases)):
            return None
        err = response_error(phases, poly)
    except (QlsaSimError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return (phases, err) if err < MAX_RESPONSE_ERROR else None


def _write_cache(path: Path, key: dict, poly, phases, max_err: float, seconds: float) -> None:
    payload = {"key": key, "degree": poly.degree, "scale": poly.scale, "phases": [float(p) for p in phases],
               "max_error": max_err, "seconds": seconds, "sha256": _digest(key, poly.degree, poly.scale, phases)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(json.dumps(payload).encode()))
    except OSError:
        pass  # the cache is an optimisation; an unwritable cache directory is not an error
