"""``qlsa_sim.estimate``: the same matrix gives the same MODELED answer as a dense array, a CSR matrix and a
LinearOperator; it equals the resource model's one path on the scheduler's features; bad input is refused."""

from __future__ import annotations

import doctest
import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch

import qlsa_sim
import qlsa_sim as qs
from qlsa_sim import api
from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.features import FeatureConfig, prepare_block
from qlsa_sim.quantum.estimation.physical_profiles import custom_profile
from qlsa_sim.quantum.estimation.timing import tomography_copies

PHYS = ("surface-p1e-3-1us",)
COUNT_FIELDS = ("encoding", "alpha", "kappa", "kappa_eff", "queries", "toffoli", "t_count", "rotations", "clifford",
                "measurements", "logical_qubits", "t_equivalent", "seconds", "seconds_components")


def spd_sparse(n: int = 48, seed: int = 0) -> np.ndarray:
    """A sparse SPD matrix: banded random entries made diagonally dominant (symmetric exactly)."""
    rng = np.random.default_rng(seed)
    A = np.zeros((n, n))
    for k in (1, 3):
        v = rng.uniform(-1.0, 1.0, n - k)
        A += np.diag(v, k) + np.diag(v, -k)
    A += np.diag(np.abs(A).sum(axis=1) + rng.uniform(0.5, 2.0, n))
    return A


def spd_full(n: int = 40, seed: int = 0) -> np.ndarray:
    """A dense SPD matrix (every entry nonzero): the dense-data encodings win over sparse access."""
    B = np.random.default_rng(seed).standard_normal((n, n))
    return B @ B.T / n + 0.5 * np.eye(n)


def operator_of(A: np.ndarray) -> spl.LinearOperator:
    return spl.LinearOperator(A.shape, matvec=lambda v: A @ v, dtype=np.float64)


def entry_info(A: np.ndarray) -> dict:
    """What a caller knows of an operator's matrix: the slow, obvious dense float64 numbers."""
    w = np.linalg.eigvalsh(A)
    return {"lambda_min": float(w[0]), "lambda_max": float(w[-1]),
            "nnz_per_row": int((A != 0).sum(axis=1).max()), "max_abs_entry": float(np.abs(A).max()),
            "frobenius_norm": float(np.linalg.norm(A))}


def same(a, b, fields=COUNT_FIELDS, rel=1e-12):
    for f in fields:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, float):
            assert x == pytest.approx(y, rel=rel, abs=0.0), f
        elif f == "seconds_components":
            assert dict(x) == pytest.approx(dict(y), rel=rel, abs=0.0), f
        else:
            assert x == y, f


@pytest.mark.parametrize("make, chosen", [(spd_sparse, "sparse"), (spd_full, "dense")])
def test_dense_sparse_and_operator_give_the_same_answer(make, chosen):
    A = make()
    dense = qs.estimate(A, physical=PHYS)
    csr = qs.estimate(sp.csr_matrix(A), physical=PHYS)
    op = qs.estimate(operator_of(A), physical=PHYS, **entry_info(A))
    assert (dense.input_kind, csr.input_kind, op.input_kind) == ("dense", "sparse", "operator")
    same(dense, op, rel=0.0)  # the operator is told the dense float64 numbers: identical
    same(dense, csr)  # equal up to the float summation order of ||A||_F over the stored entries
    for other in (csr, op):
        assert other.physical[0].wall_time_s == pytest.approx(dense.physical[0].wall_time_s, rel=1e-12)
        assert other.physical[0].physical_qubits == dense.physical[0].physical_qubits
    assert dense.modeled and all(p.modeled for p in dense.physical)
    assert dense.notes == () and op.notes == () and dense.encoding.startswith(chosen)
    # a sparse array (not matrix), CSC and COO with duplicates and explicit zeros are the same matrix
    coo = sp.coo_matrix(A)
    dup = sp.coo_matrix((np.r_[coo.data / 2, coo.data / 2, 0.0], (np.r_[coo.row, coo.row, 0], np.r_[coo.col, coo.col, 5])),
                        shape=A.shape)
    for form in (sp.csr_array(A), sp.csc_matrix(A), dup):
        same(dense, qs.estimate(form, physical=()))


def test_dense_equals_the_resource_model_on_the_schedulers_features():
    """The reference: prepare_block (no damping, exact kappa) -> QuantumResourceModel.estimate, and kappa from
    all eigenvalues in float64."""
    A = spd_sparse(40, seed=3)
    est = qs.estimate(A, eps=1e-3, preset="jennings2023_v1", hardware="attosecond", physical=())
    f = prepare_block(A, FeatureConfig(reg_eps=0.0, kappa_method="exact", psd=False))[1]
    ref = QuantumResourceModel(1e-3, "jennings2023_v1", "attosecond").estimate(f)
    assert est.seconds == ref.seconds and est.model == ref.model
    assert est.resources == ref.resources
    w = np.linalg.eigvalsh(A)
    assert est.kappa == pytest.approx(w[-1] / w[0], rel=1e-12)
    assert est.kappa_eff == pytest.approx(est.alpha / w[0], rel=1e-12)
    assert est.spectrum_exact and est.physical == ()
    r = est.resources
    assert est.t_equivalent == pytest.approx(r.t_count + 4 * r.toffoli + r.t_per_rotation * r.rotations, rel=1e-12)
    assert "4 x Toffoli" in est.t_equivalent_rule


