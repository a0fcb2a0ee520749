"""Safe HTML for what an agent, a tool or a user wrote, for surfaces that render HTML as trusted.

JupyterLab and Notebook render an ipywidgets ``Output``'s data as *trusted*: neither Markdown nor
HTML goes through the sanitizer there. Everything dynamic in the notebook chat widget therefore
passes through this module:

- :func:`markdown_html` renders an agent's Markdown with mistune (``escape=True``: raw HTML in
  the text is shown as text; ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links are
  replaced by ``#harmful-link``), falling back to escaped preformatted text without mistune;
- :func:`text_html` and :func:`code_html` escape plain text (a user's prompt, a tool summary, a
  file name with backticks in it).

No other code builds HTML from untrusted strings.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import lru_cache

#: The only tags this module's output may contain (checked by the tests).
ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "li", "ol", "p", "pre", "small", "span", "strong", "table", "tbody", "td",
        "th", "thead", "tr", "ul",
    }
)


@lru_cache(maxsize=1)
def _renderer() -> Callable[[str], str] | None:
    try:
        import mistune
    except ImportError:  # the notebook extra brings it; plain text is still safe without it
        return None
    render = mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])
    return lambda text: str(render(text))


def text_html(text: str) -> str:
    """``text`` as HTML text (every character literal, line breaks kept)."""
    return html.escape(text).replace("\n", "<br>")


def code_html(text: str) -> str:
    """``text`` in an inline ``<code>`` element, whatever backticks or tags it holds."""
    return f"<code>{html.escape(text)}</code>"


def pre_html(text: str) -> str:
    """``text`` as a preformatted block."""
    return f"<pre>{html.escape(text)}</pre>"


def markdown_html(text: str) -> str:
    """An agent's Markdown as HTML in which raw HTML is shown literally and no link runs script."""
    render = _renderer()
    if render is None:
        return f"<div style='white-space:pre-wrap'>{html.escape(text)}</div>"
    return render(text)
