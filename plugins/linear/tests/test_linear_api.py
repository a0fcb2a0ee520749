"""The Linear plugin through the REST API, with the Linear stand-in and the fake Claude CLI:
connecting (the key checked on save, masked on read), search, create, teams and states, Linear's
errors, sessions linked to an issue, the archive move, and the webhook trigger."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from linear_standin import WEBHOOK_SECRET, LinearStandIn, signed, until


async def test_a_key_is_checked_when_saved_and_never_read_back(api: Any, linear: LinearStandIn) -> None:
    status, answer = await api("PATCH", "settings", body={"linear_api_url": linear.url, "linear_api_key": "lin_api_wrong_key"})
    assert status == 400 and "Linear did not accept this key" in answer["error"], answer
    assert "authenticate" in answer["error"]
    _, settings = await api("GET", "settings")
    assert settings["settings"]["linear_api_key"] == ""  # nothing stored, the URL neither
    assert settings["settings"]["linear_api_url"] == "https://api.linear.app/graphql"
    status, answer = await api("PATCH", "settings", body={"linear_api_url": linear.url, "linear_api_key": linear.api_key})
    assert status == 200 and answer["settings"]["linear_api_key"] == "••••" + linear.api_key[-4:]
    assert linear.operations()[-1] == "Viewer"
    _, connection = await api("GET", "linear", "connection")
    assert connection == {"connected": True, "viewer": {"name": "Ada Lovelace", "email": "ada@acme.test",
                                                        "organization": "Acme", "url_key": "acme"}}
    status, _ = await api("PATCH", "settings", body={"linear_api_key": answer["settings"]["linear_api_key"],
                                                     "linear_comment_on_turn": True})
    assert status == 200  # the masked key sent back: unchanged, not checked again


async def test_unconnected_routes_say_how_to_connect(api: Any) -> None:
    _, connection = await api("GET", "linear", "connection")
    assert connection["connected"] is False and "linear_api_key" in connection["error"]
    status, answer = await api("GET", "linear", "issues", params={"query": "login"})
    assert status == 400 and "linear_api_key" in answer["error"]


async def test_search_create_teams_and_states(api: Any, connected: LinearStandIn, workdir: Path) -> None:
    _, found = await api("GET", "linear", "issues", params={"query": "login"})
    assert [i["identifier"] for i in found["issues"]] == ["ENG-1", "OPS-1", "ENG-3"]  # open first, done last
    await api("PATCH", "settings", body={"linear_repo_teams": {"project": "OPS"}})
    _, found = await api("GET", "linear", "issues", params={"query": "login", "cwd": "project"})
    assert [i["identifier"] for i in found["issues"]][:1] == ["OPS-1"] and found["team"]["key"] == "OPS"
    assert connected.requests[-1]["variables"]["teamId"] == "team-ops"
    _, teams = await api("GET", "linear", "teams", params={"cwd": "project"})
    assert [(t["key"], t["selected"]) for t in teams["teams"]] == [("ENG", False), ("OPS", True)]
    _, states = await api("GET", "linear", "states", params={"team_id": "team-eng"})
    assert [s["type"] for s in states["states"]][:3] == ["backlog", "unstarted", "started"]
    status, issue = await api("POST", "linear", "issues", body={"title": "Flaky test", "team_id": "team-eng",
                                                                "description": "Fails 1 in 10."})
    assert status == 201 and issue["identifier"] == "ENG-4" and issue["state"] == "Backlog"
    _, one = await api("GET", "linear", "issues", "ENG-1")
    assert one["labels"] == ["Bug"] and [c["body"] for c in one["comments"]][0] == "Reproduced on macOS 14."
    assert (await api("GET", "linear", "issues", "ENG-99"))[0] == 404
    for bad in ({"title": "", "team_id": "team-eng"}, {"title": "x", "team_id": "../x"}, {"title": "x"}, []):
        assert (await api("POST", "linear", "issues", body=bad))[0] == 400
    assert (await api("GET", "linear", "issues", params={"query": "x", "limit": "500"}))[0] == 400
    assert (await api("GET", "linear", "states", params={"team_id": "a b"}))[0] == 400


async def test_linears_rate_limit_and_outage_are_clear_errors(api: Any, connected: LinearStandIn) -> None:
    connected.rate_limited = 1
    status, answer = await api("GET", "linear", "issues", params={"query": "dark mode"})
    assert status == 429 and "rate limit" in answer["error"] and "try again in" in answer["error"]
    connected.rate_limited, connected.rate_reset_in = 1, 0.5  # resets soon: waited out once
    status, answer = await api("GET", "linear", "issues", params={"query": "certificates"})
    assert status == 200 and [i["identifier"] for i in answer["issues"]] == ["OPS-1"]
    status, answer = await api("PATCH", "settings", body={"linear_api_url": "http://127.0.0.1:9/graphql"})
    assert status == 400 and "could not be reached" in answer["error"]  # the key is checked at the new URL
    connected.__exit__(None, None, None)  # Linear goes away
    status, answer = await api("GET", "linear", "issues", "ENG-2")
    assert status == 502 and "could not be reached" in answer["error"]


async def test_a_session_on_an_issue(api: Any, connected: LinearStandIn, workdir: Path) -> None:
    await api("PATCH", "settings", body={"linear_archive_state": "In Review"})
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "linear_issue": "ENG-1"})
    assert status == 201, session
    issue = connected.by_identifier("ENG-1")
    assert session["linear_issue"]["identifier"] == "ENG-1" and session["linear_issue"]["url"] == issue["url"]
    prompt = session["system_prompt"]
    assert "ENG-1: Login button does nothing on Safari" in prompt and "crypto.randomUUID" in prompt
    assert "Probably the polyfill" in prompt and "Labels: Bug" in prompt
    await until(lambda: issue["state"]["name"] == "In Progress")
    _, again = await until(lambda: _state_is(api, session["id"], "In Progress"))
    status, archived = await api("POST", "sessions", session["id"], "archive", body={"linear_transition": "configured"})
    assert status == 200, archived
    await until(lambda: issue["state"]["name"] == "In Review")


async def _state_is(api: Any, session_id: str, state: str) -> Any:
    status, session = await api("GET", "sessions", session_id)
    return (status, session) if session.get("linear_issue", {}).get("state") == state else None


async def test_an_unknown_issue_refuses_the_session_and_keeps_nothing(api: Any, connected: LinearStandIn,
                                                                      workdir: Path) -> None:
    status, answer = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "linear_issue": "ENG-404"})
    assert status == 400 and "ENG-404" in answer["error"]
    assert (await api("POST", "sessions", body={"backend": "claude", "linear_issue": "'; drop"}))[0] == 400
    assert (await api("GET", "sessions"))[1]["sessions"] == []


async def test_archive_to_the_backlog_or_nowhere(api: Any, connected: LinearStandIn, workdir: Path) -> None:
    ids = []
    for ref in ("ENG-1", "ENG-2"):
        _, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "linear_issue": ref})
        ids.append(session["id"])
    await until(lambda: connected.by_identifier("ENG-2")["state"]["name"] == "In Progress")
    await until(lambda: connected.by_identifier("ENG-1")["state"]["name"] == "In Progress")
    await api("POST", "sessions", ids[0], "archive", body={"linear_transition": "backlog"})
    await api("POST", "sessions", ids[1], "archive", body={})  # no archive state set: it stays
    await until(lambda: connected.by_identifier("ENG-1")["state"]["name"] == "Backlog")
    await asyncio.sleep(0.5)
    assert connected.by_identifier("ENG-2")["state"]["name"] == "In Progress"


async def test_turn_summaries_are_commented_when_asked(api: Any, connected: LinearStandIn, workdir: Path) -> None:
    await api("PATCH", "settings", body={"linear_comment_on_turn": True})
    _, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "linear_issue": "ENG-2"})
    await api("POST", "sessions", session["id"], "messages", body={"content": "hello there"})
    issue = connected.by_identifier("ENG-2")
    comment = await until(lambda: next((c for c in issue["comments"] if "finished a turn" in c["body"]), None))
    assert "hello there" in comment["body"]


async def test_the_ui_contributions(api: Any, connected: LinearStandIn) -> None:
    _, ui = await api("GET", "ui")
    mine = {c["kind"]: c for c in ui["contributions"] if c["plugin"] == "linear"}
    assert set(mine) == {"create_field", "session_field", "archive_choice", "page"}
    assert mine["create_field"]["name"] == "linear_issue" and mine["archive_choice"]["default"] == "none"
    await api("PATCH", "settings", body={"linear_archive_state": "Done"})
    _, ui = await api("GET", "ui")
    choice = next(c for c in ui["contributions"] if c["kind"] == "archive_choice")
    assert choice["default"] == "configured" and choice["options"][0]["label"] == "Move it to Done"


async def test_the_webhook_starts_the_labelled_agent_and_answers_on_the_issue(
        api: Any, raw: Any, connected: LinearStandIn, workdir: Path) -> None:
    status, agent = await api("POST", "agents", body={"name": "Fixer", "prompt": "Fix this: {{input}}", "cwd": "project"})
    assert status == 201, agent
    issue = connected.add_issue(connected.teams["team-eng"], "Crash on empty cart", "Steps: open cart.",
                                labels=[connected.labels["agent"]])
    body, headers = signed(connected.issue_delivery(issue), WEBHOOK_SECRET)
    status, answer = await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers)
    assert status == 200 and answer == {"ok": True}
    _, runs = await until(lambda: _runs(api, "linear"))
    run = runs["runs"][0]
    assert run["agent_id"] == agent["id"] and "Crash on empty cart" in run["input"]
    comment = await until(lambda: next((c for c in issue["comments"] if "Fixer" in c["body"]), None), timeout=60)
    assert "finished" in comment["body"] and "Fix this: Linear issue ENG-" in comment["body"]
    # the same delivery again (Linear retries): no second run
    status, _ = await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers)
    assert status == 200
    await asyncio.sleep(0.5)
    assert (await api("GET", "runs", params={"trigger": "linear"}))[1]["total"] == 1


async def _runs(api: Any, trigger: str) -> Any:
    status, runs = await api("GET", "runs", params={"trigger": trigger})
    return (status, runs) if runs.get("runs") else None


async def test_the_webhook_refuses_bad_signatures_stale_deliveries_and_other_changes(
        api: Any, raw: Any, connected: LinearStandIn, workdir: Path) -> None:
    await api("POST", "agents", body={"name": "Fixer", "prompt": "Fix {{input}}", "cwd": "project"})
    issue = connected.add_issue(connected.teams["team-eng"], "Typo", "teh", labels=[connected.labels["agent"]])
    payload = connected.issue_delivery(issue)
    body, headers = signed(payload, "not-the-secret")
    assert await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers) == (403, {"error": "forbidden"})
    body, headers = signed({**payload, "webhookTimestamp": payload["webhookTimestamp"] - 120_000}, WEBHOOK_SECRET)
    assert (await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers))[0] == 403
    body, headers = signed(payload, WEBHOOK_SECRET)
    headers.pop("Linear-Signature")
    assert (await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers))[0] == 403
    # an update that changes only the title does not start the agent again
    update = connected.issue_delivery(issue, action="update", updated_from={"title": "Tpyo"})
    body, headers = signed(update, WEBHOOK_SECRET)
    assert (await raw("POST", "companion/api/linear/webhook", body=body, auth=False, headers=headers))[0] == 200
    await asyncio.sleep(0.5)
    assert (await api("GET", "runs", params={"trigger": "linear"}))[1]["total"] == 0