def test_named_encoding_and_alpha_match_their_definitions():
    A = spd_sparse(32, seed=1)
    s = qs.estimate(A, encoding="sparse", physical=())
    d = qs.estimate(A, encoding="dense", physical=())
    assert s.encoding == "sparse" and s.alpha == pytest.approx((A != 0).sum(axis=1).max() * np.abs(A).max())
    assert d.encoding == "dense" and d.alpha == pytest.approx(np.linalg.norm(A))
    cheapest = qs.estimate(A, physical=())
    assert cheapest.seconds == min(s.seconds, d.seconds, qs.estimate(A, encoding="dense_qroam", physical=()).seconds)


def test_operator_without_entries_falls_back_to_the_ideal_encoding_and_says_so():
    A = spd_sparse()
    info = entry_info(A)
    est = qs.estimate(operator_of(A), lambda_min=info["lambda_min"], lambda_max=info["lambda_max"], physical=())
    assert est.encoding == "ideal"
    assert est.alpha == pytest.approx(info["lambda_max"])  # alpha = ||A||
    assert est.kappa_eff == pytest.approx(est.kappa)
    assert any("IDEAL encoding" in n for n in est.notes) and any("nnz_per_row not given" in n for n in est.notes)
    assert "note: entries unknown" in est.summary()
    # the ideal alpha is the lower bound of every encoding's: never more queries than the matrix's cheapest
    assert est.queries <= qs.estimate(A, physical=()).queries
    # nnz_per_row given: sparse-access gates per query for that many nonzeros, still the ideal alpha
    est2 = qs.estimate(operator_of(A), nnz_per_row=info["nnz_per_row"], lambda_min=info["lambda_min"],
                       lambda_max=info["lambda_max"], physical=())
    assert est2.encoding == "ideal" and est2.resources.nnz_per_row == info["nnz_per_row"]
    assert est2.toffoli < est.toffoli


def test_operator_spectrum_by_lanczos_when_not_given():
    A = spd_sparse()
    w = np.linalg.eigvalsh(A)
    est = qs.estimate(operator_of(A), psd=True, physical=())
    assert not est.spectrum_exact and "lanczos" in est.spectrum
    assert est.kappa == pytest.approx(w[-1] / w[0], rel=1e-3)
    general = qs.estimate(operator_of(A), physical=())  # psd not claimed: both ends by Lanczos
    assert general.kappa == pytest.approx(w[-1] / w[0], rel=1e-3)


def test_large_sparse_uses_lanczos_and_shift_invert():
    n = api.EXACT_MAX_N + 76
    rng = np.random.default_rng(0)
    d = np.linspace(1.0, 2.0, n)
    d[0], d[-1] = 0.25, 8.0  # well-separated extremes: Lanczos converges in a few dozen matvecs
    off = 0.01 * rng.uniform(-1, 1, n - 1)
    S = sp.diags([off, d, off], [-1, 0, 1], format="csr")
    w = np.linalg.eigvalsh(S.toarray())
    est = qs.estimate(S, physical=())
    assert "lanczos" in est.spectrum and est.kappa == pytest.approx(w[-1] / w[0], rel=1e-5)
    assert est.features.max_nnz_per_row == 3 and est.features.nnz == S.nnz
    d2 = d.copy()
    d2[n // 2] = -0.5  # indefinite: min |lambda| is interior
    S2 = sp.diags([off, d2, off], [-1, 0, 1], format="csr")
    w2 = np.linalg.eigvalsh(S2.toarray())
    est2 = qs.estimate(S2, physical=())
    assert "shift-invert" in est2.spectrum
    assert est2.kappa == pytest.approx(np.abs(w2).max() / np.abs(w2).min(), rel=1e-5)


def test_physical_estimates_and_infeasible_points():
    A = spd_sparse(16)
    hot = custom_profile(1e-6, 0.02, 1e-2)  # physical error above the surface code's threshold
    est = qs.estimate(A, physical=("surface-p1e-3-1us", hot))
    ok, bad = est.physical
    assert ok.feasible and ok.wall_time_s > 0 and ok.physical_qubits > 0
    assert not bad.feasible and "threshold" in bad.reason and bad.wall_time_s is None
    assert est.physical_for("surface-p1e-3-1us") is ok
    with pytest.raises(UnknownNameError):
        est.physical_for("nope")
    assert "infeasible" in est.summary() and "MODELED" in est.summary()
    assert isinstance(est.as_dict()["physical"], list)
    single = qs.estimate(A, physical="surface-p1e-3-1us")  # one name as a string
    assert single.physical[0] == ok


def test_readout_scales_seconds_and_physical_counts():
    A = spd_sparse(16)
    base = qs.estimate(A, physical=("idealized-attosecond",))
    ro = qs.estimate(A, readout=True, physical=("idealized-attosecond",))
    copies = tomography_copies(A.shape[0], 1e-2)  # timing.py's readout precision
    assert ro.seconds == pytest.approx(copies * base.seconds, rel=1e-9)
    assert ro.physical[0].wall_time_s == pytest.approx(copies * base.physical[0].wall_time_s, rel=1e-9)
    assert any("readout" in n for n in ro.notes)
    assert "idealized logical machine" in ro.summary() and "code distance" not in ro.summary()


def test_torch_tensor_and_integer_input():
    A = spd_sparse(12)
    ref = qs.estimate(A, physical=())
    same(ref, qs.estimate(torch.from_numpy(A), physical=()))
    same(qs.estimate(np.diag([2, 3, 4]), physical=()), qs.estimate(np.diag([2.0, 3.0, 4.0]), physical=()))


@pytest.mark.parametrize("bad, match", [
    (np.ones((3, 4)), "square"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "NaN"),
    (np.array([[2.0, 1.0], [0.0, 2.0]]), "not symmetric"),
    (sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 2.0]])), "not symmetric"),
    (sp.csr_matrix(np.array([[2.0, np.inf], [np.inf, 2.0]])), "NaN"),
    (sp.csr_matrix(np.ones((2, 3))), "square"),
    (np.diag([1.0, 0.0]), "singular"),
    (np.array([[1.0 + 1j, 0], [0, 1]]), "real"),
])
def test_bad_matrices_are_refused(bad, match):
    with pytest.raises(InputError, match=match):
        qs.estimate(bad, physical=())


