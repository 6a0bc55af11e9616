"""The QSVT circuit solves SPD systems to the target precision in Aer simulation."""

from __future__ import annotations

import numpy as np
import pytest

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.simulate import random_spd, validate_solve


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
