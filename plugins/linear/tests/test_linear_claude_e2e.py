"""The Linear plugin with the REAL Claude CLI against a scripted model server and the Linear
stand-in: a session on an issue gets the issue in its system prompt (as the model server receives
it), the issue moves to started and, on archive, on; Linear's webhook starts an agent whose answer
is posted on the issue; a bad signature starts nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from linear_standin import WEBHOOK_SECRET, LinearStandIn, signed, until

from tests.support.anthropic_server import ScriptedAnthropic, Text
from tests.support.real_claude import claude_binary, companion_config, real_claude  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(r"Linear issue", lambda req: Text(f"Fixed it. ({req.last_user_text.splitlines()[0]})", chunks=2))
        srv.on(None, lambda req: Text(f"Working on: {req.last_user_text}", chunks=2))
        yield srv


def _system_text(request: Any) -> str:
    system = request.body.get("system") if isinstance(request.body, dict) else None
    return json.dumps(system) if system is not None else ""


async def test_a_session_on_an_issue_tells_the_model_and_moves_the_issue(
        api: Any, connected: LinearStandIn, model_server: ScriptedAnthropic, workdir: Path) -> None:
    await api("PATCH", "settings", body={"linear_archive_state": "In Review"})
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "linear_issue": "ENG-1"})
    assert status == 201, session
    issue = connected.by_identifier("ENG-1")
    await until(lambda: issue["state"]["name"] == "In Progress")
    await api("POST", "sessions", session["id"], "messages", body={"content": "look at the login bug"})
    await until(lambda: model_server.main_requests)
    system = _system_text(model_server.main_requests[-1])
    assert "ENG-1: Login button does nothing on Safari" in system and "crypto.randomUUID" in system
    assert "Probably the polyfill" in system  # a recent comment reached the model too
    await until(lambda: _has_result(api, session["id"]))
    _, current = await api("GET", "sessions", session["id"])
    assert current["linear_issue"]["state"] == "In Progress"
    status, _ = await api("POST", "sessions", session["id"], "archive", body={"linear_transition": "configured"})
    assert status == 200
    await until(lambda: issue["state"]["name"] == "In Review")


async def _has_result(api: Any, session_id: str) -> bool:
    _, events = await api("GET", "sessions", session_id, "events")
    return any(e["type"] == "result" for e in events["events"])


async def test_linears_webhook_starts_an_agent_whose_answer_lands_on_the_issue(
        api: Any, raw: Any, connected: LinearStandIn, workdir: Path) -> None:
    status, agent = await api("POST", "agents", body={"name": "Fixer", "prompt": "Please fix: {{input}}", "cwd": "project"})
    assert status == 201, agent
    issue = connected.add_issue(connected.teams["team-eng"], "Crash on empty cart", "Open the cart with nothing in it.",
                                labels=[connected.labels["agent"]])
    payload = connected.issue_delivery(issue)
    body, headers = signed(payload, "a-wrong-secret")
    assert (await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers))[0] == 403
    await asyncio.sleep(0.5)
    assert (await api("GET", "runs", params={"trigger": "linear"}))[1]["total"] == 0
    body, headers = signed(payload, WEBHOOK_SECRET)
    assert (await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers))[0] == 200
    comment = await until(lambda: next((c for c in issue["comments"] if "Fixer" in c["body"]), None))
    assert f"Fixed it. (Please fix: Linear issue {issue['identifier']}: Crash on empty cart)" in comment["body"]
    _, runs = await api("GET", "runs", params={"trigger": "linear"})
    assert [r["status"] for r in runs["runs"]] == ["success"]
