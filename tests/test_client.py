"""Unit tests of the Python client against a small in-process fake of the API.md routes.

The fake (:class:`FakeCompanion`) is a tornado app on a background thread: it keeps sessions
and their event logs in memory, checks the token like Jupyter does, and scripts a turn: a
message mentioning "touch" stops at a permission request; anything else streams a reply.
It is also used by ``test_magics.py`` and ``test_cli.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.httpserver
import tornado.web
import tornado.websocket
from tornado.testing import bind_unused_port

from jupyter_companion.client import (
    AsyncCompanionClient,
    CompanionClient,
    CompanionHTTPError,
    CompanionNotFound,
    ServerInfo,
    TurnTracker,
    discover,
    resolve_session_ref,
)
from jupyter_companion.client.discovery import ENV_TOKEN, ENV_URL

TOKEN = "secret-token"


class FakeCompanion:
    """In-memory sessions, events and subscribers behind API.md's routes."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.subscribers: dict[str, set[Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.url = ""
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- state -----------------------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        sid = uuid.uuid4().hex[:12]
        session = {
            "id": sid,
            "name": body.get("name") or "",
            "backend": body.get("backend", "claude"),
            "model": body.get("model") or "fake-model",
            "permission_mode": body.get("permission_mode") or "default",
            "cwd": "/root/" + (body.get("cwd") or ""),
            "phase": "ready",
            "archived": False,
            "created_at": "2026-01-01T00:00:00Z",
            "last_activity_at": "2026-01-01T00:00:00Z",
            "pending_permissions": [],
            "last_seq": 0,
        }
        self.sessions[sid] = session
        self.events[sid] = []
        self.subscribers[sid] = set()
        return session

    def emit(self, sid: str, type_: str, stored: bool = True, **fields: Any) -> dict[str, Any]:
        session = self.sessions[sid]
        event: dict[str, Any] = {"type": type_, "ts": "t", "session_id": sid, **fields}
        if stored:
            session["last_seq"] += 1
            event["seq"] = session["last_seq"]
            self.events[sid].append(event)
        else:
            event["seq"] = None
        if type_ == "phase":
            session["phase"] = fields["phase"]
        for ws in list(self.subscribers[sid]):
            ws.write_message(json.dumps(event))
        return event

    def user_turn(self, sid: str, content: str, client_msg_id: str | None) -> None:
        self.emit(sid, "user_message", content=content, client_msg_id=client_msg_id)
        self.emit(sid, "phase", phase="streaming", previous="ready")
        if "touch" in content:
            self.emit(
                sid,
                "assistant",
                message={
                    "id": "m1",
                    "model": "fake",
                    "content": [
                        {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "touch x"}}
                    ],
                },
            )
            request: dict[str, Any] = {
                "request_id": "req-1",
                "tool_name": "Bash",
                "input": {"command": "touch x"},
            }
            self.sessions[sid]["pending_permissions"].append(request)
            self.emit(sid, "permission_request", **request)
            self.emit(sid, "phase", phase="awaiting_permission", previous="streaming")
            return
        if "fail" in content:
            self.emit(sid, "result", is_error=True, text="it broke")
            self.emit(sid, "phase", phase="ready", previous="streaming")
            return
        for piece in ("Hel", "lo ", "there"):
            self.emit(sid, "stream_delta", stored=False, kind="text", text=piece, message_id="m2")
        self.emit(
            sid,
            "assistant",
            message={"id": "m2", "model": "fake", "content": [{"type": "text", "text": "Hello there"}]},
        )
        self.emit(sid, "result", is_error=False, duration_ms=1200, num_turns=1, cost_usd=0.0123)
        self.emit(sid, "phase", phase="ready", previous="streaming")

    def answer(self, sid: str, request_id: str, behavior: str) -> bool:
        pending = self.sessions[sid]["pending_permissions"]
        if not any(p["request_id"] == request_id for p in pending):
            return False
        pending[:] = [p for p in pending if p["request_id"] != request_id]
        self.emit(sid, "permission_resolved", request_id=request_id, behavior=behavior, by="user")
        self.emit(sid, "phase", phase="streaming", previous="awaiting_permission")
        if behavior == "allow":
            self.emit(sid, "tool_result", tool_use_id="tu1", content="", is_error=False)
            self.emit(
                sid,
                "assistant",
                message={"id": "m3", "model": "fake", "content": [{"type": "text", "text": "Created x."}]},
            )
            self.emit(sid, "result", is_error=False, cost_usd=0.02)
        else:
            self.emit(sid, "result", is_error=True, text="denied")
        self.emit(sid, "phase", phase="ready", previous="streaming")
        return True


