"""One ACP prompt turn as events: streamed message and thought chunks, tool calls, the plan, and
the ``result`` that ends it.

:class:`AcpTurn` keeps what the running turn has shown and maps the conversation updates of
``session/update`` (wire form) onto the vocabulary of ``API.md`` through the adapter's sink.
Session-wide updates (commands, modes, config options, usage) are the adapter's.

Chunks stream as ``stream_delta`` events; the text they add up to is stored as one
``assistant`` event when something else begins (a tool call, a thought, the end of the turn).
A tool call shows as an ``assistant`` ``tool_use`` block as soon as its input is known (Claude's
adapter first announces a call with an empty input and fills it in with the next update), and
as a ``tool_result`` when its status becomes ``completed`` or ``failed``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from .acp_protocol import (
    CLEAN_STOPS,
    STOP_MESSAGES,
    text_of_content,
    todos_of_plan,
    tool_result_text,
    tool_use_of,
    usage_of,
)
from .base import AdapterSink

#: Tool statuses that end a call.
FINISHED = ("completed", "failed")


class AcpTurn:
    """The running prompt turn of one ACP session (``active`` False between turns)."""

    def __init__(
        self,
        sink: AdapterSink,
        model: Callable[[], str | None],
        terminal_output: Callable[[], dict[str, str]] = dict,
    ):
        self.sink = sink
        self.model = model
        self.terminal_output = terminal_output
        self.active = False
        self.started_at = 0.0
        self.text: list[str] = []
        #: The chunk stream in progress: (kind "text"/"thinking", message id, parts).
        self._segment: tuple[str, str, list[str]] | None = None
        self.tools: dict[str, dict[str, Any]] = {}
        self._shown: set[str] = set()
        self._finished: set[str] = set()
        self._ids = itertools.count(1)
        #: The session's cost so far as the agent reports it (``usage_update.cost``), and its
        #: value when the turn began: the turn's own cost is the difference.
        self.cost_total: float | None = None
        self._cost_at_start: float | None = None

    def begin(self) -> None:
        """A prompt was handed to the agent."""
        self.active = True
        self.started_at = time.monotonic()
        self.text = []
        self._segment = None
        self._cost_at_start = self.cost_total

    # ------------------------------------------------------------------ chunks
    def chunk(self, kind: str, update: dict[str, Any]) -> None:
        """``agent_message_chunk`` (kind ``text``) or ``agent_thought_chunk`` (``thinking``)."""
        text = text_of_content(update.get("content"))
        if not text:
            return
        message_id = update.get("messageId")
        segment = self._segment
        if segment is None or segment[0] != kind or (message_id and segment[1] != message_id):
            self.flush()
            segment = (kind, str(message_id or f"acp-{kind}-{next(self._ids)}"), [])
            self._segment = segment
        segment[2].append(text)
        self.sink.emit({"type": "stream_delta", "kind": kind, "text": text, "message_id": segment[1]})

    def flush(self) -> None:
        """Store the chunks streamed so far as one ``assistant`` event."""
        segment, self._segment = self._segment, None
        if segment is None:
            return
        kind, message_id, parts = segment
        text = "".join(parts)
        if not text:
            return
        if kind == "text":
            self.text.append(text)
            block: dict[str, Any] = {"type": "text", "text": text}
        else:
            block = {"type": "thinking", "thinking": text}
        self._assistant(message_id, [block])

    # ------------------------------------------------------------------ tools
    def tool_call(self, update: dict[str, Any]) -> None:
        """``tool_call``: a new call (its input may still be empty)."""
        tool_id = str(update.get("toolCallId") or "")
        if not tool_id:
            return
        self.tools[tool_id] = {k: v for k, v in update.items() if k != "sessionUpdate"}
        self._progress(tool_id)

    def tool_call_update(self, update: dict[str, Any]) -> None:
        """``tool_call_update``: fields of a call changed (status, input, content, output)."""
        tool_id = str(update.get("toolCallId") or "")
        if not tool_id:
            return
        tool = self.tools.setdefault(tool_id, {"toolCallId": tool_id})
        for key, value in update.items():
            if key != "sessionUpdate" and value is not None:
                tool[key] = value
        self._progress(tool_id)

    def ensure_tool(self, tool_call: dict[str, Any]) -> str:
        """Show the call a permission request is about (merged with what is known); its id."""
        tool_id = str(tool_call.get("toolCallId") or f"acp-tool-{next(self._ids)}")
        tool = self.tools.setdefault(tool_id, {"toolCallId": tool_id})
        for key, value in tool_call.items():
            if value not in (None, {}, [], ""):
                tool[key] = value
        self._show(tool_id)
        return tool_id

    def tool_of(self, tool_id: str) -> dict[str, Any]:
        """What is known of a tool call (wire form)."""
        return self.tools.get(tool_id) or {"toolCallId": tool_id}

    def _progress(self, tool_id: str) -> None:
        tool = self.tools[tool_id]
        status = tool.get("status")
        if tool_id not in self._shown and (tool.get("rawInput") or tool.get("content") or status in (
            "in_progress", *FINISHED)):
            self._show(tool_id)
        if status in FINISHED and tool_id not in self._finished:
            self._show(tool_id)
            self._finished.add(tool_id)
            self.sink.emit({
                "type": "tool_result",
                "tool_use_id": tool_id,
                "content": tool_result_text(tool, self.terminal_output()),
                "is_error": status == "failed",
            })

    def _show(self, tool_id: str) -> None:
        if tool_id in self._shown:
            return
        self.flush()
        self._shown.add(tool_id)
        name, tool_input = tool_use_of(self.tools[tool_id])
        self._assistant(tool_id, [{"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}])

    # ------------------------------------------------------------------ plan
    def plan(self, update: dict[str, Any]) -> None:
        """``plan``: the agent's plan as a ``TodoWrite`` call, as Claude shows its todo list."""
        self.flush()
        tool_id = f"acp-plan-{next(self._ids)}"
        todos = todos_of_plan(update.get("entries"))
        self._assistant(tool_id, [{"type": "tool_use", "id": tool_id, "name": "TodoWrite", "input": {"todos": todos}}])
        self.sink.emit({"type": "tool_result", "tool_use_id": tool_id, "content": "Plan updated", "is_error": False})

    # ------------------------------------------------------------------ end
    def finish(self, stop_reason: str, usage: Any = None, error: str | None = None) -> None:
        """Close what the turn left open and emit its ``result``."""
        self.flush()
        clean = error is None and stop_reason in CLEAN_STOPS
        for tool_id in [t for t in self._shown if t not in self._finished]:
            self._finished.add(tool_id)
            self.sink.emit({
                "type": "tool_result",
                "tool_use_id": tool_id,
                # some agents never report the end of a call (codex-acp after an approval)
                "content": "The agent reported no result for this tool." if clean
                else f"The tool did not finish ({stop_reason}).",
                "is_error": not clean,
            })
        result: dict[str, Any] = {
            "type": "result",
            "is_error": error is not None or stop_reason not in CLEAN_STOPS,
            "stop_reason": stop_reason,
            "duration_ms": int((time.monotonic() - self.started_at) * 1000) if self.started_at else None,
            "num_turns": 1,
            "usage": usage_of(usage),
        }
        if self.cost_total is not None:
            result["cost_usd"] = round(max(0.0, self.cost_total - (self._cost_at_start or 0.0)), 6)
        if stop_reason == "cancelled":
            result["interrupted"] = True
        text = error or "\n\n".join(t for t in self.text if t) or STOP_MESSAGES.get(stop_reason, "")
        if text:
            result["text"] = text
        self.sink.emit(result)
        self.active = False
        self.tools.clear()
        self._shown.clear()
        self._finished.clear()

    def usage_update(self, update: dict[str, Any]) -> None:
        """``usage_update``: the context window's use (a ``session_update``) and the session's cost
        so far in USD (this turn's share goes into its ``result``)."""
        fields: dict[str, Any] = {}
        size, used = update.get("size"), update.get("used")
        if isinstance(size, int) and size > 0:
            fields["context_window"] = size
            if isinstance(used, int):
                fields["context_tokens"] = used
                fields["context_used_percent"] = round(100.0 * used / size, 1)
        cost = update.get("cost")
        if isinstance(cost, dict) and cost.get("currency", "USD") == "USD" and isinstance(cost.get("amount"), (int, float)):
            amount = float(cost["amount"])
            if self.cost_total is not None and amount < self.cost_total:
                self._cost_at_start = 0.0  # a relaunched agent counts from zero again
            self.cost_total = amount
        if fields:
            self.sink.update(fields)

    def _assistant(self, message_id: str, content: list[dict[str, Any]]) -> None:
        self.sink.emit({"type": "assistant", "message": {"id": message_id, "model": self.model(), "content": content}})
