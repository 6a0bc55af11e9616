"""The QSVT circuit solves SPD systems to the target precision in Aer simulation."""

from __future__ import annotations

import numpy as np
import pytest

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.circuits.simulate import bucket_kappa, random_spd, simulate_qsvt_solve, validate_solve


def _check(r, eps):
    assert r.relative_error <= eps
    assert r.fidelity >= 1 - eps**2
    assert r.success_probability == pytest.approx(r.predicted_success_probability, rel=1e-6, abs=1e-9)
    assert r.queries == r.degree


@pytest.mark.parametrize("n,kappa", [(4, 2.0), (8, 2.0), (16, 2.0), (4, 10.0), (8, 10.0), (16, 10.0), (16, 50.0)])
def test_dilation_qsvt_solves(n, kappa):
    rng = np.random.default_rng(100 + n + int(kappa))
    a = random_spd(n, kappa, rng) * 2.5
    assert np.linalg.cond(a) == pytest.approx(kappa, rel=1e-8)
    r = validate_solve(a, eps=1e-2, rng=rng)
    assert r.kappa_eff == pytest.approx(kappa, rel=1e-8)
    _check(r, 1e-2)


@pytest.mark.parametrize("encoding", ["sparse", "pauli_lcu"])
def test_other_encodings_solve(encoding):
    rng = np.random.default_rng(5)
    a = random_spd(4, 2.0, rng)
    r = validate_solve(a, eps=1e-2, encoding=encoding, rng=rng)
    assert r.kappa_eff >= r.kappa * (1 - 1e-9)  # alpha >= ||A||
    _check(r, 1e-2)


def test_tighter_eps():
    rng = np.random.default_rng(9)
    r = validate_solve(random_spd(8, 10.0, rng), eps=1e-4, rng=rng)
    _check(r, 1e-4)


def test_qasm_export(tmp_path):
    rng = np.random.default_rng(1)
    out = tmp_path / "c.qasm"
    r = validate_solve(random_spd(4, 2.0, rng), eps=1e-1, qasm_path=out, rng=rng)
    text = out.read_text()
    assert r.qasm_path == str(out) and text.startswith("OPENQASM 3")
    assert f"qubit[{r.qubits}]" in text  # one register with every qubit of the circuit
    assert "cx " in text and "U(" in text  # decomposed to u / cx (qasm3 import needs an extra package)


def test_bad_inputs():
    with pytest.raises(InputError, match="positive definite"):
        validate_solve(np.diag([1.0, -2.0]))
    with pytest.raises(InputError, match="symmetric"):
        validate_solve(np.array([[2.0, 1.0], [0.0, 2.0]]))
    with pytest.raises(InputError, match="shape"):
        validate_solve(np.eye(4), b=np.ones(3))
    with pytest.raises(InputError, match="eps"):
        validate_solve(np.eye(2), eps=2.0)


@pytest.mark.slow
@pytest.mark.parametrize("kappa", [2.0, 10.0, 50.0])
@pytest.mark.parametrize("encoding", ["dilation", "sparse"])
def test_all_kappas_slow(kappa, encoding):
    rng = np.random.default_rng(int(kappa))
    a = random_spd(8, kappa, rng)
    _check(validate_solve(a, eps=1e-2, encoding=encoding, rng=rng), 1e-2)


@pytest.mark.parametrize("n,kappa,scale", [(3, 2.0, 0.1), (6, 10.0, 7.0), (10, 20.0, 1.0)])
def test_simulated_solution_with_norm_matches_solve(n, kappa, scale):
    # the whole vector (direction and norm) comes from the circuit's amplitudes; reference: LAPACK solve
    rng = np.random.default_rng(n)
    a = random_spd(n, kappa, rng) * scale
    b = rng.standard_normal(n) * 3.0
    s = simulate_qsvt_solve(a, b, 1e-2)
    x = np.linalg.solve(a, b)
    assert np.linalg.norm(s.x - x) <= 1e-2 * np.linalg.norm(x)
    assert s.imag_norm < 1e-10
    assert s.kappa_target == s.kappa_eff == pytest.approx(kappa, rel=1e-8)
    assert s.queries == s.degree and s.success_probability > 0


def test_bucketed_kappa_reuses_angles_and_stays_accurate():
    rng = np.random.default_rng(3)
    a1, a2 = random_spd(4, 8.0, rng), random_spd(4, 9.0, rng)
    b = rng.standard_normal(4)
    s1 = simulate_qsvt_solve(a1, b, 1e-2, kappa_bucket=1.25)
    s2 = simulate_qsvt_solve(a2, b, 1e-2, kappa_bucket=1.25)
    assert s1.kappa_target == s2.kappa_target == pytest.approx(1.25**10)  # both round up to 1.25^10 = 9.31
    assert s2.angles_from_cache
    for a, s in ((a1, s1), (a2, s2)):
        x = np.linalg.solve(a, b)
        assert np.linalg.norm(s.x - x) <= 1e-2 * np.linalg.norm(x)


def test_bucket_kappa_rounds_up():
    assert bucket_kappa(7.3, None) == 7.3
    for k in (1.0, 1.3, 7.3, 99.9, 1e4):
        t = bucket_kappa(k, 1.25)
        assert k <= t < 1.25 * k * (1 + 1e-12)
    with pytest.raises(InputError, match="ratio"):
        bucket_kappa(3.0, 1.0)


def test_simulation_refuses_large_kappa_before_angle_finding():
    with pytest.raises(InputError, match="exceeds the simulation limit"):
        simulate_qsvt_solve(np.diag([1.0, 1e-3]), np.ones(2), 1e-2, max_kappa_eff=100.0)
    with pytest.raises(InputError, match="non-zero"):
        simulate_qsvt_solve(np.eye(2), np.zeros(2), 1e-2)
