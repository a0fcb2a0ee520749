"""Companion WebSockets send every frame at once (``TCP_NODELAY``): with Nagle's algorithm a small
frame -- a streamed delta -- could wait for the client's delayed ACK, which made the first delta
of a turn arrive tens of milliseconds late through the extension (``benchmarks/real_cli_latency.py``)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any


def nodelay(handler: Any) -> int:
    sock = handler.ws_connection.stream.socket
    return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def test_session_and_feed_sockets_send_frames_at_once(jp_serverapp: Any, api: Any, connect: Any,
                                                            jp_ws_fetch: Any, workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201
    stream = await connect(session["id"])
    await stream.until_type("phase")
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    [subscriber] = orch.sessions[session["id"]].subscribers
    assert nodelay(subscriber.send.__self__) == 1
    feed = await jp_ws_fetch("companion", "ws", "sessions")
    await asyncio.wait_for(feed.read_message(), 10)
    [send] = orch.feed._subscribers
    assert nodelay(send.__self__) == 1
    feed.close()
    stream.close()
