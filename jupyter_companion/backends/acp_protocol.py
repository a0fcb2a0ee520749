"""Facts of the Agent Client Protocol and the pure mappings onto the event vocabulary.

Everything here works on ACP's wire form (camelCase dicts, as the agent sent them), so the
mappings can be checked against recorded messages of real agents without a process.
"""

from __future__ import annotations

import difflib
import shlex
from typing import Any

#: ``session/update`` kinds this client maps (``sessionUpdate`` values of the ACP schema).
KNOWN_UPDATES = frozenset(
    {
        "user_message_chunk",
        "agent_message_chunk",
        "agent_thought_chunk",
        "tool_call",
        "tool_call_update",
        "plan",
        "available_commands_update",
        "current_mode_update",
        "config_option_update",
        "session_info_update",
        "usage_update",
    }
)

#: Methods an agent may call on this client (requests and notifications).
CLIENT_METHODS = frozenset(
    {
        "session/update",
        "session/request_permission",
        "fs/read_text_file",
        "fs/write_text_file",
        "terminal/create",
        "terminal/output",
        "terminal/release",
        "terminal/wait_for_exit",
        "terminal/kill",
    }
)

#: ACP tool kinds → the tool names the UI already knows (Claude's names where one fits).
TOOL_NAMES = {
    "execute": "Bash",
    "edit": "Edit",
    "read": "Read",
    "search": "Grep",
    "fetch": "WebFetch",
    "delete": "Delete",
    "move": "Move",
    "think": "Think",
    "switch_mode": "SwitchMode",
}

#: ``stopReason`` values that end a turn without an error.
CLEAN_STOPS = frozenset({"end_turn"})
#: What a stop reason that is not ``end_turn`` means, for the ``result`` text.
STOP_MESSAGES = {
    "max_tokens": "The agent stopped: the model reached its output token limit.",
    "max_turn_requests": "The agent stopped: it reached its limit of model requests for one turn.",
    "refusal": "The agent refused to continue.",
    "cancelled": "Stopped.",
}

#: Our permission modes → ACP mode ids that mean the same, in order of preference (agents
#: name their modes freely; these are the ids the known agents use).
MODE_ALIASES: dict[str, tuple[str, ...]] = {
    "default": ("default", "ask", "auto", "agent", "code", "build"),
    "acceptEdits": ("acceptEdits", "auto", "agent", "code", "build"),
    "plan": ("plan", "read-only", "architect", "ask"),
    "bypassPermissions": ("bypassPermissions", "full-access", "yolo"),
}

#: ``kind`` of a permission option → whether choosing it allows the tool.
ALLOW_KINDS = ("allow_once", "allow_always")
DENY_KINDS = ("reject_once", "reject_always")


def agent_mode_for(mode: str, available: list[str]) -> str | None:
    """The agent's mode id for our permission ``mode`` (None when it has no such mode)."""
    for candidate in MODE_ALIASES.get(mode, (mode,)):
        if candidate in available:
            return candidate
    return None


def our_mode_for(agent_mode: str, available: list[str], current: str) -> str | None:
    """Our permission mode for the agent's mode id (``current`` when it already maps there)."""
    if agent_mode_for(current, available) == agent_mode:
        return current
    for ours in MODE_ALIASES:
        if agent_mode_for(ours, available) == agent_mode:
            return ours
    return None


