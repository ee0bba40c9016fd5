"""Visitor-chosen text is shown as text: `plain` escapes everything Markdown (and Streamlit's
`:icon:`, `:color[...]`, `$math$` extensions) could read, and nothing else changes."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ui.text import JOINER, plain

SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:\"'=&/^%@,;?")
# Text a visitor could type or put in a link, weighted towards Markdown's syntax.
MARKDOWNISH = st.sampled_from([*sorted(SPECIAL), " ", "\n", "h", "t", "p"])
visitor_text = st.text(alphabet=st.one_of(MARKDOWNISH, st.characters()), max_size=80)


def _tokens(escaped: str) -> list[str]:
    """Split escaped text into backslash pairs and single characters."""
    return re.findall(r"\\.|.", escaped, flags=re.DOTALL)


@settings(max_examples=300, deadline=None)
@given(visitor_text)
def test_every_special_character_is_escaped_and_nothing_else_changes(text: str) -> None:
    tokens = _tokens(plain(text))
    unescaped = "".join(t[-1] for t in tokens).replace(JOINER, "")
    assert unescaped == text.replace(JOINER, "")  # unescaped, it is what was typed
    for t in tokens:
        if len(t) == 2:
            assert t[1] in SPECIAL  # only Markdown's characters are escaped
        else:
            assert t not in SPECIAL, f"{t!r} left unescaped"


def test_a_link_an_image_and_an_icon_lose_their_syntax() -> None:
    link = plain("[Your session expired - log in again](http://example.invalid/login)")
    assert link.startswith("\\[Your session expired \\- log in again\\]\\(http\\:")
    assert "://" not in link.replace("\\", "")  # a word joiner breaks the autolink
    assert plain("![x](http://example.invalid/x.png)").startswith("\\!\\[x\\]\\(")
    assert plain(":red[alarm] :material/warning:") == "\\:red\\[alarm\\] \\:material\\/warning\\:"
