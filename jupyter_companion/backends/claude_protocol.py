"""Facts of the Claude Code stream-json protocol and pure mappings from it (no process, no I/O).

The command line of a session's CLI, the message kinds that need no event, and the ``system
api_retry`` line as the ``model_retrying`` notice. Used by :mod:`.claude`.
"""

from __future__ import annotations

from typing import Any

from ..events import model_retrying
from .base import LaunchSpec

MODELS = [
    {"id": "default", "label": "Default (the CLI's choice)"},
    {"id": "opus", "label": "Claude Opus (latest)"},
    {"id": "sonnet", "label": "Claude Sonnet (latest)"},
    {"id": "haiku", "label": "Claude Haiku (latest)"},
]

#: CLI line types that need no event of their own.
QUIET_TYPES = frozenset({"keep_alive", "auth_status", "prompt_suggestion", "tool_use_summary", "streamlined_text",
                          "streamlined_tool_use_summary", "transcript_mirror", "conversation_reset"})
#: ``system`` subtypes kept out of the stored log (too chatty).
QUIET_SYSTEM = frozenset({"hook_progress", "session_state_changed", "task_progress"})


def build_argv(binary: str, spec: LaunchSpec, extra_args: list[str]) -> list[str]:
    """The command line of a session's CLI."""
    argv = [
        binary, "--print", "--input-format", "stream-json", "--output-format", "stream-json",
        "--verbose", "--include-partial-messages", "--permission-prompt-tool", "stdio",
    ]
    if spec.model and spec.model != "default":
        argv += ["--model", spec.model]
    if spec.permission_mode and spec.permission_mode != "default":
        argv += ["--permission-mode", spec.permission_mode]
    for rule in spec.allowed_tools:
        argv += ["--allowedTools", rule]
    if spec.system_prompt:
        argv += ["--append-system-prompt", spec.system_prompt]
    if spec.resume_id:
        argv.append(f"--resume={spec.resume_id}")
        if spec.fork:
            argv.append("--fork-session")
    return argv + list(extra_args)


#: How to give Claude Code credentials, from Jupyter.
LOGIN_HINT = (
    "run 'claude' in a terminal and log in with /login, or set ANTHROPIC_API_KEY for the server "
    "(c.CompanionApp.cli_env) or in an environment profile."
)


def login_error(msg: dict[str, Any]) -> dict[str, Any] | None:
    """The ``error`` event for an ``assistant`` line the CLI wrote because it has no valid
    credentials (``error: authentication_failed``; its text says to run /login, which a Jupyter
    user does in a terminal). None for any other line."""
    if msg.get("error") != "authentication_failed":
        return None
    blocks = (msg.get("message") or {}).get("content") or []
    said = " ".join(str(b.get("text")) for b in blocks if isinstance(b, dict) and b.get("type") == "text").strip()
    return {"type": "error", "code": "authentication_failed", "retry": True,
            "message": f"Claude Code could not log in to its model{f' ({said})' if said else ''}: {LOGIN_HINT} "
                       "Then Retry."}


#: Claude Code's names for why a model request failed, in words.
API_ERROR_WORDS = {
    "authentication_failed": "the API key or login was refused",
    "billing_error": "a billing problem with the account",
    "rate_limit": "rate limited",
    "overloaded": "the model is overloaded",
    "server_error": "the model's server failed",
    "invalid_request": "the request was refused",
    "max_output_tokens": "the answer hit the output limit",
}


def api_retry_notice(msg: dict[str, Any]) -> dict[str, Any]:
    """A ``system api_retry`` line (``attempt, max_retries, retry_delay_ms, error_status, error``)
    as the ``model_retrying`` notice."""
    status = msg.get("error_status") if isinstance(msg.get("error_status"), int) else None
    reason = str(msg.get("error") or "unknown")
    words = API_ERROR_WORDS.get(reason) or ("no connection to the model's server" if status is None else reason)
    detail = f"{words}, HTTP {status}" if status is not None else words

    def number(key: str) -> Any:
        value = msg.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return model_retrying(
        detail, attempt=number("attempt"), max_attempts=number("max_retries"), http_status=status,
        retry_in_ms=number("retry_delay_ms"),
    )


def command_infos(commands: Any) -> list[dict[str, str]]:
    """The ``commands`` of the CLI's ``initialize`` answer (``[{name, description, argumentHint}]``)
    as ``[{name, description, argument_hint?}]``, for the composer's command menu."""
    out = []
    for command in commands if isinstance(commands, list) else []:
        if not isinstance(command, dict) or not isinstance(command.get("name"), str) or not command["name"]:
            continue
        info = {"name": command["name"], "description": str(command.get("description") or "")}
        if isinstance(command.get("argumentHint"), str) and command["argumentHint"]:
            info["argument_hint"] = command["argumentHint"]
        out.append(info)
    return out