class _Base(tornado.web.RequestHandler):
    def initialize(self, fake: FakeCompanion) -> None:
        self.fake = fake

    def prepare(self) -> None:
        header = self.request.headers.get("Authorization", "")
        if header != f"token {TOKEN}" and self.get_query_argument("token", "") != TOKEN:
            self.send_error(403)
            return
        self.fake.requests.append((self.request.method or "", self.request.path, self.request.body))

    def body(self) -> dict[str, Any]:
        return json.loads(self.request.body or b"{}")

    def session(self, sid: str) -> dict[str, Any]:
        if sid not in self.fake.sessions:
            raise tornado.web.HTTPError(404)
        return self.fake.sessions[sid]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"error": f"fake error {status_code}"})


class Status(_Base):
    def get(self) -> None:
        self.finish(
            {
                "version": "0.1.0",
                "backends": [{"name": "claude", "label": "Claude", "available": True}],
                "plugins": [{"name": "claude", "ok": True}],
            }
        )


class Sessions(_Base):
    def get(self) -> None:
        archived = self.get_query_argument("archived", "false")
        items = [
            s
            for s in self.fake.sessions.values()
            if archived == "all" or s["archived"] == (archived == "true")
        ]
        self.finish({"sessions": items})

    def post(self) -> None:
        body = self.body()
        if body.get("backend") == "nope":
            self.set_status(400)
            self.finish({"error": "unknown backend 'nope'"})
            return
        session = self.fake.create(body)
        if "ndjson" in self.request.headers.get("Accept", ""):
            self.set_header("Content-Type", "application/x-ndjson")
            for step in ("workspace", "launch"):
                self.write(
                    json.dumps({"type": "progress", "step": step, "label": step, "status": "in_progress"})
                    + "\n"
                )
                self.write(
                    json.dumps({"type": "progress", "step": step, "label": step, "status": "done"}) + "\n"
                )
            self.finish(json.dumps({"type": "done", "session": session}) + "\n")
            return
        self.set_status(201)
        self.finish(session)


class OneSession(_Base):
    def get(self, sid: str) -> None:
        self.finish(self.session(sid))

    def patch(self, sid: str) -> None:
        self.session(sid)["name"] = self.body()["name"]
        self.finish(self.session(sid))

    def delete(self, sid: str) -> None:
        self.session(sid)
        del self.fake.sessions[sid]
        self.finish({"ok": True})


class Action(_Base):
    def post(self, sid: str, action: str) -> None:
        session = self.session(sid)
        if action == "archive":
            session["archived"] = True
        elif action == "kill":
            self.fake.emit(sid, "phase", phase="terminated", previous=session["phase"])
        self.finish({"ok": True, "action": action})


class Messages(_Base):
    def post(self, sid: str) -> None:
        self.session(sid)
        body = self.body()
        self.set_status(202)
        self.finish({"ok": True, "client_msg_id": body.get("client_msg_id")})
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, self.fake.user_turn, sid, body["content"], body.get("client_msg_id"))


class Permissions(_Base):
    def post(self, sid: str, request_id: str) -> None:
        self.session(sid)
        if not self.fake.answer(sid, request_id, self.body()["behavior"]):
            raise tornado.web.HTTPError(404)
        self.finish({"ok": True})


class Events(_Base):
    def get(self, sid: str) -> None:
        self.session(sid)
        after = int(self.get_query_argument("after", "0"))
        limit = int(self.get_query_argument("limit", "1000"))
        items = [e for e in self.fake.events[sid] if e["seq"] > after][:limit]
        self.finish({"events": items, "last_seq": self.fake.sessions[sid]["last_seq"]})


class Socket(tornado.websocket.WebSocketHandler):
    def initialize(self, fake: FakeCompanion) -> None:
        self.fake = fake

    def prepare(self) -> None:
        header = self.request.headers.get("Authorization", "")
        if header != f"token {TOKEN}" and self.get_query_argument("token", "") != TOKEN:
            raise tornado.web.HTTPError(403)

    def open(self, sid: str) -> None:
        if sid not in self.fake.sessions:
            self.close()
            return
        self.sid = sid
        after = int(self.get_query_argument("after", "0"))
        for event in self.fake.events[sid]:
            if event["seq"] > after:
                self.write_message(json.dumps(event))
        self.fake.subscribers[sid].add(self)

    def on_close(self) -> None:
        if hasattr(self, "sid"):
            self.fake.subscribers[self.sid].discard(self)


