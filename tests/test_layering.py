"""The layers hold (docs/architecture.md, "Layers"): the engine is a library that never imports
Streamlit, no layer imports one above it, and no modules import each other in a circle."""

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


# --------------------------------------------------------------------------------------------
# Which layer may import which, and no circles


PACKAGES = ("engine", "ui", "app_pages", "bench", "deploy")
SCRIPTS = ("shell.py", "app.py")
# Who must never import whom: a lower layer never reaches up; benchmarks measure the engine and
# the served app from outside, never through ui's Streamlit helpers.
FORBIDDEN = {
    "engine": ("ui", "app_pages", "shell", "app", "bench", "deploy"),
    "ui": ("app_pages", "shell", "app", "bench", "deploy"),
    "bench": ("ui", "app_pages", "shell", "app"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    return {_module_name(p): p for p in files + [ROOT / s for s in SCRIPTS]}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its file: at the top, inside functions
    and under `if TYPE_CHECKING:` alike (a circle a reader must follow is a circle)."""

    def known(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {known(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from engine import config` names the module engine.config, not engine/__init__
            found |= {known(f"{module}.{a.name}") or known(module) for a in node.names}
    return {m for m in found if m and m != name}


# The two imports allowed to close a circle, each with its reason. Nothing else may.
ALLOWED = {
    # ui/routes.py imports the service inside its endpoint, on the first frame request: app.py
    # loads the routes as the server starts, before the app's heavy modules have warmed up.
    ("ui.routes", "ui.service"),
    # The config runs the budget's check, and the budget's signatures name Config under
    # TYPE_CHECKING only (an annotation that never runs).
    ("engine.budget", "engine.config"),
}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    return {name: {d for d in deps if (name, d) not in ALLOWED} for name, deps in graph.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_the_import_graph_helper_sees_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_the_helper_reads_imports_inside_functions_and_type_checking_blocks() -> None:
    graph = _graph()
    assert "engine.config" in graph["engine.trainer"]  # a top-level import
    assert any("engine" in m for m in graph["ui.controls"])


def test_no_layer_imports_one_above_it() -> None:
    offenders = [
        f"{name} imports {dep}"
        for name, deps in _graph().items()
        for dep in deps
        for top in FORBIDDEN.get(name.split(".")[0], ())
        if dep == top or dep.startswith(top + ".")
    ]
    assert not offenders, "imports against the layers:\n" + "\n".join(sorted(offenders))


def test_no_modules_import_each_other_in_a_circle() -> None:
    circles = _circles(_graph())
    assert not circles, (
        "modules that import each other in a circle (move what both need to a module both "
        "import):\n" + "\n".join(" <-> ".join(c) for c in circles)
    )


def test_the_config_imports_no_module_that_holds_its_choices() -> None:
    """The registries file themselves (engine/registry.py) and the config looks them up by
    field path, so adding a component never touches the config."""
    holders = {
        _module_name(p)
        for p in ENGINE.rglob("*.py")
        if "= Registry(" in p.read_text(encoding="utf-8")
    }
    assert holders, "no module creates a Registry: the check reads the wrong files"
    assert not _graph()["engine.config"] & holders
