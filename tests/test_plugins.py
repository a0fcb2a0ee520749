"""The plugin system through a third-party distribution installed from tests/plugins/companion-echo."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

try:
    version("companion-echo")
except PackageNotFoundError:  # pragma: no cover - scripts/test installs it
    pytest.fail("tests/plugins/companion-echo is not installed: run `pip install -e tests/plugins/companion-echo`",
                pytrace=False)

pytestmark = pytest.mark.timeout(60)


async def test_plugins_report_loaded_and_failed(api: Any) -> None:
    status, data = await api("GET", "plugins")
    assert status == 200
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["echo"]["ok"] is True
    assert plugins["echo"]["distribution"] == "companion-echo" and plugins["echo"]["version"] == "0.0.1"
    assert set(plugins["echo"]["hooks"]) >= {"register_backends", "system_prompt", "permission_request", "session_event"}
    assert plugins["broken_on_import"]["ok"] is False
    assert "broken on purpose" in plugins["broken_on_import"]["error"]
    assert plugins["raises_in_hook"]["ok"] is False
    assert any("register_sandboxes" in e for e in plugins["raises_in_hook"]["errors"])
    # builtins come through the same entry-point group
    assert plugins["claude"]["ok"] and plugins["local"]["ok"]
    _, status_data = await api("GET", "status")
    assert "echo" in [b["name"] for b in status_data["backends"]]


async def test_third_party_backend_runs_sessions(api: Any, connect: Any, workdir: Path) -> None:
    from companion_echo.plugin import SEEN_EVENTS

    status, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "project"})
    assert status == 201, session
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello plugin"})
    result = await stream.until_type("result")
    assert result["text"] == "echo: hello plugin"
    init = next(e for e in stream.events if e["type"] == "session_init")
    assert init["system_prompt"] == "You are being tested by companion-echo."
    assert "result" in SEEN_EVENTS  # the observer hook saw events; the raising observer broke nothing

    # the firstresult permission hook auto-approves Read ...
    await stream.send({"type": "user_message", "content": "ask Read"})
    resolved = await stream.until_type("permission_resolved")
    assert resolved["by"] == "plugin" and resolved["behavior"] == "allow"
    assert (await stream.until_type("result"))["text"] == "echo: ask Read -> allow"
    # ... and leaves anything else to the user
    await stream.send({"type": "user_message", "content": "ask Write"})
    request = await stream.until_type("permission_request")
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "deny"})
    assert (await stream.until_type("result"))["text"] == "echo: ask Write -> deny"


async def test_an_observer_that_keeps_raising_is_muted(api: Any, connect: Any, workdir: Path) -> None:
    from jupyter_companion.plugins import MAX_CONSECUTIVE_FAILURES

    status, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "project"})
    stream = await connect(session["id"])
    while len(stream.events) <= MAX_CONSECUTIVE_FAILURES + 5:
        await stream.send({"type": "user_message", "content": "again"})
        await stream.until_type("result")
    _, data = await api("GET", "plugins")
    raising = next(p for p in data["plugins"] if p["name"] == "raises_in_hook")
    assert raising["ok"] is False and "session_event disabled" not in raising["error"]
    assert f"hook disabled after {MAX_CONSECUTIVE_FAILURES} failures in a row" in raising["error"]


async def test_plugin_routes_and_settings(api: Any, jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    status, data = await api("GET", "echo", "ping")
    assert status == 200 and data == {"pong": True, "sessions": 0, "has_key": False}
    with pytest.raises(HTTPClientError) as info:  # plugin routes get Jupyter's auth like the core's
        await jp_fetch("companion", "api", "echo", "ping", headers={"Authorization": ""})
    assert info.value.code in (401, 403)
    _, settings = await api("GET", "settings")
    assert settings["schema"]["echo_api_key"]["secret"] is True and settings["settings"]["echo_prefix"] == "echo"
    status, changed = await api("PATCH", "settings", body={"echo_api_key": "sk-echo-secret-98765"})
    assert status == 200 and changed["settings"]["echo_api_key"] == "••••8765"
    assert "sk-echo-secret" not in str(await api("GET", "settings"))
    _, data = await api("GET", "echo", "ping")
    assert data["has_key"] is True


async def test_a_plugin_can_neither_exit_the_server_nor_break_its_routes(api: Any, workdir: Path) -> None:
    """``raises_in_hook`` raises SystemExit in ``session_created`` and returns junk routes."""
    status, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "project"})
    assert status == 201 and session["phase"] == "ready"
    _, data = await api("GET", "plugins")
    errors = next(p for p in data["plugins"] if p["name"] == "raises_in_hook")["errors"]
    assert any("session_created: SystemExit: a plugin tried to exit the server" in e for e in errors)
    assert sum("register_routes returned an unusable route" in e for e in errors) == 4
    status, body = await api("GET", "raising", "fine")  # the one usable route of that plugin
    assert status == 200 and body == {"fine": True}
    assert (await api("GET", "status"))[0] == 200


async def test_plugin_routes_are_guarded_whatever_the_plugin_forgot(api: Any, jp_fetch: Any, raw: Any) -> None:
    """``careless_routes`` serves a Jupyter handler without ``@web.authenticated``/``@authorized``,
    a plain tornado handler and a webhook that authenticates itself."""
    status, body = await api("GET", "careless", "data")
    assert status == 200 and body == {"secret": "careless-plugin-data"}
    for headers in ({"Authorization": ""}, {"Authorization": "token wrong"}):
        status, body = await raw("GET", "companion/api/careless/data", auth=False, headers=headers)
        assert status in (401, 403) and "careless-plugin-data" not in str(body)
        status, body = await raw("POST", "companion/api/careless/data", auth=False, headers=headers)
        assert status in (401, 403) and "changed" not in str(body)
    status, body = await api("GET", "careless", "plain")  # not a Jupyter handler: never mounted
    assert status == 404 and "plain-handler-data" not in str(body)
    _, data = await api("GET", "plugins")
    careless = next(p for p in data["plugins"] if p["name"] == "careless_routes")
    assert "Plain is not a Jupyter handler" in careless["error"]
    status, _ = await raw("POST", "companion/hooks/careless", auth=False, headers={"X-Signature": "ok"})
    assert status == 200  # declared companion_public: it checks its own signature
    status, _ = await raw("POST", "companion/hooks/careless", auth=False)
    assert status == 403


@pytest.mark.parametrize("authorizer_mode", ["read-only"])
async def test_plugin_routes_are_authorized_on_companion(api: Any, raw: Any) -> None:
    status, _ = await raw("GET", "companion/api/careless/data")
    assert status == 200
    status, body = await raw("POST", "companion/api/careless/data")
    assert status == 403 and "changed" not in str(body)


async def test_a_plugin_prepares_or_refuses_a_session(api: Any, workdir: Path) -> None:
    """``prepare_session`` reads its own create-request field, reports a step, sets a session field,
    or refuses the creation with its own status and message, leaving nothing behind."""
    status, lines = await api("POST", "sessions", body={"backend": "echo", "cwd": "project", "echo_ticket": "T-1"},
                              headers={"Accept": "application/x-ndjson"})
    assert status == 201 and lines[-1]["type"] == "done", lines
    assert [line["status"] for line in lines if line.get("step") == "echo_ticket"] == ["in_progress", "done"]
    session = lines[-1]["session"]
    assert session["echo_ticket"] == {"id": "T-1", "url": "https://tickets.example/T-1"}
    _, again = await api("GET", "sessions", session["id"])
    assert again["echo_ticket"]["id"] == "T-1"
    status, answer = await api("POST", "sessions", body={"backend": "echo", "cwd": "project", "echo_ticket": "refuse"})
    assert status == 400 and answer["error"] == "the echo plugin refuses this ticket"
    assert [s["id"] for s in (await api("GET", "sessions"))[1]["sessions"]] == [session["id"]]


async def test_archive_options_and_settings_checks_reach_plugins(api: Any, workdir: Path) -> None:
    from companion_echo.plugin import ARCHIVED

    _, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "project"})
    assert (await api("POST", "sessions", session["id"], "archive", body={"echo_choice": "keep"}))[0] == 200
    assert ARCHIVED[-1] == {"echo_choice": "keep"}
    status, answer = await api("PATCH", "settings", body={"echo_prefix": "LOUD", "default_model": "haiku"})
    assert status == 400 and answer["error"] == "the echo prefix may not shout"
    _, settings = await api("GET", "settings")
    assert settings["settings"]["default_model"] == ""  # refused as a whole: nothing stored
    assert (await api("PATCH", "settings", body={"echo_prefix": "quiet"}))[0] == 200


async def test_ui_contributions_are_checked(api: Any) -> None:
    _, ui = await api("GET", "ui")
    mine = [c for c in ui["contributions"] if c["plugin"] == "echo"]
    assert mine == [{"kind": "session_field", "field": "echo_ticket", "text": "ticket {id}", "href": "{url}",
                     "plugin": "echo"}]
    _, data = await api("GET", "plugins")
    errors = next(p for p in data["plugins"] if p["name"] == "echo")["errors"]
    assert any("unknown UI contribution kind 'dashboard'" in e for e in errors)
    assert any("is not a path under companion/api/" in e for e in errors)
    assert any("the page contribution's id" in e for e in errors)
