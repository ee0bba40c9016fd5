"""The entry point and home page, through Streamlit's AppTest (no browser).

AppTest.from_file on the entry point runs app.py with its st.navigation and renders the default
page, as a browser session would (checked with Streamlit 1.67); AppTest.switch_page reaches the
others.
"""

import re
from pathlib import Path

from app_helpers import APP, ROOT, assert_clean, open_page
from streamlit.testing.v1 import AppTest


def navigation_pages() -> list[str]:
    """Page files of the navigation, e.g. 'app_pages/playground.py'."""
    from ui.navigation import PAGES

    return [p.path for p in PAGES]


def test_home_says_what_the_playground_is_and_links_every_page():
    at = AppTest.from_file(APP).run(timeout=60)
    assert_clean(at)
    assert [t.value for t in at.title] == ["Neural-network playground"]
    intro = at.markdown[0].value
    assert len(re.findall(r"[.!?](\s|$)", intro)) == 3  # three sentences
    links = {link.proto.page for link in at.get("page_link")}
    others = [p for p in navigation_pages() if not p.endswith("home.py")]
    assert others and all(Path(p).stem in links for p in others), (others, links)


def test_every_navigation_page_exists_and_loads_without_error():
    pages = navigation_pages()
    assert {"app_pages/playground.py", "app_pages/mnist.py"} <= set(pages)
    for page in pages:
        assert (ROOT / page).is_file(), page
        at = open_page(Path(page).stem)
        assert_clean(at)


def test_no_pages_folder_next_to_the_entry_point():
    """Streamlit runs a pages/ folder as an old-style multipage app, bypassing app.py on a
    fresh server's deep links; page scripts live in app_pages/."""
    assert not (ROOT / "pages").exists()


def test_components_page_lists_every_registry_entry():
    at = open_page("components")
    assert_clean(at)
    from engine.config import registries

    shown = set()
    for table in at.table:
        shown |= {name.strip("`") for name in table.value["name"]}
    for registry in registries().values():
        assert set(registry.names()) <= shown


def test_home_starts_a_newcomer_on_the_playground_and_the_first_lesson():
    """Issue 14.7: a first step before the list of pages, in both languages."""
    from ui import i18n
    from ui.navigation import LAB_INIT, PLAYGROUND

    for lang in ("en", "zh"):
        at = AppTest.from_file(APP)
        at.query_params["lang"] = lang
        at.run(timeout=60)
        assert_clean(at)
        start = i18n.text_in(lang, "Start here")
        assert at.subheader[0].value == start  # before the sections
        links = [link.proto.page for link in at.get("page_link")]
        assert links[:2] == [Path(PLAYGROUND.path).stem, Path(LAB_INIT.path).stem], links


def test_components_says_what_a_choice_works_with_by_the_engines_rule():
    """Issue 14.3: the 2-D datasets work with MLPs only (the engine refuses a CNN on them);
    MNIST with both; spatial dropout with CNNs only."""
    at = open_page("components")
    rows = {}
    for table in at.table:
        df = table.value
        for name, works in zip(df.iloc[:, 0], df.iloc[:, -1], strict=True):
            rows[name.strip("`")] = works
    assert rows["circle"] == "MLP" and rows["spiral"] == "MLP"
    assert rows["mnist"] == "MLP / CNN"
    assert rows["spatial"] == "CNN"
    assert rows["relu"] == "MLP / CNN / RNN"  # the vanilla RNN's h_t may be ReLU; LSTM/GRU: tanh
    assert rows["tanh"] == "MLP / CNN / RNN / LSTM / GRU"
    assert rows["adding"] == "MLP / RNN / LSTM / GRU"  # sequences: a CNN needs images
    assert rows["batch"] == "MLP / CNN"  # no norm layers in the recurrent cells
