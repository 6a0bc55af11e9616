"""WikiText reader, default corpus and byte tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from qlsa_sim.data.text import default_corpus, read_wikitext_dir
from qlsa_sim.data.tokenizer import ByteTokenizer
from qlsa_sim.errors import DataError, InputError, UnknownNameError


def test_reads_raw_split_and_names_file(tmp_path):
    (tmp_path / "wiki.train.raw").write_text(" = Valkyria = \n Senjō no Valkyria 3 \n", encoding="utf-8")
    (tmp_path / "wiki.valid.raw").write_text("held out\n", encoding="utf-8")
    text, name = read_wikitext_dir(tmp_path, "train")
    assert text == " = Valkyria = \n Senjō no Valkyria 3 \n"
    assert "wiki.train.raw" in name and name.startswith("wikitext train")
    assert read_wikitext_dir(tmp_path, "valid")[0] == "held out\n"


def test_tokens_variant_used_when_no_raw(tmp_path):
    (tmp_path / "wiki.test.tokens").write_text("a <unk> b\n", encoding="utf-8")
    text, name = read_wikitext_dir(tmp_path, "test")
    assert text == "a <unk> b\n" and "wiki.test.tokens" in name


def test_raw_preferred_over_tokens(tmp_path):
    (tmp_path / "wiki.train.raw").write_text("raw", encoding="utf-8")
    (tmp_path / "wiki.train.tokens").write_text("tokens", encoding="utf-8")
    assert read_wikitext_dir(tmp_path)[0] == "raw"


def test_missing_directory_is_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist.*pass the directory"):
        read_wikitext_dir(tmp_path / "nope")


def test_missing_file_lists_where_it_looked(tmp_path):
    with pytest.raises(DataError) as e:
        read_wikitext_dir(tmp_path, "valid")
    msg = str(e.value)
    assert str(tmp_path / "wiki.valid.raw") in msg and str(tmp_path / "wiki.valid.tokens") in msg
    assert "\n" not in msg


@pytest.mark.parametrize("content", ["", "  \n\n \t"])
def test_empty_file_is_data_error(tmp_path, content):
    (tmp_path / "wiki.train.raw").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="is empty"):
        read_wikitext_dir(tmp_path)


def test_undecodable_file_is_data_error(tmp_path):
    (tmp_path / "wiki.train.raw").write_bytes(b"\xff\xfe\xfa bad")
    with pytest.raises(DataError, match="cannot read"):
        read_wikitext_dir(tmp_path)


def test_unknown_split(tmp_path):
    with pytest.raises(UnknownNameError, match="split 'dev'"):
        read_wikitext_dir(tmp_path, "dev")


def test_default_corpus_is_english_prose_and_named():
    text, name = default_corpus()
    assert len(text) > 400_000
    assert name.startswith("pydoc_data.topics") and str(len(text)) in name
    words = text.lower().split()
    assert words.count("the") > 1000  # English prose, not code only


def test_tokenizer_round_trip_unicode():
    tok = ByteTokenizer()
    s = "Hello, wörld — Δx ≥ 0 ✓ 日本語\n\ttab"
    ids = tok.encode(s)
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() <= 255
    assert len(ids) == len(s.encode("utf-8"))
    assert tok.decode(ids) == s
    assert tok.decode(ids.tolist()) == s


def test_tokenizer_round_trip_corpus_sample():
    text, _ = default_corpus()
    tok = ByteTokenizer()
    assert tok.decode(tok.encode(text[:20000])) == text[:20000]


def test_tokenizer_mask_and_bad_ids():
    tok = ByteTokenizer()
    assert tok.vocab_size == 257 and tok.mask_id == 256
    assert tok.decode([104, 256, 105]) == "h[MASK]i"
    with pytest.raises(InputError):
        tok.decode([3, 257])
    with pytest.raises(InputError):
        tok.decode([-1])
