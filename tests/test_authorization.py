"""Jupyter's ``execute`` action guards everything that runs code through an agent (as for kernels and
terminals): starting a session, sending a prompt, answering a permission request, switching the
permission mode, relaunching. ``write`` alone tidies (rename, interrupt, kill, archive); ``read``
watches, and a watch-only subscriber never brings a CLI back to life."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from tornado.websocket import WebSocketHandler

from tests.test_security import companion_routes, concrete_paths, implemented_methods

pytestmark = pytest.mark.timeout(180)


#: ``(method, route suffix)`` of the REST calls that need ``execute``.
EXECUTE_ROUTES = {("post", "/companion/api/sessions"), ("post", "/messages"), ("post", "/permissions/r1"),
                  ("post", "/relaunch")}
if importlib.util.find_spec("jupyter_companion_tailscale"):  # the Tailscale plugin's switch opens the server
    EXECUTE_ROUTES.add(("post", "/tailscale/funnel"))


@pytest.mark.parametrize("authorizer_mode", ["no-execute"])
async def test_running_code_needs_execute(jp_serverapp: Any, raw: Any, connect: Any, workdir: Path) -> None:
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    await orch.ensure_active()
    session = await orch.create({"backend": "claude", "cwd": "project"})
    refused, allowed = set(), set()
    for rule, handler in companion_routes(jp_serverapp.web_app):
        if issubclass(handler, WebSocketHandler):
            continue
        for path in concrete_paths(rule, session.id):
            for method in implemented_methods(handler):
                if method == "get" or path.endswith(("/kill", "/archive", "/unarchive")) or "DELETE" == method.upper():
                    continue
                status, body = await raw(method, path)
                key = next((k for k in EXECUTE_ROUTES if k[0] == method and path.endswith(k[1])), None)
                if key is not None:
                    assert status == 403 and "execute" in body["error"], (method, path, status, body)
                    refused.add(key)
                elif status != 403:
                    allowed.add((method, path.rsplit("/", 1)[-1]))
    assert refused == EXECUTE_ROUTES
    assert ("post", "interrupt") in allowed and ("patch", session.id) in allowed  # write is enough there
    stream = await connect(session.id)
    for command in (
        {"type": "user_message", "content": "hello"},
        {"type": "permission_response", "request_id": "r1", "behavior": "allow"},
        {"type": "set_permission_mode", "mode": "bypassPermissions"},
    ):
        await stream.send(command)
        error = await stream.until_type("error")
        assert "it runs code (needs 'execute' on 'companion')" in error["message"], (command, error)
    await stream.send({"type": "set_model", "model": "opus", "client_msg_id": "m1"})
    ack = await stream.until_type("ack")
    assert ack["client_msg_id"] == "m1" and session.info["model"] == "opus"
    assert session.info["permission_mode"] == "default"
    assert not [e for e in stream.events if e["type"] == "user_message"]
    stream.close()


@pytest.mark.parametrize("authorizer_mode", ["read-only"])
async def test_a_watch_only_subscriber_does_not_relaunch_a_restored_session(
    jp_serverapp: Any, connect: Any, workdir: Path
) -> None:
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    await orch.ensure_active()
    session = await orch.create({"backend": "claude", "cwd": "project"})
    await session.stop_cli(intentional=True)
    session.needs_relaunch = True  # as after a server restart
    stream = await connect(session.id)
    await stream.until(lambda e: e.get("type") == "phase" and e.get("phase") == "terminated")
    await asyncio.sleep(1.0)  # a relaunch would have started by now
    assert not session.running and session.needs_relaunch
    stream.close()


async def test_a_subscriber_who_may_execute_relaunches_it(jp_serverapp: Any, connect: Any, workdir: Path) -> None:
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    await orch.ensure_active()
    session = await orch.create({"backend": "claude", "cwd": "project"})
    await session.stop_cli(intentional=True)
    session.needs_relaunch = True
    stream = await connect(session.id)
    await stream.until(lambda e: e.get("type") == "phase" and e.get("phase") == "ready" and e["seq"] > 5)
    assert session.running
    stream.close()
