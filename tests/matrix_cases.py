"""Helpers shared by the quantum tests."""

from __future__ import annotations

import numpy as np


def banded_spd(n: int, band: int, rng: np.random.Generator) -> np.ndarray:
    """Symmetric banded matrix with signed off-diagonals, made diagonally dominant (SPD)."""
    a = np.zeros((n, n))
    for i in range(n):
        for j in range(max(0, i - band), min(n, i + band + 1)):
            a[i, j] = a[j, i] = rng.uniform(-1.0, 1.0)
    return a + np.eye(n) * (2 * band + 2)
