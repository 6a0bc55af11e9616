"""Cost models against hand-computed values; calibration fits on synthetic timings; profile files."""


import numpy as np
import pytest
from references import qlsa_seconds

from qlsa_sim.cost.calibrate import fit_linear_relative
from qlsa_sim.cost.models import ClassicalCubicModel, QuantumEq4Model, QuantumResourceModel, eq4_regressor
from qlsa_sim.cost.profile import profile_from_constants
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import MatrixFeatures


def _features(n=100, kappa=10.0, density=0.5):
    return MatrixFeatures(n=n, nnz=int(density * n * n), density=density, density_tol=0.0, max_nnz_per_row=n // 2,
                          max_abs_entry=1.0, reg_eps=1e-3, kappa=kappa, lambda_min=0.1, lambda_max=1.0,
                          kappa_method="exact-eigvalsh", kappa_exact=True, positive_definite=True, kappa_seconds=0.0, seconds=0.0)


def test_classical_eq3_by_hand():
    m = ClassicalCubicModel(c1=2e-11, c2=1e-4)
    # 2e-11 * 1000^3 + 1e-4 = 0.02 + 0.0001
    assert m.seconds(1000) == pytest.approx(0.0201, rel=1e-12)
    e = m.estimate(_features(n=1000))
    assert e.seconds == pytest.approx(0.0201) and e.modeled and not e.is_quantum
    assert "Eq. 3" in e.model


def test_quantum_eq4_by_hand():
    m = QuantumEq4Model(q1=2.0, q2=3.0, precision=0.01, preset="p", hardware="h")
    # 2 * 0.5 * 10 * ln(100 / 0.01) + 3 = 10 * ln(1e4) + 3 = 95.10340371976183
    assert m.seconds(100, 10.0, 0.5) == pytest.approx(95.10340371976183, rel=1e-12)
    e = m.estimate(_features())
    assert e.seconds == pytest.approx(95.10340371976183) and e.is_quantum and e.modeled and "Eq. 4" in e.model


@pytest.mark.parametrize("args", [(100, 0.5, 0.5, 0.01), (100, 10, 0.0, 0.01), (100, 10, 0.5, 1.5), (100, 10, 1.2, 0.1)])
def test_eq4_rejects_bad_input(args):
    with pytest.raises(InputError):
        eq4_regressor(*args)


def test_fit_recovers_exact_constants():
    n = np.array([32, 64, 128, 256, 512, 1024, 2048], float)
    t = 3e-11 * n ** 3 + 5e-5
    f = fit_linear_relative(n ** 3, t)
    assert f.a == pytest.approx(3e-11, rel=1e-8) and f.b == pytest.approx(5e-5, rel=1e-6)
    assert f.r2 == pytest.approx(1.0) and f.r2_log == pytest.approx(1.0)


def test_fit_with_noise_is_close_and_r2_drops(rng):
    n = np.repeat([64, 128, 256, 512, 1024, 2048], 3).astype(float)
    t = (3e-11 * n ** 3 + 5e-5) * np.exp(rng.normal(0, 0.05, n.size))
    f = fit_linear_relative(n ** 3, t)
    assert f.a == pytest.approx(3e-11, rel=0.1) and f.b == pytest.approx(5e-5, rel=0.2)
    assert 0.9 < f.r2_log < 1.0


def test_fit_bad_input():
    with pytest.raises(InputError):
        fit_linear_relative([1.0], [1.0])
    with pytest.raises(InputError):
        fit_linear_relative([1.0, 2.0], [1.0, np.nan])


def test_classical_models_by_hand():
    from qlsa_sim.cost.models import ClassicalFlopModel

    p = profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), cg=(1e-10, 1e-4), woodbury=(5e-11, 1e-4),
                               q1=1e-15, q2=1e-12)
    f = _features(n=100, kappa=100.0, density=0.5)
    # CG: iterations ceil(0.5 * sqrt(100) * ln(2 / 0.01)) = ceil(26.49) = 27; flops 27 * (2 * 5000 + 1000)
    cg = p.classical_model("cg")
    assert cg.estimate(f).seconds == pytest.approx(1e-10 * 27 * 11000 + 1e-4)
    # Woodbury applies only to factored blocks: r = 10 -> n r^2 + r^3/3 + 2 r^2 + 4 n r + 2 n
    wb = p.classical_model("woodbury")
    assert not wb.applies(f)
    from dataclasses import replace

    fr = replace(f, factor_rank=10)
    assert wb.applies(fr)
    assert wb.estimate(fr).seconds == pytest.approx(5e-11 * (100 * 100 + 1000 / 3 + 200 + 4000 + 200) + 1e-4)
    # Cholesky does not apply to an indefinite block; LU does
    fi = replace(f, positive_definite=False)
    assert not p.classical_model("cholesky").applies(fi) and p.classical_model("lu").applies(fi) and not cg.applies(fi)
    assert isinstance(cg, ClassicalFlopModel)


def test_resource_model_takes_indefinite_blocks_by_their_singular_values():
    from qlsa_sim.cost.models import QuantumResourceModel
    from qlsa_sim.linalg.features import FeatureConfig, matrix_features

    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    lam = np.array([-3.0, -0.5, 0.2, 0.4, 0.7, 1.0, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8])
    H = (Q * lam) @ Q.T
    H = 0.5 * (H + H.T)
    f = matrix_features(H, FeatureConfig(reg_eps=0.0, psd=False, kappa_method="exact"))
    assert f.lambda_min < 0 and f.kappa == pytest.approx(3.0 / 0.2)
    rm = QuantumResourceModel(encoding="sparse")
    ref = qlsa_seconds(rm, 12, f.max_nnz_per_row, f.kappa, max_abs_entry=f.max_abs_entry, lambda_min=0.2,
                             lambda_max=3.0)
    assert rm.estimate(f).seconds == pytest.approx(ref, rel=1e-9)
    # positive definite: sigma_min, sigma_max are lambda_min, lambda_max
    g = matrix_features(H + 3.5 * np.eye(12), FeatureConfig(reg_eps=0.0, kappa_method="exact"))
    ref = qlsa_seconds(rm, 12, g.max_nnz_per_row, g.kappa, max_abs_entry=g.max_abs_entry,
                             lambda_min=g.lambda_min, lambda_max=g.lambda_max)
    assert rm.estimate(g).seconds == pytest.approx(ref, rel=1e-12)



