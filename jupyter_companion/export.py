"""A session's conversation as a Jupyter notebook or a Markdown document.

The event log already holds the whole conversation; exporting it gives a record that lives next to
the code it changed and that Jupyter opens, diffs and shares like any other notebook:

- a title cell (name, backend, model, folder, branch, cost);
- each prompt and each answer as a Markdown cell (the prompt quoted, so the two read apart);
- each shell command the agent ran (``Bash``) as a ``%%bash`` code cell **with its recorded
  output**, never executed by the export; a failed command's output is an error stream;
- each file edit as a Markdown cell with a ``diff`` block, a new file with its content, other
  tools as a one-line summary; subagent work (``parent_tool_use_id``) is left out.

Both formats are built from the same list of cells (:func:`transcript_cells`).
"""

from __future__ import annotations

import difflib
import json
import os
import urllib.parse
from collections.abc import Iterable
from typing import Any

from .events import top_level_blocks

#: Longest tool output or file content copied into an export.
MAX_OUTPUT_CHARS = 20_000


def _clip(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(p for p in parts if isinstance(p, str))
    return "" if content is None else json.dumps(content, ensure_ascii=False)


def _edit_diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm="")
    return "\n".join(lines)


def _tool_cell(block: dict[str, Any], result: dict[str, Any] | None) -> dict[str, Any]:
    name = str(block.get("name") or "tool")
    raw_input = block.get("input")
    data: dict[str, Any] = raw_input if isinstance(raw_input, dict) else {}
    output = _clip(_result_text(result.get("content"))) if result else ""
    failed = bool(result and result.get("is_error"))
    if name == "Bash" and isinstance(data.get("command"), str):
        return {"kind": "command", "command": data["command"], "output": output, "failed": failed,
                "description": str(data.get("description") or "")}
    path = str(data.get("file_path") or data.get("path") or "")
    if name == "Edit" and isinstance(data.get("old_string"), str) and isinstance(data.get("new_string"), str):
        body = _fence(_edit_diff(path, data["old_string"], data["new_string"]), "diff")
        return {"kind": "markdown", "text": f"*Edited* `{path}`\n\n{body}"}
    if name == "Write" and isinstance(data.get("content"), str):
        return {"kind": "markdown", "text": f"*Wrote* `{path}`\n\n{_fence(_clip(data['content']))}"}
    summary = path or str(data.get("pattern") or data.get("url") or data.get("query") or "")
    if not summary and data:
        summary = _clip(json.dumps(data, ensure_ascii=False), 300)
    status = " (failed)" if failed else ""
    return {"kind": "markdown", "text": f"*{name}*{status}: `{summary}`" if summary else f"*{name}*{status}"}


def transcript_cells(session: dict[str, Any], events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as neutral cells: ``{kind: markdown|command, ...}`` in order."""
    events = list(events)
    results = {str(e.get("tool_use_id")): e for e in events if e.get("type") == "tool_result"}
    git = session.get("git") or {}
    facts = [f"**Backend:** {session.get('backend')}", f"**Model:** {session.get('model') or 'default'}",
             f"**Folder:** `{session.get('cwd')}`"]
    if git.get("branch"):
        facts.append(f"**Branch:** `{git['branch']}`")
    if session.get("cost_usd"):
        facts.append(f"**Cost:** ${float(session['cost_usd']):.4f}")
    cells: list[dict[str, Any]] = [{
        "kind": "markdown",
        "text": f"# {session.get('name') or session.get('id')}\n\n" + " · ".join(facts)
        + f"\n\n*Agent session `{session.get('id')}`, exported by jupyter-companion.*",
    }]
    for event in events:
        kind = event.get("type")
        if kind == "user_message":
            raw = event.get("content")
            content = raw if isinstance(raw, str) else ""
            quoted = "\n".join(f"> {line}" if line else ">" for line in content.splitlines() or [""])
            images = len(event.get("images") or [])
            note = f"\n>\n> *({images} image(s) attached)*" if images else ""
            cells.append({"kind": "markdown", "text": f"**You:**\n\n{quoted}{note}"})
        elif kind == "assistant":
            for block in top_level_blocks(event):
                if block.get("type") == "text" and str(block.get("text") or "").strip():
                    cells.append({"kind": "markdown", "text": str(block["text"])})
                elif block.get("type") == "tool_use":
                    cells.append(_tool_cell(block, results.get(str(block.get("id")))))
        elif kind == "error" and event.get("message"):
            cells.append({"kind": "markdown", "text": f"*Error:* {event['message']}"})
    return cells


def to_notebook(session: dict[str, Any], events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An nbformat 4 notebook (a JSON-able dict); commands are ``%%bash`` cells with their output."""
    cells: list[dict[str, Any]] = []
    for index, cell in enumerate(transcript_cells(session, events)):
        cell_id = f"companion-{index}"
        if cell["kind"] == "command":
            source = f"%%bash\n{cell['command']}"
            if cell["description"]:
                source = f"# {cell['description']}\n" + source
            outputs = []
            if cell["output"]:
                stream = "stderr" if cell["failed"] else "stdout"
                outputs.append({"output_type": "stream", "name": stream, "text": cell["output"]})
            cells.append({"cell_type": "code", "id": cell_id, "execution_count": None,
                          "metadata": {"companion": {"recorded": True}}, "outputs": outputs, "source": source})
        else:
            cells.append({"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": cell["text"]})
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "companion": {"session_id": session.get("id"), "backend": session.get("backend")},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def to_markdown(session: dict[str, Any], events: Iterable[dict[str, Any]]) -> str:
    """The conversation as one Markdown document."""
    parts = []
    for cell in transcript_cells(session, events):
        if cell["kind"] == "command":
            text = f"*Ran* {cell['description']}\n\n" if cell["description"] else "*Ran*\n\n"
            text += _fence(cell["command"], "bash")
            if cell["output"]:
                text += "\n\n" + _fence(cell["output"])
            parts.append(text)
        else:
            parts.append(cell["text"])
    return "\n\n".join(parts) + "\n"


def export_filename(name: str, extension: str) -> str:
    """A safe file name from a session name: letters, digits, ``-`` and ``_`` only."""
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip())[:60].strip("-_")
    return f"{stem or 'session'}-transcript{extension}"


def content_disposition(name: str) -> str:
    """An ``attachment`` header value for ``name`` that any HTTP stack can carry (RFC 6266):
    an ASCII ``filename`` and, for other names, the exact one as ``filename*`` (UTF-8)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    return value


#: ``format`` values: (media type, file extension).
FORMATS = {"ipynb": ("application/x-ipynb+json", ".ipynb"), "markdown": ("text/markdown; charset=utf-8", ".md")}


def render(session: dict[str, Any], events: list[dict[str, Any]], fmt: str) -> tuple[str, str, str]:
    """``(text, media type, file name)`` of a session's export in ``fmt`` (a key of :data:`FORMATS`)."""
    media_type, extension = FORMATS[fmt]
    if fmt == "ipynb":
        text = json.dumps(to_notebook(session, events), indent=1, ensure_ascii=False)
    else:
        text = to_markdown(session, events)
    return text, media_type, export_filename(str(session.get("name") or ""), extension)


def write_new_file(folder: str, name: str, text: str) -> str:
    """Write ``text`` to ``folder/name`` without replacing anything (``-1``, ``-2``, ... appended)."""
    stem, dot, ext = name.rpartition(".")
    for n in range(1000):
        path = os.path.join(folder, name if n == 0 else f"{stem}-{n}{dot}{ext}")
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"too many exports named {name!r} in {folder}")
