"""Checks that several commands run on their inputs before the first expensive step (imports inside functions,
so ``--help`` stays fast)."""

from __future__ import annotations

#: Dense float64 working copies of a trace's largest block while it is replayed or analysed (matrix,
#: regularized copy, eigen/Cholesky workspace), for the memory guard.
BLOCK_COPIES = 4


def check_traces(locations, what: str = "trace") -> list:
    """The replay plans of ``locations``: every manifest validated, every snapshot file checked for kind, place
    and size (no data read), an empty trace refused, and the largest block held against the memory guard."""
    from qlsa_sim.core.resources import check_memory
    from qlsa_sim.errors import TraceError
    from qlsa_sim.schedule.replay import plan_replay

    plans = []
    for loc in locations:
        plan = plan_replay(loc)
        if not plan.tasks:
            raise TraceError(f"{loc}: the trace holds no snapshots")
        n = max(int(r["n"]) for t in plan.tasks for r in t.rows)
        check_memory(BLOCK_COPIES * 8.0 * n * n, f"{what} {loc} (largest block n = {n})")
        plans.append(plan)
    return plans


def check_task_blocks(task, curvature) -> None:
    """Refuse, before anything is written, a task whose dense curvature blocks would not fit the memory budget
    (``--memory-budget-gb``) or this machine (the memory guard); factor storage keeps blocks small."""
    from qlsa_sim.core.resources import check_memory
    from qlsa_sim.curvature.blocks import check_memory_budget

    if curvature.storage != "dense":
        return
    import torch

    for b in task.blocks():
        check_memory_budget(b, dtype=torch.float64, budget_bytes=curvature.memory_budget_gb * 2**30)
    n = max((b.n for b in task.blocks()), default=0)
    check_memory(2 * 8.0 * n * n, f"a dense curvature block of n = {n}")
