"""The client side of ACP for one session: what an agent may ask of us.

:class:`AcpClient` is the object the SDK's ``ClientSideConnection`` calls for every request or
notification the agent sends: ``session/update`` (handed to the adapter), ``session/request_permission``
(a ``permission_request`` event, answered from any surface through :class:`AcpPermissions`),
``fs/read_text_file`` and ``fs/write_text_file`` (confined to the session's folder, see
:mod:`.acp_fs`) and ``terminal/*`` (:mod:`.acp_terminals`). Refusals go back to the agent as
JSON-RPC errors; a refused write outside the folder is also shown to the user as a ``notice``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from acp.exceptions import RequestError
from acp.schema import (
    CreateTerminalResponse,
    KillTerminalResponse,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalOutputResponse,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

from .acp_fs import FileMissing, FileRefused, OutsideFolder, read_text, write_text
from .acp_protocol import ALLOW_KINDS, DENY_KINDS, tool_use_of
from .acp_terminals import TerminalError, Terminals
from .base import AdapterSink, BackendError

log = logging.getLogger("jupyter_companion.backends.acp")

#: How a permission request answered by nobody ends when the turn or the agent stops.
CANCELLED = {"outcome": "cancelled"}


def wire(model: Any) -> dict[str, Any]:
    """A pydantic model of the SDK in ACP's wire form (camelCase, no nulls)."""
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True) if hasattr(model, "model_dump") else model
    return dumped if isinstance(dumped, dict) else {}


class AcpPermissions:
    """The permission requests of one agent that wait for an answer, by request id."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[asyncio.Future[dict[str, Any]], list[dict[str, Any]]]] = {}

    def __bool__(self) -> bool:
        return bool(self._pending)

    def open(self, options: list[dict[str, Any]]) -> tuple[str, asyncio.Future[dict[str, Any]]]:
        """A new pending request: its id and the future its outcome arrives on."""
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, options)
        return request_id, future

    def answer(self, request_id: str, allow: bool, chosen: list[dict[str, Any]] | None) -> None:
        """Answer a pending request: the option the user picked (a suggestion carries its
        ``option_id``), else the agent's first ``allow_once``/``reject_once`` option."""
        pending = self._pending.pop(str(request_id), None)
        if pending is None:
            raise BackendError(f"No pending permission request {request_id}")
        future, options = pending
        kinds = ALLOW_KINDS if allow else DENY_KINDS
        picked = [str(c.get("option_id")) for c in chosen or [] if isinstance(c, dict) and c.get("option_id")]
        by_id = {str(o.get("optionId")): o for o in options}
        option = next((by_id[p] for p in picked if p in by_id and by_id[p].get("kind") in kinds), None)
        option = option or next((o for kind in kinds for o in options if o.get("kind") == kind), None)
        outcome = {"outcome": "selected", "optionId": option["optionId"]} if option else dict(CANCELLED)
        if not future.done():
            future.set_result(outcome)

    def cancel(self, request_id: str) -> bool:
        """Withdraw one request (its outcome: cancelled); False when it was not pending."""
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return False
        if not pending[0].done():
            pending[0].set_result(dict(CANCELLED))
        return True

    def ids(self) -> list[str]:
        """The pending request ids, oldest first."""
        return list(self._pending)


