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