def start_fake() -> tuple[FakeCompanion, threading.Thread, Any]:
    """Run a :class:`FakeCompanion` on a thread; answer it, the thread and a stop function."""
    fake = FakeCompanion()
    sock, port = bind_unused_port()
    ready = threading.Event()
    p = "/companion/api/"
    routes = [
        (p + "status", Status),
        (p + "sessions", Sessions),
        (p + r"sessions/([^/]+)", OneSession),
        (p + r"sessions/([^/]+)/(kill|relaunch|archive|unarchive|interrupt)", Action),
        (p + r"sessions/([^/]+)/messages", Messages),
        (p + r"sessions/([^/]+)/permissions/([^/]+)", Permissions),
        (p + r"sessions/([^/]+)/events", Events),
        (r"/companion/ws/sessions/([^/]+)", Socket),
    ]

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        fake.loop = loop
        app = tornado.web.Application([(r, h, {"fake": fake}) for r, h in routes])
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        ready.set()
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    fake.url = f"http://127.0.0.1:{port}/"

    def stop() -> None:
        assert fake.loop is not None
        fake.loop.call_soon_threadsafe(fake.loop.stop)
        thread.join(timeout=10)

    return fake, thread, stop


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeCompanion]:
    """A running fake companion server."""
    server, _thread, stop = start_fake()
    yield server
    stop()


@pytest.fixture
def client(fake: FakeCompanion) -> CompanionClient:
    return CompanionClient(fake.url, TOKEN)


# -- discovery -------------------------------------------------------------------------------------
def test_explicit_url_wins_over_env() -> None:
    env = {ENV_URL: "http://env:1/", ENV_TOKEN: "envtok"}
    info = discover("http://explicit:2", "tok", environ=env, servers=[])
    assert (info.url, info.token, info.source) == ("http://explicit:2/", "tok", "explicit")


def test_env_used_when_no_explicit_url() -> None:
    env = {ENV_URL: "127.0.0.1:8888", ENV_TOKEN: "envtok"}
    info = discover(environ=env, servers=[{"url": "http://other:1/", "root_dir": "/"}])
    assert (info.url, info.token, info.source) == ("http://127.0.0.1:8888/", "envtok", "env")


def test_inside_a_jupyterhub_server_the_hub_token_and_service_url_are_used(tmp_path: Path) -> None:
    """A kernel of a hub's single-user server: no JUPYTER_COMPANION_* variables, only what the
    spawner gave the server; its runtime entry (empty token: the hub authenticates) gives the root."""
    listed = [
        {"url": "http://127.0.0.1:9/", "token": "t", "base_url": "/", "root_dir": "/"},
        {"url": "http://127.0.0.1:41234/user/ada/", "token": "", "base_url": "/user/ada/",
         "root_dir": str(tmp_path)},
    ]
    env = {"JUPYTERHUB_API_TOKEN": "hubtok", "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/",
           "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:41234/user/ada/"}
    info = discover(cwd=tmp_path, environ=env, servers=listed, probe=lambda u, t: (False, "not probed"))
    assert (info.url, info.token, info.root_dir, info.source) == (
        "http://127.0.0.1:41234/user/ada/", "hubtok", str(tmp_path), "jupyterhub")
    # an older hub without JUPYTERHUB_SERVICE_URL: the runtime entry under the prefix
    del env["JUPYTERHUB_SERVICE_URL"]
    info = discover(cwd=tmp_path, environ=env, servers=listed)
    assert (info.url, info.token) == ("http://127.0.0.1:41234/user/ada/", "hubtok")
    # the explicit settings still win
    info = discover(environ={**env, ENV_URL: "http://env:1/", ENV_TOKEN: "e"}, servers=listed)
    assert (info.url, info.token, info.source) == ("http://env:1/", "e", "env")


def test_runtime_servers_filtered_by_root_and_probe(tmp_path: Path) -> None:
    project = tmp_path / "a" / "b"
    project.mkdir(parents=True)
    servers = [
        {"url": "http://elsewhere:1/", "token": "t0", "root_dir": str(tmp_path / "zzz")},
        {"url": "http://parent:2/", "token": "t1", "root_dir": str(tmp_path)},
        {"url": "http://nearest:3/", "token": "t2", "root_dir": str(tmp_path / "a")},
    ]
    probed: list[str] = []

    def probe(url: str, token: str) -> tuple[bool, str]:
        probed.append(url)
        return (url != "http://nearest:3/", "no extension (404)")

    info = discover(cwd=project, environ={}, servers=servers, probe=probe)
    # the deepest root is tried first; it lacks the extension, so its parent's server is used
    assert probed == ["http://nearest:3/", "http://parent:2/"]
    assert (info.url, info.token, info.root_dir, info.source) == (
        "http://parent:2/",
        "t1",
        str(tmp_path),
        "runtime",
    )
    assert info.relative_cwd(project) == "a/b"
    assert info.relative_cwd(tmp_path) == ""


