"""An agent definition as API.md describes it, checked field by field.

``POST``/``PUT agents`` bodies become records here; every refusal is a 400 that names the field.
The session fields (backend, model, folder, branch, sandbox ...) are checked exactly as a create
request's, because a run creates its session from them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from . import schedule

if TYPE_CHECKING:
    from ..sessions.orchestrator import Orchestrator

#: The placeholder a prompt may hold; the run's input replaces it.
PLACEHOLDER = "{{input}}"
_BRACES = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: Fields a run hands to the session it creates.
SESSION_FIELDS = ("backend", "model", "permission_mode", "cwd", "branch", "create_branch", "worktree",
                  "env_profile", "sandbox", "sandbox_profile", "allowed_tools")
OVERLAP_POLICIES = ("skip", "allow")
MAX_PROMPT_CHARS = 100_000


def _text(body: dict[str, Any], key: str, limit: int, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"'{key}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, f"'{key}' must be a string of at most {limit} characters")
    return value


def check_prompt(prompt: str) -> None:
    """400 when the prompt holds a ``{{...}}`` other than ``{{input}}`` (a misspelt placeholder)."""
    for match in _BRACES.finditer(prompt):
        if match.group(0) != PLACEHOLDER:
            raise ApiError(400, f"'prompt' holds {match.group(0)[:40]!r}: the only placeholder is {PLACEHOLDER}")


def _triggers(body: dict[str, Any]) -> dict[str, Any]:
    triggers = body.get("triggers") or {}
    if not isinstance(triggers, dict) or set(triggers) - {"schedule", "webhook"}:
        raise ApiError(400, "'triggers' must be {schedule?: {cron, timezone?, missed?}, webhook?: {enabled}}")
    checked: dict[str, Any] = {}
    when = triggers.get("schedule")
    if when is not None:
        if not isinstance(when, dict) or set(when) - {"cron", "timezone", "missed", "enabled"}:
            raise ApiError(400, "'triggers.schedule' must be {cron, timezone?, missed?}")
        timezone = when.get("timezone") or None
        if timezone is not None and not isinstance(timezone, str):
            raise ApiError(400, "'triggers.schedule.timezone' must be an IANA time zone name")
        try:
            schedule.check(str(when.get("cron") or ""), timezone)
        except schedule.ScheduleError as exc:
            field = "timezone" if "time zone" in str(exc) else "cron"
            raise ApiError(400, f"'triggers.schedule.{field}': {exc}") from exc
        missed = when.get("missed") or "run_once"
        if missed not in schedule.MISSED_POLICIES:
            raise ApiError(400, f"'triggers.schedule.missed' must be one of {', '.join(schedule.MISSED_POLICIES)}")
        checked["schedule"] = {"cron": " ".join(when["cron"].split()), "timezone": timezone, "missed": missed}
    hook = triggers.get("webhook")
    if hook is not None:
        if not isinstance(hook, dict) or not isinstance(hook.get("enabled", False), bool):
            raise ApiError(400, "'triggers.webhook' must be {enabled: true|false}")
        checked["webhook"] = {"enabled": bool(hook.get("enabled"))}
    return checked


def agent_record(orch: Orchestrator, body: Any, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The agent fields of a request body, checked (a PUT may leave fields out: they keep their
    value); ApiError 400 naming the field otherwise."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    merged = {**(existing or {}), **body}
    name = _text(merged, "name", 200, required=True)
    prompt = _text(merged, "prompt", MAX_PROMPT_CHARS, required=True)
    assert name is not None and prompt is not None
    check_prompt(prompt)
    description = _text(merged, "description", 2000)
    session_body = {key: merged.get(key) for key in SESSION_FIELDS}
    from ..sessions.create_request import validate_create

    opts = validate_create(orch, {k: v for k, v in session_body.items() if k != "cwd"})
    cwd = merged.get("cwd") or None
    if cwd is not None:
        if not isinstance(cwd, str):
            raise ApiError(400, "'cwd' must be a folder path")
        orch.folders.resolve_cwd(cwd)  # 400/403 now rather than at the first run
    for flag in ("enabled",):
        if merged.get(flag) is not None and not isinstance(merged.get(flag), bool):
            raise ApiError(400, f"'{flag}' must be true or false")
    overlap = merged.get("overlap") or "skip"
    if overlap not in OVERLAP_POLICIES:
        raise ApiError(400, f"'overlap' must be one of {', '.join(OVERLAP_POLICIES)}")
    sandbox = opts["sandbox"]["provider"] if isinstance(opts["sandbox"], dict) else str(opts["sandbox"])
    if opts["permission_mode"] == "bypassPermissions" and sandbox == "local" and not (
            orch.config.agents_bypass_without_sandbox):
        raise ApiError(400, "'permission_mode': an agent runs unattended, so bypassPermissions needs a sandbox "
                            "(set 'sandbox', or c.CompanionApp.agents_bypass_without_sandbox = True)")
    record = {
        "name": name, "description": description, "prompt": prompt,
        "backend": opts["backend"], "model": opts["model"], "permission_mode": opts["permission_mode"],
        "cwd": cwd, "branch": opts["branch"], "create_branch": opts["create_branch"], "worktree": opts["worktree"],
        "env_profile": opts["env_profile"], "sandbox": merged.get("sandbox") or None,
        "sandbox_profile": merged.get("sandbox_profile") or None, "allowed_tools": opts["allowed_tools"],
        "enabled": merged.get("enabled", True) is not False, "triggers": _triggers(merged), "overlap": overlap,
    }
    return record


def fill(prompt: str, run_input: str | None) -> str:
    """The prompt with its placeholder replaced by the input (an input without a placeholder is
    appended after a blank line)."""
    text = run_input or ""
    if PLACEHOLDER in prompt:
        return prompt.replace(PLACEHOLDER, text)
    return f"{prompt}\n\n{text}" if text else prompt
