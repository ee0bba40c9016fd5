"""Visitor-chosen text shown as text.

Streamlit renders the body of `st.warning`, `st.error`, `st.write`, captions and labels as
Markdown, with its own extensions (`:material/icon:`, `:red[...]`, `$math$`). A link parameter,
a file name, a run name or a typed value dropped into such a string could become a real link,
an image fetched from any host, or a styled fake message ("[Your session expired - log in
again](http://...)"). `plain` escapes every character Markdown or those extensions give a
meaning to, and breaks the patterns autolinks look for ("://", "www.", "@") with an
invisible word joiner (U+2060), so the text shows exactly as typed and links nowhere.
"""

from __future__ import annotations

import re

# ASCII punctuation that CommonMark lets a backslash escape, which covers Markdown's syntax,
# Streamlit's ":icon:" and ":color[...]" directives and "$" math.
_SPECIAL = re.compile(r"""([\\`*_{}\[\]()<>#+\-.!|~$:"'=&/^%@,;?])""")


# Where GitHub-flavoured Markdown's autolinks start, after escaping: "scheme://", "www.", and
# the "@" of an e-mail address. A word joiner there keeps the text as it looks.
_AUTOLINK = re.compile(r"(?i)(\\:)(\\/\\/)|(www)(\\\.)|(\\@)")
JOINER = "\u2060"


def plain(text: object) -> str:
    """`text` (anything, as str) with Markdown's special characters escaped and autolinks
    broken: shown literally, clickable nowhere."""
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    return _AUTOLINK.sub(_join, escaped)


def _join(m: re.Match[str]) -> str:
    if m.group(5):
        return JOINER + m.group(5)
    head, tail = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return head + JOINER + tail
