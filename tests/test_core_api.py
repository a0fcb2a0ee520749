"""The core REST/WebSocket contract of API.md, driven through a fake Claude CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)


async def create(api: Any, **body: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", **body})
    assert status == 201, session
    return session


async def test_status_lists_backends_and_plugins(api: Any) -> None:
    status, data = await api("GET", "status")
    assert status == 200
    claude = next(b for b in data["backends"] if b["name"] == "claude")
    assert claude["available"] is True and claude["version"] == "0.0.0-fake"
    names = {p["name"]: p for p in data["plugins"]}
    assert names["claude"]["ok"] and "register_backends" in names["claude"]["hooks"]
    assert names["local"]["ok"]
    status, data = await api("GET", "backends")
    claude = next(b for b in data["backends"] if b["name"] == "claude")
    assert {"id": "sonnet", "label": "Claude Sonnet (latest)"} in claude["models"]


async def test_prompt_streams_reply_and_result(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project", name="demo")
    assert session["cwd"] == str(workdir.resolve())
    assert session["phase"] == "ready" and session["name"] == "demo" and session["pid"]
    stream = await connect(session["id"])
    status, reply = await api("POST", "sessions", session["id"], "messages", body={"content": "hi there", "client_msg_id": "m1"})
    assert status == 202 and reply == {"ok": True, "client_msg_id": "m1", "duplicate": False, "queued": False}
    result = await stream.until_type("result")
    assert result["text"] == "echo: hi there" and result["cost_usd"] == 0.001
    types = [e["type"] for e in stream.events]
    assert "session_init" in types and "stream_delta" in types and "assistant" in types
    deltas = "".join(e["text"] for e in stream.events if e["type"] == "stream_delta")
    assert deltas == "echo: hi there"
    assert all(e["seq"] is None for e in stream.events if e["type"] == "stream_delta")
    seqs = [e["seq"] for e in stream.stored()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    await stream.until(lambda e: e["type"] == "phase" and e["phase"] == "ready")
    status, info = await api("GET", "sessions", session["id"])
    assert info["cost_usd"] == 0.001 and info["cli_session_id"] and info["phase"] == "ready"
    assert info["model"] == "claude-fake-1"


async def test_duplicate_client_msg_id_is_dropped(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await api("POST", "sessions", session["id"], "messages", body={"content": "one", "client_msg_id": "same"})
    status, reply = await api("POST", "sessions", session["id"], "messages", body={"content": "one", "client_msg_id": "same"})
    assert status == 202 and reply["duplicate"] is True
    await stream.send({"type": "user_message", "content": "one", "client_msg_id": "same"})
    await stream.until_type("result")
    await asyncio.sleep(0.3)
    _, data = await api("GET", "sessions", session["id"], "events")
    assert [e["content"] for e in data["events"] if e["type"] == "user_message"] == ["one"]


async def test_permission_allow_and_deny(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "touch allowed.txt"})
    request = await stream.until_type("permission_request")
    assert request["tool_name"] == "Bash" and request["input"]["command"] == "touch allowed.txt"
    assert request["suggestions"][0]["type"] == "addRules"
    _, info = await api("GET", "sessions", session["id"])
    assert info["phase"] == "awaiting_permission"
    assert [p["request_id"] for p in info["pending_permissions"]] == [request["request_id"]]
    # a second subscriber sees the pending request at once (replayed from the log)
    other = await connect(session["id"])
    await other.until(lambda e: e["type"] == "permission_request")
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    resolved = await other.until_type("permission_resolved")
    assert resolved["by"] == "user" and resolved["behavior"] == "allow"
    await stream.until_type("result")
    assert (workdir / "allowed.txt").exists()
    status, err = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 404 and "error" in err

    await stream.send({"type": "user_message", "content": "touch denied.txt"})
    request = await stream.until_type("permission_request")
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "deny", "message": "no"})
    result = await stream.until_type("result")
    assert result["text"] == "permission denied"
    assert not (workdir / "denied.txt").exists()
    tool_results = [e for e in stream.events if e["type"] == "tool_result"]
    assert tool_results[-1]["is_error"] is True


async def test_interrupt_stops_a_slow_turn(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "slow"})
    await stream.until_type("stream_delta")
    status, reply = await api("POST", "sessions", session["id"], "interrupt")
    assert status == 200 and reply == {"ok": True}
    result = await stream.until_type("result", timeout=10)
    assert result["is_error"] is True
    partial = next(e for e in stream.events if e["type"] == "assistant")
    assert len(partial["message"]["content"][0]["text"]) < 200


async def test_reconnect_replays_without_gap_or_duplicate(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    first = await connect(session["id"])
    await first.send({"type": "user_message", "content": "slow"})
    await first.until(lambda e: e["type"] == "stream_delta")
    seen = first.stored()
    last = seen[-1]["seq"]
    first.close()
    second = await connect(session["id"], after=last)
    await second.until_type("result", timeout=30)
    seqs = [e["seq"] for e in second.stored()]
    assert seqs[0] == last + 1
    assert seqs == list(range(last + 1, last + 1 + len(seqs)))
    _, data = await api("GET", "sessions", session["id"], "events", params={"after": "0"})
    all_seqs = [e["seq"] for e in data["events"]]
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    assert data["last_seq"] == all_seqs[-1]
    _, page = await api("GET", "sessions", session["id"], "events", params={"after": "2", "limit": "3"})
    assert [e["seq"] for e in page["events"]] == [3, 4, 5]


async def test_set_model_and_permission_mode(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "set_permission_mode", "mode": "plan"})
    update = await stream.until(lambda e: e["type"] == "session_update" and e.get("permission_mode") == "plan")
    assert update["permission_mode"] == "plan"
    await stream.send({"type": "set_model", "model": "sonnet"})
    await stream.until(lambda e: e["type"] == "session_update" and e.get("model") == "sonnet")
    _, info = await api("GET", "sessions", session["id"])
    assert info["permission_mode"] == "plan" and info["model"] == "sonnet"


async def test_malformed_frames_get_error_and_socket_stays_open(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.ws.write_message("{not json")
    assert (await stream.until_type("error"))["message"] == "the frame is not valid JSON"
    for bad, words in [
        ([1, 2], "JSON object"),
        ({"type": "launch_missiles"}, "unknown command type"),
        ({"type": "user_message"}, "'content' is required"),
        ({"type": "set_permission_mode", "mode": "yolo"}, "'mode' must be one of"),
        ({"type": "permission_response", "request_id": "nope", "behavior": "allow"}, "no pending permission"),
        ({"type": "permission_response", "request_id": "x", "behavior": "maybe"}, "'behavior'"),
    ]:
        await stream.send(bad)  # type: ignore[arg-type]
        error = await stream.until_type("error")
        assert words in error["message"], (bad, error)
    await stream.send({"type": "user_message", "content": "still here"})
    assert (await stream.until_type("result"))["text"] == "echo: still here"


async def test_noise_and_huge_lines_do_not_kill_the_session(api: Any, connect: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BIG", str(50 * 1024 * 1024))
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "noise"})
    result = await stream.until_type("result", timeout=90)
    assert result["text"] == "echo: noise"
    # unknown message kinds are the operator's business (logs, GET status), not the user's chat
    assert not [e for e in stream.events if e.get("code") == "protocol_drift"]
    await stream.send({"type": "user_message", "content": "noise"})
    await stream.until_type("result", timeout=90)
    status, body = await api("GET", "status")
    assert status == 200
    drift = {(d["backend"], d["what"]): d for d in body["protocol_drift"]}
    assert set(drift) == {("claude", "message type 'mystery_type'"), ("claude", "message type 'assistant_blob'")}, drift
    assert all(d["count"] == 2 and d["session_id"] == session["id"] for d in drift.values())
    assert not [e for e in stream.events if e.get("code") == "protocol_drift"]


async def test_lifecycle_rename_kill_relaunch_archive_delete(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    sid = session["id"]
    status, renamed = await api("PATCH", "sessions", sid, body={"name": "renamed"})
    assert status == 200 and renamed["name"] == "renamed"
    status, killed = await api("POST", "sessions", sid, "kill")
    assert killed["ok"] and killed["was_running"]
    _, info = await api("GET", "sessions", sid)
    assert info["phase"] == "terminated" and info["pid"] is None
    await asyncio.sleep(0.6)  # longer than the first relaunch delay: an intentional kill is never relaunched
    _, info = await api("GET", "sessions", sid)
    assert info["pid"] is None
    status, relaunched = await api("POST", "sessions", sid, "relaunch")
    assert status == 200 and relaunched["pid"]
    status, _ = await api("POST", "sessions", sid, "archive")
    assert status == 200
    _, listing = await api("GET", "sessions")
    assert sid not in [s["id"] for s in listing["sessions"]]
    _, listing = await api("GET", "sessions", params={"archived": "true"})
    assert [s["id"] for s in listing["sessions"]] == [sid]
    status, err = await api("POST", "sessions", sid, "messages", body={"content": "x"})
    assert status == 409
    await api("POST", "sessions", sid, "unarchive")
    # the next prompt relaunches the CLI with resume
    stream = await connect(sid)
    await stream.send({"type": "user_message", "content": "back"})
    await stream.until_type("result")
    _, info = await api("GET", "sessions", sid)
    assert info["pid"] and not info["archived"]
    status, deleted = await api("DELETE", "sessions", sid)
    assert status == 200 and deleted["ok"]
    status, _ = await api("GET", "sessions", sid)
    assert status == 404


async def test_ndjson_creation_progress(api: Any, workdir: Path) -> None:
    status, lines = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"},
                              headers={"Accept": "application/x-ndjson"})
    assert status == 201
    assert lines[-1]["type"] == "done" and lines[-1]["session"]["phase"] == "ready"
    steps = [(line["step"], line["status"]) for line in lines[:-1]]
    assert ("launching_cli", "in_progress") in steps and ("launching_cli", "done") in steps
    status, err = await api("POST", "sessions", body={"backend": "claude", "cwd": "../.."},
                            headers={"Accept": "application/x-ndjson"})
    assert status == 403 and err["type"] == "error" and err["status"] == 403


@pytest.mark.parametrize(
    "body, code, words",
    [
        ({"backend": "nope"}, 400, "unknown backend"),
        ({"backend": "claude", "cwd": "../../etc"}, 403, "inside the Jupyter server's root"),
        ({"backend": "claude", "cwd": "/etc"}, 403, "inside"),
        ({"backend": "claude", "cwd": "missing-folder"}, 400, "does not exist"),
        ({"backend": "claude", "permission_mode": "yolo"}, 400, "permission_mode"),
        ({"backend": "claude", "env": {"BAD NAME": "x"}}, 400, "'env'"),
        ({"backend": "claude", "allowed_tools": "Bash"}, 400, "allowed_tools"),
        ({"backend": "claude", "model": "--inject"}, 400, "model"),
        ([1, 2], 400, "JSON object"),
    ],
)
async def test_bad_create_requests(api: Any, workdir: Path, body: Any, code: int, words: str) -> None:
    status, err = await api("POST", "sessions", body=body)
    assert status == code and words in err["error"]


async def test_symlink_escape_is_refused(api: Any, jp_root_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (jp_root_dir / "link").symlink_to(outside)
    status, err = await api("POST", "sessions", body={"backend": "claude", "cwd": "link"})
    assert status == 403


async def test_bad_requests_never_500(api: Any, workdir: Path) -> None:
    assert (await api("POST", "sessions", raw_body="{nope"))[0] == 400
    assert (await api("GET", "sessions", "unknown-id"))[0] == 404
    assert (await api("GET", "sessions", params={"archived": "maybe"}))[0] == 400
    session = await create(api, cwd="project")
    sid = session["id"]
    assert (await api("POST", "sessions", sid, "messages", body={"content": ""}))[0] == 400
    assert (await api("POST", "sessions", sid, "messages", body={"content": "x", "images": [{"media_type": "text/html", "data": "x"}]}))[0] == 400
    assert (await api("GET", "sessions", sid, "events", params={"after": "x"}))[0] == 400
    assert (await api("PATCH", "sessions", sid, body={"name": ""}))[0] == 400
    assert (await api("POST", "sessions", sid, "permissions", "zzz", body={"behavior": "allow"}))[0] == 404
    big = json.dumps({"content": "x" * (65 * 1024 * 1024)})
    status, err = await api("POST", "sessions", sid, "messages", raw_body=big)
    assert status in (400, 413)


async def test_unauthenticated_requests_are_refused(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError
    from tornado.websocket import WebSocketClosedError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("companion", "api", "sessions", headers={"Authorization": ""})
    assert info.value.code in (401, 403)
    with pytest.raises((HTTPClientError, WebSocketClosedError)):
        await jp_ws_fetch("companion", "ws", "sessions", "abc", headers={"Authorization": ""})


async def test_git_field_is_refreshed_after_every_turn(api: Any, connect: Any, workdir: Path) -> None:
    import subprocess

    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=workdir, env=env, check=True, capture_output=True)

    git("init", "-b", "main")
    git("commit", "--allow-empty", "-m", "first")
    session = await create(api, cwd="project")
    assert session["git"]["branch"] == "main" and session["git"]["is_worktree"] is False
    assert session["git"]["repo_root"] == str(workdir.resolve())
    stream = await connect(session["id"])
    git("checkout", "-b", "feature")
    await stream.send({"type": "user_message", "content": "hi"})
    await stream.until(lambda e: e["type"] == "session_update" and (e.get("git") or {}).get("branch") == "feature", timeout=30)
    _, info = await api("GET", "sessions", session["id"])
    assert info["git"]["branch"] == "feature"


async def test_websocket_commands_are_acknowledged_and_retries_allowed_after_failure(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "permission_response", "request_id": "nope", "behavior": "allow", "client_msg_id": "p1"})
    error = await stream.until_type("error")
    assert error["client_msg_id"] == "p1"
    await stream.send({"type": "user_message", "content": "touch retry.txt", "client_msg_id": "u1"})
    assert (await stream.until_type("ack")) == {**(await_ack := stream.events[-1]), "client_msg_id": "u1", "duplicate": False}
    assert await_ack["seq"] is None
    request = await stream.until_type("permission_request")
    # the failed id can now be used for a command that succeeds
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "allow", "client_msg_id": "p1"})
    ack = await stream.until_type("ack")
    assert ack["client_msg_id"] == "p1" and ack["duplicate"] is False
    await stream.send({"type": "interrupt", "client_msg_id": "p1"})
    ack = await stream.until(lambda e: e["type"] == "ack" and e["duplicate"])
    assert ack["client_msg_id"] == "p1"
    if not any(e["type"] == "result" for e in stream.events):
        await stream.until_type("result")
    assert (workdir / "retry.txt").exists()


async def test_pending_permissions_are_announced_to_every_new_subscriber(api: Any, connect: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "touch late.txt"})
    request = await stream.until_type("permission_request")
    _, info = await api("GET", "sessions", session["id"])
    assert info["pending_permissions"][0]["seq"] == request["seq"]
    # a client that skips the history still learns what waits for an answer (as a transient frame)
    late = await connect(session["id"], after=info["last_seq"])
    again = await late.until_type("permission_request")
    assert again["seq"] is None and again["resent"] is True and again["original_seq"] == request["seq"]
    assert again["request_id"] == request["request_id"] and again["input"] == request["input"]
    # one that replays the history gets the stored event once, and no extra copy
    full = await connect(session["id"], after=0)
    stored = await full.until_type("permission_request")
    assert stored["seq"] == request["seq"]
    await full.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "allow"})
    await full.until_type("result")
    assert [e["seq"] for e in full.events if e["type"] == "permission_request"] == [request["seq"]]
