"""Validation of a create-session request body (``POST sessions``).

Every field is optional: a missing field, ``null`` or an empty string means "the default". A field
that is present with a value of the wrong type or form is a 400, never silently replaced by a
default.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..backends.base import PERMISSION_MODES
from ..errors import ApiError
from ..events import ENV_NAME, MODEL_NAME

if TYPE_CHECKING:
    from .orchestrator import Orchestrator

_TOOL_RULE = re.compile(r"[^\x00-\x1f\x7f]{1,500}")
_CLI_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def _given(body: dict[str, Any], key: str) -> Any:
    """The value of ``key``, or None when it is missing, null or an empty string."""
    value = body.get(key)
    return None if value is None or value == "" else value


def _string(body: dict[str, Any], key: str, what: str) -> str | None:
    value = _given(body, key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be {what}")
    return value


def validate_create(orch: Orchestrator, body: Any) -> dict[str, Any]:
    """The create options of ``body`` (ApiError 400 on anything malformed or unknown)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    backend = _string(body, "backend", "the name of a backend") or orch.config.default_backend
    if backend not in orch.backends:
        known = ", ".join(sorted(orch.backends)) or "none"
        raise ApiError(400, f"unknown backend {backend[:50]!r} (known: {known})")
    mode = _given(body, "permission_mode") or orch.settings.value("default_permission_mode") or "default"
    if mode not in PERMISSION_MODES:
        raise ApiError(400, f"'permission_mode' must be one of {', '.join(PERMISSION_MODES)}")
    model = _string(body, "model", "a model name") or orch.settings.value("default_model") or None
    if model is not None and not MODEL_NAME.fullmatch(model):
        raise ApiError(400, "'model' is not a valid model name")
    name = _string(body, "name", "a string of at most 200 characters")
    if name is not None and len(name) > 200:
        raise ApiError(400, "'name' must be a string of at most 200 characters")
    tools = _given(body, "allowed_tools")
    tools = [] if tools is None else tools
    if not isinstance(tools, list) or not all(isinstance(t, str) and _TOOL_RULE.fullmatch(t) for t in tools):
        raise ApiError(400, "'allowed_tools' must be a list of tool rules")
    env = _given(body, "env")
    env = {} if env is None else env
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and ENV_NAME.fullmatch(k) and isinstance(v, str) and "\x00" not in v for k, v in env.items()
    ):
        raise ApiError(400, "'env' must map variable names to string values")
    sandbox = _string(body, "sandbox", "the name of a sandbox") or orch.config.default_sandbox
    chosen_sandbox = orch.sandboxing.choose(sandbox, body.get("sandbox_profile"))
    resume = _string(body, "resume_session", "a CLI session id")
    if resume is not None and not _CLI_SESSION_ID.fullmatch(resume):
        raise ApiError(400, "'resume_session' must be a CLI session id")
    for flag in ("create_branch", "worktree", "fork"):
        if body.get(flag) is not None and not isinstance(body.get(flag), bool):
            raise ApiError(400, f"'{flag}' must be true or false")
    branch = _string(body, "branch", "a string")
    _string(body, "recording", "the id of a recording")  # the replay backend's; checked further there
    speed = body.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float))):
        raise ApiError(400, "'speed' must be a number")
    profile = _string(body, "env_profile", "the name of an env profile")
    if profile:
        orch.settings.profile_env(profile)  # 400 when unknown; its values are read at each launch
    return {
        "backend": backend, "permission_mode": mode, "model": model, "name": name,
        "allowed_tools": tools, "env": env, "sandbox": chosen_sandbox, "resume": resume,
        "fork": bool(body.get("fork")), "branch": branch,
        "create_branch": bool(body.get("create_branch")), "worktree": bool(body.get("worktree")),
        "env_profile": profile,
    }
