"""What a conversation said, from its stored events, without what differs between two runs of the
same conversation (ids, times, costs, sequence numbers): for comparing a replay with its
original."""

from __future__ import annotations

from typing import Any


def conversation(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The texts, tool calls, permission requests, tool results and results, in order."""
    said: list[tuple[Any, ...]] = []
    for event in events:
        kind = event["type"]
        if kind == "user_message":
            said.append(("user", event.get("content")))
        elif kind == "assistant":
            for block in event["message"].get("content") or []:
                if block.get("type") == "text":
                    said.append(("text", block.get("text")))
                elif block.get("type") == "tool_use":
                    said.append(("tool_use", block.get("name"), block.get("input")))
        elif kind == "permission_request":
            said.append(("permission", event.get("tool_name"), event.get("input")))
        elif kind == "tool_result":
            said.append(("tool_result", bool(event.get("is_error"))))
        elif kind == "result":
            said.append(("result", bool(event.get("is_error")), event.get("text")))
    return said


async def play_turn(api: Any, connect: Any, session_id: str, text: str, allow: bool = False,
                    timeout: float = 120.0) -> None:
    """Send a prompt over the API and wait for its ``result``, allowing the one permission request
    it makes when ``allow``."""
    stream = await connect(session_id)
    await api("POST", "sessions", session_id, "messages", body={"content": text})
    if allow:
        request = await stream.until_type("permission_request", timeout=timeout)
        await api("POST", "sessions", session_id, "permissions", request["request_id"], body={"behavior": "allow"})
    await stream.until_type("result", timeout=timeout)