def text_of_content(block: Any) -> str:
    """The text of one ACP content block (text, resource, resource link; others named)."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text") or "")
    if kind == "resource_link":
        return f"[{block.get('name') or block.get('uri')}]({block.get('uri')})"
    if kind == "resource":
        resource = block.get("resource") or {}
        return str(resource.get("text") or f"[resource {resource.get('uri', '')}]")
    if kind in ("image", "audio"):
        return f"[{kind} {block.get('mimeType', '')}]".replace(" ]", "]")
    return ""


def unwrap_command(command: Any) -> str:
    """A command as a user reads it: argv lists joined, ``bash -lc '<script>'`` unwrapped."""
    if isinstance(command, list):
        parts = [str(p) for p in command]
        if len(parts) == 3 and parts[0].rsplit("/", 1)[-1] in ("bash", "sh", "zsh") and parts[1] in ("-lc", "-c"):
            return parts[2]
        return shlex.join(parts)
    return str(command or "")


def _diffs(tool: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in tool.get("content") or [] if isinstance(c, dict) and c.get("type") == "diff"]


def _first_path(tool: dict[str, Any], raw: dict[str, Any]) -> str | None:
    for key in ("file_path", "path", "filePath", "abs_path", "notebook_path"):
        if isinstance(raw.get(key), str):
            return str(raw[key])
    locations = tool.get("locations") or []
    if locations and isinstance(locations[0], dict) and locations[0].get("path"):
        return str(locations[0]["path"])
    return None


def unified_diff(path: str, old: str | None, new: str) -> str:
    """A unified diff of one file change (``old`` None: a new file)."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(lines)