def test_the_cheapest_encoding_is_chosen_and_says_which():
    """The resource model weighs every encoding the block allows and keeps the fewest modeled seconds."""
    from dataclasses import replace

    from qlsa_sim.linalg.features import FeatureConfig, prepare_block

    rng = np.random.default_rng(1)
    M = rng.standard_normal((40, 8))
    H = M @ M.T / 8
    _, f = prepare_block(H, FeatureConfig(reg_eps=1e-2), factor=M, factor_scale=1 / 8)
    named = {e: QuantumResourceModel(encoding=e).estimate(f) for e in ("sparse", "dense", "factor", "factor_qroam")}
    best = QuantumResourceModel().estimate(f)
    assert best.seconds == pytest.approx(min(e.seconds for e in named.values()), rel=1e-12)
    assert best.resources.encoding == min(named, key=lambda e: named[e].seconds) and "cheapest of" in best.model
    # the encodings' alpha: s max|A_ij|, ||A||_F, scale ||M||_F^2 + eps
    A = H + 1e-2 * np.eye(40)
    assert named["sparse"].resources.alpha == pytest.approx(40 * np.abs(A).max(), rel=1e-12)
    assert named["dense"].resources.alpha == pytest.approx(np.linalg.norm(A), rel=1e-12)
    assert named["factor"].resources.alpha == pytest.approx(np.sum(M * M) / 8 + 1e-2, rel=1e-12)
    for e in named.values():
        assert e.resources.kappa_eff == pytest.approx(e.resources.alpha / f.lambda_min, rel=1e-9)
    # without a factor the factor form does not apply; without entries (a grid point) only the ideal encoding
    assert QuantumResourceModel().estimate(replace(f, factor_rank=None)).resources.encoding != "factor"
    for enc in ("cheapest", "dense"):
        grid = QuantumResourceModel(encoding=enc).estimate(replace(f, max_abs_entry=float("nan")))
        assert grid.resources.encoding == "ideal" and grid.resources.kappa_eff == pytest.approx(f.kappa)


def test_roofline_memory_term_by_hand():
    """max(a*flops, bytes/B) + b once the working set exceeds the cache; a*flops + b inside it or without the term."""
    from dataclasses import replace

    from qlsa_sim.cost.models import ClassicalFlopModel

    B, cache = 1e10, 1e7
    p = profile_from_constants(cholesky=(1e-11, 0.0), cg=(1e-10, 1e-4), woodbury=(5e-11, 1e-4), q1=1e-15, q2=1e-12,
                               memory=(B, cache))
    cg, wb = p.classical_model("cg"), p.classical_model("woodbury")
    assert (cg.bandwidth_Bps, cg.cache_bytes) == (B, cache) and wb.bandwidth_Bps == B
    small = _features(n=100, kappa=100.0, density=1.0)  # 80 kB: in cache, flops only
    assert cg.estimate(small).seconds == pytest.approx(1e-10 * 27 * (2 * 100 ** 2 + 1000) + 1e-4)
    big = _features(n=4000, kappa=100.0, density=1.0)   # 128 MB per iteration, 27 iterations
    est = cg.estimate(big)
    assert est.seconds == pytest.approx(27 * 8 * 4000 ** 2 / B + 1e-4)  # memory-bound: 0.35 s > 0.35 ms x 27 flops
    assert dict(est.components)["memory"] > dict(est.components)["flops"] and "roofline" in est.model
    no_term = replace(cg, bandwidth_Bps=None, cache_bytes=None)
    assert no_term.estimate(big).seconds == pytest.approx(1e-10 * 27 * (2 * 4000 ** 2 + 40000) + 1e-4)
    # a factor-stored block: CG matrix-free (16 n r bytes per iteration), Woodbury 3 passes over 8 n r bytes
    fr = replace(big, factor_rank=1000)
    assert cg.estimate(fr).seconds == pytest.approx(27 * 16 * 4000 * 1000 / B + 1e-4)
    # Woodbury kernel by kernel: the Gram (compute-bound here), the r x r Cholesky (8 MB: in cache), and the two
    # products with the factor (memory-bound: 2 x 32 MB streamed)
    gram, chol, apply = 5e-11 * 4000 * 1000 ** 2, 5e-11 * (1000 ** 3 / 3 + 2 * 1000 ** 2), 2 * 8 * 4000 * 1000 / B
    assert 5e-11 * (4 * 4000 * 1000 + 8000) < apply
    assert wb.estimate(fr).seconds == pytest.approx(gram + chol + apply + 1e-4)
    # with the Gram computed by the features (gram_seconds > 0) the solve reuses it
    assert wb.estimate(replace(fr, gram_seconds=0.5)).seconds == pytest.approx(chol + apply + 1e-4)
    with pytest.raises(InputError, match="both"):
        ClassicalFlopModel(1e-10, 0.0, "cg", bandwidth_Bps=1e10)
    with pytest.raises(InputError, match="bandwidth"):
        ClassicalFlopModel(1e-10, 0.0, "cg", bandwidth_Bps=0.0, cache_bytes=0.0)
