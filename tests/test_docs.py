"""docs/architecture.md is kept true: every module of the package is in its table (subpackage ``__init__``
files that only name their subpackage excepted), and every module it names exists."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "qlsa_sim"
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _listed() -> set[str]:
    return set(re.findall(r"^\| `([\w/]+\.py)` \|", DOC, flags=re.M))


def _only_names_itself(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return path.name == "__init__.py" and path.parent != PKG and len(tree.body) <= 1


def test_every_module_is_in_the_architecture_table():
    modules = {str(p.relative_to(PKG)) for p in PKG.rglob("*.py") if not _only_names_itself(p)}
    missing = sorted(modules - _listed())
    assert not missing, f"docs/architecture.md does not list {missing}"


def test_every_module_the_table_names_exists():
    ghosts = sorted(m for m in _listed() if not (PKG / m).is_file())
    assert not ghosts, f"docs/architecture.md lists modules that do not exist: {ghosts}"
