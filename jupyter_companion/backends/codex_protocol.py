"""Codex app-server protocol facts and pure mappings onto the events of ``API.md``.

Everything here is data in, data out (no process, no I/O): the method sets the adapter sends and
handles (checked against the pinned CLI's generated schema by ``tests/test_codex_drift.py``), the
mapping of Codex thread items onto ``tool_use``/``tool_result`` blocks, and the JSON-RPC answers
to Codex's approval requests.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from ..events import model_retrying
from .base import BackendError

#: Client → server requests the adapter sends (checked against the CLI's schema by a test).
CLIENT_REQUESTS = frozenset(
    {
        "initialize",
        "thread/start",
        "thread/resume",
        "thread/fork",
        "turn/start",
        "turn/interrupt",
        "model/list",
        "account/read",
    }
)
#: Client → server notifications the adapter sends.
CLIENT_NOTIFICATIONS = frozenset({"initialized"})

#: Notifications mapped onto events, phases or session updates.
MAPPED_NOTIFICATIONS = frozenset(
    {
        "thread/started",
        "thread/status/changed",
        "turn/started",
        "turn/completed",
        "item/started",
        "item/completed",
        "item/agentMessage/delta",
        "item/reasoning/summaryTextDelta",
        "item/reasoning/textDelta",
        "item/plan/delta",
        "turn/plan/updated",
        "thread/tokenUsage/updated",
        "account/rateLimits/updated",
        "serverRequest/resolved",
        "error",
        "model/rerouted",
    }
)
#: Notifications known to carry nothing a session needs (consumed silently, never drift).
IGNORED_NOTIFICATIONS = frozenset(
    {
        "item/commandExecution/outputDelta",
        "item/commandExecution/terminalInteraction",
        "item/fileChange/outputDelta",
        "item/fileChange/patchUpdated",
        "item/mcpToolCall/progress",
        "item/reasoning/summaryPartAdded",
        "turn/diff/updated",
        "thread/compacted",
        "thread/name/updated",
        "thread/archived",
        "thread/unarchived",
        "thread/closed",
        "thread/readState/changed",
        "thread/settings/updated",
        "skills/changed",
        "mcpServer/startupStatus/updated",
        "account/updated",
        "configWarning",
        "deprecationNotice",
        "warning",
        "guardianWarning",
        "remoteControl/status/changed",
        "hook/started",
        "hook/completed",
        "fs/changed",
        "app/list/updated",
    }
)
#: Every notification the adapter understands.
HANDLED_NOTIFICATIONS = MAPPED_NOTIFICATIONS | IGNORED_NOTIFICATIONS

#: Server requests shown to the user as a ``permission_request``, with their tool name.
APPROVAL_REQUESTS: dict[str, str] = {
    "item/commandExecution/requestApproval": "Bash",
    "item/fileChange/requestApproval": "Edit",
    "item/permissions/requestApproval": "RequestPermissions",
    "item/tool/requestUserInput": "AskUserQuestion",
    "mcpServer/elicitation/request": "McpElicitation",
    "applyPatchApproval": "Edit",
    "execCommandApproval": "Bash",
}
#: Server requests answered by the adapter itself (unsupported here: a polite refusal).
REFUSED_SERVER_REQUESTS = frozenset(
    {"item/tool/call", "account/chatgptAuthTokens/refresh", "attestation/generate"}
)
#: The answer to ``item/tool/call``: this client registers no dynamic tools.
DYNAMIC_TOOL_REFUSAL: dict[str, Any] = {
    "contentItems": [{"type": "inputText", "text": "This client provides no dynamic tools."}],
    "success": False,
}
#: Every server request the adapter answers without reporting drift.
HANDLED_SERVER_REQUESTS = frozenset(APPROVAL_REQUESTS) | REFUSED_SERVER_REQUESTS

#: Shown in the new-session form when the CLI cannot be asked (``model/list``).
STATIC_MODELS: list[dict[str, str]] = [
    {"id": "gpt-6.1-sol", "label": "GPT-6.1-Sol"},
    {"id": "gpt-6-astra", "label": "GPT-6-Astra"},
    {"id": "gpt-6-sol", "label": "GPT-6-Sol"},
    {"id": "gpt-6-luna", "label": "GPT-6-Luna"},
    {"id": "gpt-5.5", "label": "GPT-5.5"},
]

SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")
METHOD_NOT_FOUND = -32601

_VERSION_RE = re.compile(r"(\d+\.\d+\.\d+[\w.+-]*)")


def approval_policy_for(mode: str) -> str:
    """Codex ``approvalPolicy`` for a permission mode of API.md."""
    if mode == "bypassPermissions":
        return "never"
    if mode == "acceptEdits":
        return "on-request"
    return "untrusted"


#: ``turn/start`` ``sandboxPolicy`` objects for the ``thread/start`` sandbox modes.
SANDBOX_POLICIES: dict[str, dict[str, Any]] = {
    "read-only": {"type": "readOnly"},
    "workspace-write": {"type": "workspaceWrite"},
    "danger-full-access": {"type": "dangerFullAccess"},
}


def sandbox_mode_for(mode: str, configured: str) -> str:
    """The sandbox for a permission mode: ``plan`` never writes (read-only), others use ``configured``."""
    return "read-only" if mode == "plan" else configured


def parse_version(text: str) -> str | None:
    """The first ``x.y.z`` in a ``--version`` output or a ``userAgent``."""
    match = _VERSION_RE.search(text or "")
    return match.group(1) if match else None


def display_command(command: Any) -> str:
    """A readable command: unwraps Codex's ``/bin/bash -lc '<script>'`` and joins argv lists."""
    if isinstance(command, list):
        return shlex.join(str(part) for part in command)
    text = str(command or "")
    try:
        parts = shlex.split(text)
    except ValueError:
        return text
    if len(parts) == 3 and os.path.basename(parts[0]) in ("bash", "sh", "zsh") and parts[1] in ("-lc", "-c"):
        return parts[2]
    return text


