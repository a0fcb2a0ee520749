"""The builtin ``session_title`` plugin: a session without a name is named after the first line
of its first prompt (Markdown marks and extra spaces dropped, at most 60 characters, cut at a
word). Registered through the ``jupyter_companion`` entry points like any plugin; another plugin
answering ``session_title`` first (a model-based title) takes precedence."""

from __future__ import annotations

import re
from typing import Any

from ..hookspecs import hookimpl

MAX_TITLE = 60
_MARKS = re.compile(r"^[#>*\-\s]+|[`*_~]+")


def title_of(prompt: str, limit: int = MAX_TITLE) -> str | None:
    """A short title from a prompt's first non-empty line, or None when it has no words."""
    line = next((ln for ln in prompt.splitlines() if ln.strip()), "")
    text = " ".join(_MARKS.sub("", line).split())
    if not text:
        return None
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


@hookimpl(trylast=True)
def session_title(session: Any, prompt: str) -> str | None:
    """The first line of the first prompt."""
    return title_of(prompt)
