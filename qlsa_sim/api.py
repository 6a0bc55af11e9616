"""The matrix-first public API: what would a QLSA cost to solve ``A x = b``?  Every figure is MODELED.

``qlsa_sim.estimate(A, eps=..., preset=..., hardware=..., physical=...)`` takes a dense numpy array, a
``scipy.sparse`` matrix or a ``scipy.sparse.linalg.LinearOperator`` and returns a frozen :class:`QLSAEstimate`:
the block encoding the resource model chose, its ``alpha`` and ``kappa_eff``, the logical counts, the modeled
seconds under a gate-time profile and one surface-code estimate per physical profile.  It adds no model of its
own; it takes the matrix's features and calls the project's ONE quantum-seconds path:

1. features (``linalg/features.py`` :class:`MatrixFeatures`) of ``A`` itself (no damping):

   * dense: :func:`qlsa_sim.linalg.features.prepare_block` with ``reg_eps = 0``, as the scheduler takes them
     (kappa exact by ``eigvalsh`` up to n = 1024, Lanczos above: ``linalg/spectrum.py``);
   * scipy.sparse: nonzeros per row, ``max|A_ij|`` and ``||A||_F`` from the stored entries (explicit zeros
     dropped), kappa exact on the densified matrix up to n = 1024, Lanczos (``kappa_lanczos``) above;
   * LinearOperator: the entries are unknown.  The spectrum comes from ``lambda_min``/``lambda_max`` when
     given, else from Lanczos on the operator; the entries from ``nnz_per_row``, ``max_abs_entry`` and
     ``frobenius_norm`` when given.  Without ``max_abs_entry`` the resource model prices the IDEAL encoding,
     ``alpha = ||A||`` (the lower bound of every encoding's alpha) with sparse-access gates per query, and
     the result's ``notes`` say so;

2. ``QuantumResourceModel(eps, preset, hardware, basis, encoding=...).estimate(features)``
   (``cost/models.py``): every block encoding the features allow (sparse access ``alpha = s max|A_ij|``,
   dense data ``alpha = ||A||_F``, ...), the cheapest kept (or the one named), query count of the preset x
   Qualtran gate counts per query x gate time;
3. one :func:`qlsa_sim.quantum.estimation.physical.physical_estimate` per name in ``physical`` (Qualtran's
   surface-code models) on the logical counts of the chosen encoding; an infeasible point comes back with
   ``feasible=False`` and its ``reason``.

The same matrix gives the same answer whichever form it is passed in (tested: dense, CSR and a
LinearOperator with its entry bounds and extreme eigenvalues).

Example (a 64 x 64 tridiagonal SPD matrix; ``physical=()`` skips the surface-code search):

>>> import numpy as np, scipy.sparse as sp
>>> import qlsa_sim as qs
>>> A = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(64, 64), format="csr")
>>> est = qs.estimate(A, eps=1e-2, physical=())
>>> est.input_kind, est.encoding, est.modeled
('sparse', 'sparse', True)
>>> est.alpha, round(est.kappa, 3)   # alpha = s max|A_ij| = 3 x 4
(12.0, 2.995)
>>> est.seconds == qs.estimate(A.toarray(), eps=1e-2, physical=()).seconds
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from qlsa_sim.cost.models import ENCODING_CHOICES, QuantumResourceModel
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.features import KAPPA_METHODS, FeatureConfig, MatrixFeatures, prepare_block
from qlsa_sim.linalg.spectrum import SpectrumEstimate, kappa_exact, kappa_lanczos, lanczos_extremes
from qlsa_sim.quantum.estimation.counting import TS_PER_TOFFOLI
from qlsa_sim.quantum.estimation.physical import PhysicalEstimate, physical_estimate
from qlsa_sim.quantum.estimation.physical_profiles import Profile
from qlsa_sim.quantum.estimation.resources import QLSAResources, logical_counts

#: Above this size kappa comes from Lanczos (``kappa_method="auto"``), as in ``FeatureConfig.exact_max_n``.
EXACT_MAX_N = FeatureConfig().exact_max_n
DEFAULT_PHYSICAL = ("surface-p1e-3-1us", "surface-p1e-4-1us")
SYMMETRY_RTOL = 1e-8  # as linalg.spectrum.check_symmetric


@dataclass(frozen=True)
class QLSAEstimate:
    """MODELED cost of a QLSA solve of ``A x = b`` (see the module docstring); nothing here is measured.

    ``input_kind``: "dense", "sparse" or "operator". ``n``: the size of ``A``. ``encoding``, ``alpha``,
    ``kappa``, ``kappa_eff = alpha / sigma_min``: the block encoding the resource model chose ("ideal" when
    the entries are unknown: then ``alpha = ||A|| = max|lambda|``). ``seconds``: modeled time under the gate-time profile ``hardware`` in
    ``basis`` (its parts in ``seconds_components``). Counts are expected totals over all repetitions for
    one output copy of ``|x>`` (``toffoli``; ``t_count`` excludes Toffolis; ``rotations``, ``clifford``,
    ``measurements``, ``logical_qubits``); ``t_equivalent`` follows ``t_equivalent_rule``. ``physical``:
    one surface-code estimate per profile asked for (``readout=True``: over all tomography copies).
    ``spectrum``: how kappa was obtained; ``notes``: what was assumed. ``features``, ``resources``: the
    full inputs and outputs of the resource model."""

    input_kind: str
    n: int
    encoding: str
    alpha: float
    kappa: float
    kappa_eff: float
    eps: float
    preset: str
    hardware: str
    basis: str
    seconds: float
    seconds_components: tuple[tuple[str, float], ...]
    queries: float
    toffoli: float
    t_count: float
    rotations: float
    clifford: float
    measurements: float
    logical_qubits: int
    t_equivalent: float
    t_equivalent_rule: str
    physical: tuple[PhysicalEstimate, ...]
    spectrum: str
    spectrum_exact: bool
    model: str
    notes: tuple[str, ...] = ()
    features: MatrixFeatures | None = field(default=None, repr=False, compare=False)
    resources: QLSAResources | None = field(default=None, repr=False, compare=False)
    modeled: bool = True

    def physical_for(self, name: str) -> PhysicalEstimate:
        """The physical estimate of profile ``name``; UnknownNameError if it was not asked for."""
        for p in self.physical:
            if p.profile == name:
                return p
        raise UnknownNameError("physical profile in this estimate", name, [p.profile for p in self.physical])

    def as_dict(self) -> dict:
        """Flat JSON-friendly dict (physical estimates as a list of dicts, features and resources omitted)."""
        d = {k: v for k, v in asdict(self).items() if k not in ("features", "resources", "physical")}
        d["seconds_components"] = dict(self.seconds_components)
        d["notes"] = list(self.notes)
        d["physical"] = [asdict(p) for p in self.physical]
        return d

    def summary(self) -> str:
        """A few human-readable lines, every figure labelled MODELED."""
        lines = [f"MODELED QLSA estimate ({self.preset}, eps={self.eps:g}) of a {self.n} x {self.n} matrix "
                 f"({self.input_kind}): encoding {self.encoding}, alpha={self.alpha:.4g}, kappa={self.kappa:.4g} "
                 f"({self.spectrum}), kappa_eff={self.kappa_eff:.4g}",
                 f"  counts: {self.toffoli:.3g} Toffoli, {self.t_count:.3g} T (excl. Toffolis), {self.rotations:.3g} "
                 f"rotations, {self.clifford:.3g} Clifford, {self.logical_qubits} logical qubits; "
                 f"T-equivalent {self.t_equivalent:.3g}",
                 f"  time on {self.hardware} ({self.basis} basis): {self.seconds:.3g} s (MODELED)"]
        for p in self.physical:
            if not p.feasible:
                what = f"infeasible: {p.reason}"
            elif p.physical_qubits is None:  # an idealized logical machine: no error correction, no qubits
                what = f"{p.wall_time_s:.3g} s ({p.reason})"
            else:
                what = f"{p.wall_time_s:.3g} s, {p.physical_qubits:,} physical qubits, code distance {p.code_distance}"
            lines.append(f"  {p.profile}: {what} (MODELED)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------- input checks


def _positive(name: str, v: Any) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise InputError(f"{name} must be finite and > 0, got {v!r}")
    return x


def _input_kind(A: Any) -> str:
    if isinstance(A, scipy.sparse.linalg.LinearOperator):
        return "operator"
    if scipy.sparse.issparse(A):
        return "sparse"
    return "dense"


def _as_dense(A: Any) -> np.ndarray:
    if hasattr(A, "detach") and hasattr(A, "numpy"):  # a torch tensor
        A = A.detach().cpu().numpy()
    a = np.asarray(A)
    if a.dtype == object or np.issubdtype(a.dtype, np.complexfloating):
        raise InputError(f"expected a real matrix, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(f"expected a non-empty square 2-D matrix, got shape {a.shape}")
    return a.astype(np.float64, copy=False)


def _config(psd: bool | None, kappa_method: str) -> FeatureConfig:
    if kappa_method not in KAPPA_METHODS:
        raise UnknownNameError("kappa method", str(kappa_method), KAPPA_METHODS)
    return FeatureConfig(reg_eps=0.0, kappa_method=kappa_method, psd=bool(psd))


# ----------------------------------------------------------------------------------------- features


def _dense_features(A: Any, psd: bool | None, kappa_method: str) -> MatrixFeatures:
    """As the scheduler takes them: ``prepare_block`` without damping (InputError on NaN, asymmetry, shape)."""
    return prepare_block(_as_dense(A), _config(psd, kappa_method), name="A")[1]


def _sparse_spectrum(S: scipy.sparse.csr_array, psd: bool | None, method: str) -> SpectrumEstimate:
    """Exact on the densified matrix (small n or ``method="exact"``), else Lanczos; an indefinite matrix's
    min |lambda| by shift-invert on the sparse matrix (one sparse LU)."""
    n = S.shape[0]
    if method == "exact" or (method == "auto" and n <= EXACT_MAX_N):
        return kappa_exact(S.toarray())
    try:
        return kappa_lanczos(S, 0.0, psd=bool(psd))
    except InputError as e:
        if "indefinite" not in str(e):
            raise
    t0 = time.perf_counter()
    lz = lanczos_extremes(lambda v: S @ v, n, tol=1e-6, max_matvecs=60, want="both")
    small = float(abs(scipy.sparse.linalg.eigsh(S.tocsc(), k=1, sigma=0.0, which="LM",
                                                return_eigenvectors=False)[0]))
    big = max(abs(lz.theta_min), abs(lz.theta_max))
    return SpectrumEstimate(kappa=big / small if small > 0 else math.inf, lambda_min=lz.theta_min,
                            lambda_max=lz.theta_max, method="lanczos(both ends) + sparse shift-invert",
                            seconds=time.perf_counter() - t0, exact=False, matvecs=lz.matvecs,
                            note="indefinite: min|lambda| by shift-invert at 0 (one sparse LU)")


def _sparse_features(A: Any, psd: bool | None, kappa_method: str) -> MatrixFeatures:
    """Features of a scipy.sparse matrix from its stored entries (no densifying above n = 1024)."""
    _config(psd, kappa_method)
    t0 = time.perf_counter()
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise InputError(f"expected a non-empty square 2-D matrix, got shape {A.shape}")
    if np.issubdtype(A.dtype, np.complexfloating):
        raise InputError(f"expected a real matrix, got dtype {A.dtype}")
    S = scipy.sparse.csr_array(A, dtype=np.float64, copy=True)
    S.sum_duplicates()
    S.eliminate_zeros()
    if not np.isfinite(S.data).all():
        raise InputError("A: contains NaN or Inf")
    amax = float(np.abs(S.data).max()) if S.nnz else 0.0
    D = S - S.T
    dmax = float(np.abs(D.data).max()) if D.nnz else 0.0
    if dmax > SYMMETRY_RTOL * amax:
        raise InputError(f"A: not symmetric (max |A - A^T| = {dmax:.3g} > {SYMMETRY_RTOL:g} * max |A|); "
                         "symmetrize it as (A + A^T)/2 first")
    spec = _sparse_spectrum(S, psd, kappa_method)
    n, rows = S.shape[0], np.diff(S.indptr)
    return MatrixFeatures(
        n=n, nnz=int(S.nnz), density=float(S.nnz) / float(n * n), density_tol=0.0,
        max_nnz_per_row=max(int(rows.max()), 1), max_abs_entry=amax, reg_eps=0.0, kappa=float(spec.kappa),
        lambda_min=float(spec.lambda_min), lambda_max=float(spec.lambda_max), kappa_method=spec.method,
        kappa_exact=bool(spec.exact), positive_definite=bool(spec.lambda_min > 0),
        kappa_seconds=float(spec.seconds), seconds=time.perf_counter() - t0,
        frobenius_norm=float(np.linalg.norm(S.data)))


def _operator_spectrum(op, psd: bool | None, lambda_min: float | None, lambda_max: float | None
                       ) -> tuple[float, float, float, str, bool]:
    """(kappa, lambda_min, lambda_max, how, exact) of an operator: as given, else from Lanczos."""
    lo = None if lambda_min is None else float(lambda_min)
    hi = None if lambda_max is None else float(lambda_max)
    for name, v in (("lambda_min", lo), ("lambda_max", hi)):
        if v is not None and not math.isfinite(v):
            raise InputError(f"{name} must be finite, got {v!r}")
    how, exact = "given (lambda_min, lambda_max)", True
    if lo is None or hi is None:
        try:
            spec = kappa_lanczos(op, 0.0, psd=bool(psd))
        except InputError as e:
            raise InputError(f"LinearOperator: {e}. Pass lambda_min and lambda_max (or a matrix)") from None
        how = f"{spec.method} on the operator ({spec.note})" + ("" if lo is None and hi is None else "; part given")
        lo = spec.lambda_min if lo is None else lo
        hi = spec.lambda_max if hi is None else hi
        exact = False
    if lo > hi:
        raise InputError(f"lambda_min {lo} exceeds lambda_max {hi}")
    if lo < 0 < hi:
        raise InputError(f"the operator is indefinite (lambda_min {lo:.3g} < 0 < lambda_max {hi:.3g}): kappa = "
                         "max|lambda| / min|lambda| needs the interior of the spectrum; pass the matrix instead")
    big, small = max(abs(lo), abs(hi)), min(abs(lo), abs(hi))
    kappa = math.inf if big == 0.0 or small == 0.0 else big / small
    return kappa, lo, hi, how, exact


def _operator_entries(n: int, nnz_per_row: int | None, max_abs_entry: float | None,
                      frobenius_norm: float | None) -> tuple[int, float, float, list[str]]:
    """(nonzeros per row, max|A_ij| or NaN, ||A||_F or NaN, notes) of an operator from what the caller gave."""
    notes = []
    if nnz_per_row is not None:
        if isinstance(nnz_per_row, bool) or not float(nnz_per_row).is_integer() or not 1 <= nnz_per_row <= n:
            raise InputError(f"nnz_per_row must be an integer in [1, {n}], got {nnz_per_row!r}")
        s = int(nnz_per_row)
    else:
        s = n
        notes.append(f"nnz_per_row not given: taken as n = {n} (dense rows)")
    amax = _positive("max_abs_entry", max_abs_entry)
    fro = _positive("frobenius_norm", frobenius_norm)
    if amax is None:
        if fro is not None:
            raise InputError("frobenius_norm needs max_abs_entry too: the resource model weighs the block "
                             "encodings only when the entries are bounded; pass max_abs_entry (or neither)")
        notes.append("entries unknown (a LinearOperator without max_abs_entry): IDEAL encoding, alpha = ||A|| "
                     "(the lower bound of every encoding's alpha, so kappa_eff = kappa) with sparse-access gates "
                     f"per query for {s} nonzeros per row")
    return s, math.nan if amax is None else amax, math.nan if fro is None else fro, notes


def _operator_features(op, psd: bool | None, spectral: dict, entries: dict) -> tuple[MatrixFeatures, list[str]]:
    """Features of a LinearOperator from the caller's information (and Lanczos for a missing spectrum)."""
    t0 = time.perf_counter()
    if len(op.shape) != 2 or op.shape[0] != op.shape[1] or op.shape[0] == 0:
        raise InputError(f"LinearOperator must be square and non-empty, got shape {op.shape}")
    n = int(op.shape[0])
    kappa, lo, hi, how, exact = _operator_spectrum(op, psd, **spectral)
    s, amax, fro, notes = _operator_entries(n, **entries)
    f = MatrixFeatures(n=n, nnz=s * n, density=s / n, density_tol=0.0, max_nnz_per_row=s, max_abs_entry=amax,
                       reg_eps=0.0, kappa=kappa, lambda_min=lo, lambda_max=hi, kappa_method=how, kappa_exact=exact,
                       positive_definite=lo > 0, kappa_seconds=0.0, seconds=time.perf_counter() - t0,
                       frobenius_norm=fro)
    return f, notes


