"""``estimate`` and ``validate`` subcommands, called through their own argparse parsers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.cli import build_parser
from qlsa_sim.commands.estimate import run as run_estimate
from qlsa_sim.commands.validate import run as run_validate
from qlsa_sim.experiments.estimate import estimate_table, point_features
from qlsa_sim.quantum.estimation.hardware import profile_names
from qlsa_sim.quantum.estimation.presets import preset_names
from qlsa_sim.quantum.circuits.simulate import random_spd


def _parse(argv):
    return build_parser().parse_args(argv)


def test_estimate_table_shape():
    df = estimate_table(point_features(1000, 100.0, 0.05, 1e-3), 1e-3)
    assert len(df) == len(preset_names()) * len(profile_names())
    assert df["id"].is_unique and bool(df["modeled"].all()) and set(df["nnz_per_row"]) == {50}
    one = df[(df.preset == "dalzell2024") & (df.hardware == "attosecond")].iloc[0]
    assert one.queries == pytest.approx(56 * 100 + 1.05 * 100 * np.log(1e3))
    assert one.seconds == pytest.approx(one.depth * 1e-18 * one.repetitions)


def test_estimate_from_parameters(capsys):
    args = _parse(["estimate", "--n", "12544", "--kappa", "5971", "--density", "0.62", "--eps", "1e-3",
                   "--preset", "jennings2023_v1", "--preset", "dalzell2024", "--profile", "attosecond"])
    assert run_estimate(args) == 0
    out = capsys.readouterr().out
    assert "jennings2023_v1" in out and "dalzell2024" in out and "MODELED" in out
    assert "nnz/row=7778" in out  # ceil(0.62 * 12544)


def test_estimate_json_with_components(capsys):
    args = _parse(["estimate", "--n", "64", "--kappa", "20", "--density", "0.1", "--json", "--state-prep",
                   "--readout", "--profile", "logical-ec", "--preset", "qsvt"])
    assert run_estimate(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["hardware"] == "logical-ec"
    comps = json.loads(rows[0]["components"])
    assert set(comps) == {"qlsa", "state_prep", "readout"}
    assert rows[0]["seconds"] == pytest.approx(sum(comps.values()))


def test_estimate_from_matrix(tmp_path, capsys):
    a = random_spd(12, 30.0, np.random.default_rng(0))
    path = tmp_path / "a.npy"
    np.save(path, a)
    lam = np.linalg.eigvalsh(a)
    assert run_estimate(_parse(["estimate", "--matrix", str(path), "--json", "--profile", "attosecond",
                                "--encoding", "sparse"])) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["kappa"] == pytest.approx(lam[-1] / lam[0]) and rows[0]["encoding"] == "sparse"
    assert rows[0]["kappa_eff"] == pytest.approx(12 * np.abs(a).max() / lam[0])  # dense: s = n
    assert run_estimate(_parse(["estimate", "--matrix", str(path), "--json", "--profile", "attosecond",
                                "--encoding", "dense"])) == 0
    dense = json.loads(capsys.readouterr().out)[0]
    assert dense["alpha"] == pytest.approx(np.linalg.norm(a)) and dense["kappa_eff"] == pytest.approx(
        np.linalg.norm(a) / lam[0])
    # the default weighs every encoding the matrix allows and keeps the cheapest
    assert run_estimate(_parse(["estimate", "--matrix", str(path), "--json", "--profile", "attosecond"])) == 0
    best = json.loads(capsys.readouterr().out)[0]
    assert best["seconds"] <= min(rows[0]["seconds"], dense["seconds"]) * (1 + 1e-12)


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
    assert json.loads(capsys.readouterr().out)[0]["kappa"] == pytest.approx(8.0)


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
    argv = ["estimate", "--matrix", str(path), "--json", "--profile", "logical-ec", "--preset", "dalzell2024"]
    assert run_estimate(_parse(argv + ["--encoding", "dense", "--basis", "non-clifford"])) == 0
    row = json.loads(capsys.readouterr().out)[0]
    lam = np.linalg.eigvalsh(a)
    assert row["encoding"] == "dense" and row["alpha"] == pytest.approx(np.linalg.norm(a))  # ||A||_F
    assert row["kappa_eff"] == pytest.approx(np.linalg.norm(a) / lam[0])
    assert row["basis"] == "non-clifford" and row["seconds"] == pytest.approx(row["t_equivalent"] * row["gate_time_s"])
    with pytest.raises(InputError, match="needs --matrix"):
        run_estimate(_parse(["estimate", "--n", "10", "--kappa", "5", "--density", "0.5", "--encoding", "dense"]))
