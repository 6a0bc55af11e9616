import gzip

import numpy as np
import pytest

from qlsa_sim.data.idx import load_idx_split, read_idx, write_idx
from qlsa_sim.data.images import load_image_dataset
from qlsa_sim.errors import DataError, UnknownNameError


def _write_mnist_dir(d, n_train=20, n_test=10, gz=True, rng=None):
    rng = rng or np.random.default_rng(0)
    sfx = ".gz" if gz else ""
    imgs = {s: rng.integers(0, 256, (k, 28, 28), dtype=np.uint8) for s, k in (("train", n_train), ("t10k", n_test))}
    labs = {s: rng.integers(0, 10, k, dtype=np.uint8) for s, k in (("train", n_train), ("t10k", n_test))}
    for s in ("train", "t10k"):
        write_idx(d / f"{s}-images-idx3-ubyte{sfx}", imgs[s])
        write_idx(d / f"{s}-labels-idx1-ubyte{sfx}", labs[s])
    return imgs, labs


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip_raw_and_gzip(tmp_path, gz):
    imgs, labs = _write_mnist_dir(tmp_path, gz=gz)
    x, y = load_idx_split(tmp_path, "train")
    np.testing.assert_array_equal(x, imgs["train"])
    np.testing.assert_array_equal(y, labs["train"])
    xt, yt = load_idx_split(tmp_path, "test")
    assert xt.shape == (10, 28, 28) and yt.shape == (10,)


def test_idx_other_dtypes(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    write_idx(tmp_path / "f.idx", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), a)
    b = np.array([[-3, 5], [7, -9]], dtype=np.int32)
    write_idx(tmp_path / "i.idx.gz", b)
    np.testing.assert_array_equal(read_idx(tmp_path / "i.idx.gz"), b)


def test_idx_truncated_and_bad_magic(tmp_path):
    write_idx(tmp_path / "a.idx", np.zeros((5, 4), np.uint8))
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "t.idx").write_bytes(raw[:-3])
    with pytest.raises(DataError, match="t.idx.*truncated"):
        read_idx(tmp_path / "t.idx")
    (tmp_path / "m.idx").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(DataError, match="magic"):
        read_idx(tmp_path / "m.idx")
    (tmp_path / "g.idx.gz").write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(DataError, match="g.idx.gz"):
        read_idx(tmp_path / "g.idx.gz")


def test_image_dataset_from_dir_pools_and_names_source(tmp_path):
    imgs, _ = _write_mnist_dir(tmp_path)
    d = load_image_dataset("mnist", data_dir=tmp_path, image_size=14)
    assert d.x_train.shape == (20, 196) and d.image_shape == (14, 14)
    expect = imgs["train"][0].astype(float).reshape(14, 2, 14, 2).mean(axis=(1, 3)).ravel() / 255
    np.testing.assert_allclose(d.x_train[0], expect, rtol=1e-6)
    assert str(tmp_path) in d.label and d.name == "mnist"


def test_missing_dataset_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("QLSA_SIM_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as e:
        load_image_dataset("mnist")
    msg = str(e.value)
    assert "nowhere/mnist" in msg and "/usr/share/datasets/mnist" in msg and "--data-dir" in msg


def test_broken_user_dir_is_reported(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"junk")
    with pytest.raises(DataError):
        load_image_dataset("mnist", data_dir=tmp_path)


def test_unknown_dataset_name():
    with pytest.raises(UnknownNameError, match="digits"):
        load_image_dataset("cifar")


def test_digits_is_bundled():
    d = load_image_dataset("digits")
    assert d.x_train.shape[1] == 64 and d.n_classes == 10
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