def test_not_found_says_how_to_fix(tmp_path: Path) -> None:
    servers = [{"url": "http://x:1/", "token": "", "root_dir": str(tmp_path)}]
    with pytest.raises(CompanionNotFound) as err:
        discover(cwd=tmp_path, environ={}, servers=servers, probe=lambda u, t: (False, "not enabled (404)"))
    text = str(err.value)
    assert "http://x:1/: not enabled (404)" in text
    assert ENV_URL in text and "connect(url, token)" in text
    with pytest.raises(CompanionNotFound, match="No running Jupyter server"):
        discover(cwd=tmp_path, environ={}, servers=[])


def test_discovery_reads_a_runtime_dir(tmp_path: Path, fake: FakeCompanion) -> None:
    """A fake runtime dir with a jpserver-*.json file of a live process is found and probed."""
    import os

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    root = tmp_path / "root"
    (root / "nb").mkdir(parents=True)
    info = {
        "url": fake.url,
        "token": TOKEN,
        "root_dir": str(root),
        "pid": os.getpid(),
        "port": 1,
        "base_url": "/",
        "hostname": "127.0.0.1",
        "secure": False,
        "sock": "",
        "password": False,
        "version": "2",
    }
    (runtime / f"jpserver-{os.getpid()}.json").write_text(json.dumps(info))
    found = discover(cwd=root / "nb", runtime_dir=str(runtime), environ={})
    assert (found.url, found.token, found.source) == (fake.url, TOKEN, "runtime")


def test_resolve_session_ref() -> None:
    sessions = [{"id": "abc123", "name": "alpha"}, {"id": "abd456", "name": "beta"}]
    assert resolve_session_ref(sessions, "abc123") == "abc123"
    assert resolve_session_ref(sessions, "beta") == "abd456"
    assert resolve_session_ref(sessions, "abc") == "abc123"
    with pytest.raises(LookupError, match="several"):
        resolve_session_ref(sessions, "ab")
    with pytest.raises(LookupError, match="no session"):
        resolve_session_ref(sessions, "zz")


def test_tracker_ignores_a_previous_turns_result() -> None:
    tracker = TurnTracker(client_msg_id="mine")
    assert tracker.feed({"seq": 1, "type": "result", "is_error": False}) is None
    assert tracker.feed({"seq": 2, "type": "user_message", "client_msg_id": "mine"}) is None
    assert tracker.feed({"seq": None, "type": "stream_delta", "text": "x"}) is None
    assert tracker.feed({"seq": 3, "type": "permission_request", "request_id": "r"}) == "permission"
    assert tracker.feed({"seq": 4, "type": "result", "is_error": False}) == "result"
    assert tracker.last_seq == 4


# -- REST --------------------------------------------------------------------------------------------
def test_routes(client: CompanionClient, fake: FakeCompanion) -> None:
    assert client.status()["version"] == "0.1.0"
    session = client.create_session("claude", cwd="proj", name="n1")
    sid = session["id"]
    assert fake.requests[-1][0] == "POST"
    assert json.loads(fake.requests[-1][2]) == {"backend": "claude", "cwd": "proj", "name": "n1"}
    assert [s["id"] for s in client.list_sessions()] == [sid]
    assert client.rename_session(sid, "renamed")["name"] == "renamed"
    assert client.get_session(sid)["name"] == "renamed"
    assert client.archive_session(sid)["ok"] is True
    assert client.list_sessions() == []
    assert [s["id"] for s in client.list_sessions("all")] == [sid]
    answer = client.send_message(sid, "hi")
    assert answer["ok"] is True and len(answer["client_msg_id"]) == 32
    assert client.delete_session(sid)["ok"] is True


def test_http_errors_carry_the_servers_message(client: CompanionClient) -> None:
    with pytest.raises(CompanionHTTPError) as err:
        client.create_session("nope")
    assert err.value.status == 400 and err.value.message == "unknown backend 'nope'"
    with pytest.raises(CompanionHTTPError) as err:
        client.get_session("missing")
    assert err.value.status == 404


