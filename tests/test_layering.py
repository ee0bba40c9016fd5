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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside `if TYPE_CHECKING:` blocks (imports there never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _engine_imports(path: Path, modules: set[str], *, types: bool) -> set[str]:
    """The engine modules `path` imports anywhere in it (module or function level), with or
    without those imported only for type checking. `from engine import budget` counts as
    engine.budget; an import of a package counts as its __init__."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = set() if types else _type_checking_lines(tree)
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n for n in subs if n in modules] or [node.module]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found - {_module_name(path)}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles: the graph's strongly connected components of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_engine_modules_import_each_other_without_a_cycle():
    """No engine module imports one that imports it back, at module or function level, nor
    for types, but one pair: the config runs the budget's check and the budget's signatures
    name the Config (an annotation that never runs). In particular the config imports no
    module that holds a registry of its choices: the registries file themselves
    (engine/registry.py) and the config looks them up by field path."""
    files = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    modules = set(files)
    at_run_time = {m: _engine_imports(p, modules, types=False) for m, p in files.items()}
    assert _cycles(at_run_time) == []
    with_types = {m: _engine_imports(p, modules, types=True) for m, p in files.items()}
    assert _cycles(with_types) == [["engine.budget", "engine.config"]]
    holders = {m for m, p in files.items() if "= Registry(" in p.read_text(encoding="utf-8")}
    assert holders and not with_types["engine.config"] & holders
