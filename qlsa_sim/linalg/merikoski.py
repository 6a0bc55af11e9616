"""The Merikoski bound on the condition number, in log space (it overflows float64 for n >= 100); reported
beside better estimates, never used to decide."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg

from qlsa_sim.errors import InputError
from qlsa_sim.linalg.spectrum import _as_array, check_symmetric

LN10 = math.log(10.0)


def merikoski_log10_from_parts(n: int, log_abs_det: float, norm_term: float, form: str = "general") -> float:
    """log10 of the Merikoski et al. 1997 bound from its parts (natural-log determinant).

    general (any nonsingular A, norm_term = ||A||_F):
        kappa <= sqrt((1 + x) / (1 - x)),  x = sqrt(1 - (n / ||A||_F^2)^n |det A|^2)
    trace (A symmetric positive definite, norm_term = tr A):
        kappa <= (1 + y) / (1 - y),        y = sqrt(1 - (n / tr A)^n det A)
    (the general bound applied to A^(1/2): kappa(A) = kappa(A^(1/2))^2, ||A^(1/2)||_F^2 = tr A;
    much tighter for PD matrices).
    With t = 1 - x^2 (resp. 1 - y^2): sqrt((1+x)/(1-x)) = (1+x)/sqrt(t) and (1+y)/(1-y) = (1+y)^2/t,
    evaluated from log t = n ln n - n ln(norm^2 or tr) + (2 or 1) ln|det|, so nothing overflows.
    Both are tight for n = 2. Returns +inf for a singular matrix (log|det| = -inf).
    """
    if form not in ("general", "trace"):
        raise InputError(f"unknown Merikoski form {form!r}; known: general, trace")
    if math.isinf(log_abs_det) and log_abs_det < 0:
        return math.inf
    if not norm_term > 0:
        raise InputError(f"norm term must be > 0, got {norm_term}")
    if form == "general":
        log_t = n * math.log(n) - n * math.log(norm_term ** 2) + 2.0 * log_abs_det
    else:
        log_t = n * math.log(n) - n * math.log(norm_term) + log_abs_det
    log_t = min(log_t, 0.0)  # t <= 1 by the AM-GM inequality; clip rounding
    x = math.sqrt(-math.expm1(log_t)) if log_t > -80 else 1.0
    if form == "general":
        return (math.log1p(x) - 0.5 * log_t) / LN10
    return (2.0 * math.log1p(x) - log_t) / LN10


def merikoski_log10_bound(H: Any, *, form: str = "general") -> float:
    """log10 of the Merikoski upper bound on kappa_2(H) (paper Eq. 2), via a log-determinant.

    The plain formula overflows float64 for n >~ 100 (design.md), hence log space. The
    log-determinant comes from a Cholesky factorization when H has a positive diagonal (half the
    flops of LU), else from LU (``numpy.linalg.slogdet``). ``form="trace"`` needs H positive
    definite (InputError otherwise); a singular H gives +inf.
    """
    if form not in ("general", "trace"):
        raise InputError(f"unknown Merikoski form {form!r}; known: general, trace")
    A = _as_array(H)
    check_symmetric(A, name="merikoski_log10_bound input")
    n = A.shape[0]
    A = A.astype(np.float64, copy=False)
    logdet, sign = None, 0.0
    if (np.diagonal(A) > 0).all():
        try:
            c, _ = scipy.linalg.cho_factor(A, lower=True, check_finite=False)
            logdet, sign = 2.0 * float(np.log(np.diagonal(c)).sum()), 1.0
        except np.linalg.LinAlgError:
            logdet = None
    if logdet is None:
        sign, logdet = np.linalg.slogdet(A)
        sign, logdet = float(sign), float(logdet)
        if sign == 0.0:
            return math.inf
        if form == "trace":
            raise InputError("trace form of the Merikoski bound needs a positive definite matrix "
                             "(Cholesky failed); use form='general'")
    if form == "general":
        return merikoski_log10_from_parts(n, logdet, float(np.linalg.norm(A, "fro")), "general")
    return merikoski_log10_from_parts(n, logdet, float(np.trace(A)), "trace")
