"""Latency of a REAL ACP agent (``claude-agent-acp``, pinned), driven directly with the ACP SDK and
through the extension, in one run.

Both sides run the same agent binary with the same environment and folder against one scripted
Messages API on 127.0.0.1, and both keep their agent warm across turns. Turns alternate between
the sides (which one goes first alternates too).

- direct: this process drives the agent with the official SDK's ``ClientSideConnection`` over its
  own stdio, offering the same client capabilities as the extension; time from ``session/prompt`` to the first ``agent_message_chunk`` with text, and to
  the prompt's answer.
- extension: a real ``jupyter server`` with ``c.AcpBackend.agents``; the prompt is a
  ``user_message`` frame on the session's WebSocket; time to the first ``stream_delta`` frame, and
  to the ``result`` frame.

Target (issue 12, by analogy with issue 9): extension ≤ 1.05 × direct + 5 ms (first delta, median).

    python benchmarks/acp_latency.py [--turns 30] [--chunks 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support (scripted server, pinned agents)

from _common import disabled_plugin_args, start_server  # noqa: E402
from acp import PROTOCOL_VERSION, spawn_agent_process  # noqa: E402
from acp.schema import ClientCapabilities, FileSystemCapabilities, TextContentBlock  # noqa: E402
from real_cli_latency import ExtensionSession, alternate, report  # noqa: E402

from tests.support.anthropic_server import ScriptedAnthropic, Text  # noqa: E402
from tests.support.clis import claude_env, ensure_cli  # noqa: E402

AGENT = "claude-acp"


class DirectClient:
    """The smallest ACP client: stamps the first text chunk of the running prompt."""

    def __init__(self) -> None:
        self.first = 0

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        content = getattr(update, "content", None)
        if not self.first and getattr(update, "session_update", "") == "agent_message_chunk" and getattr(
                content, "text", ""):
            self.first = time.monotonic_ns()

    async def request_permission(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the benchmark's turns use no tools")


class DirectAgent:
    """The agent driven by this process through the SDK (the floor)."""

    def __init__(self, conn: Any, client: DirectClient, session_id: str):
        self.conn, self.client, self.session_id = conn, client, session_id

    async def turn(self, prompt: str) -> tuple[float, float]:
        self.client.first = 0
        start = time.monotonic_ns()
        await self.conn.prompt(session_id=self.session_id, prompt=[TextContentBlock(type="text", text=prompt)])
        return (self.client.first - start) / 1e6, (time.monotonic_ns() - start) / 1e6


async def run(args: argparse.Namespace) -> dict[str, Any]:
    agent = ensure_cli("claude-agent-acp")
    base = Path(tempfile.mkdtemp(prefix="companion-acp-latency-"))
    (base / "home").mkdir()
    with ScriptedAnthropic() as model:
        model.on(None, lambda req: Text(" ".join(f"word{i}" for i in range(args.chunks)), chunks=args.chunks))
        env = {k: v for k, v in claude_env(model.base_url, base / "home").items() if k != "IS_SANDBOX"}
        agents = json.dumps({AGENT: {"command": [agent]}})
        server = start_server(base=base / "server", env_extra=env, extra_args=[
            f"--AcpBackend.agents={agents}", "--CompanionApp.pr_poll_interval=0",
            *disabled_plugin_args(["echo", "broken_on_import", "raises_in_hook", "careless_routes"])])
        try:
            folder = server.root / "project"
            folder.mkdir()
            session = server.api("POST", "sessions", {"backend": AGENT, "cwd": "project"})
            client = DirectClient()
            async with spawn_agent_process(client, agent, env=env, cwd=str(folder)) as (conn, _proc):
                await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities(
                    fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True))
                opened = await conn.new_session(cwd=str(folder), mcp_servers=[])
                direct = DirectAgent(conn, client, opened.session_id)
                ext = ExtensionSession(server, session["id"])
                await ext.connect()
                return await alternate(direct, ext, args.turns, args.warmup)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30, help="measured turns per side (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured turns per side first (default 3)")
    parser.add_argument("--chunks", type=int, default=30, help="text deltas per answer (default 30)")
    args = parser.parse_args()
    os.environ.pop("CLAUDECODE", None)
    result = asyncio.run(run(args))
    report("acp_latency", f"Real claude-agent-acp, prompt -> first streamed delta, through the extension vs the "
                          f"ACP SDK directly, {args.turns} alternating warm turns each", result)

if __name__ == "__main__":
    main()
