"""Image classification data sets: MNIST-format IDX directories and scikit-learn's digits.

Nothing is downloaded. Fashion-MNIST comes from Debian's package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``); MNIST from a directory the user gives; the 8x8 digits
ship inside scikit-learn and are the tiny data set for tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qlsa_sim.data.idx import load_idx_split
from qlsa_sim.errors import DataError, InputError, UnknownNameError

DATASET_NAMES = ("fashion-mnist", "mnist", "digits")
DEFAULT_DATASET = "fashion-mnist"

_SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
                "mnist": Path("/usr/share/datasets/mnist")}
_HOW = {"fashion-mnist": "install Debian's package dataset-fashion-mnist (apt-get install "
                         "dataset-fashion-mnist) or pass --data-dir DIR holding the four IDX files",
        "mnist": "pass --data-dir DIR holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                 "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], or set QLSA_SIM_DATA=DIR "
                 "with a subfolder mnist/"}


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Flattened images in [0, 1] (float32) with integer labels, and where they came from."""

    name: str
    source: str
    image_shape: tuple[int, int]
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def label(self) -> str:
        h, w = self.image_shape
        return f"{self.name} {h}x{w} ({self.source})"


def candidate_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Directories searched for an IDX data set, in order."""
    dirs: list[Path] = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    if os.environ.get("QLSA_SIM_DATA"):
        dirs.append(Path(os.environ["QLSA_SIM_DATA"]) / name)
    dirs.append(_SYSTEM_DIRS[name])
    return dirs


def _pool(images: np.ndarray, size: int) -> np.ndarray:
    n, h, w = images.shape
    if size == h and size == w:
        return images
    if h % size or w % size:
        raise InputError(f"image size {size} must divide the native size {h}x{w}")
    f = h // size
    return images.reshape(n, size, f, size, f).mean(axis=(2, 4))


def load_image_dataset(name: str = DEFAULT_DATASET, *, data_dir: str | Path | None = None,
                       image_size: int | None = None) -> ImageDataset:
    """Load a data set by name; ``image_size`` average-pools square images to that side length."""
    if name not in DATASET_NAMES:
        raise UnknownNameError("data set", name, DATASET_NAMES)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images = d.images.astype(np.float64) / 16.0
        labels = d.target.astype(np.int64)
        # fixed split: every 5th sample is held out
        test = np.arange(len(labels)) % 5 == 0
        parts = (images[~test], labels[~test], images[test], labels[test])
        source = "scikit-learn load_digits (bundled)"
    else:
        tried = candidate_dirs(name, data_dir)
        found = None
        for d in tried:
            if d.is_dir():
                try:
                    tr, te = load_idx_split(d, "train"), load_idx_split(d, "test")
                except DataError:
                    if data_dir is not None and d == Path(data_dir):
                        raise  # the user's own directory is broken: say how
                    continue
                found = (d, tr, te)
                break
        if found is None:
            raise DataError(f"data set {name!r} not found; looked in: {', '.join(map(str, tried))}; "
                            f"to provide it, {_HOW[name]}")
        d, (xi, yi), (xt, yt) = found
        parts = (xi.astype(np.float64) / 255.0, yi.astype(np.int64), xt.astype(np.float64) / 255.0,
                 yt.astype(np.int64))
        source = str(d)
    xtr, ytr, xte, yte = parts
    side = image_size or xtr.shape[1]
    xtr, xte = _pool(xtr, side), _pool(xte, side)
    return ImageDataset(name, source, (side, side),
                        xtr.reshape(len(xtr), -1).astype(np.float32), ytr,
                        xte.reshape(len(xte), -1).astype(np.float32), yte)
