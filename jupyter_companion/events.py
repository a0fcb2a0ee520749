"""The normalized event and command vocabulary (API.md), in one place.

Every backend adapter emits these event types; every surface (panel, widgets, CLI, plugins)
consumes them. Commands are what clients send over the WebSocket; :func:`parse_command`
validates them and raises :class:`CommandError` with a message fit for the client.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any

from .backends.base import PERMISSION_MODES

#: Event types of API.md's minimum vocabulary.
EVENT_TYPES = frozenset(
    {
        "session_init",
        "phase",
        "user_message",
        "stream_delta",
        "assistant",
        "tool_result",
        "permission_request",
        "permission_resolved",
        "result",
        "error",
        "session_update",
        # extensions (API.md allows adding types)
        "system",
        "notice",
        "tool_progress",
    }
)

#: Events that are fanned out but never stored (they carry ``seq: null``).
TRANSIENT_TYPES = frozenset({"stream_delta", "tool_progress"})

PHASES = (
    "starting",
    "initializing",
    "ready",
    "streaming",
    "awaiting_permission",
    "compacting",
    "reconnecting",
    "terminated",
)

MAX_CONTENT_CHARS = 1_000_000
MAX_IMAGES = 20
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
#: A model name as the CLIs take it (``--model``); also guards ``set_model`` commands.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@\[\]-]{0,199}")
#: An environment variable name (use ``fullmatch``: no trailing line break slips through).
#: The id of a queued prompt (``queued_messages[].id``).
QUEUED_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")


def top_level_blocks(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The content blocks of an ``assistant`` event of the main agent (a subagent's, with a
    ``parent_tool_use_id``, and any other event give ``[]``); malformed blocks are skipped."""
    if event.get("type") != "assistant" or event.get("parent_tool_use_id"):
        return []
    message = event.get("message")
    blocks = message.get("content") if isinstance(message, dict) else None
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