def usage_of(token_usage: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(token_usage, dict):
        return None
    return {
        "input_tokens": token_usage.get("inputTokens", 0),
        "cached_input_tokens": token_usage.get("cachedInputTokens", 0),
        "output_tokens": token_usage.get("outputTokens", 0),
        "reasoning_output_tokens": token_usage.get("reasoningOutputTokens", 0),
        "total_tokens": token_usage.get("totalTokens", 0),
    }


def merge_usage(total: dict[str, Any] | None, last: dict[str, Any]) -> dict[str, Any]:
    if total is None:
        return dict(last)
    return {key: total.get(key, 0) + value for key, value in last.items()}


TOOL_ITEMS = frozenset(
    {
        "commandExecution",
        "fileChange",
        "mcpToolCall",
        "webSearch",
        "dynamicToolCall",
        "collabAgentToolCall",
        "imageView",
    }
)


def _change(path: Any, kind: Any, diff: Any) -> dict[str, Any]:
    """One file of a Codex patch: ``{path, kind, diff}`` plus ``move_path`` for a rename."""
    change: dict[str, Any] = {
        "path": str(path or ""),
        "kind": kind.get("type") if isinstance(kind, dict) else kind,
        "diff": diff or "",
    }
    if isinstance(kind, dict) and kind.get("move_path"):
        change["move_path"] = str(kind["move_path"])
    return change


def _file_change_tool(changes: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    norm = [
        _change(change.get("path"), change.get("kind"), change.get("diff"))
        for change in changes
        if isinstance(change, dict)
    ]
    if len(norm) == 1 and norm[0]["kind"] == "add":
        return "Write", {"file_path": norm[0]["path"], "content": norm[0]["diff"]}
    first = norm[0]["path"] if norm else ""
    return "Edit", {"file_path": first, "changes": norm}


def tool_use_of(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The tool name and input of a Codex tool item, in the vocabulary of API.md."""
    kind = item.get("type")
    if kind == "commandExecution":
        tool_input: dict[str, Any] = {"command": display_command(item.get("command"))}
        if item.get("cwd"):
            tool_input["cwd"] = item["cwd"]
        return "Bash", tool_input
    if kind == "fileChange":
        return _file_change_tool(item.get("changes") or [])
    if kind == "mcpToolCall":
        arguments = item.get("arguments")
        return f"mcp__{item.get('server')}__{item.get('tool')}", arguments if isinstance(
            arguments, dict
        ) else {"arguments": arguments}
    if kind == "webSearch":
        return "WebSearch", {"query": item.get("query") or ""}
    if kind == "collabAgentToolCall":
        return "Task", {"tool": item.get("tool"), "prompt": item.get("prompt") or ""}
    if kind == "dynamicToolCall":
        arguments = item.get("arguments")
        return str(item.get("tool") or "tool"), arguments if isinstance(arguments, dict) else {
            "arguments": arguments
        }
    if kind == "imageView":
        return "ViewImage", {"path": item.get("path")}
    return str(kind), {}


def tool_result_of(item: dict[str, Any]) -> tuple[Any, bool, dict[str, Any]]:
    """``(content, is_error, extra fields)`` of the ``tool_result`` for a completed tool item."""
    kind = item.get("type")
    status = item.get("status")
    if kind == "commandExecution":
        exit_code = item.get("exitCode")
        if status == "declined":
            return "The user declined to run this command.", True, {"exit_code": exit_code}
        output = str(item.get("aggregatedOutput") or "")
        is_error = status == "failed" or (exit_code not in (None, 0))
        return output, is_error, {"exit_code": exit_code}
    if kind == "fileChange":
        if status == "declined":
            return "The user declined these file changes.", True, {}
        paths = ", ".join(str(c.get("path")) for c in item.get("changes") or [] if isinstance(c, dict))
        failed = status == "failed"
        return (
            (f"Failed to apply changes to {paths}" if failed else f"Applied changes to {paths}"),
            failed,
            {},
        )
    if kind == "mcpToolCall":
        if item.get("error"):
            return str((item["error"] or {}).get("message", "MCP tool failed")), True, {}
        result = item.get("result") or {}
        blocks = result.get("content") if isinstance(result, dict) else None
        if isinstance(blocks, list):
            text = "\n".join(
                str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"
            )
            return text, status == "failed", {}
        return str(result), status == "failed", {}
    if kind == "dynamicToolCall":
        texts = [str(c.get("text", "")) for c in item.get("contentItems") or [] if isinstance(c, dict)]
        return "\n".join(texts), item.get("success") is False, {}
    if kind == "collabAgentToolCall":
        return str(item.get("agentsStates") or ""), status == "failed", {}
    return "", status == "failed", {}


def approval_tool(
    method: str, params: dict[str, Any], item: dict[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """Tool name and input shown for a Codex approval request."""
    if method == "item/commandExecution/requestApproval":
        command = params.get("command") or (item or {}).get("command")
        tool_input: dict[str, Any] = {"command": display_command(command)}
        if params.get("cwd") or (item or {}).get("cwd"):
            tool_input["cwd"] = params.get("cwd") or (item or {}).get("cwd")
        if params.get("networkApprovalContext"):
            tool_input["network"] = params["networkApprovalContext"]
        return "Bash", tool_input
    if method == "item/fileChange/requestApproval":
        if item is not None and item.get("type") == "fileChange":
            return _file_change_tool(item.get("changes") or [])
        return "Edit", {"file_path": params.get("grantRoot") or "", "changes": []}
    if method == "execCommandApproval":
        return "Bash", {"command": display_command(params.get("command")), "cwd": params.get("cwd")}
    if method == "applyPatchApproval":
        changes = [
            _change(path, change, (change or {}).get("unified_diff") or (change or {}).get("content", ""))
            for path, change in (params.get("fileChanges") or {}).items()
            if isinstance(change, dict) or change is None
        ]
        return "Edit", {"file_path": changes[0]["path"] if changes else "", "changes": changes}
    if method == "item/permissions/requestApproval":
        return "RequestPermissions", {
            "permissions": params.get("permissions") or {},
            "cwd": params.get("cwd"),
        }
    if method == "item/tool/requestUserInput":
        return "AskUserQuestion", {"questions": params.get("questions") or []}
    if method == "mcpServer/elicitation/request":
        keys = ("serverName", "mode", "message", "requestedSchema", "url")
        return "McpElicitation", {key: params[key] for key in keys if key in params}
    return APPROVAL_REQUESTS.get(method, method), dict(params)


def _answers(updated_input: dict[str, Any] | None) -> dict[str, Any]:
    raw = (updated_input or {}).get("answers") or {}
    answers: dict[str, Any] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, dict) and "answers" in value:
                answers[str(key)] = {"answers": [str(v) for v in value["answers"]]}
            elif isinstance(value, list):
                answers[str(key)] = {"answers": [str(v) for v in value]}
            else:
                answers[str(key)] = {"answers": [str(value)]}
    return answers


def approval_result(
    method: str,
    params: dict[str, Any],
    allow: bool,
    updated_input: dict[str, Any] | None = None,
    for_session: bool = False,
    message: str | None = None,
) -> dict[str, Any]:
    """The JSON-RPC ``result`` answering a Codex server request with the user's decision."""
    if method in ("item/commandExecution/requestApproval", "item/fileChange/requestApproval"):
        # "decline" refuses and lets the turn go on (like a Claude deny). The pinned CLI leaves it
        # out of ``availableDecisions`` yet accepts it (verified), so it is always sent for deny;
        # "acceptForSession" is only sent when offered.
        available = params.get("availableDecisions")
        if not allow:
            decision = "decline"
        elif for_session and (not isinstance(available, list) or "acceptForSession" in available):
            decision = "acceptForSession"
        else:
            decision = "accept"
        return {"decision": decision}
    if method in ("execCommandApproval", "applyPatchApproval"):
        if allow:
            return {"decision": "approved_for_session" if for_session else "approved"}
        # The pinned schema's ReviewDecision carries the reason: {"denied": {"rejection": ...}}.
        return {"decision": {"denied": {"rejection": message or "Denied by the user."}}}
    if method == "item/permissions/requestApproval":
        if not allow:
            return {"permissions": {}, "scope": "turn"}
        return {"permissions": params.get("permissions") or {}, "scope": "session" if for_session else "turn"}
    if method == "item/tool/requestUserInput":
        return {"answers": _answers(updated_input) if allow else {}}
    if method == "mcpServer/elicitation/request":
        if allow:
            return {"action": "accept", "content": (updated_input or {}).get("content")}
        return {"action": "decline", "content": None}
    raise BackendError(f"Cannot answer a Codex {method} request")


_ATTEMPT = re.compile(r"(\d+)\s*/\s*(\d+)")


def error_code_of(error: dict[str, Any]) -> tuple[str | None, int | None]:
    """``codexErrorInfo`` as a stable code and an HTTP status: the info is either a name
    (``"unauthorized"``) or ``{name: {httpStatusCode}}``."""
    info = error.get("codexErrorInfo")
    if isinstance(info, str):
        return info, None
    if isinstance(info, dict) and len(info) == 1:
        name, details = next(iter(info.items()))
        status = details.get("httpStatusCode") if isinstance(details, dict) else None
        return str(name), status if isinstance(status, int) and not isinstance(status, bool) else None
    return None, None


def error_message_of(error: dict[str, Any]) -> str:
    """The words of a Codex ``error``: its message, with the CLI's own details when they add any."""
    message = str(error.get("message") or "Codex error")
    details = error.get("additionalDetails")
    if isinstance(details, str) and details.strip() and details.strip() not in message:
        return f"{message} ({details.strip()})"
    return message


def retry_notice_of(error: dict[str, Any]) -> dict[str, Any]:
    """An ``error`` notification with ``willRetry: true`` ("Reconnecting... 2/5", "Reconnecting...
    waiting for network") as the ``model_retrying`` notice, carrying the CLI's reason."""
    message = str(error.get("message") or "")
    details = error.get("additionalDetails")
    detail = details.strip() if isinstance(details, str) and details.strip() else message or "no answer"
    _code, status = error_code_of(error)
    attempt = _ATTEMPT.search(message)
    notice = model_retrying(
        detail,
        attempt=int(attempt.group(1)) if attempt else None,
        max_attempts=int(attempt.group(2)) if attempt else None,
        http_status=status,
    )
    if "waiting for network" in message:
        notice["message"] = f"The model could not be reached ({detail}); waiting for the network…"
    return notice
