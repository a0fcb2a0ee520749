"""One configured ACP agent (an entry of ``c.AcpBackend.agents``), as the adapter uses it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Variables never passed to an agent when the server runs as root: with ``IS_SANDBOX`` set,
#: Claude's ACP adapter asks Claude Code to skip permissions, which it refuses to do as root.
ROOT_UNSAFE_VARIABLES = ("IS_SANDBOX",)


@dataclass
class AgentDefinition:
    """One configured ACP agent (an entry of ``c.AcpBackend.agents``)."""

    name: str
    command: list[str]
    label: str = ""
    env: dict[str, str] = field(default_factory=dict)
    #: Start a new process (loading the session) before the prompt that follows a cancelled turn:
    #: for agents that answer that prompt wrongly (claude-agent-acp 0.23.1 ends it at once, then
    #: answers every prompt with the previous one's reply).
    relaunch_after_cancel: bool = False
    #: MCP servers handed to every session of the agent (``session/new`` and ``session/load``).
    mcp_servers: list[Any] = field(default_factory=list)
    #: Why the configured entry cannot be used (the backend is then shown as unavailable).
    problem: str = ""
    #: What sessions learned about the agent: ``version``, ``models`` (shared by the backend).
    learned: dict[str, Any] = field(default_factory=dict)
