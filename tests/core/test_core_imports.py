"""The core's modules form a one-way graph: no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "veo_addon" / "core"


def _core_imports(path: Path) -> set[str]:
    """Core modules a file imports, TYPE_CHECKING blocks included (a knot there is a knot)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def test_core_modules_import_each_other_one_way_only() -> None:
    graph = {path.stem: _core_imports(path) for path in CORE.glob("*.py")}
    assert "runner" in graph and "journal" in graph["runner"]

    def cycle_from(module: str, trail: tuple[str, ...]) -> tuple[str, ...] | None:
        if module in trail:
            return (*trail[trail.index(module) :], module)
        for imported in sorted(graph.get(module, ())):
            found = cycle_from(imported, (*trail, module))
            if found:
                return found
        return None

    cycles = [found for module in sorted(graph) if (found := cycle_from(module, ()))]
    assert cycles == [], " -> ".join(cycles[0])
