"""The Codex backend: configuration, availability, model listing and registration (a plugin module).

``codex app-server`` (JSON-RPC 2.0 over stdio) drives each session through
:class:`~.codex_adapter.CodexAdapter`. The pieces, each in its module:

- :mod:`.codex_adapter` -- one app-server per session: handshake, threads, turns, commands;
- :mod:`.codex_turns` -- a turn's items and stream notifications as events;
- :mod:`.codex_approvals` -- approval requests as permission requests, and their answers;
- :mod:`.codex_protocol` -- protocol facts and pure mappings (checked against the pinned CLI);
- :mod:`.codex_rpc` -- the JSON-RPC client; :mod:`.codex_home` -- per-session ``CODEX_HOME``.

Per-session ``CODEX_HOME``
    Codex keeps threads ("rollouts") under ``CODEX_HOME``, and a thread can only be resumed
    from the home that wrote it. Every session therefore gets ``<state_dir>/codex-home``, seeded
    once from the user's Codex home (``$CODEX_HOME`` or ``~/.codex``) with ``auth.json`` and
    ``config.toml`` only -- never the user's sessions or history. When the launch spec's ``env``
    names a ``CODEX_HOME`` of its own (tests, env profiles; not merely the server's inherited
    one) that folder is used as is.

Sandbox
    Codex confines commands with bubblewrap on Linux. Verified with the pinned CLI (0.169.0) on
    the development/CI machine, both with Debian's ``bubblewrap`` package (``/usr/bin/bwrap``,
    which ``scripts/test`` installs) and without it (Codex then prints a ``configWarning`` and
    uses the bubblewrap bundled in its npm package). The default sandbox is therefore
    ``workspace-write`` (commands may write inside the session's cwd only) and the end-to-end
    tests run with it. Codex will not create its sandbox helper under a temporary ``CODEX_HOME``,
    which breaks the system ``bwrap`` path: see :func:`~.codex_home.private_tmpdir_for_home`.
    Where user namespaces are unavailable (some containers) set ``c.CodexBackend.sandbox =
    "danger-full-access"``.

Configuration (traitlets): ``c.CodexBackend.binary``, ``.sandbox``, ``.request_timeout``,
``.user_home``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

from traitlets import Enum, Float, Unicode
from traitlets.config import Configurable

from ..hookspecs import hookimpl
from .base import (
    AdapterSink,
    Availability,
    BackendAdapter,
    BackendError,
    BackendSpec,
    CommandWrapper,
    Credentials,
    LaunchSpec,
    NullSink,
    agent_environment,
    find_binary,
)
from .codex_adapter import PLAN_MODE_NOTE, CodexAdapter
from .codex_home import private_tmpdir_for_home, seed_codex_home, user_codex_home
from .codex_protocol import (
    APPROVAL_REQUESTS,
    CLIENT_NOTIFICATIONS,
    CLIENT_REQUESTS,
    DYNAMIC_TOOL_REFUSAL,
    HANDLED_NOTIFICATIONS,
    HANDLED_SERVER_REQUESTS,
    IGNORED_NOTIFICATIONS,
    SANDBOX_MODES,
    SANDBOX_POLICIES,
    STATIC_MODELS,
    TOOL_ITEMS,
    approval_policy_for,
    approval_result,
    approval_tool,
    display_command,
    parse_version,
    sandbox_mode_for,
    tool_result_of,
    tool_use_of,
)
from .codex_rpc import CodexRPCError
from .ndjson import LineProcess

__all__ = [
    "APPROVAL_REQUESTS",
    "CLIENT_NOTIFICATIONS",
    "CLIENT_REQUESTS",
    "DYNAMIC_TOOL_REFUSAL",
    "HANDLED_NOTIFICATIONS",
    "HANDLED_SERVER_REQUESTS",
    "IGNORED_NOTIFICATIONS",
    "PLAN_MODE_NOTE",
    "SANDBOX_MODES",
    "SANDBOX_POLICIES",
    "STATIC_MODELS",
    "TOOL_ITEMS",
    "CodexAdapter",
    "CodexBackend",
    "CodexRPCError",
    "approval_policy_for",
    "approval_result",
    "approval_tool",
    "check_codex",
    "codex_credentials",
    "display_command",
    "list_codex_models",
    "make_backend_spec",
    "parse_version",
    "private_tmpdir_for_home",
    "register_backends",
    "sandbox_mode_for",
    "seed_codex_home",
    "tool_result_of",
    "tool_use_of",
    "user_codex_home",
]

log = logging.getLogger("jupyter_companion.backends.codex")

#: How long a successful ``model/list`` answer is reused.
MODEL_CACHE_SECONDS = 600.0
#: How long a failed ``model/list`` is remembered (the static list is answered meanwhile), so
#: repeated ``GET backends`` do not start a Codex process each time.
MODEL_FAILURE_CACHE_SECONDS = 120.0


class CodexBackend(Configurable):
    """Configuration of the Codex backend (``c.CodexBackend.*``)."""

    binary = Unicode("", help="The codex executable (a path or a name on PATH). Empty: 'codex' on PATH.").tag(
        config=True
    )
    sandbox = Enum(
        list(SANDBOX_MODES),
        default_value="workspace-write",
        help=(
            "Codex sandbox mode for new threads: read-only, workspace-write or danger-full-access. "
            "The sandbox needs bubblewrap (Codex falls back to a bundled copy); use "
            "danger-full-access where user namespaces are unavailable."
        ),
    ).tag(config=True)
    request_timeout = Float(
        60.0, help="Seconds to wait for Codex to answer a JSON-RPC request before giving up."
    ).tag(config=True)
    user_home = Unicode(
        "",
        help="The user's Codex home to seed per-session homes from (auth.json, config.toml). "
        "Empty: $CODEX_HOME or ~/.codex.",
    ).tag(config=True)

    def resolve_binary(self) -> str | None:
        """Absolute path of the configured/default codex binary, or None."""
        if self.binary and os.path.isabs(self.binary):
            return self.binary if os.access(self.binary, os.X_OK) else None
        return find_binary(self.binary or None, "codex")


# ---------------------------------------------------------------------- backend registration
async def check_codex(binary: str | None, timeout: float = 20.0) -> Availability:
    """Whether ``codex`` can run here: found, executable and answering ``--version``."""
    if not binary:
        return Availability(
            False, reason="The codex CLI was not found on PATH (npm install -g @openai/codex)"
        )
    try:
        proc = await asyncio.create_subprocess_exec(
            binary, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return Availability(False, reason=f"{binary} --version failed: {exc or 'timeout'}", binary=binary)
    if proc.returncode != 0:
        detail = (err or out).decode("utf-8", "replace").strip()[-300:]
        return Availability(
            False, reason=f"{binary} --version exited {proc.returncode}: {detail}", binary=binary
        )
    return Availability(True, version=parse_version(out.decode("utf-8", "replace")), binary=binary)


@contextlib.asynccontextmanager
async def scratch_app_server(
    binary: str, *, user_home: str = "", timeout: float = 30.0, env: dict[str, str] | None = None
) -> AsyncIterator[CodexAdapter]:
    """A short-lived, initialized ``codex app-server`` to ask questions (``model/list``,
    ``account/read``), yielded as an adapter whose ``request`` sends them.

    Runs against a scratch ``CODEX_HOME`` seeded like a session's, so the user's home is never
    written to. Raises ``BackendError`` when the CLI cannot be started.
    """
    with tempfile.TemporaryDirectory(prefix="companion-codex-probe-") as scratch:
        spec = LaunchSpec(session_id="probe", cwd=scratch, state_dir=scratch, env=env if env is not None else agent_environment())
        adapter = CodexAdapter(spec, NullSink(), binary=binary, request_timeout=timeout, user_home=user_home)
        argv, run_env, cwd = adapter.wrap([binary, "app-server"], adapter._environment(), scratch)
        adapter._proc = LineProcess(
            argv, cwd=cwd, env=run_env, on_message=adapter.handle_message, on_exit=lambda *_: None
        )
        try:
            await adapter._proc.start()
            await adapter.request("initialize", {"clientInfo": {"name": "jupyter_companion", "version": "0"}})
            await adapter._send({"method": "initialized"})
            yield adapter
        except OSError as exc:
            raise BackendError(f"Could not start Codex: {exc}") from exc
        finally:
            await adapter.stop()


async def list_codex_models(
    binary: str, *, user_home: str = "", timeout: float = 30.0, env: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Ask a short-lived ``codex app-server`` for its models (``model/list``) as ``[{id, label}]``.

    Raises ``BackendError`` when the CLI cannot answer.
    """
    async with scratch_app_server(binary, user_home=user_home, timeout=timeout, env=env) as server:
        models: list[dict[str, str]] = []
        cursor: str | None = None
        for _page in range(10):
            result = await server.request("model/list", {"cursor": cursor} if cursor else {})
            for entry in (result or {}).get("data") or []:
                if entry.get("hidden"):
                    continue
                model_id = str(entry.get("id") or entry.get("model"))
                models.append({"id": model_id, "label": str(entry.get("displayName") or model_id)})
            cursor = (result or {}).get("nextCursor")
            if not cursor:
                break
        return models


