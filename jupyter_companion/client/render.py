"""Turning events and sessions into readable text (terminal and plain notebook output).

:class:`TextRenderer` consumes events in order and writes text as it arrives: streamed deltas
are written at once and the final ``assistant`` text is not repeated. It is shared by the
``%companion`` plain-text mode and the ``jupyter companion`` CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COLORS = {
    "dim": "\033[2m",
    "bold": "\033[1m",
    "red": "\033[31m",
    "green": "\033[32m",
    "yellow": "\033[33m",
    "blue": "\033[34m",
    "magenta": "\033[35m",
    "cyan": "\033[36m",
    "reset": "\033[0m",
}


#: Terminal control sequences: CSI (colors, cursor moves, screen clears), OSC (window titles,
#: hyperlinks, clipboard writes), DCS/APC/PM/SOS strings and two-character escapes.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
)
#: Other control characters (C0 but tab and line feed, DEL, C1).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: an agent's (or a repository's) escape sequences and
    control characters are removed, so it can neither recolor nor rewrite the screen, set the
    window title or write to the clipboard. Line breaks and tabs stay."""
    text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n"))
    return _CONTROL.sub("", text)


def paint(text: str, color: str | None, enabled: bool) -> str:
    """``text`` wrapped in an ANSI color when ``enabled``."""
    if not enabled or not color:
        return text
    return f"{COLORS[color]}{text}{COLORS['reset']}"


