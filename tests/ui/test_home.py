"""The app's entry point and home page, through Streamlit's AppTest (no browser).

AppTest.from_file on the entry point runs app.py with its st.navigation and renders the default
page, as a browser session would (checked with Streamlit 1.67); AppTest.switch_page reaches the
others.
"""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_home_page_loads_with_title_and_cli_hint():
    at = AppTest.from_file(APP).run(timeout=30)

    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Neural-network playground"]
    code = "\n".join(c.value for c in at.code)
    assert "python -m engine config > my.json" in code
    assert "python -m engine train my.json" in code
