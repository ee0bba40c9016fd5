"""The engine is a library: it never imports Streamlit (docs/architecture.md, "Layers")."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"


def _streamlit_imports(path: Path) -> list[str]:
    """Return 'file:line: module' for every import of streamlit (or a submodule) in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "streamlit" or name.startswith("streamlit."):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return found


def test_engine_source_never_imports_streamlit():
    assert ENGINE.is_dir(), f"{ENGINE} is missing: the engine package must exist"
    files = sorted(ENGINE.rglob("*.py"))
    assert files, f"{ENGINE} holds no .py files"
    offenders = [hit for path in files for hit in _streamlit_imports(path)]
    assert not offenders, "engine/ must not import streamlit:\n" + "\n".join(offenders)


def test_importing_engine_does_not_load_streamlit():
    assert ENGINE.is_dir(), f"{ENGINE} is missing: the engine package must exist"
    if not (ENGINE / "__init__.py").exists():
        pytest.skip("engine/__init__.py not written yet")
    code = "import engine, sys; assert 'streamlit' not in sys.modules, 'engine loaded streamlit'"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


UI = ROOT / "ui"
# ui/routes.py imports the service inside its endpoint, on the first frame request: app.py
# loads the routes as the server starts, before the app's heavy modules have warmed up.
DEFERRED = {("ui.routes", "ui.service")}


def _ui_imports(path: Path) -> set[str]:
    """The ui modules `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "ui":
            found |= {f"ui.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {name for name in found if name.startswith("ui.")}


def test_ui_modules_never_import_each_other_in_a_circle():
    graph = {f"ui.{p.stem}": _ui_imports(p) for p in sorted(UI.glob("*.py"))}
    for module, imported in graph.items():
        graph[module] = {m for m in imported if m in graph and (module, m) not in DEFERRED}

    def reaches(start: str, target: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            module = todo.pop()
            if module == target:
                return True
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        return False

    circles = sorted(f"{a} -> {b}" for a in graph for b in graph[a] if reaches(b, a))
    assert not circles, "ui modules that import each other in a circle:\n" + "\n".join(circles)
