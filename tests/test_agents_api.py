"""Agents, runs, webhooks and saved prompts through the public API (the fake Claude CLI answers;
``tests/e2e/test_agents_e2e.py`` does the same with the real one)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.errors import ApiError

AGENT = {"name": "Echoer", "prompt": "Please repeat: {{input}}", "cwd": "project",
         "triggers": {"webhook": {"enabled": True}, "schedule": {"cron": "0 7 * * 1-5", "timezone": "Europe/Berlin"}}}


async def _agent(api: Any, **fields: Any) -> dict[str, Any]:
    status, agent = await api("POST", "agents", body={**AGENT, **fields})
    assert status == 201, agent
    return agent


async def _finished(api: Any, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    for _ in range(int(timeout * 10)):
        _, run = await api("GET", "runs", run_id)
        if run["status"] not in ("running", "awaiting_permission"):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run still going: {run}")


async def test_an_agent_is_shown_without_its_secret(api: Any, workdir: Path) -> None:
    agent = await _agent(api)
    assert len(agent["webhook_secret"]) >= 40 and agent["webhook_url"].endswith(f"companion/hooks/agents/{agent['id']}")
    assert agent["schedule_text"] == "At 07:00, Monday through Friday" and agent["next_run_at"].endswith("Z")
    assert agent["enabled"] is True and agent["overlap"] == "skip" and agent["backend"] == "claude"
    _, listed = await api("GET", "agents")
    assert "webhook_secret" not in json.dumps(listed) and listed["agents"][0]["id"] == agent["id"]
    status, changed = await api("PUT", "agents", agent["id"], body={"description": "says it again"})
    assert status == 200 and changed["description"] == "says it again" and changed["prompt"] == AGENT["prompt"]
    status, exported = await api("GET", "agents", agent["id"], "export")
    assert status == 200 and "id" not in exported and "webhook_secret" not in exported
    status, imported = await api("POST", "agents", "import", body=exported)
    assert status == 201 and imported["enabled"] is False and imported["id"] != agent["id"]
    status, _ = await api("DELETE", "agents", imported["id"])
    assert status == 200 and (await api("GET", "agents", imported["id"]))[0] == 404


@pytest.mark.parametrize(("fields", "named"), [
    ({"triggers": {"schedule": {"cron": "61 * * * *"}}}, "'triggers.schedule.cron'"),
    ({"triggers": {"schedule": {"cron": "0 7 * * *", "timezone": "Mars/Olympus"}}}, "'triggers.schedule.timezone'"),
    ({"backend": "nope"}, "unknown backend"),
    ({"prompt": "Do {{ inptu }} now"}, "'prompt'"),
    ({"name": ""}, "'name' is required"),
    ({"overlap": "sometimes"}, "'overlap'"),
    ({"permission_mode": "bypassPermissions"}, "'permission_mode'"),
    ({"cwd": "../outside"}, "cwd"),
])
async def test_bad_agents_are_refused_naming_the_field(api: Any, workdir: Path, fields: dict[str, Any], named: str) -> None:
    status, body = await api("POST", "agents", body={**AGENT, **fields})
    assert status in (400, 403) and named in body["error"], body
    assert (await api("GET", "agents"))[1]["agents"] == []


async def test_a_manual_run_creates_a_tagged_session_and_succeeds(api: Any, workdir: Path) -> None:
    agent = await _agent(api)
    status, run = await api("POST", "agents", agent["id"], "run", body={"input": "pineapple"})
    assert status == 201 and run["status"] == "running" and run["trigger"] == "manual"
    done = await _finished(api, run["id"])
    assert done["status"] == "success" and done["error"] is None and done["ended_at"]
    _, session = await api("GET", "sessions", done["session_id"])
    assert session["agent_id"] == agent["id"] and session["run_id"] == run["id"]
    assert session["name"] == "Echoer · manual run"
    _, events = await api("GET", "sessions", done["session_id"], "events")
    result = next(e for e in events["events"] if e["type"] == "result")
    assert result["text"] == "echo: Please repeat: pineapple"
    _, runs = await api("GET", "runs", params={"agent_id": agent["id"], "status": "success"})
    assert runs["total"] == 1 and runs["runs"][0]["id"] == run["id"]
    assert (await api("GET", "runs", params={"status": "maybe"}))[0] == 400


async def test_a_run_waiting_on_a_permission_says_so_and_ends_once_allowed(api: Any, workdir: Path) -> None:
    agent = await _agent(api, prompt="touch {{input}}")
    _, run = await api("POST", "agents", agent["id"], "run", body={"input": "from-agent.txt"})
    for _ in range(100):
        _, run = await api("GET", "runs", run["id"])
        if run["status"] == "awaiting_permission":
            break
        await asyncio.sleep(0.1)
    assert run["status"] == "awaiting_permission"
    _, session = await api("GET", "sessions", run["session_id"])
    request_id = session["pending_permissions"][0]["request_id"]
    await api("POST", "sessions", run["session_id"], "permissions", request_id, body={"behavior": "allow"})
    assert (await _finished(api, run["id"]))["status"] == "success"
    assert (workdir / "from-agent.txt").exists()


async def test_overlap_skip_records_a_skipped_run(api: Any, workdir: Path) -> None:
    agent = await _agent(api, prompt="slow")
    _, first = await api("POST", "agents", agent["id"], "run", body={})
    _, second = await api("POST", "agents", agent["id"], "run", body={})
    assert second["status"] == "skipped" and first["id"][:8] in second["error"]
    await api("POST", "sessions", (await _session_of(api, first["id"])), "interrupt")
    assert (await _finished(api, first["id"]))["status"] == "error"


async def _session_of(api: Any, run_id: str) -> str:
    for _ in range(100):
        _, run = await api("GET", "runs", run_id)
        if run["session_id"]:
            return str(run["session_id"])
        await asyncio.sleep(0.1)
    raise AssertionError("the run has no session")


async def test_webhooks_need_the_secret_or_its_signature(raw: Any, api: Any, workdir: Path) -> None:
    agent = await _agent(api)
    url = f"companion/hooks/agents/{agent['id']}"
    secret = agent["webhook_secret"]
    status, body = await raw("POST", url, body=json.dumps({"input": "via hook"}), auth=False,
                             headers={"X-Companion-Secret": secret})
    assert status == 202, body
    assert (await _finished(api, body["run_id"]))["trigger"] == "webhook"
    for headers in ({"X-Companion-Secret": secret[:-1] + "x"}, {}, {"X-Companion-Signature": "sha256=00"}):
        status, refused = await raw("POST", url, body="{}", auth=False, headers=headers)
        assert (status, refused) == (403, {"error": "forbidden"})
    signed = b"plain text input"
    signature = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    status, body = await raw("POST", url, body=signed, auth=False, headers={"X-Companion-Signature": signature})
    assert status == 202
    run = await _finished(api, body["run_id"])
    assert run["input"] == "plain text input"
    for other in ("companion/hooks/agents/000000000000", "companion/hooks/agents/nope"):
        assert (await raw("POST", other, body="{}", auth=False, headers={"X-Companion-Secret": secret}))[0] == 403
    status, _ = await raw("POST", url, body="x" * 70_000, auth=False, headers={"X-Companion-Secret": secret})
    assert status == 403
    await api("PUT", "agents", agent["id"], body={"triggers": {"webhook": {"enabled": False}}})
    assert (await raw("POST", url, body="{}", auth=False, headers={"X-Companion-Secret": secret}))[0] == 403
    _, runs = await api("GET", "runs", params={"agent_id": agent["id"]})
    assert runs["total"] == 2


async def test_a_new_secret_replaces_the_old(raw: Any, api: Any, workdir: Path) -> None:
    agent = await _agent(api)
    status, fresh = await api("POST", "agents", agent["id"], "regenerate-secret")
    assert status == 200 and fresh["webhook_secret"] != agent["webhook_secret"]
    url = f"companion/hooks/agents/{agent['id']}"
    assert (await raw("POST", url, body="{}", auth=False, headers={"X-Companion-Secret": agent["webhook_secret"]}))[0] == 403
    assert (await raw("POST", url, body="{}", auth=False, headers={"X-Companion-Secret": fresh["webhook_secret"]}))[0] == 202


async def test_five_launch_failures_disable_the_agent(api: Any, workdir: Path) -> None:
    (workdir / "gone").mkdir()
    agent = await _agent(api, cwd="project/gone")
    (workdir / "gone").rmdir()
    for _ in range(5):
        _, run = await api("POST", "agents", agent["id"], "run", body={})
        failed = await _finished(api, run["id"])
        assert failed["status"] == "error" and "could not start" in failed["error"]
    _, agent = await api("GET", "agents", agent["id"])
    assert agent["enabled"] is False and "5 runs in a row could not start" in agent["disabled_reason"]
    (workdir / "gone").mkdir()
    _, agent = await api("PUT", "agents", agent["id"], body={"enabled": True})
    assert agent["consecutive_failures"] == 0 and agent["disabled_reason"] is None


async def test_saved_prompts(api: Any) -> None:
    status, prompt = await api("POST", "prompts", body={"name": "Review", "text": "Review the diff for bugs."})
    assert status == 201
    assert (await api("POST", "prompts", body={"name": "Review", "text": "again"}))[0] == 409
    assert (await api("POST", "prompts", body={"name": "x/y", "text": "t"}))[0] == 400
    status, changed = await api("PUT", "prompts", prompt["id"], body={"name": "Review", "text": "Look closer."})
    assert status == 200 and changed["text"] == "Look closer."
    _, listed = await api("GET", "prompts")
    assert [p["name"] for p in listed["prompts"]] == ["Review"]
    assert (await api("DELETE", "prompts", prompt["id"]))[0] == 200
    assert (await api("DELETE", "prompts", prompt["id"]))[0] == 404


async def test_a_plugin_trigger_starts_runs_through_the_same_path(api: Any, jp_serverapp: Any, workdir: Path) -> None:
    app = next(ext for ext in jp_serverapp.extension_manager.extension_apps["jupyter_companion"])
    agent = await _agent(api)
    run = app.echo_trigger(agent["id"], "from a plugin")
    done = await _finished(api, run["id"])
    assert done["trigger"] == "echo_event" and done["status"] == "success" and done["input"] == "from a plugin"
    _, runs = await api("GET", "runs", params={"trigger": "echo_event"})
    assert runs["total"] == 1
    await api("PUT", "agents", agent["id"], body={"enabled": False})
    with pytest.raises(ApiError, match="disabled"):
        app.echo_trigger(agent["id"], None)
