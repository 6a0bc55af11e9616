"""Dense-data and factor-form encodings as exact circuits: block = A/alpha; counts vs the counting path."""

from __future__ import annotations

import numpy as np
import pytest

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.circuits.data_encoding import (
    block_of,
    count_agreement,
    dense_data_encoding,
    factor_form_encoding,
    real_state_tree_angles,
)

SIZES = [2, 3, 4, 8, 16]


@pytest.mark.parametrize("n", SIZES)
def test_dense_block_is_a_over_frobenius(n):
    rng = np.random.default_rng(n)
    m = rng.standard_normal((n, n))
    a = m + m.T
    a[0, :] = a[:, 0] = 0.0  # a zero row and column: its row state is arbitrary, its norm amplitude 0
    a[1, 1] = 3.0
    be = dense_data_encoding(a)
    assert be.alpha == pytest.approx(np.linalg.norm(a))  # ||A||_F
    ref = np.zeros((2**be.num_system,) * 2)
    ref[:n, :n] = a / be.alpha
    assert np.max(np.abs(block_of(be) - ref)) < 1e-10
    assert be.num_ancillas == be.num_system


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("r,scale,shift", [(1, 2.0, 0.0), (3, 0.7, 0.25)])
def test_factor_block_is_h_over_alpha(n, r, scale, shift):
    rng = np.random.default_rng(10 * n + r)
    mm = rng.standard_normal((n, r))
    be = factor_form_encoding(mm, scale=scale, shift=shift)
    fro2 = float(np.sum(mm * mm))
    assert be.alpha == pytest.approx(scale * fro2 + shift)  # alpha = scale ||M||_F^2 + shift
    dim = 2**be.num_system
    ref = np.zeros((dim, dim))
    ref[:n, :n] = scale * mm @ mm.T
    ref[np.arange(dim), np.arange(dim)] += shift  # the identity term acts on the padding too
    assert np.max(np.abs(block_of(be) - ref / be.alpha)) < 1e-10


def test_state_tree_signs_and_zeros():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    v = np.array([0.0, -0.5, 0.5, 0.0, -0.5, 0.0, 0.0, 0.5])
    qc = QuantumCircuit(3)
    for q, th in enumerate(real_state_tree_angles(v)):
        from qiskit.circuit.library import UCRYGate

        if q == 0:
            qc.ry(th[0], 2)
        else:
            qc.append(UCRYGate(list(th)), [2 - q] + list(range(3 - q, 3)))
    assert np.max(np.abs(Statevector(qc).data - v)) < 1e-12
    with pytest.raises(InputError, match="power of two"):
        real_state_tree_angles(np.ones(3))


def test_bad_inputs():
    with pytest.raises(InputError, match="square"):
        dense_data_encoding(np.ones((2, 3)))
    with pytest.raises(InputError, match="zero"):
        dense_data_encoding(np.zeros((2, 2)))
    with pytest.raises(InputError, match="scale"):
        factor_form_encoding(np.ones((2, 1)), scale=0.0)
    with pytest.raises(InputError, match="shift"):
        factor_form_encoding(np.ones((2, 1)), shift=-1.0)
    with pytest.raises(InputError, match="non-finite"):
        factor_form_encoding(np.array([[np.inf], [1.0]]))
    with pytest.raises(InputError, match="kind"):
        count_agreement("sparse", np.eye(2))


# Stated factor: counted / built non-Clifford operations in [1, 4] (measured 2.06-3.3 dense, 1.3-3.3
# factor): the counting path pays ~2 Toffoli-class gates per stored angle (QROM lookup + uncompute) and
# b - 2 Toffolis per level (phase-gradient adder) where the built circuit pays one exact Ry per angle.
LOW, HIGH = 1.0, 4.0


@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_counting_path_agrees_with_the_circuit(n):
    rng = np.random.default_rng(n)
    m = rng.standard_normal((n, n))
    d = count_agreement("dense", m + m.T)
    assert d.built_levels == d.counted_levels == 2 * max(1, int(np.ceil(np.log2(n))))
    assert d.built_angles == d.counted_angles  # same tree, same tables
    assert LOW <= d.non_clifford_ratio <= HIGH, d
    f = count_agreement("factor", rng.standard_normal((n, 2)), scale=1.0, shift=0.1)
    assert f.built_levels == f.counted_levels
    assert f.built_angles == 2 * f.counted_angles  # built tables carry the LCU control's zero half
    assert LOW <= f.non_clifford_ratio <= HIGH, f
    g = count_agreement("factor", rng.standard_normal((n, 4)), scale=1.0, shift=0.0)
    assert g.built_levels == g.counted_levels and g.built_angles == g.counted_angles
    assert LOW <= g.non_clifford_ratio <= HIGH, g
