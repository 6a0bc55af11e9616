"""A byte-level tokenizer defined locally (no downloads, nothing trained).

Token ids 0..255 are the bytes of the UTF-8 encoding of the text; one special token follows:
``[MASK]`` = 256, used by the BERT-style masked language model (Devlin et al. 2019,
arXiv:1810.04805, Sec. 3.1). No ``[PAD]`` is needed (training windows are fixed-length slices
of the corpus) and no ``[CLS]`` (no next-sentence or classification objective), so the
vocabulary has 257 entries. Byte-level as in GPT-2 (Radford et al. 2019, Sec. 2.2), without
the BPE merges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from qlsa_sim.errors import InputError


@dataclass(frozen=True)
class ByteTokenizer:
    """UTF-8 bytes as tokens 0..255 plus ``[MASK]`` = 256."""

    n_bytes: int = 256
    mask_id: int = 256

    @property
    def vocab_size(self) -> int:
        return self.n_bytes + 1

    @property
    def name(self) -> str:
        return "byte-level UTF-8 (256 bytes + [MASK]=256)"

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64) of ``text``: its UTF-8 bytes."""
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; ``[MASK]`` is written as the string ``[MASK]``.

        Bytes that do not form valid UTF-8 (a window cut inside a multi-byte character)
        decode to U+FFFD; decode(encode(s)) == s for every str s.
        """
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() > self.mask_id):
            raise InputError(f"token ids must lie in 0..{self.mask_id}, got range "
                             f"{int(arr.min())}..{int(arr.max())}")
        out, run = [], []
        for t in arr.tolist():
            if t == self.mask_id:
                out.append(bytes(run).decode("utf-8", errors="replace"))
                out.append("[MASK]")
                run = []
            else:
                run.append(t)
        out.append(bytes(run).decode("utf-8", errors="replace"))
        return "".join(out)
