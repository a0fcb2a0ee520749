"""Ask the Claude Code CLI which credentials it would use, without talking to a model.

The CLI answers the ``initialize`` control request with an ``account`` object:
``apiKeySource`` (e.g. ``ANTHROPIC_API_KEY``, ``apiKeyHelper``) when it has an API key,
``tokenSource`` (``none`` or e.g. ``CLAUDE_CODE_OAUTH_TOKEN``, ``claude.ai``) for a login token and
``apiProvider`` (``firstParty``, ``bedrock``, ``vertex`` ...). The probe starts the CLI in a
scratch folder, sends ``initialize`` and closes its input, so the CLI exits on its own and
leaves nothing behind but the settings file it keeps in the user's home anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from typing import Any

from .base import Credentials
from .claude_protocol import LOGIN_HINT

#: What to tell a user whose Claude Code has no credentials.
NO_CREDENTIALS_HINT = f"Claude Code has no credentials here: {LOGIN_HINT}"
_PROBE_LINE_LIMIT = 16 * 1024 * 1024


def credentials_from_account(account: dict[str, Any] | None) -> Credentials:
    """Read the ``account`` object of the CLI's ``initialize`` answer."""
    account = account if isinstance(account, dict) else {}
    provider = str(account.get("apiProvider") or "firstParty")
    if provider != "firstParty":
        return Credentials(True, source=f"{provider} (configured outside Claude Code)")
    for field in ("apiKeySource", "tokenSource"):
        source = account.get(field)
        if isinstance(source, str) and source and source != "none":
            return Credentials(True, source=source)
    return Credentials(False, hint=NO_CREDENTIALS_HINT)


async def claude_credentials(binary: str, env: dict[str, str], timeout: float = 20.0) -> Credentials:
    """Start ``binary`` with ``env``, ask it ``initialize`` and read which credentials it found.

    Raises ``OSError`` when the CLI cannot be started and ``asyncio.TimeoutError`` when it does not
    answer within ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="companion-claude-probe-") as scratch:
        proc = await asyncio.create_subprocess_exec(
            binary, "--print", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
            cwd=scratch, env={**{k: v for k, v in env.items() if k != "CLAUDECODE"}, "DISABLE_AUTOUPDATER": "1"},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            limit=_PROBE_LINE_LIMIT,
        )
        try:
            return await asyncio.wait_for(_ask_initialize(proc), timeout)
        finally:
            await _close(proc)


async def _ask_initialize(proc: asyncio.subprocess.Process) -> Credentials:
    assert proc.stdin is not None and proc.stdout is not None
    request = {"type": "control_request", "request_id": "credentials-probe", "request": {"subtype": "initialize"}}
    proc.stdin.write((json.dumps(request) + "\n").encode())
    await proc.stdin.drain()
    while line := await proc.stdout.readline():
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict) and message.get("type") == "control_response":
                response = message.get("response") or {}
                if response.get("request_id") == "credentials-probe":
                    return credentials_from_account((response.get("response") or {}).get("account"))
    raise OSError("Claude Code exited before answering 'initialize'")


async def _close(proc: asyncio.subprocess.Process) -> None:
    """Let the CLI end by itself (closed input), killing it only if it lingers."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
