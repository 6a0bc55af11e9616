"""Inversion polynomial, degree, angles (pyqsp, quiet, JSON-cached)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.circuits import angles
from qlsa_sim.quantum.estimation import inversion


@pytest.mark.parametrize("kappa,eps", [(1.0, 0.1), (2.0, 1e-2), (10.0, 1e-2), (10.0, 1e-5), (50.0, 1e-3)])
def test_polynomial_accuracy_and_bound(kappa, eps):
    poly = inversion.inversion_polynomial(kappa, eps)
    assert poly.degree % 2 == 1
    assert np.allclose(poly.coef[0::2], 0.0)  # odd
    assert poly.relative_error() <= eps / 2 * (1 + 1e-9)
    xs = np.linspace(-1.0, 1.0, 40001)
    assert np.max(np.abs(poly(xs))) <= inversion.ETA + 1e-6  # |P| <= eta < 1 on [-1, 1]
    # dense reference: relative error of x P(x) against c on [1/kappa, 1]
    x = np.linspace(1 / kappa, 1, 3001)
    assert np.max(np.abs(x * poly(x) / poly.scale - 1)) <= eps / 2 * (1 + 1e-9)


def test_degree_is_minimal_for_the_chebyshev_residual():
    # one degree step less violates the bound: 1/T_{m-1}(z0) > eps/2
    for kappa, eps in [(10.0, 1e-2), (50.0, 1e-3), (3.0, 1e-6)]:
        m = inversion.inversion_half_degree(kappa, eps)
        z = math.log((kappa + 1) / (kappa - 1))
        assert 1 / math.cosh(m * z) <= eps / 2 < 1 / math.cosh((m - 1) * z)


def test_degree_grows_like_kappa_log():
    d1, d2 = inversion.inversion_degree(100.0, 1e-3), inversion.inversion_degree(200.0, 1e-3)
    assert 1.9 < d2 / d1 < 2.1
    assert inversion.inversion_degree(100.0, 1e-6) > inversion.inversion_degree(100.0, 1e-3)
    # lower than the truncated-Chebyshev-series (CKS 2017) degree ~ 2*sqrt(b log(4b/eps)), b = k^2 log(k/eps)
    k, e = 100.0, 1e-3
    b = k * k * math.log(k / e)
    assert inversion.inversion_degree(k, e) < 2 * math.sqrt(b * math.log(4 * b / e))


def test_angles_reproduce_polynomial_and_cache(capsys):
    a1 = angles.find_angles(10.0, 1e-2)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # pyqsp silenced
    assert not a1.from_cache and len(a1.phases) == a1.degree + 1
    poly = inversion.inversion_polynomial(10.0, 1e-2)
    xs = np.linspace(-1, 1, 257)
    resp = angles.qsvt_block_sign(a1.degree) * angles.reflection_response(np.array(a1.phases), xs).real
    assert np.max(np.abs(resp - poly(xs))) < 1e-8
    a2 = angles.find_angles(10.0, 1e-2)
    assert a2.from_cache and a2.phases == a1.phases
    files = list(angles.cache_dir().glob("angles-*.json"))
    assert files
    data = json.loads(files[0].read_text())  # plain JSON, keyed by kappa, eps, method
    assert {"kappa", "eps", "method"} <= set(data["key"])
    a3 = angles.find_angles(10.0, 1e-2, use_cache=False)
    assert not a3.from_cache and np.allclose(a3.phases, a1.phases)


def test_corrupt_cache_is_recomputed():
    a = angles.find_angles(2.0, 1e-2)
    path = angles._cache_path(angles._cache_key(2.0, 1e-2, angles.ANGLE_METHOD))
    path.write_text("{not json")
    b = angles.find_angles(2.0, 1e-2)
    assert not b.from_cache and np.allclose(a.phases, b.phases)


def test_bad_inputs():
    with pytest.raises(InputError):
        inversion.inversion_degree(0.5, 0.1)
    with pytest.raises(InputError):
        angles.find_angles(10.0, 1.5)
    with pytest.raises(InputError):
        angles.find_angles(10.0, 1e-2, method="laurent")
