"""The page table (ui/navigation.py) is the one source of a page's key, script and title:
the navigation, the page scripts and the run store's pages all take them from it."""

import ast
from pathlib import Path

from app_helpers import ROOT

from ui import navigation
from ui.navigation import PAGES, TRAINERS, PageEntry, page
from ui.runstore import ORIGINS, page_for, trainer_page

# The table's entries by their name in ui/navigation.py (PLAYGROUND, MNIST, ...).
NAMED = {name: e for name, e in vars(navigation).items() if isinstance(e, PageEntry)}
SOURCES = [ROOT / "shell.py", *sorted((ROOT / "app_pages").glob("*.py"))]
SOURCES += [p for p in sorted((ROOT / "ui").glob("*.py")) if p.name != "navigation.py"]


def test_every_page_script_is_one_entry_of_the_table():
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))
    assert sorted(p.path for p in PAGES) == files
    assert len({p.key for p in PAGES}) == len(PAGES)
    assert set(NAMED.values()) == set(PAGES)  # every named entry is in the navigation
    assert all(page(p.key) is p for p in PAGES)


def _page_assignment(path: Path) -> str | None:
    """The expression a page script assigns to its PAGE constant, as written."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PAGE" for t in node.targets
        ):
            return ast.unparse(node.value)
    return None


def test_each_page_script_takes_its_key_from_its_own_entry():
    for name, entry in NAMED.items():
        script = ROOT / entry.path
        assigned = _page_assignment(script)
        if assigned is None:  # a page without state of its own (home, components)
            assert "skey(" not in script.read_text(encoding="utf-8"), entry.path
        else:
            assert assigned == f"{name}.key", (entry.path, assigned)


def _strings() -> list[str]:
    """Every string literal in the app's code (shell.py, app_pages/, ui/) but the table's."""
    return [
        node.value
        for source in SOURCES
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_page_script_path_is_written_outside_the_table():
    """shell.py's navigation, switch_page and page links name a page through its entry."""
    written = [s for s in _strings() if "app_pages/" in s and s.endswith(".py")]
    assert not written, written


def test_no_session_key_of_another_page_is_spelled_out():
    """Session keys are built with skey(<entry>.key, ...), never written as "compare.runs"."""
    prefixes = tuple(f"{p.key}." for p in PAGES)
    written = [s for s in _strings() if s.startswith(prefixes) and " " not in s]
    assert not written, written


def test_the_run_store_names_and_opens_pages_from_the_table():
    assert [p.key for p in TRAINERS] == ["pg", "mnist"]
    assert ORIGINS["pg"] == "Playground" and ORIGINS["mnist"] == "MNIST digits"
    assert ORIGINS["lab_init"] == "Initialization lab" and ORIGINS["search"] == "Search"
    assert ORIGINS["sweep"] == "Compare: sweep" and ORIGINS["cli"] == "command line"
    assert trainer_page("mnist") == "mnist" and trainer_page("circle") == "pg"
    assert trainer_page("normal_noise") is None

    class Stored:  # a RunRecord's two fields page_for reads
        def __init__(self, page: str, dataset: str) -> None:
            self.page, self.config = page, {"data": {"dataset": dataset}}

    assert page_for(Stored("mnist", "mnist")) == "mnist"
    assert page_for(Stored("lab_reg", "moons")) == "pg"  # a lab run opens where its data trains
    assert page_for(Stored("lab_init", "normal_noise")) is None
