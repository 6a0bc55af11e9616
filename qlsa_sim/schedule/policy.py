"""The scheduling policy: per block, pick the solver with the smallest predicted seconds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qlsa_sim.cost.models import CostEstimate
from qlsa_sim.errors import InputError


@dataclass(frozen=True)
class Decision:
    """The scheduler's choice for one block of one step, with every estimate it compared."""

    id: str
    step: int
    block: str
    chosen: CostEstimate
    estimates: tuple[CostEstimate, ...]

    @property
    def best_classical(self) -> CostEstimate:
        return min((e for e in self.estimates if not e.is_quantum), key=lambda e: e.seconds)

    @property
    def quantum(self) -> CostEstimate | None:
        q = [e for e in self.estimates if e.is_quantum]
        return min(q, key=lambda e: e.seconds) if q else None


def choose(estimates: Sequence[CostEstimate]) -> CostEstimate:
    """Cheapest estimate; ties go to the classical solver (it needs no quantum hardware)."""
    if not estimates:
        raise InputError("no cost estimates to choose from")
    return min(estimates, key=lambda e: (e.seconds, e.is_quantum))


def decide(id: str, step: int, block: str, estimates: Sequence[CostEstimate]) -> Decision:
    return Decision(id, int(step), block, choose(estimates), tuple(estimates))