def test_bad_token_is_rejected(fake: FakeCompanion) -> None:
    with pytest.raises(CompanionHTTPError) as err:
        CompanionClient(fake.url, "wrong").status()
    assert err.value.status == 403


def test_create_with_progress(client: CompanionClient) -> None:
    seen: list[tuple[str, str]] = []
    session = client.create_session("claude", on_progress=lambda p: seen.append((p["step"], p["status"])))
    assert session["backend"] == "claude"
    assert seen == [
        ("workspace", "in_progress"),
        ("workspace", "done"),
        ("launch", "in_progress"),
        ("launch", "done"),
    ]


# -- turns over the WebSocket ------------------------------------------------------------------------
def test_run_turn_to_result(client: CompanionClient) -> None:
    sid = client.create_session("claude")["id"]
    seen: list[dict[str, Any]] = []
    outcome = client.run_turn(sid, "say hello", seen.append)
    assert outcome.kind == "result" and not outcome.is_error
    assert [e["type"] for e in seen if e["type"] == "stream_delta"] == ["stream_delta"] * 3
    assert outcome.event is not None and outcome.event["cost_usd"] == 0.0123


def test_run_turn_stops_at_permission_then_approve(client: CompanionClient, tmp_path: Path) -> None:
    sid = client.create_session("claude")["id"]
    outcome = client.run_turn(sid, "please touch x")
    assert outcome.kind == "permission" and outcome.request_id == "req-1"
    assert client.get_session(sid)["pending_permissions"][0]["request_id"] == "req-1"
    rest: list[str] = []
    outcome = client.answer_and_follow(sid, "req-1", "allow", lambda e: rest.append(e["type"]))
    assert outcome.kind == "result" and not outcome.is_error
    assert rest[:2] == ["permission_resolved", "phase"]
    history = client.all_events(sid, page=3)
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))


def test_run_turn_error_result(client: CompanionClient) -> None:
    sid = client.create_session("claude")["id"]
    outcome = client.run_turn(sid, "fail please")
    assert outcome.kind == "result" and outcome.is_error


def test_stream_replays_after_seq(client: CompanionClient) -> None:
    sid = client.create_session("claude")["id"]
    client.run_turn(sid, "hello")
    last = client.get_session(sid)["last_seq"]
    replay = []
    for event in client.stream(sid, after=2, idle_timeout=5):
        replay.append(event["seq"])
        if event["seq"] == last:
            break
    assert replay == list(range(3, last + 1))


def test_turns_without_websocket_client(client: CompanionClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without websocket-client installed, the client falls back to polling GET events."""
    import sys

    monkeypatch.setitem(sys.modules, "websocket", None)  # makes `import websocket` fail
    sid = client.create_session("claude")["id"]
    seen: list[str] = []
    outcome = client.run_turn(sid, "touch x", lambda e: seen.append(e["type"]))
    assert outcome.kind == "permission" and "user_message" in seen
    outcome = client.answer_and_follow(sid, "req-1", "allow")
    assert outcome.kind == "result" and not outcome.is_error


async def test_async_client_turns(fake: FakeCompanion) -> None:
    aclient = AsyncCompanionClient(server=ServerInfo(fake.url, TOKEN))
    assert (await aclient.status())["version"] == "0.1.0"
    progress: list[str] = []
    session = await aclient.create_session("claude", on_progress=lambda p: progress.append(p["status"]))
    assert progress.count("done") == 2
    sid = session["id"]
    outcome = await aclient.run_turn(sid, "touch x")
    assert outcome.kind == "permission"
    outcome = await aclient.answer_and_follow(sid, "req-1", "deny")
    assert outcome.kind == "result" and outcome.is_error
    sessions = await aclient.list_sessions()
    assert [s["id"] for s in sessions] == [sid]
    with pytest.raises(CompanionHTTPError) as err:
        await aclient.create_session("nope", on_progress=lambda p: None)
    assert err.value.status == 400


def test_websocket_urls_never_carry_the_token() -> None:
    from jupyter_companion.client.discovery import ServerInfo
    from jupyter_companion.client.sync import feed_url, ws_url

    server = ServerInfo("http://127.0.0.1:8888/base/", "very-secret-token")
    assert ws_url(server, "abc", 7) == "ws://127.0.0.1:8888/base/companion/ws/sessions/abc?after=7"
    assert feed_url(server) == "ws://127.0.0.1:8888/base/companion/ws/sessions"
