"""The structure is a checked contract: layers (import-linter, configured in pyproject.toml), no import cycles,
short functions and short command modules, and a fast ``--help``-path (command modules import no numerics)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qlsa_sim"
MAX_FUNCTION_LINES = 80
MAX_COMMAND_MODULE_LINES = 150


def test_layers_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install .[test])")
    r = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "broken" in r.stdout and " 0 broken" in r.stdout


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long


def test_command_modules_are_short_and_import_no_numerics():
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_COMMAND_MODULE_LINES, path.name
        top = [n for n in ast.parse(text).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {(n.module or "") if isinstance(n, ast.ImportFrom) else a.name for n in top for a in n.names}
        heavy = {m for m in names if m.split(".")[0] in ("numpy", "pandas", "torch", "scipy", "qiskit", "qualtran")}
        heavy |= {m for m in names if m.startswith("qlsa_sim.") and not m.startswith("qlsa_sim.commands")}
        assert not heavy, (path.name, heavy)


def test_help_imports_no_numerics():
    code = ("import sys; from qlsa_sim.cli import build_parser; build_parser(); "
            "print(','.join(m for m in ('numpy', 'torch', 'pandas', 'qiskit', 'qualtran') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr
