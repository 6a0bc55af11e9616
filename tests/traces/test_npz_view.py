"""VerifiedNpz (zero-copy members of verified npz bytes) against np.load, the obvious reference."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from qlsa_sim.traces.npz_view import VerifiedNpz


def _npz(compressed: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


CASES = {
    "float64 matrix": np.random.default_rng(0).standard_normal((7, 5)),
    "float32 factor": np.random.default_rng(1).standard_normal((9, 3)).astype(np.float32),
    "fortran order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "vector": np.arange(5, dtype=np.float64),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 4)),
    "big-endian": np.arange(6, dtype=">f8").reshape(2, 3),
    "int": np.arange(10, dtype=np.int32),
}


@pytest.mark.parametrize("compressed", [False, True])
def test_members_equal_np_load(compressed):
    data = _npz(compressed, **{k.replace(" ", "_").replace("-", "_"): v for k, v in CASES.items()})
    with np.load(io.BytesIO(data), allow_pickle=False) as ref, VerifiedNpz(data) as z:
        assert z.files == ref.files
        for k in ref.files:
            got, want = z[k], ref[k]
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            if not compressed:
                assert not got.flags.writeable  # a view of the verified bytes, not a copy


def test_stored_members_are_views_of_the_bytes_where_aligned_else_aligned_copies():
    """A member's data start wherever the zip layout puts them (after the local header, the name, the extra field
    and the npy header): members whose data are aligned for their dtype come back as views of the verified bytes,
    the others as aligned read-only copies (numpy's BLAS paths need aligned data). Names of 1 to 8 letters give
    both kinds."""
    a = np.arange(1000.0)
    data = _npz(**{"k" * i: a for i in range(1, 9)})
    raw = np.frombuffer(data, dtype=np.uint8)
    z = VerifiedNpz(data)
    views = 0
    for i in range(1, 9):
        v = z["k" * i]
        assert v.flags.aligned and not v.flags.writeable
        np.testing.assert_array_equal(v, a)
        views += np.shares_memory(v, raw)
    assert 0 < views < 8


def test_object_member_refused():
    data = _npz(o=np.array([{"x": 1}], dtype=object))
    with VerifiedNpz(data) as z, pytest.raises(ValueError, match="Python objects"):
        z["o"]


def test_header_disagreeing_with_member_size_refused():
    data = bytearray(_npz(a=np.arange(4.0)))
    i = data.index(b"(4,)")
    data[i:i + 4] = b"(5,)"  # the header now promises more data than the member holds (CRC not checked)
    with VerifiedNpz(bytes(data)) as z, pytest.raises(ValueError, match="header says"):
        z["a"]


def test_bad_local_header_refused():
    data = bytearray(_npz(a=np.arange(4.0), b=np.arange(3.0)))
    i = data.index(b"PK\x03\x04", 4)  # the second member's local header
    data[i:i + 4] = b"XXXX"
    with VerifiedNpz(bytes(data)) as z, pytest.raises(zipfile.BadZipFile, match="local file header"):
        z["b"]


def test_aligned_writer_reads_back_as_np_savez_does_and_needs_no_copy(tmp_path):
    """``write_aligned_npz``: np.load reads every member as written (the npz layout), and each member's data start
    at a multiple of 64 bytes, so VerifiedNpz returns views of the verified bytes, none copied; a trace snapshot
    is written that way."""
    from qlsa_sim.traces.npz_view import ALIGN, write_aligned_npz
    from qlsa_sim.traces.store import BlockData, TraceWriter

    arrays = {k.replace(" ", "_").replace("-", "_") + "x" * i: v for i, (k, v) in enumerate(CASES.items())}
    buf = io.BytesIO()
    write_aligned_npz(buf, arrays)
    data = buf.getvalue()
    raw = np.frombuffer(data, dtype=np.uint8)
    with np.load(io.BytesIO(data), allow_pickle=False) as ref, VerifiedNpz(data) as z:
        assert ref.files == z.files == list(arrays)
        for k, want in arrays.items():
            got = z[k]
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(ref[k], want)
            if got.size:
                offset = got.__array_interface__["data"][0] - raw.__array_interface__["data"][0]
                assert np.shares_memory(got, raw) and offset % ALIGN == 0, k
    w = TraceWriter(tmp_path / "t", meta={"identity": {"synthetic": True}})
    rng = np.random.default_rng(2)
    w.write_snapshot(0, [BlockData("a", rng.standard_normal(33), factor=rng.standard_normal((33, 5)), scale=0.5),
                         BlockData("b", rng.standard_normal(7), matrix=np.eye(7))], loss=1.0)
    (snap_file,) = (tmp_path / "t").glob("*.npz")
    data = snap_file.read_bytes()
    raw = np.frombuffer(data, dtype=np.uint8)
    with VerifiedNpz(data) as z:
        assert all(np.shares_memory(z[k], raw) and z[k].flags.aligned for k in z.files)
