"""One Codex turn as events: its items (messages, reasoning, tools, plans), streamed deltas, usage,
and the ``result`` that ends it.

:class:`CodexTurn` keeps what a turn has shown so far and maps the item and stream notifications of
``codex app-server`` onto the events of ``API.md`` (through the adapter's sink). Turn lifecycle
notifications (``turn/started``, ``turn/completed``) are the adapter's, which calls
:meth:`CodexTurn.begin` and :meth:`CodexTurn.finish`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .base import AdapterSink
from .codex_protocol import TOOL_ITEMS, merge_usage, tool_result_of, tool_use_of, usage_of


class CodexTurn:
    """The running turn of one Codex thread (``active`` False between turns)."""

    def __init__(self, sink: AdapterSink, model: Callable[[], str | None]):
        self.sink = sink
        self.model = model
        self.active = False
        self.turn_id: str | None = None
        self.started_at = 0.0
        self.text: list[str] = []
        self.usage: dict[str, Any] | None = None
        self.items: dict[str, dict[str, Any]] = {}
        self._tool_uses: set[str] = set()
        self._tool_results: set[str] = set()
        self._partial_text: dict[str, list[str]] = {}
        self._plan_count = 0
        #: Messages of ``error`` notifications already shown during this turn.
        self.reported_errors: set[str] = set()

    def begin(self) -> None:
        """A new turn starts (a prompt was handed over, or Codex announced one)."""
        self.active = True
        self.started_at = time.monotonic()
        self.text = []
        self.usage = None
        self.reported_errors = set()

    def finish(self, status: str, error: Any, duration_ms: Any) -> None:
        """Close what the turn left open and emit its ``result`` (and an ``error`` if it failed)."""
        self._close_open_items(status)
        if duration_ms is None and self.started_at:
            duration_ms = int((time.monotonic() - self.started_at) * 1000)
        if status == "failed":
            message = error.get("message") if isinstance(error, dict) else None
            if not message or message not in self.reported_errors:  # not said twice
                self.sink.emit({"type": "error", "message": message or "The Codex turn failed"})
        result: dict[str, Any] = {
            "type": "result",
            "is_error": status != "completed",
            "status": status,
            "duration_ms": duration_ms,
            "num_turns": 1,
            "usage": self.usage,
        }
        if status == "interrupted":
            result["interrupted"] = True
        text = "\n\n".join(t for t in self.text if t)
        if status == "failed" and isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        if text:
            result["text"] = text
        self.sink.emit(result)
        self.active = False
        self.turn_id = None

    def _close_open_items(self, status: str) -> None:
        """Store what an interrupted/failed turn left open: partial text, unfinished tools."""
        for item_id, parts in self._partial_text.items():
            text = "".join(parts)
            if text:
                self.text.append(text)
                self._emit_assistant(item_id, [{"type": "text", "text": text}])
        self._partial_text.clear()
        for item_id in sorted(self._tool_uses - self._tool_results):
            self.sink.emit(
                {
                    "type": "tool_result",
                    "tool_use_id": item_id,
                    "content": f"The tool did not finish (turn {status}).",
                    "is_error": True,
                }
            )
        self._tool_uses.clear()
        self._tool_results.clear()
        self.items.clear()

    # ------------------------------------------------------------------ notifications
    def agent_delta(self, params: dict[str, Any]) -> None:
        """``item/agentMessage/delta``: a transient text delta (kept for an interrupted turn)."""
        if params.get("itemId") is not None:
            self._partial_text.setdefault(str(params["itemId"]), []).append(str(params.get("delta", "")))
        self._delta("text", params)

    def reasoning_delta(self, params: dict[str, Any]) -> None:
        """``item/reasoning/*Delta``: a transient thinking delta."""
        self._delta("thinking", params)

    def _delta(self, kind: str, params: dict[str, Any]) -> None:
        self.sink.emit(
            {"type": "stream_delta", "kind": kind, "text": str(params.get("delta", "")), "message_id": params.get("itemId")}
        )

    def plan_updated(self, params: dict[str, Any]) -> None:
        """``turn/plan/updated``: the plan as a ``TodoWrite`` tool call, as Claude shows its todo list."""
        self._plan_count += 1
        status_map = {"inProgress": "in_progress", "pending": "pending", "completed": "completed"}
        todos = [
            {
                "content": str(step.get("step", "")),
                "status": status_map.get(str(step.get("status")), "pending"),
            }
            for step in params.get("plan") or []
            if isinstance(step, dict)
        ]
        tool_id = f"plan-{params.get('turnId') or 'turn'}-{self._plan_count}"
        self._emit_assistant(
            tool_id, [{"type": "tool_use", "id": tool_id, "name": "TodoWrite", "input": {"todos": todos}}]
        )
        explanation = params.get("explanation")
        self.sink.emit(
            {
                "type": "tool_result",
                "tool_use_id": tool_id,
                "content": explanation or "Plan updated",
                "is_error": False,
            }
        )

    def token_usage(self, params: dict[str, Any]) -> None:
        """``thread/tokenUsage/updated``: the turn's usage (its ``result`` carries it; the session
        adds results up) and the context window's use."""
        token_usage = params.get("tokenUsage") or {}
        last = usage_of(token_usage.get("last"))
        if last is not None:
            self.usage = merge_usage(self.usage, last)
        fields: dict[str, Any] = {}
        if token_usage.get("modelContextWindow") is not None:
            fields["context_window"] = token_usage["modelContextWindow"]
        if last is not None:
            fields["context_tokens"] = last["input_tokens"] + last["output_tokens"]
        if fields:
            self.sink.update(fields)

    def item_started(self, params: dict[str, Any]) -> None:
        """``item/started``: a tool call shows as soon as it starts."""
        item = params.get("item") or {}
        if item.get("id") is None:
            return
        self.items[str(item["id"])] = item
        if item.get("type") in TOOL_ITEMS and item.get("type") != "webSearch":
            self.ensure_tool_use(item)

    def item_completed(self, params: dict[str, Any]) -> None:
        """``item/completed``: a whole message, reasoning, plan text or tool result."""
        item = params.get("item") or {}
        kind = item.get("type")
        item_id = str(item.get("id", ""))
        self.items[item_id] = item
        if kind == "agentMessage":
            self._partial_text.pop(item_id, None)
            text = str(item.get("text") or "")
            self.text.append(text)
            self._emit_assistant(item_id, [{"type": "text", "text": text}])
        elif kind == "reasoning":
            thinking = "\n\n".join(
                str(x) for x in (item.get("summary") or []) + (item.get("content") or []) if x
            )
            if thinking:
                self._emit_assistant(item_id, [{"type": "thinking", "thinking": thinking}])
        elif kind == "plan":
            text = str(item.get("text") or "")
            if text:
                self._emit_assistant(item_id, [{"type": "text", "text": text}])
        elif kind in TOOL_ITEMS:
            self.ensure_tool_use(item)
            if item_id not in self._tool_results:
                self._tool_results.add(item_id)
                content, is_error, extra = tool_result_of(item)
                self.sink.emit(
                    {
                        "type": "tool_result",
                        "tool_use_id": item_id,
                        "content": content,
                        "is_error": is_error,
                        **extra,
                    }
                )
        self.items.pop(item_id, None)

    def nothing(self, params: dict[str, Any]) -> None:
        """``item/plan/delta``: the plan arrives whole with ``item/completed``."""

    def ensure_tool_use(self, item: dict[str, Any]) -> None:
        """Emit the ``tool_use`` of a tool item once."""
        item_id = str(item.get("id", ""))
        if item_id in self._tool_uses:
            return
        self._tool_uses.add(item_id)
        name, tool_input = tool_use_of(item)
        self._emit_assistant(
            item_id, [{"type": "tool_use", "id": item_id, "name": name, "input": tool_input}]
        )

    def _emit_assistant(self, message_id: str, content: list[dict[str, Any]]) -> None:
        self.sink.emit(
            {"type": "assistant", "message": {"id": message_id, "model": self.model(), "content": content}}
        )


#: Notifications a :class:`CodexTurn` maps, by method.
TURN_NOTIFICATIONS: dict[str, Callable[[CodexTurn, dict[str, Any]], None]] = {
    "item/started": CodexTurn.item_started,
    "item/completed": CodexTurn.item_completed,
    "item/agentMessage/delta": CodexTurn.agent_delta,
    "item/reasoning/summaryTextDelta": CodexTurn.reasoning_delta,
    "item/reasoning/textDelta": CodexTurn.reasoning_delta,
    "item/plan/delta": CodexTurn.nothing,
    "turn/plan/updated": CodexTurn.plan_updated,
    "thread/tokenUsage/updated": CodexTurn.token_usage,
}