def test_bad_operator_information_is_refused():
    A = spd_sparse(10)
    info = entry_info(A)
    op = operator_of(A)
    with pytest.raises(InputError, match="only with a LinearOperator"):
        qs.estimate(A, lambda_min=1.0, physical=())
    with pytest.raises(InputError, match="frobenius_norm needs max_abs_entry"):
        qs.estimate(op, frobenius_norm=info["frobenius_norm"], lambda_min=1.0, lambda_max=2.0, physical=())
    with pytest.raises(InputError, match="indefinite"):
        qs.estimate(op, lambda_min=-1.0, lambda_max=2.0, physical=())
    indefinite = np.diag([-1.0, 0.5, 2.0])
    with pytest.raises(InputError, match="indefinite"):
        qs.estimate(operator_of(indefinite), physical=())
    with pytest.raises(InputError, match="exceeds"):
        qs.estimate(op, lambda_min=3.0, lambda_max=2.0, physical=())
    with pytest.raises(InputError, match="nnz_per_row"):
        qs.estimate(op, nnz_per_row=11, **{k: info[k] for k in ("lambda_min", "lambda_max")}, physical=())
    with pytest.raises(InputError, match="inconsistent"):  # s max|A_ij| below ||A||: not this matrix
        qs.estimate(op, nnz_per_row=1, max_abs_entry=info["max_abs_entry"] / 10, lambda_min=info["lambda_min"],
                    lambda_max=info["lambda_max"], physical=())
    with pytest.raises(InputError, match="max_abs_entry"):
        qs.estimate(op, max_abs_entry=-1.0, lambda_min=1.0, lambda_max=2.0, physical=())
    with pytest.raises(InputError, match="square"):
        qs.estimate(spl.LinearOperator((3, 4), matvec=lambda v: v[:3], dtype=float), physical=())
    with pytest.raises(UnknownNameError):
        qs.estimate(A, encoding="magic", physical=())
    with pytest.raises(UnknownNameError):
        qs.estimate(A, kappa_method="guess", physical=())
    with pytest.raises(InputError):
        qs.estimate(A, eps=2.0, physical=())


def test_docstring_example_runs():
    result = doctest.testmod(api, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0


def test_package_root_exports_lazily():
    code = ("import sys, qlsa_sim; heavy = [m for m in ('numpy', 'torch', 'scipy', 'qualtran') if m in sys.modules]; "
            "print(','.join(heavy)); print(sorted(n for n in ('estimate', 'HybridNewton') if n in dir(qlsa_sim)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    heavy, names = r.stdout.splitlines()
    assert heavy == "" and names == "['HybridNewton', 'estimate']"
    assert qlsa_sim.estimate is api.estimate and qlsa_sim.QLSAEstimate is api.QLSAEstimate
    from qlsa_sim.train.hybrid_newton import HybridNewton, HybridNewtonConfig
    assert qlsa_sim.HybridNewton is HybridNewton and qlsa_sim.HybridNewtonConfig is HybridNewtonConfig
    with pytest.raises(AttributeError):
        qlsa_sim.no_such_name  # noqa: B018
    assert math.isfinite(qs.estimate(np.eye(2) * 2.0, physical=()).seconds)