def suggestions_of(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agent's "always allow" options as suggestions the UI offers as buttons."""
    return [
        {"type": "acpOption", "option_id": o.get("optionId"), "kind": o.get("kind"), "label": str(o.get("name") or o.get("kind"))}
        for o in options
        if o.get("kind") == "allow_always"
    ]


class AcpClient:
    """What an agent may call on this client, for one session (the SDK's ``Client``)."""

    def __init__(
        self,
        sink: AdapterSink,
        root: str,
        terminals: Terminals,
        on_update: Callable[[dict[str, Any]], None],
        on_permission: Callable[[dict[str, Any], list[dict[str, Any]]], Any],
    ):
        self.sink = sink
        self.root = root
        self.terminals = terminals
        self.on_update = on_update
        self.on_permission = on_permission

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        """``session/update``: handed to the adapter in wire form."""
        self.on_update(wire(update))

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any], **_: Any) -> Any:
        """``session/request_permission``: asks the user (or a plugin) and answers with their choice."""
        outcome = await self.on_permission(wire(tool_call), [wire(o) for o in options])
        return RequestPermissionResponse.model_validate({"outcome": outcome})

    # ------------------------------------------------------------------ fs
    async def read_text_file(self, session_id: str, path: str, line: int | None = None, limit: int | None = None,
                             **_: Any) -> ReadTextFileResponse:
        """``fs/read_text_file`` inside the session's folder."""
        try:
            return ReadTextFileResponse(content=await read_text(self.root, path, line, limit))
        except OutsideFolder as exc:
            raise RequestError.invalid_params({"path": path, "details": str(exc)}) from exc
        except FileMissing as exc:
            raise RequestError.resource_not_found(path) from exc
        except FileRefused as exc:
            raise RequestError.invalid_params({"path": path, "details": str(exc)}) from exc

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> WriteTextFileResponse:
        """``fs/write_text_file`` inside the session's folder; a write outside is refused and shown."""
        try:
            await write_text(self.root, path, content)
        except OutsideFolder as exc:
            self.sink.emit({"type": "notice", "level": "warning", "code": "fs_write_refused",
                            "message": f"The agent asked to write {path}, outside the session folder: refused."})
            raise RequestError.invalid_params({"path": path, "details": str(exc)}) from exc
        except FileRefused as exc:
            raise RequestError.invalid_params({"path": path, "details": str(exc)}) from exc
        return WriteTextFileResponse()

    # ------------------------------------------------------------------ terminals
    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: list[Any] | None = None, cwd: str | None = None,
                              output_byte_limit: int | None = None, **_: Any) -> CreateTerminalResponse:
        """``terminal/create``: run an argument list in the session's folder (or below)."""
        variables = {str(v.name): str(v.value) for v in env or []}
        try:
            terminal_id = await self.terminals.create(command, list(args or []), variables, cwd, output_byte_limit)
        except TerminalError as exc:
            raise RequestError.invalid_params({"details": str(exc)}) from exc
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(self, session_id: str, terminal_id: str, **_: Any) -> TerminalOutputResponse:
        """``terminal/output``: what the command printed so far, and its exit status once ended."""
        terminal = self._terminal(terminal_id)
        return TerminalOutputResponse.model_validate(
            {"output": terminal.text(), "truncated": terminal.truncated, "exitStatus": terminal.exit_status})

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str, **_: Any) -> WaitForTerminalExitResponse:
        """``terminal/wait_for_exit``."""
        return WaitForTerminalExitResponse.model_validate(await self._terminal(terminal_id).wait())

    async def kill_terminal(self, session_id: str, terminal_id: str, **_: Any) -> KillTerminalResponse:
        """``terminal/kill``: stop the command, keep the terminal."""
        self._terminal(terminal_id).kill()
        return KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str, **_: Any) -> ReleaseTerminalResponse:
        """``terminal/release``: stop the command and forget the terminal."""
        await self.terminals.release(terminal_id)
        return ReleaseTerminalResponse()

    def _terminal(self, terminal_id: str) -> Any:
        try:
            return self.terminals.get(terminal_id)
        except TerminalError as exc:
            raise RequestError.invalid_params({"details": str(exc)}) from exc


def permission_event(request_id: str, tool_id: str, tool: dict[str, Any], options: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``permission_request`` event of an ACP permission request about tool call ``tool``."""
    name, tool_input = tool_use_of(tool)
    event: dict[str, Any] = {
        "type": "permission_request",
        "request_id": request_id,
        "tool_name": name,
        "input": tool_input,
        "tool_use_id": tool_id,
        "options": [{"option_id": o.get("optionId"), "name": o.get("name"), "kind": o.get("kind")} for o in options],
    }
    if tool.get("title"):
        event["description"] = str(tool["title"])
    suggestions = suggestions_of(options)
    if suggestions:
        event["suggestions"] = suggestions
    return event
