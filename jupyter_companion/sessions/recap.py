"""A recap of a session's earlier conversation, built from its own event log.

When a CLI cannot resume its conversation (its transcript was lost, the thread is gone), the agent
starts with an empty memory while the user still sees every earlier turn. Every session keeps the
whole conversation in the store anyway, so the first prompt after such a loss carries a recap of
it: the user's messages, the agent's answers and what its tools did, newest turns kept first when
the recap must be shortened. This works the same for every backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..events import top_level_blocks

#: Upper bound of a recap, in characters (about 6k tokens).
MAX_RECAP_CHARS = 24_000
#: Stored events read back for a recap (the newest ones; far more than a recap can hold).
RECAP_EVENT_WINDOW = 5000
#: Longest excerpt of one message or tool input kept in a recap.
MAX_ITEM_CHARS = 2_000

HEADER = (
    "[jupyter-companion: your earlier conversation in this session could not be resumed, so here is "
    "a recap of it from the session's log, oldest first. Treat it as what was said and done before; "
    "the user's new message follows the recap.]"
)
FOOTER = "[End of the recap. The user's new message:]"


def _clip(text: str, limit: int = MAX_ITEM_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tool_line(block: dict[str, Any]) -> str:
    name = str(block.get("name") or "tool")
    data = block.get("input") if isinstance(block.get("input"), dict) else {}
    for key in ("command", "file_path", "path", "pattern", "url", "query", "description"):
        value = data.get(key) if data else None
        if isinstance(value, str) and value:
            return f"(tool {name}: {_clip(value, 300)})"
    return f"(tool {name}: {_clip(json.dumps(data, ensure_ascii=False), 300)})" if data else f"(tool {name})"


def recap_lines(events: Iterable[dict[str, Any]]) -> list[str]:
    """One line per user message, agent answer and top-level tool call, in order."""
    lines: list[str] = []
    for event in events:
        kind = event.get("type")
        if kind == "user_message":
            content = event.get("content")
            text = content if isinstance(content, str) else ""
            images = len(event.get("images") or [])
            suffix = f" [{images} image(s) attached]" if images else ""
            lines.append(f"User: {_clip(text)}{suffix}")
        else:
            for block in top_level_blocks(event):
                if block.get("type") == "text" and isinstance(block.get("text"), str) and block["text"].strip():
                    lines.append(f"Assistant: {_clip(block['text'])}")
                elif block.get("type") == "tool_use":
                    lines.append(f"Assistant {_tool_line(block)}")
    return lines


def build_recap(events: Iterable[dict[str, Any]], max_chars: int = MAX_RECAP_CHARS) -> str:
    """The recap text for ``events`` (oldest first), or "" when they hold no conversation.

    When the whole conversation does not fit in ``max_chars``, the oldest lines are dropped and
    replaced by a line saying how many were left out.
    """
    lines = recap_lines(events)
    if not any(line.startswith("User:") for line in lines):
        return ""
    kept: list[str] = []
    size = len(HEADER) + len(FOOTER) + 100
    for line in reversed(lines):
        if size + len(line) + 1 > max_chars:
            break
        kept.append(line)
        size += len(line) + 1
    kept.reverse()
    dropped = len(lines) - len(kept)
    body = ([f"({dropped} earlier lines left out)"] if dropped else []) + kept
    return "\n".join([HEADER, *body, FOOTER])


def with_recap(recap: str, content: str) -> str:
    """The prompt to send: the recap, then the user's message."""
    return f"{recap}\n\n{content}" if recap else content
