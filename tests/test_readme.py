"""The README's commands work as written: every command line in its code blocks parses with the real parser
(each optional group and alternative too), every flag named inline exists, each subcommand's ``--help`` runs
from a shell set up the way the README says (``source .venv/bin/activate``), and every ``make`` target and
script it names exists."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from qlsa_sim.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
VENV = ROOT / ".venv"


def _code_lines() -> list[str]:
    """Logical lines of the README's bash blocks (continuations joined, comments dropped)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _variants(line: str) -> list[list[str]]:
    """The command without its [optional] groups, then once with each alternative of each group."""
    groups = re.findall(r"\[([^\]]+)\]", line)
    base = re.sub(r"\s*\[[^\]]+\]", "", line)
    out = [base]
    for g in groups:
        alts = g.split("|")
        if all(a.strip().startswith("-") for a in alts):
            out += [f"{base} {a.strip()}" for a in alts]
        else:  # "--flag a|b": one flag, alternative values
            flag, first = g.split(None, 1)
            out += [f"{base} {flag} {v.strip()}" for v in first.split("|")]
    return [shlex.split(v.replace("<", "").replace(">", "")) for v in out]


CLI_LINES = [ln for ln in _code_lines() if ln.startswith("qlsa-sim ")]
SUBCOMMANDS = sorted({ln.split()[1] for ln in CLI_LINES})


def test_the_readme_has_commands_to_check():
    assert len(CLI_LINES) >= 8 and {"demo", "record", "replay", "breakeven", "estimate"} <= set(SUBCOMMANDS)
    assert "source .venv/bin/activate" in README


@pytest.mark.parametrize("line", CLI_LINES)
def test_each_readme_command_parses_as_written(line):
    parser = build_parser()
    for argv in _variants(line):
        try:
            parser.parse_args(argv[1:])
        except SystemExit as e:  # argparse's way of rejecting a command line
            pytest.fail(f"README command does not parse (exit {e.code}): {shlex.join(argv)}")


def test_inline_commands_name_real_subcommands_and_flags():
    """`qlsa-sim <sub>[|<sub>...] ... --flag ...` in the prose: each subcommand and flag exists."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    spans = re.findall(r"`(qlsa-sim [^`]+)`", README)
    assert spans
    for span in spans:
        words = span.split()
        if words[1].startswith("<"):  # a pattern such as `qlsa-sim <command>: error: ...`, not a command
            continue
        for sub in words[1].split("|"):
            assert sub in subparsers, f"README names an unknown subcommand in `{span}`"
            flags = {w.split("=")[0] for w in words[2:] if w.startswith("--")}
            unknown = flags - set(subparsers[sub]._option_string_actions)
            assert not unknown, f"`{span}`: {sub} has no {sorted(unknown)}"


def test_make_targets_and_scripts_named_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make ([\w-]+)`|^make ([\w-]+)", README, flags=re.M):
        name = target[0] or target[1]
        assert re.search(rf"^{re.escape(name)}:", makefile, flags=re.M), f"no make target {name}"
    for script in re.findall(r"python (bench/[\w./-]+\.py)", README):
        assert (ROOT / script).is_file(), script


@pytest.mark.skipif(not (VENV / "bin" / "activate").is_file(), reason="no ./.venv (made by the README's set-up)")
def test_help_runs_from_the_environment_the_readme_sets_up():
    """`source .venv/bin/activate` then `qlsa-sim <sub> --help`, with nothing else on PATH pointing at it."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and Path(p).resolve() != (VENV / "bin").resolve())
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"PATH": path}
    script = " && ".join(["source .venv/bin/activate"] + [f"qlsa-sim {s} --help >/dev/null" for s in SUBCOMMANDS])
    r = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


FOUND = README[README.index("## What we found"):README.index("## Layout")]
VERDICTS = re.search(r"<!-- verdicts:[^>]*-->\n(.*?)\n<!-- /verdicts -->", FOUND, flags=re.S)
RESULT_DIRS = ("analysis/reproduce", "analysis/reproduce-gpt-4layer", "analysis/paper-mlp-fashion-28x28",
               "analysis/paper-mlp-fashion-28x28-resources", "analysis/paper-mlp-fashion-28x28-breakeven",
               "analysis/reproduce-paper-dnn")
# a figure as the README quotes it: decimals, exponents and thousands separators (bare integers are counts and ids)
NUMBER = r"\d{1,3}(?:,\d{3})+|\d+\.\d+(?:e[+-]?\d+)?|\d+e[+-]?\d+"


def test_readme_verdict_table_is_the_committed_claims():
    """The verdict table in "What we found" is generated from analysis/reproduce/claims.csv, not typed."""
    import csv

    from qlsa_sim.experiments.reproduce.writer import verdict_summary

    assert VERDICTS, "README lost its <!-- verdicts: ... --> / <!-- /verdicts --> markers"
    with open(ROOT / "analysis/reproduce/claims.csv", newline="") as fh:
        expected = verdict_summary(list(csv.DictReader(fh)))
    assert VERDICTS.group(1).strip() == expected, f"regenerate the README's verdict table; it should read:\n{expected}"


def _results_text() -> str:
    texts = []
    for d in RESULT_DIRS:
        for p in sorted((ROOT / d).rglob("*")):
            if p.suffix in (".md", ".csv") and "runs" not in p.relative_to(ROOT / d).parts:
                texts.append(p.read_text())
    return "\n".join(texts)


def _quoted(token: str, corpus: str) -> bool:
    """``token`` appears in the results as written, or as a longer number that rounds to it."""
    plain = token.replace(",", "")
    for form in {token, f"{float(plain):g}"}:
        if re.search(r"(?<![\d.])" + re.escape(form) + r"(?!\d)", corpus):
            return True
    mantissa = re.split("e", plain)[0]
    digits = len(mantissa.replace(".", "").lstrip("0"))
    stem = re.escape(mantissa[:-1]) if len(mantissa) > 1 and not mantissa.endswith(".") else re.escape(mantissa)
    for m in re.finditer(r"(?<![\d.])" + stem + r"[\d.]*(?:e[+-]?\d+)?", corpus):
        try:
            if float(f"{float(m.group(0)):.{digits}g}") == float(plain):
                return True
        except ValueError:
            continue
    return False


def test_readme_findings_quote_the_committed_results():
    """Every figure in "What we found" (outside the generated table) is in a committed result under analysis/,
    as written or rounded from it: the prose cannot drift from the results it summarises."""
    prose = FOUND.replace(VERDICTS.group(0), "") if VERDICTS else FOUND
    corpus = _results_text()
    tokens = sorted(set(re.findall(r"(?<![\w.])(?:" + NUMBER + r")", prose)))
    assert len(tokens) > 20
    missing = [t for t in tokens if not _quoted(t, corpus)]
    assert not missing, f"README figures not found in {', '.join(RESULT_DIRS)}: {missing}"