#: What to tell a user whose Codex has no credentials.
NO_CREDENTIALS_HINT = (
    "Codex has no credentials here: run 'codex login' in a terminal, or set OPENAI_API_KEY for the "
    "server (c.CompanionApp.cli_env) or in an environment profile."
)
#: Environment variables Codex reads an API key from.
API_KEY_VARIABLES = ("OPENAI_API_KEY", "CODEX_API_KEY")


def credentials_from_account(answer: dict[str, Any] | None, env: dict[str, str]) -> Credentials:
    """Read Codex's ``account/read`` answer (``{account, requiresOpenaiAuth}``)."""
    answer = answer if isinstance(answer, dict) else {}
    account = answer.get("account")
    if isinstance(account, dict) and account.get("type"):
        kind = str(account["type"])
        label = {"apiKey": "API key (auth.json)", "chatgpt": "ChatGPT account"}.get(kind, kind)
        return Credentials(True, source=label)
    if answer.get("requiresOpenaiAuth") is False:
        return Credentials(True, source="model provider from config.toml")
    for name in API_KEY_VARIABLES:
        if env.get(name):
            return Credentials(True, source=name)
    return Credentials(False, hint=NO_CREDENTIALS_HINT)


async def codex_credentials(
    binary: str, env: dict[str, str], *, user_home: str = "", timeout: float = 20.0
) -> Credentials:
    """Ask a short-lived ``codex app-server`` (``account/read``) which credentials it has."""
    async with scratch_app_server(binary, user_home=user_home, timeout=timeout, env=env) as server:
        return credentials_from_account(await server.request("account/read", {}), env)


