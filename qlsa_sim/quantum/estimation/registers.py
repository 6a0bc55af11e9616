"""Register widths of the QLSA circuits: index registers and the bits of each stored entry (MODELED)."""

from __future__ import annotations

import math


def index_bits(n: int) -> int:
    """Qubits to index ``n`` items: ``ceil(log2 n)`` (at least 1)."""
    return max(1, int(math.ceil(math.log2(max(int(n), 2)))))


def entry_bits_for(eps: float, queries_per_run: float) -> int:
    """Bits of each stored rotation angle so that ``queries * pi * 2^-b <= eps / 4`` (the per-query
    block-encoding errors add linearly over the circuit, telescoping bound); clipped to [4, 64]."""
    b = math.ceil(math.log2(4.0 * math.pi * max(queries_per_run, 1.0) / eps))
    return int(min(64, max(4, b)))


def phase_bits_for(eps: float, queries_per_run: float, levels: int) -> int:
    """Bits ``b`` of each stored state-preparation angle (phase-gradient rotations) so that
    ``queries * levels * pi * 2^-(b+1) <= eps / 4``.

    One rotation level of a (multiplexed) state preparation stores each angle as a ``b``-bit fraction of
    a full turn: the phase error is at most ``pi 2^-b`` and the level's unitary error at most half of it,
    ``pi 2^-(b+1)`` (``||Rz(a) - Rz(a')|| <= |a - a'| / 2``).  ``levels`` such levels per query (e.g.
    ``2 n`` for the dense-data encoding: ``n`` for the row norms, ``n`` for the rows) and ``queries`` of
    them per run add linearly (telescoping bound), as in :func:`entry_bits_for`.  Clipped to [3, 64]
    (Qualtran's ``AddIntoPhaseGrad`` needs ``b >= 3``).
    """
    b = math.ceil(math.log2(2.0 * math.pi * max(int(levels), 1) * max(queries_per_run, 1.0) / eps))
    return int(min(64, max(3, b)))


def rotation_synthesis_t(eps_rotation: float) -> int:
    """T gates of one arbitrary ``z`` rotation synthesised to precision ``eps_rotation``:
    ``ceil(3 log2(1/eps_rotation))`` (Ross & Selinger 2016, arXiv:1403.2975: ``3 log2(1/eps) + O(log log
    1/eps)`` T gates, the ``O(log log)`` term dropped).  At least 1."""
    if not math.isfinite(eps_rotation) or not 0.0 < eps_rotation < 1.0:
        return 1
    return max(1, int(math.ceil(3.0 * math.log2(1.0 / eps_rotation))))
