"""Codex's approval requests: the server requests a session shows as ``permission_request`` events,
and the JSON-RPC answers that carry the user's decisions back."""

from __future__ import annotations

from typing import Any

from .base import BackendError
from .codex_protocol import approval_result, approval_tool


class CodexApprovals:
    """The approval requests of one app-server that wait for an answer, by request id."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self._pending)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._pending

    def ids(self) -> list[str]:
        """The pending request ids, oldest first."""
        return list(self._pending)

    def open(self, method: str, rpc_id: Any, params: dict[str, Any], item: dict[str, Any] | None) -> dict[str, Any]:
        """Remember a server request and answer the ``permission_request`` event that shows it."""
        request_id = str(rpc_id)
        tool_name, tool_input = approval_tool(method, params, item)
        self._pending[request_id] = {"method": method, "id": rpc_id, "params": params}
        event: dict[str, Any] = {
            "type": "permission_request",
            "request_id": request_id,
            "tool_name": tool_name,
            "input": tool_input,
        }
        reason = params.get("reason") or params.get("message")
        if reason:
            event["description"] = str(reason)
        item_id = params.get("itemId") or params.get("callId")
        if item_id:
            event["tool_use_id"] = str(item_id)
        return event

    def answer(
        self,
        request_id: str,
        allow: bool,
        updated_input: dict[str, Any] | None,
        for_session: bool,
        message: str | None = None,
    ) -> dict[str, Any]:
        """The JSON-RPC response to a pending request (forgotten from now on); BackendError when
        it is not pending."""
        pending = self._pending.pop(str(request_id), None)
        if pending is None:
            raise BackendError(f"No pending Codex request {request_id}")
        result = approval_result(pending["method"], pending["params"], allow, updated_input, for_session, message)
        return {"id": pending["id"], "result": result}

    def cancel(self, request_id: str) -> dict[str, Any] | None:
        """Forget a request the CLI withdrew; the ``permission_resolved`` event to emit, if it was pending."""
        if self._pending.pop(request_id, None) is None:
            return None
        return {"type": "permission_resolved", "request_id": request_id, "behavior": "cancelled", "by": "cli"}
