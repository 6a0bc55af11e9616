"""What a :class:`~qlsa_sim.train.hybrid_newton.HybridNewton` step logs: one :class:`SolveRecord` per block, one
:class:`StepLog` per step, and their tables (ids ``<run>/<step:08d>[/<block>]``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class SolveRecord:
    """How live training solved one block. MEASURED: ``solve_measured_s`` (classical decisions; NaN for
    quantum ones). ``rel_error`` = ||x - x*|| / ||x*|| against the exact solution (quantum decisions; NaN
    otherwise); ``residual`` = ||A x - g|| / ||g||; ``emulation`` and ``circuit_*``: how a quantum
    decision's x was produced (module docstring); ``unbilled_measured_s``: emulation and residual work,
    not part of the method's cost."""

    solve_measured_s: float = math.nan
    rel_error: float = math.nan
    residual: float = math.nan
    descent: bool = True
    fallback: str = ""
    emulation: str = ""  # quantum decisions: "circuit" (simulated QSVT) or "perturb"; "" for classical
    circuit_qubits: int = 0
    circuit_degree: int = 0
    circuit_success_probability: float = math.nan  # post-selection probability (simulated, one shot)
    unbilled_measured_s: float = 0.0

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StepLog:
    """One optimizer step. MEASURED: ``curvature_measured_s``, ``scheduling_measured_s``,
    ``solve_measured_s``, ``linesearch_measured_s``, ``update_measured_s``, ``measured_s`` (= wall minus
    unbilled). MODELED: ``solve_modeled_s`` (quantum decisions), and the per-step sums over blocks of
    the chosen, hybrid, best classical, dense-LU (paper Eq. 3) and QLSA estimates. ``unbilled_measured_s``:
    QLSA emulation, residuals and trace writing (not part of the method's cost). ``blocks``: one row per
    block (decision row + solve record)."""

    step: int
    mode: str
    loss: float
    loss_after: float
    lr: float
    step_size: float
    ls_evals: int
    ls_failed: bool
    grad_dot_dir: float
    n_blocks: int
    n_quantum: int
    curvature_measured_s: float
    scheduling_measured_s: float
    solve_measured_s: float
    solve_modeled_s: float
    linesearch_measured_s: float
    update_measured_s: float
    unbilled_measured_s: float
    wall_measured_s: float
    measured_s: float
    chosen_modeled_s: float
    hybrid_modeled_s: float
    best_classical_modeled_s: float
    lu_modeled_s: float
    quantum_modeled_s: float
    traced: bool
    blocks: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)

    def as_dict(self, *, with_blocks: bool = True) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "blocks"}
        if with_blocks:
            d["blocks"] = [dict(b) for b in self.blocks]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepLog:
        kw = dict(d)
        kw["blocks"] = tuple(dict(b) for b in kw.get("blocks", ()))
        return cls(**kw)


def step_sums(rows: list[dict]) -> dict:
    """The MODELED per-step sums of :class:`StepLog` over its block rows."""
    def total(col: str) -> float:
        return float(sum(r[col] for r in rows if col in r))
    quantum = [r for r in rows if r["chosen_is_quantum"]]
    return {"solve_modeled_s": float(sum(r["chosen_modeled_s"] for r in quantum)),
            "chosen_modeled_s": total("chosen_modeled_s"), "hybrid_modeled_s": total("hybrid_modeled_s"),
            "best_classical_modeled_s": total("best_classical_modeled_s"), "lu_modeled_s": total("lu_modeled_s"),
            "quantum_modeled_s": total("quantum_modeled_s"), "n_quantum": len(quantum)}


def history_frames(history: Iterable[StepLog], run_id: str = "live") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(steps, blocks) DataFrames of a HybridNewton history, ids ``<run>/<step:08d>[/<block>]``; the block
    rows are decision rows (``schedule/pipeline.py``) with the solve record's columns."""
    steps, blocks = [], []
    for s in history:
        sid = f"{run_id}/{int(s.step):08d}"
        steps.append({"id": sid, "run": run_id, **s.as_dict(with_blocks=False)})
        blocks += [{**b, "id": f"{sid}/{b['block']}", "run": run_id} for b in s.blocks]
    return pd.DataFrame(steps), pd.DataFrame(blocks)
