"""qlsa-sim: quantum-resource simulation and cost modeling for hybrid Newton solves.

Data flow (one direction): data + model -> curvature blocks -> trace store -> matrix features
-> cost estimates -> schedule -> reports. See docs/architecture.md.

Public API (imported on first use, so ``import qlsa_sim`` stays light):

- :func:`estimate` (``qlsa_sim.api``): MODELED QLSA counts, seconds and surface-code figures of a dense,
  scipy.sparse or LinearOperator matrix; returns a :class:`QLSAEstimate`.
- :class:`HybridNewton`, :class:`HybridNewtonConfig` (``qlsa_sim.train.hybrid_newton``): a torch.optim
  optimizer (block-diagonal Newton, each block's solve scheduled classical vs QLSA) for a TrainingTask or
  your own ``nn.Module`` with ``opt.step(closure)``.
- :func:`default_profile` (``qlsa_sim.cost.defaults``): the built-in calibration profile.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "estimate": "qlsa_sim.api",
    "QLSAEstimate": "qlsa_sim.api",
    "HybridNewton": "qlsa_sim.train.hybrid_newton",
    "HybridNewtonConfig": "qlsa_sim.train.hybrid_newton",
    "default_profile": "qlsa_sim.cost.defaults",
}

__all__ = ["HybridNewton", "HybridNewtonConfig", "QLSAEstimate", "__version__", "default_profile", "estimate"]

def __getattr__(name: str) -> object:
    """Import the public names on first access (numpy, torch, qualtran load only then; not even ``typing``:
    ``qlsa-sim --help`` pays for what it imports, issue 14 goal 2)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qlsa_sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
