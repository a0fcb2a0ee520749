"""ACP backends: every Agent Client Protocol agent as a backend (a plugin module).

``c.AcpBackend.agents = {NAME: {"command": [argv...], "label": ..., "env": {...}}}`` makes each
NAME a backend (``protocol: "acp"`` in ``GET status``), driven by :class:`~.acp_adapter.AcpAdapter`.
Left unset, the agents of :data:`KNOWN_AGENTS` whose command is on ``PATH`` are offered; set it to
``{}`` to offer none. The pieces, each in its module:

- :mod:`.acp_adapter` -- one agent process per session: handshake, session new/load, turns, commands;
- :mod:`.acp_transport` -- the SDK's transport over our line process (drift, a load's replay);
- :mod:`.acp_turn` -- a turn's updates as events; :mod:`.acp_protocol` -- protocol facts, pure mappings;
- :mod:`.acp_client` -- what the agent may ask of us: permissions, files (:mod:`.acp_fs`),
  terminals (:mod:`.acp_terminals`).

Models come from what the agent advertises in its session (its ``model`` config option): the
last session's list, else a short-lived probe session (cached for ten minutes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import time
from typing import Any

from acp.schema import HttpMcpServer, McpServerStdio, SseMcpServer
from pydantic import TypeAdapter, ValidationError
from traitlets import Dict, Float
from traitlets.config import Configurable

from ..hookspecs import hookimpl
from .acp_adapter import AcpAdapter
from .acp_definition import AgentDefinition
from .base import (
    AdapterSink,
    Availability,
    BackendAdapter,
    BackendError,
    BackendSpec,
    CommandWrapper,
    LaunchSpec,
    NullSink,
    agent_environment,
)

log = logging.getLogger("jupyter_companion.backends.acp")

#: Agents offered when ``c.AcpBackend.agents`` is not set, if their command is on PATH, with how to
#: install each (shown when a configured one is missing).
KNOWN_AGENTS: dict[str, dict[str, Any]] = {
    "gemini": {"command": ["gemini", "--experimental-acp"], "label": "Gemini CLI",
               "install": "npm install -g @google/gemini-cli"},
    "opencode": {"command": ["opencode", "acp"], "label": "OpenCode", "install": "npm install -g opencode-ai"},
    "goose": {"command": ["goose", "acp"], "label": "Goose", "install": "see block.github.io/goose"},
    "claude-acp": {"command": ["claude-agent-acp"], "label": "Claude (ACP)", "relaunch_after_cancel": True,
                   "install": "npm install -g @zed-industries/claude-agent-acp"},
    "codex-acp": {"command": ["codex-acp"], "label": "Codex (ACP)", "install": "npm install -g @zed-industries/codex-acp"},
    "kiro": {"command": ["kiro-cli", "acp"], "label": "Kiro", "install": "see kiro.dev"},
    "copilot": {"command": ["copilot", "--acp"], "label": "GitHub Copilot", "install": "npm install -g @github/copilot"},
}

#: The MCP servers an agent entry may hand to every session (ACP's ``McpServer`` union).
MCP_SERVERS: TypeAdapter[list[Any]] = TypeAdapter(list[McpServerStdio | HttpMcpServer | SseMcpServer])

#: What a backend name may look like.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
#: How long a model list is reused, and a failed probe remembered.
MODEL_CACHE_SECONDS = 600.0
MODEL_FAILURE_CACHE_SECONDS = 120.0
PROBE_TIMEOUT = 20.0


class AcpBackend(Configurable):
    """Configuration of the ACP backends (``c.AcpBackend.*``)."""

    agents = Dict(
        default_value=None,
        allow_none=True,
        help=(
            'ACP agents to offer as backends: {NAME: {"command": [argv...], "label": str, "env": {str: str}, '
            '"relaunch_after_cancel": bool, "mcp_servers": [ACP McpServer objects]}}. '
            "None (the default): the known agents (Gemini CLI, OpenCode, Goose, claude-agent-acp, codex-acp, "
            "Kiro, Copilot) whose command is on PATH. {}: none."
        ),
    ).tag(config=True)
    request_timeout = Float(
        60.0, help="Seconds to wait for an ACP agent to answer a request (not a prompt) before giving up."
    ).tag(config=True)

    def definitions(self) -> list[AgentDefinition]:
        """The agents to register: the configured ones (invalid entries logged and skipped), or
        the known agents found on PATH."""
        if self.agents is None:
            return [
                definition_of(name, {k: v for k, v in known.items() if k != "install"})
                for name, known in KNOWN_AGENTS.items()
                if shutil.which(known["command"][0])
            ]
        found = []
        for name, entry in self.agents.items():
            try:
                found.append(definition_of(str(name), entry))
            except ValueError as exc:
                log.error("c.AcpBackend.agents[%r] is ignored: %s", name, exc)
                if NAME_PATTERN.match(str(name)):  # shown as unavailable, with the reason
                    found.append(AgentDefinition(str(name), [], str(name), problem=str(exc)))
        return found


def definition_of(name: str, entry: Any) -> AgentDefinition:
    """One ``c.AcpBackend.agents`` entry, checked; ValueError says what is wrong."""
    if not NAME_PATTERN.match(name):
        raise ValueError("a name is 1-40 lower-case letters, digits, '.', '_' or '-'")
    if not isinstance(entry, dict):
        raise ValueError('expected {"command": [argv...], "label"?: str, "env"?: {}, "relaunch_after_cancel"?: bool, '
                         '"mcp_servers"?: []}')
    command = entry.get("command")
    if isinstance(command, str):
        command = [command]
    if not isinstance(command, list) or not command or not all(isinstance(a, str) and a for a in command):
        raise ValueError('"command" must be a non-empty list of strings (an argument list: no shell)')
    env = entry.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError('"env" must map names to strings')
    mcp_servers = entry.get("mcp_servers") or []
    try:
        checked = MCP_SERVERS.validate_python(mcp_servers)
    except ValidationError as exc:
        raise ValueError(f'"mcp_servers" must be a list of ACP McpServer objects: {exc.errors()[0]["msg"]}') from exc
    unknown = set(entry) - {"command", "label", "env", "relaunch_after_cancel", "mcp_servers"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    relaunch = entry.get("relaunch_after_cancel", known_agent(command[0]).get("relaunch_after_cancel", False))
    if not isinstance(relaunch, bool):
        raise ValueError('"relaunch_after_cancel" must be true or false')
    return AgentDefinition(name, list(command), str(entry.get("label") or name), dict(env), relaunch, checked)


def known_agent(command: str) -> dict[str, Any]:
    """The :data:`KNOWN_AGENTS` entry whose program ``command`` runs (by file name), or {}."""
    program = os.path.basename(command)
    return next((known for known in KNOWN_AGENTS.values() if known["command"][0] == program), {})


def resolve_command(command: str) -> str | None:
    """The executable of an agent's command (a path, or a name on PATH), or None."""
    if os.sep in command:
        return command if os.path.isfile(command) and os.access(command, os.X_OK) else None
    return shutil.which(command)


