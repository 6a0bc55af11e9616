"""``estimate`` and ``validate`` subcommands, called through their own argparse parsers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from qlsa_sim.cli import build_parser
from qlsa_sim.commands.estimate import run as run_estimate
from qlsa_sim.commands.validate import run as run_validate
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.experiments.estimate import EstimateDocument, estimate_document, logical_rows, point_features
from qlsa_sim.quantum.circuits.simulate import random_spd
from qlsa_sim.quantum.estimation.hardware import profile_names
from qlsa_sim.quantum.estimation.presets import preset_names


def _parse(argv):
    return build_parser().parse_args(argv)


def _doc(capsys, argv):
    assert run_estimate(_parse(argv + ["--json"])) == 0
    return EstimateDocument.model_validate_json(capsys.readouterr().out)  # validates against the schema


def test_estimate_document_shape():
    doc = estimate_document(point_features(1000, 100.0, 0.05, 1e-3), 1e-3, physical=())
    assert len(doc.estimates) == len(preset_names()) and doc.schema_version == "qlsa-sim-estimate/1" and doc.modeled
    assert {e.id for e in doc.estimates} == set(preset_names())
    one = next(e for e in doc.estimates if e.preset == "dalzell2024")
    assert one.queries == pytest.approx(56 * 100 + 1.05 * 100 * np.log(1e3)) and one.encoding == "ideal"
    atto = next(t for t in one.logical_time if t.hardware == "attosecond")
    assert atto.seconds == pytest.approx(atto.components["qlsa"]) and atto.gate_time_s == 1e-18
    assert len(one.logical_time) == len(profile_names())
    ids = [r["id"] for r in logical_rows(doc)]
    assert len(set(ids)) == len(ids) == len(preset_names()) * len(profile_names())
    assert all(r["modeled"] for r in logical_rows(doc))


def test_estimate_json_has_a_schema_units_inputs_and_physical_figures(capsys):
    doc = _doc(capsys, ["estimate", "--n", "256", "--kappa", "100", "--density", "0.1", "--preset", "dalzell2024",
                        "--profile", "attosecond", "--gate-time", "1e-6", "--cycle-time", "1e-6", "--phys-error",
                        "1e-4"])
    assert set(doc.units) >= {"seconds", "toffoli", "t", "physical_qubits", "wall_time_s", "gate_time_s"}
    assert doc.inputs["n"] == 256 and doc.inputs["eps"] == 0.01 and doc.inputs["encoding"] == "cheapest"
    (e,) = doc.estimates
    assert [t.hardware for t in e.logical_time] == ["attosecond", "gate-time-1e-06s"]
    assert e.logical_time[1].seconds == pytest.approx(1e12 * e.logical_time[0].seconds)
    assert e.counts.t_equivalent == pytest.approx(e.counts.t + 4 * e.counts.toffoli
                                                  + e.counts.t_per_rotation * e.counts.rotations)
    by = {p.profile: p for p in e.physical}
    assert set(by) == {"surface-p1e-3-1us", "surface-p1e-4-1us", "custom-gidney-fowler-p0.0001-cycle1e-06s-budget0.01"}
    for p in e.physical:  # a number or the reason, never both
        assert (p.wall_time_s is not None) == p.feasible and (p.reason != "" or p.feasible)
        if p.feasible:
            assert p.physical_qubits > 0 and p.code_distance >= 3 and p.error_split["total"] <= p.error_budget
    # the custom profile is the built-in p = 1e-4, 1 us one
    custom = by["custom-gidney-fowler-p0.0001-cycle1e-06s-budget0.01"]
    assert custom.wall_time_s == by["surface-p1e-4-1us"].wall_time_s


def test_physical_figures_equal_qualtrans_model_on_the_same_counts():
    from qlsa_sim.cost.models import QuantumResourceModel
    from qlsa_sim.quantum.estimation.physical import physical_estimate
    from qlsa_sim.quantum.estimation.resources import logical_counts

    f = point_features(512, 1e3, 0.1, 1e-2)
    res = QuantumResourceModel().estimate(f).resources
    direct = physical_estimate(logical_counts(res), "surface-p1e-4-1us")
    on_hw = QuantumResourceModel(hardware="surface-p1e-4-1us").estimate(f)
    assert direct.feasible and on_hw.seconds == pytest.approx(direct.wall_time_s, rel=1e-12)
    bad = QuantumResourceModel(hardware="surface-p1e-3-1us").estimate(point_features(12544, 1e4, 0.5, 1e-2))
    assert bad.seconds == float("inf") and "infeasible" in bad.model  # infeasible: a reason, not a number


def test_estimate_from_parameters(capsys):
    args = _parse(["estimate", "--n", "12544", "--kappa", "5971", "--density", "0.62", "--eps", "1e-3",
                   "--preset", "jennings2023_v1", "--preset", "dalzell2024", "--profile", "attosecond"])
    assert run_estimate(args) == 0
    out = capsys.readouterr().out
    assert "jennings2023_v1" in out and "dalzell2024" in out and "MODELED" in out and "physical" in out
    assert "nnz/row=7778" in out  # ceil(0.62 * 12544)


def test_estimate_json_with_components(capsys):
    doc = _doc(capsys, ["estimate", "--n", "64", "--kappa", "20", "--density", "0.1", "--state-prep", "--readout",
                        "--profile", "logical-ec", "--preset", "qsvt"])
    (e,) = doc.estimates
    (t,) = e.logical_time
    assert t.hardware == "logical-ec" and set(t.components) == {"qlsa", "state_prep", "readout"}
    assert t.seconds == pytest.approx(sum(t.components.values()))


def test_estimate_from_matrix(tmp_path, capsys):
    a = random_spd(12, 30.0, np.random.default_rng(0))
    path = tmp_path / "a.npy"
    np.save(path, a)
    lam = np.linalg.eigvalsh(a)
    argv = ["estimate", "--matrix", str(path), "--profile", "attosecond", "--preset", "dalzell2024"]
    sparse = _doc(capsys, argv + ["--encoding", "sparse"])
    assert sparse.inputs["kappa"] == pytest.approx(lam[-1] / lam[0]) and sparse.estimates[0].encoding == "sparse"
    assert sparse.estimates[0].kappa_eff == pytest.approx(12 * np.abs(a).max() / lam[0])  # dense: s = n
    dense = _doc(capsys, argv + ["--encoding", "dense"]).estimates[0]
    assert dense.alpha == pytest.approx(np.linalg.norm(a)) and dense.kappa_eff == pytest.approx(
        np.linalg.norm(a) / lam[0])
    # the default weighs every encoding the matrix allows and keeps the cheapest
    best = _doc(capsys, argv).estimates[0]
    assert best.logical_time[0].seconds <= min(sparse.estimates[0].logical_time[0].seconds,
                                               dense.logical_time[0].seconds) * (1 + 1e-12)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["estimate", "--n", "10", "--kappa", "0.5", "--density", "0.5"], r"--kappa: .*\[1, 1e\+16\], got 0.5"),
        (["estimate", "--n", "10", "--kappa", "5", "--density", "0.5", "--eps", "1.5"], r"--eps: .*\[1e-15, 1\)"),
        (["estimate", "--n", "10", "--kappa", "5", "--density", "0"], r"--density: .*\(0, 1\]"),
        (["validate", "--kappa", "0.5"], "--kappa"),
        (["validate", "--eps", "0"], "--eps"),
    ],
)
def test_ranges_are_refused_by_the_parser(argv, match, capsys):
    with pytest.raises(SystemExit) as e:
        _parse(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1
    assert re.search(match, err), err


@pytest.mark.parametrize(
    "argv,exc,match",
    [
        (["estimate", "--n", "10"], InputError, "missing"),
        (["estimate", "--n", "10", "--kappa", "5", "--density", "0.5", "--preset", "x"], UnknownNameError, "preset"),
        (["estimate", "--n", "10", "--kappa", "5", "--density", "0.5", "--profile", "x"], UnknownNameError, "profile"),
    ],
)
def test_estimate_errors(argv, exc, match):
    with pytest.raises(exc, match=match):
        run_estimate(_parse(argv))


def test_estimate_matrix_errors(tmp_path):
    bad = tmp_path / "ns.npy"
    np.save(bad, np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(InputError, match="symmetric"):
        run_estimate(_parse(["estimate", "--matrix", str(bad)]))
    singular = tmp_path / "singular.npy"
    np.save(singular, np.diag([1.0, 0.0]))
    with pytest.raises(InputError, match="singular"):
        run_estimate(_parse(["estimate", "--matrix", str(singular)]))
    good = tmp_path / "good.npy"
    np.save(good, np.eye(3))
    with pytest.raises(InputError, match="does not match"):
        run_estimate(_parse(["estimate", "--matrix", str(good), "--n", "4"]))
    with pytest.raises(InputError, match="not found"):
        run_estimate(_parse(["estimate", "--matrix", str(tmp_path / "missing.npy")]))
    obj = tmp_path / "obj.npy"
    with open(obj, "wb") as f:  # an object-dtype .npy header: loading it would need pickle
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        f.write(b"\x00" * 8)
    with pytest.raises(InputError, match="Python objects"):  # never unpickled
        run_estimate(_parse(["estimate", "--matrix", str(obj)]))


def test_estimate_indefinite_matrix_by_singular_values(tmp_path, capsys):
    """A QLSA inverts a Hermitian matrix through |lambda|: kappa = max|lambda| / min|lambda|."""
    path = tmp_path / "indef.npy"
    np.save(path, np.diag([4.0, -0.5, 1.0]))
    assert run_estimate(_parse(["estimate", "--matrix", str(path), "--json", "--preset", "dalzell2024",
                                "--profile", "attosecond"])) == 0
    assert json.loads(capsys.readouterr().out)["inputs"]["kappa"] == pytest.approx(8.0)


def test_validate_default_and_qasm(tmp_path, capsys):
    out = tmp_path / "qlsa.qasm"
    args = _parse(["validate", "--n", "4", "--n", "8", "--kappa", "2", "--eps", "0.01", "--qasm", str(out)])
    assert run_validate(args) == 0
    text = capsys.readouterr().out
    assert "relative_error" in text and "MEASURED" in text
    assert out.read_text().startswith("OPENQASM 3")


def test_validate_json_matrix(tmp_path, capsys):
    a = random_spd(4, 3.0, np.random.default_rng(2))
    path = tmp_path / "a.npy"
    np.save(path, a)
    assert run_validate(_parse(["validate", "--matrix", str(path), "--json", "--eps", "0.01"])) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["n"] == 4 and rows[0]["relative_error"] <= 0.01


def test_validate_errors(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.eye(4))
    with pytest.raises(InputError, match="does not match"):
        run_validate(_parse(["validate", "--matrix", str(path), "--n", "5"]))
    np.save(path, np.diag([1.0, -1.0]))
    with pytest.raises(InputError, match="positive definite"):
        run_validate(_parse(["validate", "--matrix", str(path)]))


def test_estimate_matrix_with_encoding(tmp_path, capsys):
    a = random_spd(12, 30.0, np.random.default_rng(0))
    path = tmp_path / "a.npy"
    np.save(path, a)
    argv = ["estimate", "--matrix", str(path), "--profile", "logical-ec", "--preset", "dalzell2024"]
    e = _doc(capsys, argv + ["--encoding", "dense", "--basis", "non-clifford"]).estimates[0]
    lam = np.linalg.eigvalsh(a)
    assert e.encoding == "dense" and e.alpha == pytest.approx(np.linalg.norm(a))  # ||A||_F
    assert e.kappa_eff == pytest.approx(np.linalg.norm(a) / lam[0])
    t = e.logical_time[0]
    assert t.basis == "non-clifford" and t.seconds == pytest.approx(e.counts.t_equivalent * t.gate_time_s)
    with pytest.raises(InputError, match="needs --matrix"):
        run_estimate(_parse(["estimate", "--n", "10", "--kappa", "5", "--density", "0.5", "--encoding", "dense"]))


def test_a_warm_estimate_imports_neither_qualtran_nor_pandas(capsys):
    """With the counts and surface-code figures on disk (the first call puts them there), a later process answers
    ``estimate`` and prints both tables without importing Qualtran or pandas (issue 14: a calculator in seconds)."""
    import subprocess
    import sys

    argv = ["estimate", "--n", "3000", "--kappa", "300", "--density", "0.05", "--preset", "dalzell2024",
            "--profile", "attosecond"]
    assert run_estimate(_parse(argv)) == 0
    first = capsys.readouterr().out
    code = ("import sys\nfrom qlsa_sim.cli import main\n"
            f"assert main({argv!r}) == 0\n"
            "heavy = [m for m in ('qualtran', 'pandas') if m in sys.modules]\n"
            "assert not heavy, f'imported {heavy}'\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out == first and "surface-p1e-4-1us" in out and "dalzell2024" in out
