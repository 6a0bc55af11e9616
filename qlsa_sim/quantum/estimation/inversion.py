"""QSVT matrix inversion: the odd polynomial for 1/x, its degree and the amplitude-amplification plan
(MODELED query counts; the phase angles and circuits are in :mod:`qlsa_sim.quantum.circuits.angles`).

Polynomial (our construction; optimal for its criterion).  With ``A' = A/alpha`` having eigenvalues
``|lambda| in [1/kappa, 1]`` we want an odd ``P`` with ``x P(x) ~= c`` to *relative* accuracy ``eps_rel``:
write ``P(x) = x q(x^2)``; then ``1 - x P(x)/c = r(x^2)`` with ``r`` a polynomial of degree ``m`` in
``y = x^2``, ``r(0) = 1``, and the best such ``r`` on ``y in [a, 1]`` (``a = 1/kappa^2``) is the shifted,
scaled Chebyshev polynomial ``r(y) = T_m((1 + a - 2y)/(1 - a)) / T_m((1 + a)/(1 - a))`` (the classical
minimax result behind the conjugate-gradient bound; Saad, *Iterative Methods for Sparse Linear Systems*,
2nd ed., Thm. 6.25).  Its maximum on ``[a, 1]`` is ``1/T_m(z0)``, ``z0 = (1+a)/(1-a)``, and
``arccosh(z0) = ln((kappa+1)/(kappa-1))``, so the smallest admissible degree is, exactly,

    m = ceil( arccosh(1/eps_rel) / ln((kappa+1)/(kappa-1)) ),   deg P = 2m - 1  ~  kappa ln(2/eps_rel).

This is lower than the truncated-Chebyshev-series construction of Childs, Kothari, Somma (2017,
arXiv:1511.02306, Lemma 17-19; degree O(kappa log(kappa/eps))) for the same eps.  Because
``|P(A')b - c A'^{-1} b| <= eps_rel |c A'^{-1} b|``, the normalised output state is within
``2 eps_rel`` of ``|x>``; we take ``eps_rel = eps/2``.

Boundedness: QSVT needs ``|P| <= 1`` on ``[-1, 1]``.  On ``[1/kappa, 1]`` ``|P| <= c kappa (1+eps_rel)``,
but inside ``(0, 1/kappa)`` ``P`` has a bump ``c kappa B`` with ``B = max_u (1 - r(u^2/kappa^2))/u``
(``u = kappa x``), computed numerically; we set ``c = eta / (kappa B)``, ``eta = 0.95``.

Success probability of one QSVT call: ``p = |P(A')b|^2 >= p_min = (c (1 - eps_rel))^2`` (worst case,
``b`` along the largest eigenvector).  Amplitude amplification with unknown ``p >= p_min``: fixed-point
AA (Yoder, Low, Chuang, PRL 113, 210501 (2014), arXiv:1409.3305): ``L >= ln(2/delta)/sqrt(p_min)`` odd
calls of the QSVT unitary reach success ``>= 1 - delta^2``; ``delta = 0.1``.

Angles: pyqsp's symmetric-QSP Newton solver (``method="sym_qsp"``; Dong, Lin, Ni, Wang,
arXiv:2307.12468), whose W_x-convention phases satisfy ``Im <0|U_Phi(x)|0> = P(x)``.  They are converted
to the reflection convention of the QSVT circuit (phases ``phi_0 + 3pi/4, phi_k + pi/2, phi_d - pi/4``,
from ``W(x) = -i e^{i 3pi/4 Z} R(x) e^{-i pi/4 Z}``), checked against ``P`` on a grid, and cached on disk
as JSON keyed by (kappa, eps, method).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev as cheb

from qlsa_sim.quantum.estimation.validation import validate_kappa_eps

ETA = 0.95  # max |P| on [-1, 1]
AA_DELTA = 0.1  # fixed-point AA: success >= 1 - AA_DELTA**2
CONSTRUCTION = "chebyshev-residual-v1"


# --------------------------------------------------------------------------- polynomial


def inversion_half_degree(kappa: float, eps: float) -> int:
    """``m``: the degree of ``r`` in ``y = x^2`` (``deg P = 2m - 1``), see the module docstring."""
    k, e = validate_kappa_eps(kappa, eps)
    if k <= 1.0 + 1e-12:
        return 1
    eps_rel = e / 2.0
    m = math.acosh(1.0 / eps_rel) / math.log1p(2.0 / (k - 1.0))
    return max(1, int(math.ceil(m - 1e-12)))


def inversion_degree(kappa: float, eps: float) -> int:
    """Odd degree of the inversion polynomial for condition number ``kappa`` and state error ``eps``."""
    return 2 * inversion_half_degree(kappa, eps) - 1


def _residual(y: np.ndarray, m: int, kappa: float) -> np.ndarray:
    """``r(y) = T_m(z(y)) / T_m(z0)``, stable for large ``m`` (no overflow)."""
    a = 1.0 / (kappa * kappa)
    z = (1.0 + a - 2.0 * y) / (1.0 - a)
    acz0 = math.log1p(2.0 / (kappa - 1.0))  # arccosh(z0)
    out = np.empty_like(z)
    big = z >= 1.0
    zb = z[big]
    acz = np.arccosh(zb)
    # cosh(m t)/cosh(m t0) = exp(m(t - t0)) (1 + e^{-2mt}) / (1 + e^{-2m t0})
    out[big] = np.exp(m * (acz - acz0)) * (1.0 + np.exp(-2.0 * m * acz)) / (1.0 + math.exp(-2.0 * m * acz0))
    small = ~big
    zs = np.clip(z[small], -1.0, 1.0)
    denom = math.cosh(m * acz0) if m * acz0 < 700 else math.inf
    out[small] = np.cos(m * np.arccos(zs)) / denom
    return out


@lru_cache(maxsize=65536)
def bump_factor(kappa: float, eps: float) -> float:
    """``B = max_{x in (0,1]} |x P(x)| ... `` i.e. ``max_u (1 - r(u^2/kappa^2))/u`` over ``u in (0, kappa]``."""
    k, e = validate_kappa_eps(kappa, eps)
    if k <= 1.0 + 1e-12:
        return 1.0
    m = inversion_half_degree(k, e)
    u = np.linspace(1e-4, 1.0, 4001)
    vals = (1.0 - _residual((u / k) ** 2, m, k)) / u
    i = int(np.argmax(vals))
    lo, hi = u[max(i - 1, 0)], u[min(i + 1, len(u) - 1)]
    uu = np.linspace(lo, hi, 401)
    fine = float(np.max((1.0 - _residual((uu / k) ** 2, m, k)) / uu))
    return max(fine, float(vals[i]), 1.0 + e / 2.0)


def inversion_scale(kappa: float, eps: float) -> float:
    """``c`` in ``P(x) ~= c/x``: ``eta / (kappa B)`` so that ``max |P| = eta``."""
    k, e = validate_kappa_eps(kappa, eps)
    return ETA / (k * bump_factor(k, e))


@dataclass(frozen=True)
class InversionPolynomial:
    """The odd polynomial ``P ~= c/x`` on ``[1/kappa, 1]`` (Chebyshev coefficients, odd ones non-zero)."""

    kappa: float
    eps: float
    degree: int
    scale: float
    coef: tuple[float, ...]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return cheb.chebval(np.asarray(x, dtype=float), np.asarray(self.coef))

    def relative_error(self, num: int = 2000) -> float:
        """``max |x P(x)/c - 1|`` on ``[1/kappa, 1]`` (should be <= eps/2)."""
        x = np.linspace(1.0 / self.kappa, 1.0, num)
        return float(np.max(np.abs(x * self(x) / self.scale - 1.0)))


def inversion_polynomial(kappa: float, eps: float) -> InversionPolynomial:
    """Build ``P`` exactly (interpolation at ``deg + 1`` Chebyshev nodes of a degree-``deg`` polynomial)."""
    k, e = validate_kappa_eps(kappa, eps)
    d = inversion_degree(k, e)
    c = inversion_scale(k, e)
    if d == 1:
        coef = np.array([0.0, c * 1.0])  # kappa == 1: P(x) = c x equals c/x at x = 1
        return InversionPolynomial(k, e, 1, c, tuple(coef))
    m = (d + 1) // 2

    def f(x: np.ndarray) -> np.ndarray:
        return c * (1.0 - _residual(x * x, m, k)) / x

    coef = cheb.chebinterpolate(f, d)
    coef[0::2] = 0.0
    return InversionPolynomial(k, e, d, c, tuple(float(v) for v in coef))


# --------------------------------------------------------------------------- query plan


@dataclass(frozen=True)
class QSVTQueryPlan:
    """Queries of the QSVT inversion (MODELED): degree, worst-case success probability, AA calls."""

    kappa: float
    eps: float
    degree: int
    scale: float
    p_min: float  # worst-case success probability of one QSVT call
    aa_calls: int  # odd number L of QSVT-unitary calls in fixed-point AA (1 = no AA)
    aa_rounds: int  # (L - 1) / 2 amplification rounds
    success_probability: float  # per attempt, after AA
    queries_per_attempt: int  # degree * L
    total_queries: float  # queries_per_attempt / success_probability


@lru_cache(maxsize=65536)
def qsvt_query_plan(kappa: float, eps: float) -> QSVTQueryPlan:
    """Degree, AA rounds and expected queries of the QSVT inversion for ``(kappa, eps)``."""
    k, e = validate_kappa_eps(kappa, eps)
    d = inversion_degree(k, e)
    c = inversion_scale(k, e)
    p_min = (c * (1.0 - e / 2.0)) ** 2
    target = 1.0 - AA_DELTA**2
    if p_min >= target:
        L, success = 1, p_min
    else:
        L = int(math.ceil(math.log(2.0 / AA_DELTA) / math.sqrt(p_min)))
        if L % 2 == 0:
            L += 1
        success = target
    q = d * L
    return QSVTQueryPlan(k, e, d, c, p_min, L, (L - 1) // 2, success, q, q / success)