def matrix_input_features(A: Any, *, psd: bool | None = None, kappa_method: str = "auto",
                          lambda_min: float | None = None, lambda_max: float | None = None,
                          nnz_per_row: int | None = None, max_abs_entry: float | None = None,
                          frobenius_norm: float | None = None) -> tuple[MatrixFeatures, str, tuple[str, ...]]:
    """``(features, input kind, notes)`` of a dense array, a scipy.sparse matrix or a LinearOperator.

    ``lambda_min``, ``lambda_max``, ``nnz_per_row``, ``max_abs_entry``, ``frobenius_norm`` describe an
    operator's matrix; a dense or sparse matrix's are computed, so passing them with one is an InputError."""
    kind = _input_kind(A)
    given = {"lambda_min": lambda_min, "lambda_max": lambda_max, "nnz_per_row": nnz_per_row,
             "max_abs_entry": max_abs_entry, "frobenius_norm": frobenius_norm}
    if kind != "operator":
        extra = sorted(k for k, v in given.items() if v is not None)
        if extra:
            raise InputError(f"{', '.join(extra)}: computed from a {kind} matrix; pass them only with a "
                             "LinearOperator")
        f = _dense_features(A, psd, kappa_method) if kind == "dense" else _sparse_features(A, psd, kappa_method)
        return f, kind, ()
    spectral = {k: given[k] for k in ("lambda_min", "lambda_max")}
    entries = {k: given[k] for k in ("nnz_per_row", "max_abs_entry", "frobenius_norm")}
    f, notes = _operator_features(A, psd, spectral, entries)
    return f, kind, tuple(notes)


