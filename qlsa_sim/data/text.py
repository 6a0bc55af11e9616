"""Text corpora: a WikiText raw-file reader and an offline default corpus.

WikiText (Merity et al. 2016, arXiv:1609.07843) ships as ``wiki.train.raw``,
``wiki.valid.raw`` and ``wiki.test.raw`` (the "raw" variant) or ``wiki.*.tokens`` (with
``<unk>``); no installable package ships it and nothing is downloaded here, so the user
passes a directory that holds the files. Without one, :func:`default_corpus` uses the English
documentation prose that CPython ships in ``pydoc_data.topics`` (about 465k characters).
Every loader returns ``(text, source_name)`` so outputs can name the corpus actually used.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qlsa_sim.core.bounded import read_bounded
from qlsa_sim.errors import DataError, UnknownNameError

WIKITEXT_SPLITS = ("train", "valid", "test")
MAX_TEXT_BYTES = 2 << 30  # WikiText-103's training split takes 540 MB


def _candidates(root: Path, split: str) -> list[Path]:
    names = [f"wiki.{split}.raw", f"wiki.{split}.tokens"]
    return [root / n for n in names]


def read_wikitext_dir(path: str | Path, split: str = "train") -> tuple[str, str]:
    """Text of one WikiText split from directory ``path`` and its source name.

    Looks for ``wiki.<split>.raw`` first, then ``wiki.<split>.tokens``. A missing directory or
    file, an undecodable file and an empty (whitespace-only) file are each a DataError.
    """
    if split not in WIKITEXT_SPLITS:
        raise UnknownNameError("WikiText split", split, WIKITEXT_SPLITS)
    root = Path(path).expanduser()
    how = ("get WikiText-2 or WikiText-103 (raw) elsewhere, unpack it, and pass the directory "
           "holding wiki.train.raw / wiki.valid.raw / wiki.test.raw; without a directory the "
           "offline default corpus (pydoc_data.topics) is used")
    if not root.is_dir():
        raise DataError(f"WikiText directory {str(root)!r} does not exist or is not a directory; {how}")
    cands = _candidates(root, split)
    found = next((c for c in cands if c.is_file()), None)
    if found is None:
        raise DataError(f"no WikiText {split} file: looked for {', '.join(str(c) for c in cands)}; {how}")
    try:
        text = read_bounded(found, "WikiText file", max_bytes=MAX_TEXT_BYTES, error=DataError).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read WikiText file {str(found)!r}: {e}") from e
    if not text.strip():
        raise DataError(f"WikiText file {str(found)!r} is empty")
    return text, f"wikitext {split} ({found})"


def default_corpus() -> tuple[str, str]:
    """CPython's ``pydoc_data.topics`` documentation prose, topics joined in sorted key order."""
    try:
        from pydoc_data.topics import topics
    except ImportError as e:  # some distributions strip it
        raise DataError("the default corpus pydoc_data.topics is not installed with this Python; "
                        "pass a WikiText directory instead") from e
    text = "\n\n".join(topics[k] for k in sorted(topics))
    if not text.strip():
        raise DataError("the default corpus pydoc_data.topics is empty; pass a WikiText directory")
    ver = ".".join(str(v) for v in sys.version_info[:3])
    return text, f"pydoc_data.topics (CPython {ver} documentation, {len(text)} chars)"
