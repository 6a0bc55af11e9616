"""Block encodings: the top-left block equals A/alpha (checked against the circuit's own unitary)."""

from __future__ import annotations

import numpy as np
import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.circuits.block_encoding import (
    ENCODINGS,
    check_symmetric_matrix,
    make_encoding,
    sparse_access_encoding,
    sparse_access_encoding_qrom,
)


def _signed_sparse_symmetric(n: int, rng: np.random.Generator) -> np.ndarray:
    m = rng.standard_normal((n, n))
    a = m + m.T
    a[np.abs(a) < 0.7] = 0.0  # sparse, entries of both signs
    a[np.arange(n), np.arange(n)] += 0.25
    return a


@pytest.mark.parametrize("kind", ENCODINGS)
def test_top_left_block_equals_a_over_alpha(kind):
    rng = np.random.default_rng(7)
    for n in range(2, 17):
        a = _signed_sparse_symmetric(n, rng)
        be = make_encoding(a, kind)
        block = be.top_left_block()
        ref = np.zeros((2**be.num_system,) * 2)
        ref[:n, :n] = a
        assert np.max(np.abs(block - ref / be.alpha)) < 1e-10, (kind, n)
        assert be.num_qubits == be.num_system + be.num_ancillas + be.num_work


def test_alphas_and_kappa_eff():
    rng = np.random.default_rng(3)
    a = _signed_sparse_symmetric(8, rng)
    lam = np.linalg.eigvalsh(a)
    dil = make_encoding(a, "dilation")
    lcu = make_encoding(a, "pauli_lcu")
    sp = make_encoding(a, "sparse")
    norm = float(np.max(np.abs(lam)))
    assert dil.alpha == pytest.approx(norm)
    s = int(np.max(np.count_nonzero(a, axis=0)))
    assert sp.alpha == pytest.approx(s * np.max(np.abs(a)))
    from qlsa_sim.quantum.circuits.block_encoding import pauli_decomposition

    _, c = pauli_decomposition(a)
    assert lcu.alpha == pytest.approx(np.sum(np.abs(c)))
    for be in (lcu, sp):  # every encoding's alpha bounds the norm, so kappa_eff >= kappa
        assert be.alpha >= norm - 1e-12
    lmin = float(np.min(np.abs(lam)))
    assert sp.kappa_eff(lmin) == pytest.approx(sp.alpha / lmin)
    assert sp.kappa_eff(lmin) >= dil.kappa_eff(lmin) - 1e-9
    assert sp.num_ancillas == sp.num_system + 1 and dil.num_ancillas == 1


def test_signed_entries_sparse_access():
    a = np.array([[1.0, -0.5, 0.0], [-0.5, -2.0, 0.25], [0.0, 0.25, 0.5]])  # indefinite, signed
    be = sparse_access_encoding(a)
    blk = be.top_left_block()[:3, :3]
    assert np.max(np.abs(blk * be.alpha - a)) < 1e-12


def test_qrom_structured_encoding_quantised():
    rng = np.random.default_rng(0)
    a = _signed_sparse_symmetric(4, rng) + 3 * np.eye(4)
    b = 6
    be = sparse_access_encoding_qrom(a, entry_bits=b)
    blk = be.top_left_block()
    ref = np.zeros((4, 4))
    ref[:4, :4] = a
    # each entry is cos of an angle rounded to pi 2^-b: error <= max|A| * pi 2^-(b+1) per entry
    assert np.max(np.abs(blk * be.alpha - ref)) <= np.max(np.abs(a)) * np.pi * 2.0 ** -(b + 1) + 1e-12
    assert np.max(np.abs(blk * be.alpha - ref)) > 0  # really quantised, not the exact circuit


def test_bad_matrices():
    with pytest.raises(InputError, match="symmetric"):
        check_symmetric_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(InputError, match="square"):
        check_symmetric_matrix(np.ones((2, 3)))
    with pytest.raises(InputError, match="non-finite"):
        check_symmetric_matrix(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(InputError, match="positive definite"):
        check_symmetric_matrix(np.diag([1.0, -1.0]), require_pd=True)
    with pytest.raises(InputError, match="zero"):
        make_encoding(np.zeros((2, 2)), "dilation")
    with pytest.raises(UnknownNameError):
        make_encoding(np.eye(2), "hhl")