# ----------------------------------------------------------------------------------------- estimate


def _readout_copies(components: tuple[tuple[str, float], ...]) -> float:
    """Output copies of ``|x>`` the modeled seconds include: 1, or 1 + readout / (one copy) with readout
    (``quantum/estimation/timing.py``: the readout component is ``(N - 1) x`` one copy)."""
    c = dict(components)
    one = c.get("qlsa", 0.0) + c.get("state_prep", 0.0)
    return float(round(1.0 + c["readout"] / one)) if "readout" in c and one > 0 else 1.0


def _t_rule(res: QLSAResources) -> str:
    return (f"t_equivalent = T + {TS_PER_TOFFOLI} x Toffoli + {res.t_per_rotation:g} T per rotation "
            "(Ross-Selinger synthesis at eps/(4R), R rotations per attempt; quantum/estimation/resources.py)")


def _physical(res: QLSAResources, physical: Sequence[str | Profile], copies: float,
              state_prep: bool) -> tuple[PhysicalEstimate, ...]:
    if isinstance(physical, (str, bytes)):
        physical = (physical,)
    counts = logical_counts(res, copies=copies, include_state_prep=state_prep)
    return tuple(physical_estimate(counts, p) for p in physical)


def estimate(A: Any, *, eps: float = 1e-2, preset: str = "jennings2023_v1", hardware: str = "attosecond",
             physical: Sequence[str | Profile] = DEFAULT_PHYSICAL, encoding: str = "cheapest", basis: str = "gates",
             readout: bool = False, state_prep: bool = False, lambda_min: float | None = None,
             lambda_max: float | None = None, nnz_per_row: int | None = None, max_abs_entry: float | None = None,
             frobenius_norm: float | None = None, psd: bool | None = None,
             kappa_method: str = "auto") -> QLSAEstimate:
    """MODELED cost of solving ``A x = b`` with a QLSA (see the module docstring).

    ``A``: symmetric real matrix as a numpy array (or torch tensor), scipy.sparse matrix, or
    LinearOperator (then pass its spectrum and entry bounds, or let Lanczos find the spectrum and accept the
    ideal encoding). ``eps``: solution precision. ``preset``: QLSA query-count preset. ``hardware``:
    gate-time profile of ``seconds``. ``physical``: surface-code profile names (or profiles) to estimate
    on. ``encoding``: "cheapest" or a block encoding's name. ``basis``: "gates" or "non-clifford".
    ``readout``: add tomography of ``x`` (Kerenidis-Prakash) to ``seconds`` and the physical counts.
    ``state_prep``: add the preparations of ``|b>``. ``psd``: say the matrix is positive semi-definite
    (only used by Lanczos). ``kappa_method``: "auto" (exact up to n = 1024), "exact" or "lanczos".
    Raises InputError on bad input (shape, NaN, asymmetry, singular matrix, inconsistent information)."""
    f, kind, notes = matrix_input_features(A, psd=psd, kappa_method=kappa_method, lambda_min=lambda_min,
                                           lambda_max=lambda_max, nnz_per_row=nnz_per_row,
                                           max_abs_entry=max_abs_entry, frobenius_norm=frobenius_norm)
    if not math.isfinite(f.kappa):
        raise InputError("A is singular (kappa = inf): no QLSA applies")
    if encoding not in ENCODING_CHOICES:
        raise UnknownNameError("block encoding", str(encoding), ENCODING_CHOICES)
    model = QuantumResourceModel(eps, preset, hardware, basis, include_state_prep=state_prep,
                                 include_readout=readout, encoding=encoding)
    cost = model.estimate(f)
    res = cost.resources
    assert res is not None  # kappa is finite
    copies = _readout_copies(cost.components)
    if readout:
        notes = (*notes, f"readout: {copies:.6g} copies of |x> for l2 tomography (Kerenidis-Prakash, "
                         "arXiv:1808.09266, Thm 4.3), in seconds and in the physical counts")
    if not f.symmetric:  # pragma: no cover - every input path checks symmetry
        notes = (*notes, "non-symmetric: Hermitian dilation of size 2n")
    # the ideal encoding's resources carry alpha/||A|| = 1 (cost/models.py); its alpha is ||A|| = max|lambda|
    alpha = max(abs(f.lambda_min), abs(f.lambda_max)) if res.encoding == "ideal" else res.alpha
    return QLSAEstimate(
        input_kind=kind, n=f.n, encoding=res.encoding, alpha=alpha, kappa=f.kappa, kappa_eff=res.kappa_eff,
        eps=float(eps), preset=res.preset, hardware=hardware, basis=model.basis, seconds=cost.seconds,
        seconds_components=cost.components, queries=res.queries, toffoli=res.toffoli, t_count=res.t_count,
        rotations=res.rotations, clifford=res.clifford, measurements=res.measurements,
        logical_qubits=int(res.qubits), t_equivalent=res.t_equivalent, t_equivalent_rule=_t_rule(res),
        physical=_physical(res, physical, copies, state_prep), spectrum=f.kappa_method,
        spectrum_exact=f.kappa_exact, model=cost.model, notes=tuple(notes), features=f, resources=res)