def _client_version() -> str:
    from .. import __version__

    return str(__version__)


def make_backend_spec(config: CodexBackend) -> BackendSpec:
    """The ``codex`` :class:`BackendSpec` for a configuration."""

    def create_adapter(spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper,
                       binary: str | None = None) -> BackendAdapter:
        binary = binary or config.resolve_binary()
        if binary is None:
            raise BackendError("The codex CLI was not found (set c.CodexBackend.binary or put codex on PATH)")
        return CodexAdapter(
            spec,
            sink,
            wrap,
            binary=binary,
            sandbox=config.sandbox,
            request_timeout=config.request_timeout,
            user_home=config.user_home,
            client_version=_client_version(),
        )

    async def check() -> Availability:
        return await check_codex(config.resolve_binary())

    cache: dict[str, Any] = {}
    lock = asyncio.Lock()

    async def list_models() -> list[dict[str, str]]:
        """``model/list`` of a short-lived app-server; answers (failures too) are reused for a while,
        and concurrent callers share one process."""
        binary = config.resolve_binary()
        if binary is None:
            return list(STATIC_MODELS)
        async with lock:
            if cache.get("binary") == binary and time.monotonic() < cache.get("until", 0.0):
                return list(cache["models"])
            try:
                models = await list_codex_models(
                    binary, user_home=config.user_home, timeout=min(config.request_timeout, 10.0)
                )
            except BackendError as exc:
                log.info("model/list failed, using the static list: %s", exc)
                models = []
            ttl = MODEL_CACHE_SECONDS if models else MODEL_FAILURE_CACHE_SECONDS
            cache.update(binary=binary, until=time.monotonic() + ttl, models=models or list(STATIC_MODELS))
            return list(cache["models"])

    async def check_credentials(env: dict[str, str]) -> Credentials:
        binary = config.resolve_binary()
        if binary is None:
            raise OSError("the codex CLI is not installed")
        return await codex_credentials(binary, env, user_home=config.user_home, timeout=config.request_timeout)

    return BackendSpec(
        name="codex",
        label="Codex",
        create_adapter=create_adapter,
        replay_adapter=lambda spec, sink, wrap: create_adapter(spec, sink, wrap, binary=sys.executable),
        check=check,
        models=list(STATIC_MODELS),
        list_models=list_models,
        check_credentials=check_credentials,
        protocol="codex-app-server",
    )


@hookimpl
def register_backends(register: Any, app: Any) -> None:
    """Register the ``codex`` backend, configured by ``c.CodexBackend`` of the app's config."""
    config = getattr(app, "config", None)
    backend = CodexBackend(config=config) if config is not None else CodexBackend()
    register(make_backend_spec(backend))
