"""Crossover grids: log10 of the modeled QLSA / classical time ratio over (kappa, density) at fixed n, and the
break-even kappa. Every figure is MODELED (``cost/models.py``; grid points through ``grid_features``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qlsa_sim.cost.models import SecondsFn, seconds_fn
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.core.names import Solver

KAPPA_RANGE = (1.0, 1e8)
DENSITY_RANGE = (1e-4, 1.0)


def ratio_grid(quantum: SecondsFn, classical: SecondsFn, n: int, kappas: np.ndarray, densities: np.ndarray
               ) -> np.ndarray:
    """log10(T_quantum / T_classical) on the grid (rows: density, columns: kappa). MODELED."""
    return np.array([[np.log10(quantum(n, k, d) / classical(n, k, d)) for k in kappas] for d in densities])


def classical_rivals(profile: CalibrationProfile, factor_rank: int | None = None, *, best: bool = True,
                     woodbury: bool = True) -> list[tuple[str, SecondsFn]]:
    """(name, seconds function) of every calibrated classical solver on a grid block (Woodbury only with a
    factor rank), and, if ``best``, of the best of them."""
    rivals = [(m.solver, seconds_fn(m, factor_rank)) for m in profile.classical_models
              if m.solver != Solver.WOODBURY or (woodbury and factor_rank is not None)]
    if best:
        singles = tuple(fn for _, fn in rivals)
        rivals.append(("best classical", lambda n_, k, d: min(fn(n_, k, d) for fn in singles)))
    return rivals


def crossover_grids(quantum: SecondsFn, rivals: Sequence[tuple[str, SecondsFn]], n: int, *, resolution: int = 40
                    ) -> tuple[list[tuple[str, np.ndarray]], np.ndarray, np.ndarray]:
    """(one (label, ratio grid) per rival, kappas, densities) on log-spaced axes."""
    kappas = np.geomspace(*KAPPA_RANGE, resolution)
    dens = np.geomspace(*DENSITY_RANGE, resolution)
    return [(label, ratio_grid(quantum, fn, n, kappas, dens)) for label, fn in rivals], kappas, dens


def break_even_kappa(quantum: SecondsFn, classical: SecondsFn, n: int, density: float, kappa_max: float = 1e16
                     ) -> float:
    """Smallest kappa on a fine log grid where the QLSA is no longer cheaper (MODELED); inf if never."""
    for k in np.geomspace(1.0, kappa_max, 321):
        if quantum(n, k, density) >= classical(n, k, density):
            return float(k)
    return math.inf
