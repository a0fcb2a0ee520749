"""Agents with the REAL Claude CLI against the scripted Messages API: a manual run with an input,
webhooks (secret, wrong secret, HMAC), a schedule of every minute, a run that waits on a
permission, and a server killed during a run."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Stall, Text, ToolUse
from tests.support.clis import claude_cli_env
from tests.support.real_claude import claude_binary, companion_config, real_claude  # noqa: F401 - shared fixtures
from tests.support.server import JupyterServerProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(r"touch the marker", [Text("Creating it."),
                                     ToolUse("Bash", {"command": "touch agent-marker.txt", "description": "marker"})])
        srv.on_tool_result(Text("The marker exists."))
        srv.on(r"wait forever", [Text("starting"), Stall()])
        srv.on(None, lambda req: Text(f"Agent says: {req.last_user_text}", chunks=3))
        yield srv


async def _agent(api: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": "Reporter", "prompt": "Report on {{input}}", "cwd": "project",
            "triggers": {"webhook": {"enabled": True}}, **fields}
    status, agent = await api("POST", "agents", body=body)
    assert status == 201, agent
    return agent


async def _until(api: Any, run_id: str, statuses: tuple[str, ...], timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, run = await api("GET", "runs", run_id)
        if run["status"] in statuses:
            return run
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run}")


async def _reply(api: Any, session_id: str) -> str:
    _, events = await api("GET", "sessions", session_id, "events")
    return next(e["text"] for e in events["events"] if e["type"] == "result")


async def test_a_manual_run_answers_with_its_input(api: Any, workdir: Path) -> None:
    agent = await _agent(api)
    _, run = await api("POST", "agents", agent["id"], "run", body={"input": "the quarterly numbers"})
    done = await _until(api, run["id"], ("success", "error"))
    assert done["status"] == "success", done
    assert await _reply(api, done["session_id"]) == "Agent says: Report on the quarterly numbers"
    assert done["cost_usd"] is not None


async def test_webhooks_with_secret_wrong_secret_and_signature(api: Any, raw: Any, workdir: Path) -> None:
    agent = await _agent(api)
    url, secret = f"companion/hooks/agents/{agent['id']}", agent["webhook_secret"]
    status, started = await raw("POST", url, body=json.dumps({"input": "the hook"}), auth=False,
                                headers={"X-Companion-Secret": secret})
    assert status == 202
    assert (await _until(api, started["run_id"], ("success", "error")))["status"] == "success"
    assert (await raw("POST", url, body="{}", auth=False, headers={"X-Companion-Secret": "wrong"}))[0] == 403
    body = json.dumps({"input": "a signed call"}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    status, signed = await raw("POST", url, body=body, auth=False, headers={"X-Companion-Signature": signature})
    assert status == 202
    done = await _until(api, signed["run_id"], ("success", "error"))
    assert await _reply(api, done["session_id"]) == "Agent says: Report on a signed call"
    _, runs = await api("GET", "runs", params={"agent_id": agent["id"], "trigger": "webhook"})
    assert runs["total"] == 2  # the wrong secret started nothing


async def test_a_schedule_of_every_minute_fires(api: Any, workdir: Path) -> None:
    agent = await _agent(api, triggers={"schedule": {"cron": "* * * * *", "timezone": "Europe/Berlin"}})
    assert agent["schedule_text"] == "Every minute"
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        _, runs = await api("GET", "runs", params={"agent_id": agent["id"]})
        if runs["runs"]:
            break
        await asyncio.sleep(1)
    run = runs["runs"][0]
    assert run["trigger"] == "schedule"
    started = run["started_at"]
    assert started[17:19] in ("00", "01", "02")  # within seconds of the minute
    assert (await _until(api, run["id"], ("success", "error")))["status"] == "success"


async def test_a_run_waits_for_a_permission_and_finishes_once_allowed(api: Any, workdir: Path) -> None:
    agent = await _agent(api, prompt="Please touch the marker ({{input}})")
    _, run = await api("POST", "agents", agent["id"], "run", body={"input": "now"})
    waiting = await _until(api, run["id"], ("awaiting_permission", "success", "error"))
    assert waiting["status"] == "awaiting_permission"
    _, session = await api("GET", "sessions", waiting["session_id"])
    request = session["pending_permissions"][0]
    assert request["tool_name"] == "Bash"
    await api("POST", "sessions", waiting["session_id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert (await _until(api, run["id"], ("success", "error")))["status"] == "success"
    assert (workdir / "agent-marker.txt").exists()


def test_a_server_killed_during_a_run_leaves_a_record_that_says_so(tmp_path: Path, real_claude: str,  # noqa: F811
                                                                   model_server: ScriptedAnthropic) -> None:
    root, state = tmp_path / "root", tmp_path / "state"
    (root / "proj").mkdir(parents=True)
    env = claude_cli_env(model_server.base_url, tmp_path / "home")
    args = [f"--ClaudeBackend.binary={real_claude}"]
    server = JupyterServerProcess(root, state, env=env, args=args).start()
    try:
        status, agent = server.request("POST", "companion/api/agents",
                                       {"name": "Sleeper", "prompt": "wait forever", "cwd": "proj"})
        assert status == 201, agent
        status, run = server.request("POST", f"companion/api/agents/{agent['id']}/run", {})
        assert status == 201
        wait_until(lambda: model_server.stalled.is_set() or bool(model_server.active_streams), timeout=60)
        server.kill9()
    finally:
        server.stop()
    with JupyterServerProcess(root, state, env=env, args=args) as again:
        _, after = again.request("GET", f"companion/api/runs/{run['id']}")
        assert after["status"] == "error" and "server stopped" in after["error"] and after["ended_at"]
        assert after["session_id"]
