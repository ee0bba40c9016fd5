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
