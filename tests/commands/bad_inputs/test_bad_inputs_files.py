"""Bad files: matrix and vector files (``data/matrices.py``: header first, then size, dtype, shape,
finiteness), IDX data (``data/idx.py``: header first, exact sizes, bounded decompression, labels), output
paths that cannot be written, and folders that do not exist. Each names the file."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.data.idx import write_idx

# ------------------------------------------------------------------------------------------ matrix files


def _npy(path: Path, kind: str) -> Path:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("1 2\n3 4\n")
    elif kind == "npz":
        np.savez(path.with_suffix(".npz"), a=np.eye(2))
        os.replace(path.with_suffix(".npz"), path)
    elif kind == "object dtype":
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (2, 2)})
            f.write(b"\0" * 32)
    elif kind == "truncated":
        np.save(path, np.eye(4))
        path.write_bytes(path.read_bytes()[:-40])
    elif kind == "huge header":
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7)})
    elif kind == "nan":
        np.save(path, np.array([[1.0, np.nan], [np.nan, 1.0]]))
    elif kind == "non-square":
        np.save(path, np.ones((2, 3)))
    elif kind == "3-d":
        np.save(path, np.ones((2, 2, 2)))
    elif kind == "complex":
        np.save(path, np.eye(2, dtype=complex))
    elif kind == "bool":
        np.save(path, np.eye(2, dtype=bool))
    elif kind == "folder":
        path.mkdir()
    elif kind == "dev zero":
        os.symlink("/dev/zero", path)
    return path


MATRIX_KINDS = {"empty": "empty file", "text": "not a .npy", "npz": "not a .npy", "object dtype": "Python objects",
                "truncated": "truncated", "huge header": "truncated", "nan": "NaN", "non-square": "square",
                "3-d": "square", "complex": "real", "bool": "real", "folder": "a folder",
                "dev zero": "not a regular file", "missing": "not found"}


@pytest.mark.parametrize("kind", MATRIX_KINDS, ids=list(MATRIX_KINDS))
@pytest.mark.parametrize("cmd", ["estimate", "validate"])
def test_bad_matrix_file(cmd, kind, tmp_path, refused):
    path = _npy(tmp_path / "m.npy", kind)
    refused(cmd, "--matrix", path, needles=("--matrix", str(path), MATRIX_KINDS[kind]))


def test_validate_matrix_problems_name_the_file(tmp_path, refused):
    for name, a, needle in (("nonsym", [[1.0, 2.0], [0.0, 1.0]], "not symmetric"),
                            ("indefinite", [[1.0, 0.0], [0.0, -1.0]], "not positive definite")):
        path = tmp_path / f"{name}.npy"
        np.save(path, np.array(a))
        refused("validate", "--matrix", path, needles=(f"--matrix {path}", needle))


@pytest.mark.parametrize("kind,needle", [("short", "length 3"), ("zero", "zero"), ("nan", "NaN"),
                                         ("matrix", "length 3")])
def test_bad_rhs(kind, needle, tmp_path, refused):
    a = tmp_path / "a.npy"
    np.save(a, np.diag([1.0, 2.0, 3.0]))
    b = tmp_path / "b.npy"
    np.save(b, {"short": np.ones(2), "zero": np.zeros(3), "nan": np.array([1.0, np.nan, 0.0]),
                "matrix": np.eye(3)}[kind])
    refused("validate", "--matrix", a, "--rhs", b, needles=("--rhs", str(b), needle))


def test_rhs_needs_a_matrix(tmp_path, refused):
    b = tmp_path / "b.npy"
    np.save(b, np.ones(4))
    refused("validate", "--rhs", b, needles=("--rhs needs --matrix",))


# ------------------------------------------------------------------------------------------ IDX data
def _idx_dir(root: Path, *, images=None, labels=None, raw: dict | None = None) -> Path:
    """A four-file MNIST-format folder of 20 train / 10 test 4x4 images (overridable per file)."""
    rng = np.random.default_rng(0)
    d = root / "mnist"
    d.mkdir()
    defaults = {"train-images-idx3-ubyte": rng.integers(0, 255, (20, 4, 4), dtype=np.uint8),
                "train-labels-idx1-ubyte": rng.integers(0, 10, 20).astype(np.uint8),
                "t10k-images-idx3-ubyte": rng.integers(0, 255, (10, 4, 4), dtype=np.uint8),
                "t10k-labels-idx1-ubyte": rng.integers(0, 10, 10).astype(np.uint8)}
    if images is not None:
        defaults["train-images-idx3-ubyte"] = images
    if labels is not None:
        defaults["train-labels-idx1-ubyte"] = labels
    for name, arr in defaults.items():
        if raw and name in raw:
            (d / name).write_bytes(raw[name])
        else:
            write_idx(d / name, arr, gz=False)
    return d


def _bomb() -> bytes:
    head = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 20, 4, 4)
    return gzip.compress(head + bytes(20 * 16) + bytes(64 << 20), compresslevel=1)


IDX_CASES = {
    "bad magic": (dict(raw={"train-images-idx3-ubyte": b"\x01\x02\x03\x04"}), "bad magic"),
    "huge dimensions": (dict(raw={"train-images-idx3-ubyte": bytes([0, 0, 0x08, 3]) + struct.pack(">3I", *[2**31] * 3)}),
                        "more than the 2 GiB read"),
    "truncated": (dict(raw={"train-labels-idx1-ubyte": bytes([0, 0, 0x08, 1]) + struct.pack(">I", 20) + bytes(5)}),
                  "truncated or corrupt"),
    "gzip bomb": (dict(raw={"train-images-idx3-ubyte": _bomb()}), "more data than its header declares"),
    "NaN images": (dict(images=np.full((20, 4, 4), np.nan, dtype=np.float32)), "NaN"),
    "negative labels": (dict(labels=np.full(20, -1, dtype=np.int8)), "[0, 255]"),
    "labels above 255": (dict(labels=np.full(20, 300, dtype=np.int16)), "[0, 255]"),
    "float labels": (dict(labels=np.zeros(20, dtype=np.float32)), "integers"),
    "counts differ": (dict(labels=np.zeros(7, dtype=np.uint8)), "do not form a data set"),
    "labels beyond the output layer": (dict(labels=np.full(20, 12, dtype=np.uint8)), "output width 10"),
}


@pytest.mark.parametrize("case", IDX_CASES, ids=list(IDX_CASES))
def test_bad_idx_data(case, tmp_path, refused):
    kwargs, needle = IDX_CASES[case]
    d = _idx_dir(tmp_path, **kwargs)
    line = refused("record", "--dataset", "mnist", "--data-dir", d, "--sizes", "16-4-10", "--batch-size", "8",
                   "--out", tmp_path / "trace", "--quiet", needles=(needle,), absent=[tmp_path / "trace"])
    assert str(d) in line


def test_batch_larger_than_the_data(tmp_path, refused):
    d = _idx_dir(tmp_path)
    refused("record", "--dataset", "mnist", "--data-dir", d, "--sizes", "16-4-10", "--batch-size", "21",
            "--out", tmp_path / "trace", "--quiet", needles=("batch size 21", "[1, 20]"), absent=[tmp_path / "trace"])


# ------------------------------------------------------------------------------------------ output paths, folders
def test_outputs_that_cannot_be_written(small_trace, profile_path, tmp_path, refused):
    f = tmp_path / "afile"
    f.write_text("x")
    d = tmp_path / "adir"
    d.mkdir()
    rp = ["replay", small_trace, "--calibration", profile_path, "--quiet"]
    refused(*rp, "--out", f, needles=(f"--out {f}", "not a folder"))
    refused(*rp, "--out", f / "sub", needles=(f"--out {f / 'sub'}", "not a folder"))
    refused(*rp, "--out", "/sys/qlsa-sim-test/out", needles=("/sys/qlsa-sim-test/out", "cannot write"))
    refused("sweep", "--n", "16", "--kappa", "10", "--density", "1", "--out", d, needles=(f"--out {d}", "folder"))
    refused("calibrate", "--sizes", "8,16", "--out", d, "--quiet", needles=(f"--out {d}", "folder"))
    refused("validate", "--n", "2", "--qasm", d, needles=(f"--qasm {d}", "folder"))
    refused("record", "--dataset", "digits", "--sizes", "64-4-10", "--out", f, "--quiet", needles=(f"--out {f}",))
    refused("train", "--dataset", "digits", "--sizes", "64-4-10", "--methods", "sgd", "--out", f, "--quiet",
            needles=(f"--out {f}",))
    refused("evolution", small_trace, "--out", f, "--quiet", needles=(f"--out {f}",))
    refused("reproduce", "--scale", "smoke", "--out", f, "--quiet", needles=(f"--out {f}",))
    refused("demo", "--root", f, "--quiet", needles=(f"--root {f}",))


def test_missing_input_folders(tmp_path, refused):
    f = tmp_path / "afile"
    f.write_text("x")
    refused("reproduce", "--data-dir", tmp_path / "none", "--out", tmp_path / "rep", "--quiet",
            needles=(f"--data-dir {tmp_path / 'none'}", "not found"), absent=[tmp_path / "rep"])
    refused("reproduce", "--data-dir", f, "--out", tmp_path / "rep", "--quiet", needles=("not a folder",),
            absent=[tmp_path / "rep"])
    refused("demo", "--data-dir", tmp_path / "none", "--root", tmp_path / "demo", "--quiet",
            needles=("--data-dir", "not found"), absent=[tmp_path / "demo"])
    refused("record", "--dataset", "mnist", "--data-dir", tmp_path / "none", "--out", tmp_path / "t", "--quiet",
            needles=("not found", str(tmp_path / "none")), absent=[tmp_path / "t"])


def test_reproduce_smoke_refuses_a_data_dir(tmp_path, refused):
    refused("reproduce", "--scale", "smoke", "--data-dir", tmp_path, "--out", tmp_path / "rep", "--quiet",
            needles=("--data-dir does not apply to --scale smoke",), absent=[tmp_path / "rep"])


def test_resume_of_nothing_is_an_error(tmp_path, refused):
    refused("record", "--dataset", "digits", "--sizes", "64-4-10", "--resume", "--out", tmp_path / "t", "--quiet",
            needles=("nothing to resume",), absent=[tmp_path / "t"])
    refused("train", "--dataset", "digits", "--sizes", "64-4-10", "--methods", "sgd", "--resume",
            "--out", tmp_path / "tr", "--quiet", needles=("--resume", "no runs to resume"), absent=[tmp_path / "tr"])
    refused("reproduce", "--scale", "smoke", "--resume", "--out", tmp_path / "rep", "--quiet",
            needles=("--resume", "no runs to resume"), absent=[tmp_path / "rep"])