def tool_use_of(tool: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(name, input)`` of the ``tool_use`` block that shows an ACP tool call.

    ``execute`` → ``Bash {command, description?}``; ``edit`` → ``Write {file_path, content}`` for
    one new file, ``Edit {file_path, old_string, new_string}`` for one change, ``Edit {file_path,
    changes: [{path, kind, diff}]}`` for several; ``read`` → ``Read {file_path}``; ``search`` →
    ``Grep``; ``fetch`` → ``WebFetch``; an unknown kind keeps the agent's title as its name. The
    title is kept as ``title`` and the agent's own input as ``raw_input`` where they add something.
    """
    kind = str(tool.get("kind") or "other")
    raw = tool.get("rawInput")
    raw = raw if isinstance(raw, dict) else ({} if raw is None else {"value": raw})
    title = str(tool.get("title") or "")
    name = TOOL_NAMES.get(kind) or title or "Tool"
    path = _first_path(tool, raw)
    tool_input: dict[str, Any]
    if kind == "execute":
        command = unwrap_command(raw.get("command") or raw.get("cmd")) or title
        tool_input = {"command": command}
        if raw.get("description"):
            tool_input["description"] = str(raw["description"])
    elif kind == "edit":
        diffs = _diffs(tool)
        if len(diffs) == 1 and diffs[0].get("oldText") is None and diffs[0].get("path"):
            name = "Write"
            tool_input = {"file_path": str(diffs[0]["path"]), "content": str(diffs[0].get("newText") or "")}
        elif len(diffs) == 1 and diffs[0].get("path"):
            tool_input = {
                "file_path": str(diffs[0]["path"]),
                "old_string": str(diffs[0].get("oldText") or ""),
                "new_string": str(diffs[0].get("newText") or ""),
            }
        elif diffs:
            changes = [
                {
                    "path": str(d.get("path")),
                    "kind": "add" if d.get("oldText") is None else "update",
                    "diff": unified_diff(str(d.get("path")), d.get("oldText"), str(d.get("newText") or "")),
                }
                for d in diffs
            ]
            tool_input = {"file_path": changes[0]["path"], "changes": changes}
        else:
            tool_input = {k: v for k, v in raw.items()}
            if path:
                tool_input.setdefault("file_path", path)
    elif kind == "read":
        tool_input = {"file_path": path or title}
    elif kind == "search":
        tool_input = {"pattern": str(raw.get("pattern") or raw.get("query") or title)}
        if path:
            tool_input["path"] = path
    elif kind == "fetch":
        tool_input = {"url": str(raw.get("url") or title)}
    else:
        tool_input = dict(raw)
        if path:
            tool_input.setdefault("file_path", path)
    if title and title != name and title not in tool_input.values():
        tool_input.setdefault("title", title)
    if raw and kind in ("execute", "read", "search", "fetch") and set(raw) - set(tool_input):
        tool_input["raw_input"] = raw
    return name, tool_input


def tool_result_text(tool: dict[str, Any], terminal_output: dict[str, str] | None = None) -> str:
    """What a finished tool call produced, as text: its content blocks (diffs summarized,
    terminals by their output), else its ``rawOutput``."""
    parts: list[str] = []
    for item in tool.get("content") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "content":
            text = text_of_content(item.get("content"))
            if text:
                parts.append(text)
        elif kind == "diff":
            parts.append(f"{'Created' if item.get('oldText') is None else 'Edited'} {item.get('path')}")
        elif kind == "terminal":
            output = (terminal_output or {}).get(str(item.get("terminalId")))
            if output:
                parts.append(output)
    if parts:
        return "\n".join(parts)
    raw = tool.get("rawOutput")
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict):
        for key in ("formatted_output", "aggregated_output", "output", "stdout", "result", "content"):
            if isinstance(raw.get(key), str) and raw[key]:
                return str(raw[key])
    return "" if raw is None else str(raw)[:10_000]


def todos_of_plan(entries: Any) -> list[dict[str, str]]:
    """ACP plan entries as the ``TodoWrite`` todo list the UI shows."""
    todos = []
    for entry in entries or []:
        if isinstance(entry, dict):
            status = str(entry.get("status") or "pending")
            todos.append({
                "content": str(entry.get("content") or ""),
                "status": status if status in ("pending", "in_progress", "completed") else "pending",
            })
    return todos


def usage_of(usage: Any) -> dict[str, int] | None:
    """A ``PromptResponse.usage`` in the vocabulary's usage shape (Anthropic field names)."""
    if not isinstance(usage, dict):
        return None
    shown = {
        "input_tokens": int(usage.get("inputTokens") or 0),
        "output_tokens": int(usage.get("outputTokens") or 0),
    }
    if usage.get("cachedReadTokens") is not None:
        shown["cache_read_input_tokens"] = int(usage["cachedReadTokens"])
    if usage.get("cachedWriteTokens") is not None:
        shown["cache_creation_input_tokens"] = int(usage["cachedWriteTokens"])
    return shown


def select_option(config_options: Any, category: str) -> dict[str, Any] | None:
    """The agent's ``select`` config option of a category (``model``, ``mode``), if it has one."""
    for option in config_options or []:
        if isinstance(option, dict) and option.get("category") == category and option.get("type", "select") == "select":
            return option
    return None


def choices_of(option: dict[str, Any] | None) -> list[dict[str, str]]:
    """The choices of a select config option as ``[{id, label, description?}]`` (groups flattened)."""
    choices: list[dict[str, str]] = []
    for item in (option or {}).get("options") or []:
        if not isinstance(item, dict):
            continue
        nested = item.get("options")
        for choice in nested if isinstance(nested, list) else [item]:
            if isinstance(choice, dict) and choice.get("value") is not None:
                shown = {"id": str(choice["value"]), "label": str(choice.get("name") or choice["value"])}
                if choice.get("description"):
                    shown["description"] = str(choice["description"])
                choices.append(shown)
    return choices


def models_of(session: dict[str, Any]) -> tuple[list[dict[str, str]], str | None]:
    """The models a ``session/new`` (or load) answer offers, and the current one.

    Read from the ``model`` config option, or from the older ``models`` field."""
    option = select_option(session.get("configOptions"), "model")
    if option is not None:
        current = option.get("currentValue")
        return choices_of(option), str(current) if current is not None else None
    models = session.get("models")
    if isinstance(models, dict):
        listed = [
            {"id": str(m.get("modelId")), "label": str(m.get("name") or m.get("modelId"))}
            for m in models.get("availableModels") or []
            if isinstance(m, dict) and m.get("modelId")
        ]
        current = models.get("currentModelId")
        return listed, str(current) if current is not None else None
    return [], None


def modes_of(session: dict[str, Any]) -> tuple[list[dict[str, str]], str | None]:
    """The modes a ``session/new`` (or load) answer offers, and the current one."""
    modes = session.get("modes")
    if isinstance(modes, dict):
        listed = [
            {"id": str(m.get("id")), "label": str(m.get("name") or m.get("id"))}
            for m in modes.get("availableModes") or []
            if isinstance(m, dict) and m.get("id")
        ]
        current = modes.get("currentModeId")
        return listed, str(current) if current is not None else None
    option = select_option(session.get("configOptions"), "mode")
    if option is not None:
        current = option.get("currentValue")
        return choices_of(option), str(current) if current is not None else None
    return [], None
