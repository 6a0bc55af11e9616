"""The CLI end to end on digits, and its one-line errors for bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from qlsa_sim.cli import main


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_one_line_error(rc, err, *needles):
    assert rc == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """record -> calibrate -> replay on scikit-learn digits, through main(argv)."""
    root = tmp_path_factory.mktemp("e2e")
    trace, cal, out = root / "trace", root / "cal.json", root / "analysis"
    assert main(["record", "--dataset", "digits", "--sizes", "64-8-10", "--steps", "40", "--every", "20",
                 "--lr", "0.5", "--batch-size", "64", "--out", str(trace), "--quiet"]) == 0
    assert main(["calibrate", "--sizes", "16,32,64,128", "--repeats", "2", "--out", str(cal), "--quiet"]) == 0
    assert main(["replay", str(trace), "--calibration", str(cal), "--out", str(out), "--save-features",
                 "--quiet"]) == 0
    return trace, cal, out


def test_end_to_end_tables_have_the_right_contents(pipeline):
    trace, cal, out = pipeline
    dec = pd.read_csv(out / "decisions.csv")
    assert list(dec["id"]) == [f"trace/{s:08d}/{b}" for s in (0, 20, 40) for b in ("layer:0", "layer:2")]
    assert list(dec["n"]) == [520, 90] * 3
    prof = json.loads(cal.read_text())
    for solver in ("cholesky", "lu"):
        c1, c2 = prof["classical"]["solvers"][solver]["c1"], prof["classical"]["solvers"][solver]["c2"]
        np.testing.assert_allclose(dec[f"{solver}_modeled_s"], c1 * dec["n"].astype(float) ** 3 + c2, rtol=1e-12)
    # CG applies (SPD blocks), Woodbury does not (dense storage)
    assert dec["cg_modeled_s"].notna().all() and dec["woodbury_modeled_s"].isna().all()
    # paper Eq. 4 as refitted at the trace's block sizes (replay's default, --eq4-sizes trace)
    from qlsa_sim.cost.calibrate import refit_eq4
    from qlsa_sim.cost.profile import load_profile

    m = refit_eq4(load_profile(cal), sorted(set(dec["n"]))).eq4.model
    q1, q2, eps = m.q1, m.q2, m.precision
    assert q1 != prof["quantum"]["q1"]
    x = dec["density"] * dec["kappa"] * np.log(dec["n"] / eps)
    np.testing.assert_allclose(dec["quantum_modeled_s"], q1 * x + q2, rtol=1e-9)
    # decisions: the cheapest estimate, and kappa of H + eps I >= 1 with lambda_min >= eps (PSD blocks)
    best_c = dec[["cholesky_modeled_s", "lu_modeled_s", "cg_modeled_s"]].min(axis=1)
    np.testing.assert_array_equal(dec["best_classical_modeled_s"], best_c)
    assert (dec["chosen_is_quantum"] == (dec["quantum_modeled_s"] < best_c)).all()
    assert (dec["chosen_modeled_s"] == np.minimum(dec["quantum_modeled_s"], best_c)).all()
    assert (dec["hybrid_modeled_s"] == dec["chosen_modeled_s"]).all()  # replay's policy: the hybrid
    assert (dec["paper_hybrid_modeled_s"] == np.minimum(dec["quantum_modeled_s"], dec["lu_modeled_s"])).all()
    assert (dec["kappa"] >= 1).all() and (dec["lambda_min"] >= 1e-3 * (1 - 1e-9)).all()
    assert (dec["density"] > 0).all() and (dec["density"] <= 1).all()
    assert (dec["solve_measured_s"] > 0).all() and (dec["measured_solver"] == "cholesky").all()
    # speedup table sums the per-step block times
    sp = pd.read_csv(out / "speedup.csv").set_index("strategy")
    lu, best = "classical-only (dense LU; paper Eq. 3)", "classical-only (best classical solver)"
    hyb, paper = "Q-Newton hybrid (QLSA vs best classical)", "Q-Newton hybrid (QLSA vs dense LU; the paper's scheduler)"
    assert sp.loc[lu, "total_seconds"] == pytest.approx(dec["lu_modeled_s"].sum())
    assert sp.loc[best, "total_seconds"] == pytest.approx(dec["best_classical_modeled_s"].sum())
    assert sp.loc["quantum-only (QLSA)", "total_seconds"] == pytest.approx(dec["quantum_modeled_s"].sum())
    assert sp.loc[hyb, "total_seconds"] == pytest.approx(dec["hybrid_modeled_s"].sum())
    assert sp.loc[paper, "total_seconds"] == pytest.approx(dec["paper_hybrid_modeled_s"].sum())
    assert sp.loc[hyb, "total_seconds"] <= min(sp.loc[best, "total_seconds"],
                                               sp.loc["quantum-only (QLSA)", "total_seconds"]) * (1 + 1e-12)
    oh = dec["scheduling_measured_s"].sum()
    assert sp.loc[hyb + " + scheduler overhead", "total_seconds"] == pytest.approx(dec["hybrid_modeled_s"].sum() + oh)
    assert sp.loc[best + " + scheduler overhead", "total_seconds"] == pytest.approx(
        dec["best_classical_modeled_s"].sum() + oh)
    both = sp.loc[[best + " + scheduler overhead", hyb + " + scheduler overhead"], "total_seconds"].to_numpy()
    assert sp.loc[hyb + " + scheduler overhead", "speedup_vs_best_classical"] == pytest.approx(both[0] / both[1])
    assert sp.loc[lu, "speedup_vs_lu"] == 1.0 and sp.loc[best, "speedup_vs_best_classical"] == 1.0
    assert (sp["steps"] == 3).all()
    assert "MODELED" in (out / "speedup.md").read_text()
    for suffix in (".png", ".svg"):
        assert (out / f"crossover{suffix}").stat().st_size > 10_000
    # features were written back into the manifest
    man = json.loads((trace / "manifest.json").read_text())
    assert all("feature_kappa" in r for r in man["rows"])


def test_calibration_profile_contents(pipeline):
    _, cal, _ = pipeline
    prof = json.loads(cal.read_text())
    t = prof["classical"]["solvers"]["cholesky"]["timings"]
    assert [r["n"] for r in t] == [16, 32, 64, 128]
    assert all(len(r["seconds"]) >= 1 and r["median"] == pytest.approx(np.median(r["seconds"])) for r in t)
    assert all(r["relative_residual"] < 1e-10 for r in t)
    assert set(prof["classical"]["solvers"]) == {"cholesky", "lu", "cg", "woodbury"}
    assert all(s["r2_log"] <= 1 for s in prof["classical"]["solvers"].values())
    assert prof["classical"]["solvers"]["cholesky"]["c1"] > 0 and prof["quantum"]["q1"] > 0
    assert prof["quantum"]["modeled"] is True and prof["classical"]["measured"] is True
    assert prof["machine"]["threads_used"] == 1 and prof["classical"]["threads"] == 1


def test_record_resume_via_cli(tmp_path, capsys):
    args = ["record", "--dataset", "digits", "--sizes", "64-4-10", "--steps", "20", "--every", "10",
            "--out", str(tmp_path / "t"), "--quiet"]
    assert main(args) == 0
    rc, _, err = _run(capsys, *args)
    _assert_one_line_error(rc, err, "--resume")
    args[args.index("20")] = "30"
    assert main(args + ["--resume"]) == 0
    steps = sorted({r["step"] for r in json.loads((tmp_path / "t" / "manifest.json").read_text())["rows"]})
    assert steps == [0, 10, 20, 30]


def test_bad_inputs_give_one_line_errors(tmp_path, capsys, monkeypatch, pipeline):
    trace, cal, _ = pipeline
    monkeypatch.setenv("QLSA_SIM_DATA", str(tmp_path))
    rc, _, err = _run(capsys, "record", "--dataset", "mnist", "--out", str(tmp_path / "x"))
    _assert_one_line_error(rc, err, "not found", "looked in")
    rc, _, err = _run(capsys, "record", "--dataset", "cifar", "--out", str(tmp_path / "x"))
    _assert_one_line_error(rc, err, "--dataset", "unknown value", "cifar", "known: fashion-mnist")
    rc, _, err = _run(capsys, "record", "--model", "resnet", "--out", str(tmp_path / "x"))
    _assert_one_line_error(rc, err, "--model", "unknown value", "resnet")
    rc, _, err = _run(capsys, "replay", str(tmp_path / "nope"), "--calibration", str(cal))
    _assert_one_line_error(rc, err, "not found")
    # a corrupt trace: flip bytes in one snapshot
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(trace, bad)
    snap = bad / "snap-00000020.npz"
    raw = bytearray(snap.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    snap.write_bytes(bytes(raw))
    rc, _, err = _run(capsys, "replay", str(bad), "--calibration", str(cal), "--out", str(tmp_path / "o"),
                      "--quiet", "--strict")
    _assert_one_line_error(rc, err, "snap-00000020.npz", "checksum")
    # without --strict the bad file is skipped, named in a summary, the rest replayed, exit 1
    rc, _, err = _run(capsys, "replay", str(bad), "--calibration", str(cal), "--out", str(tmp_path / "o"), "--quiet")
    assert rc == 1 and "snap-00000020.npz" in err and "Traceback" not in err
    assert sorted(pd.read_csv(tmp_path / "o" / "decisions.csv")["step"].unique()) == [0, 40]
    # a trace with NaN (checksum made consistent, so the finiteness check is what fires)
    nan = tmp_path / "nan"
    shutil.copytree(trace, nan)
    snap = nan / "snap-00000000.npz"
    with np.load(snap) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["g_1"][0] = np.nan
    np.savez(snap, **arrays)
    from qlsa_sim.traces.store import _sha256_file

    man = json.loads((nan / "manifest.json").read_text())
    for r in man["rows"]:
        if r["file"] == snap.name:
            r["sha256"] = _sha256_file(snap)
    (nan / "manifest.json").write_text(json.dumps(man))
    rc, _, err = _run(capsys, "replay", str(nan), "--calibration", str(cal), "--out", str(tmp_path / "o"), "--quiet",
                      "--strict")
    _assert_one_line_error(rc, err, "snap-00000000.npz", "NaN")
    # a calibration file with a missing field
    prof = json.loads(cal.read_text())
    del prof["classical"]["solvers"]["cholesky"]["c2"]
    (tmp_path / "c.json").write_text(json.dumps(prof))
    rc, _, err = _run(capsys, "replay", str(trace), "--calibration", str(tmp_path / "c.json"))
    _assert_one_line_error(rc, err, "c.json", "c2")
    rc, _, err = _run(capsys, "calibrate", "--preset", "magic", "--out", str(tmp_path / "c2.json"))
    _assert_one_line_error(rc, err, "magic")


def test_evolution_report_on_mlp_and_gpt(tmp_path, capsys, pipeline):
    trace, _, _ = pipeline
    gpt = tmp_path / "gpt"
    assert main(["record", "--model", "gpt", "--layers-count", "1", "--heads", "2", "--width", "8", "--context", "8",
                 "--steps", "10", "--every", "10", "--batch-size", "4", "--curvature-batch", "2",
                 "--hessian-method", "hvp", "--hvp-chunk", "16", "--block-kinds", "q,o", "--out", str(gpt),
                 "--quiet"]) == 0
    rc, out, _ = _run(capsys, "evolution", str(trace), str(gpt), "--out", str(tmp_path / "evo"), "--quiet")
    assert rc == 0 and "- mlp:" in out and "- gpt:" in out
    ev = pd.read_csv(tmp_path / "evo" / "evolution.csv")
    assert set(ev["model"]) == {"mlp", "gpt"} and len(ev) == 6 + 2 * 2
    assert (ev["p50_fraction"] <= ev["p90_fraction"]).all() and (ev["p90_fraction"] <= ev["p95_fraction"]).all()
    v = pd.read_csv(tmp_path / "evo" / "verdicts.csv")
    row = v[(v["run"] == "trace") & (v["block"] == "layer:0")].iloc[0]
    first = ev[(ev["run"] == "trace") & (ev["block"] == "layer:0") & (ev["step"] == 0)].iloc[0]
    last = ev[(ev["run"] == "trace") & (ev["block"] == "layer:0") & (ev["step"] == 40)].iloc[0]
    assert row["kappa_drop"] == pytest.approx(first["kappa"] / last["kappa"])
    assert row["kappa_drops_10x"] == (first["kappa"] / last["kappa"] >= 10)
    assert (tmp_path / "evo" / "evolution.png").stat().st_size > 10_000
    # replay works unchanged on the transformer trace; indefinite exact blocks go to LU, not Cholesky/CG
    cal = pipeline[1]
    assert main(["replay", str(gpt), "--calibration", str(cal), "--out", str(tmp_path / "g"), "--kappa-method",
                 "lanczos", "--quiet"]) == 0
    dec = pd.read_csv(tmp_path / "g" / "decisions.csv")
    assert len(dec) == 4 and not dec["kappa_method"].str.contains("psd").any()
    indefinite = ~dec["positive_definite"]
    assert dec.loc[indefinite, "cholesky_modeled_s"].isna().all()
    assert (dec.loc[indefinite, "measured_solver"] == "lu").all()
    assert dec["lu_modeled_s"].notna().all()


def test_curvature_is_psd_from_trace_metadata():
    from qlsa_sim.traces.store import TraceMeta

    def curvature_is_psd(meta):
        return TraceMeta.from_manifest(meta).psd

    assert curvature_is_psd({"identity": {"task": {"model": "mlp"}, "curvature": "exact"}})
    assert curvature_is_psd({"identity": {"task": {"model": "gpt"}, "curvature": "fisher"}})
    assert not curvature_is_psd({"identity": {"task": {"model": "gpt"}, "curvature": "exact"}})
    assert not curvature_is_psd({})
