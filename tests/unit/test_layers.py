"""The package's layers, read from the code: each folder imports only its own layer and the
layers below it, and the project's own imports sit at the top of each file.

A newcomer reading ``runs/`` knows it may use ``config/`` and ``training/`` but nothing above
it; an import that runs back up (or hides in a function) fails here with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "imitation_lab"

#: bottom (0) to top: a module may import its own layer and the layers below
LAYERS = {
    "errors": 0,
    "utils": 0,
    "data": 1,
    "envs": 2,
    "policy": 2,
    "actors": 2,
    "collection": 3,
    "training": 4,
    "config": 5,
    "inference": 6,
    "runs": 7,
    "report": 8,
    "train": 8,
    "collect": 8,
    "eval_app": 8,
    "cli": 8,
    "__init__": 8,
}
MAX_ROOT_MODULES = 8


def _part(module: str) -> str:
    """The layer part of a dotted ``imitation_lab.<part>...`` name."""
    return module.split(".")[1] if "." in module else "__init__"


def _own_imports(tree: ast.AST) -> list[tuple[ast.stmt, str, bool]]:
    """(node, imported module, at top level) for every ``imitation_lab`` import."""
    top = {id(node) for node in getattr(tree, "body", [])}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "imitation_lab":
                names = [f"imitation_lab.{alias.name}" for alias in node.names]
            elif node.module.startswith("imitation_lab."):
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("imitation_lab.")]
        found += [(node, name, id(node) in top) for name in names]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "conf" not in p.relative_to(PACKAGE).parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_back_up_and_none_hides_in_a_function(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    part = rel.parts[0].removesuffix(".py")
    assert part in LAYERS, f"{rel}: a new folder or root module: give it a layer in LAYERS"
    tree = ast.parse(path.read_text())
    for node, module, at_top in _own_imports(tree):
        target = _part(module)
        assert target in LAYERS, f"{rel}:{node.lineno} imports {module}: no such layer"
        assert LAYERS[target] <= LAYERS[part], (
            f"{rel}:{node.lineno} imports {module}: layer {target} is above {part}"
        )
        assert at_top, f"{rel}:{node.lineno} imports {module} inside a function: move it up"


def test_the_package_root_stays_small() -> None:
    root = [p.name for p in PACKAGE.glob("*.py")]
    assert len(root) <= MAX_ROOT_MODULES, sorted(root)