def check_agent(agent: AgentDefinition) -> Availability:
    """Whether the agent's command can be run here (its version once a session has reported it)."""
    if agent.problem:
        return Availability(False, reason=f"c.AcpBackend.agents[{agent.name!r}] is invalid: {agent.problem}")
    binary = resolve_command(agent.command[0])
    if binary is None:
        hint = known_agent(agent.command[0]).get("install", "")
        where = "" if os.sep in agent.command[0] else " on PATH"
        reason = f"{agent.command[0]} was not found{where}" + (f" ({hint})" if hint else "")
        return Availability(False, reason=reason)
    return Availability(True, version=agent.learned.get("version"), binary=binary)


async def probe_models(agent: AgentDefinition, timeout: float = PROBE_TIMEOUT) -> list[dict[str, str]]:
    """Open a short-lived session of the agent in a scratch folder to learn its models (kept in
    ``agent.learned``); BackendError when the agent cannot start."""
    with tempfile.TemporaryDirectory(prefix="companion-acp-probe-") as scratch:
        spec = LaunchSpec(session_id="probe", cwd=scratch, state_dir=scratch, env=agent_environment())
        adapter = AcpAdapter(spec, NullSink(), agent=agent, request_timeout=timeout)
        try:
            await adapter.start()
        finally:
            await adapter.stop()
    return list(agent.learned.get("models") or [])


def make_backend_spec(agent: AgentDefinition, config: AcpBackend) -> BackendSpec:
    """The :class:`BackendSpec` of one ACP agent."""

    def create_adapter(spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper) -> BackendAdapter:
        availability = check_agent(agent)
        if not availability.available:
            raise BackendError(availability.reason or f"{agent.label} cannot run here")
        return AcpAdapter(spec, sink, wrap, agent=agent, request_timeout=config.request_timeout,
                          client_version=_client_version())

    async def check() -> Availability:
        return check_agent(agent)

    lock = asyncio.Lock()

    async def list_models() -> list[dict[str, str]]:
        """What the agent's sessions advertise; a probe session when none has run lately."""
        async with lock:
            now = time.monotonic()
            fresh = now - agent.learned.get("models_at", -MODEL_CACHE_SECONDS) < MODEL_CACHE_SECONDS
            failed = now - agent.learned.get("probe_failed_at", -MODEL_FAILURE_CACHE_SECONDS) < MODEL_FAILURE_CACHE_SECONDS
            if not (fresh or failed) and check_agent(agent).available:
                try:
                    await probe_models(agent)
                except (BackendError, OSError) as exc:
                    log.info("the %s agent could not be asked for its models: %s", agent.name, exc)
                    agent.learned["probe_failed_at"] = now
            return list(agent.learned.get("models") or [])

    return BackendSpec(
        name=agent.name,
        label=agent.label or agent.name,
        create_adapter=create_adapter,
        check=check,
        models=[],
        list_models=list_models,
        protocol="acp",
        agent_modes=lambda: list(agent.learned.get("modes") or []),
    )


def _client_version() -> str:
    from .. import __version__

    return str(__version__)


@hookimpl
def register_backends(register: Any, app: Any) -> None:
    """Register one backend per ACP agent of ``c.AcpBackend.agents`` (or found on PATH)."""
    config = getattr(app, "config", None)
    backend = AcpBackend(config=config) if config is not None else AcpBackend()
    for agent in backend.definitions():
        try:
            register(make_backend_spec(agent, backend))
        except Exception:  # one bad agent must not hide the others
            log.exception("the ACP agent %r could not be registered", agent.name)