def now_iso() -> str:
    """The current UTC time as an ISO-8601 string with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_ms() -> float:
    """The current time in milliseconds since the epoch."""
    return time.time() * 1000.0


class CommandError(ValueError):
    """A client command or request body is malformed; the message is safe to show."""


def has_lone_surrogate(value: Any) -> bool:
    """True when a decoded JSON value holds a string (or key) with an unpaired UTF-16 surrogate
    (``"\\ud800"`` is valid JSON, but such a string cannot be encoded as UTF-8: not for SQLite,
    not for a file name, not for a CLI's argv or environment)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _require_str(body: dict[str, Any], key: str, *, optional: bool = False, limit: int = 10_000) -> Any:
    value = body.get(key)
    if value is None:
        if optional:
            return None
        raise CommandError(f"'{key}' is required")
    if not isinstance(value, str):
        raise CommandError(f"'{key}' must be a string")
    if len(value) > limit:
        raise CommandError(f"'{key}' is too long (limit {limit} characters)")
    return value


def parse_images(raw: Any) -> list[dict[str, str]]:
    """Validate ``images: [{media_type, data}]`` of a user message."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CommandError("'images' must be a list")
    if len(raw) > MAX_IMAGES:
        raise CommandError(f"at most {MAX_IMAGES} images per message")
    images = []
    for image in raw:
        if not isinstance(image, dict):
            raise CommandError("each image must be an object {media_type, data}")
        media_type = image.get("media_type")
        data = image.get("data")
        if media_type not in IMAGE_MEDIA_TYPES:
            raise CommandError(f"image media_type must be one of {', '.join(IMAGE_MEDIA_TYPES)}")
        if not isinstance(data, str) or not data:
            raise CommandError("image data must be a non-empty base64 string")
        if len(data) > MAX_IMAGE_BYTES:
            raise CommandError("image is too large")
        if len(data) % 4 or not _BASE64.fullmatch(data):
            raise CommandError("image data must be base64 (standard alphabet, padded)")
        images.append({"media_type": media_type, "data": data})
    return images


def parse_user_message(body: dict[str, Any]) -> dict[str, Any]:
    """Validate the body of a user message (REST or WebSocket)."""
    content = _require_str(body, "content", limit=MAX_CONTENT_CHARS)
    images = parse_images(body.get("images"))
    if not content.strip() and not images:
        raise CommandError("'content' must not be empty")
    return {"content": content, "images": images, "client_msg_id": parse_client_msg_id(body)}


def parse_client_msg_id(body: dict[str, Any]) -> str | None:
    """Validate the optional ``client_msg_id`` of a command."""
    value = body.get("client_msg_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 200:
        raise CommandError("'client_msg_id' must be a non-empty string of at most 200 characters")
    return value


def parse_permission_response(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a permission decision (REST or WebSocket)."""
    behavior = body.get("behavior")
    if behavior not in ("allow", "deny"):
        raise CommandError("'behavior' must be 'allow' or 'deny'")
    updated_input = body.get("updated_input")
    if updated_input is not None and not isinstance(updated_input, dict):
        raise CommandError("'updated_input' must be an object")
    updated_permissions = body.get("updated_permissions")
    if updated_permissions is not None and not (
        isinstance(updated_permissions, list) and all(isinstance(p, dict) for p in updated_permissions)
    ):
        raise CommandError("'updated_permissions' must be a list of objects")
    return {
        "behavior": behavior,
        "updated_input": updated_input,
        "updated_permissions": updated_permissions,
        "message": _require_str(body, "message", optional=True),
        "client_msg_id": parse_client_msg_id(body),
    }


def parse_command(frame: Any) -> dict[str, Any]:
    """Validate one WebSocket command frame (already JSON-decoded)."""
    if not isinstance(frame, dict):
        raise CommandError("a command must be a JSON object")
    kind = frame.get("type")
    if kind == "user_message":
        return {"type": kind, **parse_user_message(frame)}
    if kind == "permission_response":
        request_id = _require_str(frame, "request_id", limit=200)
        return {"type": kind, "request_id": request_id, **parse_permission_response(frame)}
    if kind in ("interrupt", "retry"):
        return {"type": kind, "client_msg_id": parse_client_msg_id(frame)}
    if kind == "cancel_queued":
        queued_id = _require_str(frame, "queued_id", limit=64)
        if not QUEUED_ID.fullmatch(queued_id):
            raise CommandError("'queued_id' is not the id of a queued message")
        return {"type": kind, "queued_id": queued_id, "client_msg_id": parse_client_msg_id(frame)}
    if kind == "set_model":
        model = _require_str(frame, "model", limit=200)
        if not MODEL_NAME.fullmatch(model):
            raise CommandError("'model' is not a valid model name")
        return {"type": kind, "model": model, "client_msg_id": parse_client_msg_id(frame)}
    if kind == "set_permission_mode":
        mode = frame.get("mode")
        if mode not in PERMISSION_MODES:
            raise CommandError(f"'mode' must be one of {', '.join(PERMISSION_MODES)}")
        return {"type": kind, "mode": mode, "client_msg_id": parse_client_msg_id(frame)}
    if kind is None:
        raise CommandError("a command needs a 'type'")
    raise CommandError(f"unknown command type {str(kind)[:50]!r}")


def add_cost(total: Any, turn: Any) -> float:
    """A session's cost after one more turn: its ``cost_usd`` plus the ``result``'s (USD)."""
    base = float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else 0.0
    if isinstance(turn, (int, float)) and not isinstance(turn, bool):
        base += float(turn)
    return round(base, 10)


def add_usage(total: Any, turn: Any) -> dict[str, Any] | None:
    """A session's token usage after one more turn: every numeric field of the ``result``'s
    ``usage`` added to the session's (nested counters included); other fields are left out."""
    if not isinstance(turn, dict):
        return total if isinstance(total, dict) else None
    summed: dict[str, Any] = dict(total) if isinstance(total, dict) else {}
    for key, value in turn.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            previous = summed.get(key)
            summed[key] = (previous if isinstance(previous, (int, float)) and not isinstance(previous, bool) else 0) + value
        elif isinstance(value, dict):
            nested = add_usage(summed.get(key), value)
            if nested:
                summed[key] = nested
    return summed


def model_retrying(
    detail: str,
    *,
    attempt: int | None = None,
    max_attempts: int | None = None,
    http_status: int | None = None,
    retry_in_ms: float | None = None,
) -> dict[str, Any]:
    """The ``notice`` (code ``model_retrying``) every backend emits when its CLI could not reach
    its model and tries again: the CLI's own reason, in words, as soon as it reports it.

    Clients show the latest one with the turn's working indicator; a successful answer or the
    turn's ``result`` supersedes it.
    """
    progress = ""
    if attempt and max_attempts:
        progress = f", attempt {attempt} of {max_attempts}"
    elif attempt:
        progress = f", attempt {attempt}"
    event: dict[str, Any] = {
        "type": "notice", "level": "warning", "code": "model_retrying",
        "message": f"The model could not be reached ({detail}); retrying{progress}…",
        "detail": detail,
    }
    for key, value in (("attempt", attempt), ("max_attempts", max_attempts), ("http_status", http_status)):
        if value is not None:
            event[key] = value
    if retry_in_ms is not None:
        event["retry_in_ms"] = round(retry_in_ms)
    return event