def shorten(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def tool_summary(name: str, tool_input: Any) -> str:
    """One line saying what a tool call does (``Bash: touch x``, ``Edit: path``...)."""
    data = tool_input if isinstance(tool_input, dict) else {}
    if name == "Bash" and "command" in data:
        return f"Bash: {shorten(data['command'])}"
    for key in ("file_path", "path", "notebook_path", "pattern", "url", "query", "description"):
        if key in data:
            return f"{name}: {shorten(str(data[key]))}"
    if data:
        return f"{name}: {shorten(json.dumps(data, ensure_ascii=False))}"
    return name


def tool_result_text(content: Any) -> str:
    """The text of a ``tool_result`` content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                parts.append(
                    str(block.get("text") or block.get("content") or f"[{block.get('type', 'block')}]")
                )
            else:
                parts.append(str(block))
        return "\n".join(parts)
    return "" if content is None else json.dumps(content, ensure_ascii=False)


def format_cost(value: Any) -> str:
    """``$0.0123`` or an empty string."""
    try:
        return f"${float(value):.4f}"
    except (TypeError, ValueError):
        return ""


def permission_text(event: dict[str, Any]) -> str:
    """Multi-line description of a permission request: tool, input and request id."""
    name = str(event.get("tool_name") or "tool")
    tool_input = event.get("input")
    lines = [f"Permission requested: {tool_summary(name, tool_input)}"]
    if event.get("description"):
        lines.append(f"  why: {shorten(str(event['description']))}")
    lines.append(f"  tool: {name}")
    lines.append(f"  input: {shorten(json.dumps(tool_input, ensure_ascii=False), 500)}")
    lines.append(f"  request id: {event.get('request_id')}")
    return terminal_text("\n".join(lines))


@dataclass
class TextRenderer:
    """Writes events as text through ``write`` (called with complete or partial lines).

    ``permission_hint`` adds a line telling how to answer a request (e.g. the magic to run);
    ``retry_hint`` one telling how to send the prompt again after the CLI died mid-answer.
    """

    write: Callable[[str], None]
    color: bool = False
    show_user: bool = True
    show_thinking: bool = False
    permission_hint: Callable[[dict[str, Any]], str] | None = None
    retry_hint: str = ""
    _streamed: str = ""
    _at_line_start: bool = True
    _announced_tools: set[str] = field(default_factory=set)

    def _out(self, text: str) -> None:
        if text:
            self.write(text)
            self._at_line_start = text.endswith("\n")

    def _line(self, text: str, color: str | None = None) -> None:
        if not self._at_line_start:
            self._out("\n")
        self._out(paint(terminal_text(text), color, self.color) + "\n")

    def finish(self) -> None:
        """End a partially written line."""
        if not self._at_line_start:
            self._out("\n")

    def __call__(self, event: dict[str, Any]) -> None:
        """Render one event."""
        handler = getattr(self, "_on_" + str(event.get("type")), None)
        if handler is not None:
            handler(event)

    # -- one method per event type -----------------------------------------------------------------
    def _on_user_message(self, event: dict[str, Any]) -> None:
        if self.show_user:
            self._line(f"> {event.get('content', '')}", "cyan")

    def _on_stream_delta(self, event: dict[str, Any]) -> None:
        text = terminal_text(str(event.get("text") or ""))
        if event.get("kind", "text") == "text":
            if event.get("snapshot"):  # everything streamed so far (on (re)connect): print what is new
                if self._streamed and text.startswith(self._streamed):
                    text, self._streamed = text[len(self._streamed):], text
                else:
                    self._streamed = text
            else:
                self._streamed += text
            self._out(text)
        elif self.show_thinking:
            self._out(paint(text, "dim", self.color))

    def _on_assistant(self, event: dict[str, Any]) -> None:
        message = event.get("message") or {}
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                self._assistant_text(terminal_text(str(block.get("text") or "")))
            elif kind == "thinking" and self.show_thinking:
                self._line(shorten(str(block.get("thinking") or ""), 400), "dim")
            elif kind == "tool_use":
                self._announced_tools.add(str(block.get("id")))
                self._line(f"→ {tool_summary(str(block.get('name')), block.get('input'))}", "blue")
        if event.get("incomplete"):  # what a CLI that died mid-answer had streamed
            self._line("(the agent stopped here)", "dim")

    def _assistant_text(self, text: str) -> None:
        streamed, self._streamed = self._streamed, ""
        if streamed and text.startswith(streamed):
            self._out(text[len(streamed) :])
        elif streamed.strip() == text.strip() and streamed:
            pass
        else:
            if not self._at_line_start:
                self._out("\n")
            self._out(text)
        self.finish()

    def _on_tool_result(self, event: dict[str, Any]) -> None:
        text = tool_result_text(event.get("content"))
        if event.get("is_error"):
            self._line(f"  ✗ {shorten(text, 300)}", "red")
        else:
            self._line(f"  ← {shorten(text, 300) if text.strip() else '(no output)'}", "dim")

    def _on_permission_request(self, event: dict[str, Any]) -> None:
        self._line(permission_text(event), "yellow")
        if self.permission_hint is not None:
            hint = self.permission_hint(event)
            if hint:
                self._line(hint, "yellow")

    def _on_permission_resolved(self, event: dict[str, Any]) -> None:
        behavior = event.get("behavior")
        mark = "✓ allowed" if behavior == "allow" else "✗ denied"
        self._line(
            f"{mark} ({event.get('by', 'user')}) request {event.get('request_id')}",
            "green" if behavior == "allow" else "red",
        )

    def _on_result(self, event: dict[str, Any]) -> None:
        self._streamed = ""
        bits = []
        if event.get("duration_ms") is not None:
            bits.append(f"{float(event['duration_ms']) / 1000:.1f}s")
        if event.get("num_turns") is not None:
            bits.append(f"{event['num_turns']} turn(s)")
        cost = format_cost(event.get("cost_usd"))
        if cost:
            bits.append(cost)
        tail = f" ({', '.join(bits)})" if bits else ""
        if event.get("interrupted"):
            self._line(f"■ stopped{tail}", "yellow")
        elif event.get("is_error"):
            detail = f": {shorten(str(event.get('text')), 300)}" if event.get("text") else ""
            self._line(f"✗ turn ended with an error{detail}{tail}", "red")
        else:
            self._line(f"✓ done{tail}", "green")

    def _on_error(self, event: dict[str, Any]) -> None:
        self._line(f"error: {event.get('message')}", "red")
        if event.get("retry") and self.retry_hint:
            self._line(self.retry_hint, "yellow")

    def _on_notice(self, event: dict[str, Any]) -> None:
        warning = event.get("level") == "warning"
        self._line(f"{'warning' if warning else 'note'}: {event.get('message') or event.get('text') or ''}",
                   "yellow" if warning else "dim")

    def _on_phase(self, event: dict[str, Any]) -> None:
        if event.get("phase") == "terminated":
            self._line("session terminated", "red")

    def _on_session_init(self, event: dict[str, Any]) -> None:
        self._line(f"[{event.get('model', '?')} in {event.get('cwd', '?')}]", "dim")


def format_table(rows: list[list[str]], headers: list[str], color: bool = False) -> str:
    """A plain left-aligned text table."""
    rows = [[terminal_text(cell).replace("\n", " ") for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    head = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()
    lines = [paint(head, "bold", color)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    return "\n".join(lines)


PHASE_COLORS = {
    "ready": "green",
    "streaming": "cyan",
    "awaiting_permission": "yellow",
    "terminated": "dim",
    "reconnecting": "magenta",
}


def session_rows(sessions: list[dict[str, Any]]) -> list[list[str]]:
    """Rows ``id, name, backend, phase, pending, cost, cwd`` for a session table."""
    rows = []
    for s in sessions:
        pending = s.get("pending_permissions") or []
        rows.append(
            [
                str(s.get("id", "")),
                str(s.get("name") or ""),
                str(s.get("backend") or ""),
                str(s.get("phase") or "") + (" (archived)" if s.get("archived") else ""),
                str(len(pending)) if pending else "",
                format_cost(s.get("cost_usd")),
                str(s.get("cwd") or ""),
            ]
        )
    return rows


SESSION_HEADERS = ["ID", "NAME", "BACKEND", "PHASE", "PERMS", "COST", "CWD"]


def sessions_table(sessions: list[dict[str, Any]], color: bool = False) -> str:
    """The session list as a text table (``(no sessions)`` when empty)."""
    if not sessions:
        return "(no sessions)"
    return format_table(session_rows(sessions), SESSION_HEADERS, color)


def conversations_table(conversations: list[dict[str, Any]], color: bool = False) -> str:
    """Earlier conversations as a table (``(no conversations)`` when empty)."""
    if not conversations:
        return "(no conversations)"
    rows = [
        [str(c.get("id", "")), str(c.get("folder") or c.get("cwd") or ""), str(c.get("updated_at") or "")[:16],
         str(c.get("title") or "")[:80]]
        for c in conversations
    ]
    return format_table(rows, ["ID", "FOLDER", "UPDATED", "FIRST PROMPT"], color)


def status_text(status: dict[str, Any], server_url: str = "") -> str:
    """``GET status`` as readable lines."""
    lines = [f"jupyter-companion {status.get('version', '?')}" + (f" at {server_url}" if server_url else "")]
    for b in status.get("backends") or []:
        state = "available" if b.get("available") else f"unavailable ({b.get('reason', '')})"
        version = f" {b['version']}" if b.get("version") else ""
        credentials = b.get("credentials") or {}
        if credentials.get("configured"):
            state += f", credentials from {credentials.get('source') or 'the CLI'}"
        elif credentials:
            state += f", NO CREDENTIALS: {credentials.get('hint', '')}"
        lines.append(f"  backend {b.get('name')}{version}: {state}")
    for s in status.get("sandboxes") or []:
        state = "available" if s.get("available", True) else f"unavailable ({s.get('reason', '')})"
        version = f" {s['version']}" if s.get("version") else ""
        lines.append(f"  sandbox {s.get('name')}{version}: {state}")
    for p in status.get("plugins") or []:
        state = "ok" if p.get("ok") else f"FAILED: {p.get('error', '')}"
        lines.append(f"  plugin {p.get('name')}: {state}")
    for d in status.get("protocol_drift") or []:
        lines.append(f"  unknown to this version: {d.get('backend')} {d.get('what')} (seen {d.get('count')}x)")
    return terminal_text("\n".join(lines))
