"""The sessions feed (``companion/ws/sessions``): snapshot, coalesced changes, removals."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.cli import main as cli_main
from jupyter_companion.client import CompanionClient, ServerInfo
from jupyter_companion.client.sync import apply_feed_frame
from jupyter_companion.sessions.feed import COALESCE_SECONDS, FEED_EVENT_TYPES, SessionFeed

from .conftest import EventStream

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def feed(jp_ws_fetch: Callable[..., Any]) -> Callable[..., Any]:
    """``stream = await feed()``: a socket on the sessions feed."""

    async def open_feed() -> EventStream:
        return EventStream(await jp_ws_fetch("companion", "ws", "sessions"))

    return open_feed


async def create(api: Any, **body: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", **body})
    assert status == 201, session
    return session


def changed(session_id: str, test: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    """A predicate for a ``session_changed`` frame of ``session_id`` whose object passes ``test``."""
    return lambda e: e["type"] == "session_changed" and e["session"]["id"] == session_id and test(e["session"])


async def test_feed_follows_every_session_from_creation_to_deletion(api: Any, connect: Any, feed: Any, workdir: Path) -> None:
    first = await create(api, cwd="project", name="first")
    stream = await feed()
    snapshot = await stream.next()
    assert snapshot["type"] == "sessions" and snapshot["seq"] is None
    assert [s["id"] for s in snapshot["sessions"]] == [first["id"]]
    assert snapshot["sessions"][0]["name"] == "first" and snapshot["sessions"][0]["phase"] == "ready"

    # a session created after subscribing shows up without polling
    second = await create(api, cwd="project", name="second")
    await stream.until(changed(second["id"], lambda s: s["phase"] == "ready"))

    # a permission request in a session nobody has open is visible as a badge, then cleared
    await api("POST", "sessions", first["id"], "messages", body={"content": "touch feed.txt"})
    waiting = await stream.until(
        changed(first["id"], lambda s: bool(s["pending_permissions"]) and s["phase"] == "awaiting_permission"))
    request = waiting["session"]["pending_permissions"][0]
    assert request["tool_name"] == "Bash"
    status, _ = await api("POST", "sessions", first["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    done = await stream.until(changed(first["id"], lambda s: s["phase"] == "ready" and s["num_turns"] == 1))
    assert done["session"]["pending_permissions"] == [] and done["session"]["cost_usd"] == 0.001

    # rename, archive, unarchive, delete
    await api("PATCH", "sessions", second["id"], body={"name": "renamed"})
    await stream.until(changed(second["id"], lambda s: s["name"] == "renamed"))
    await api("POST", "sessions", second["id"], "archive")
    await stream.until(changed(second["id"], lambda s: s["archived"] is True))
    await api("POST", "sessions", second["id"], "unarchive")
    await stream.until(changed(second["id"], lambda s: s["archived"] is False))
    status, _ = await api("DELETE", "sessions", second["id"])
    assert status == 200
    removed = await stream.until(lambda e: e["type"] == "session_removed")
    assert removed == {"seq": None, "type": "session_removed", "session_id": second["id"]}
    stream.close()


async def test_feed_sends_nothing_for_streamed_text(api: Any, connect: Any, feed: Any, workdir: Path) -> None:
    """A turn costs the feed at most one frame per list-visible change; deltas cost nothing."""
    session = await create(api, cwd="project")
    stream = await feed()
    await stream.next()
    chat = await connect(session["id"])
    for n in range(5):
        await chat.send({"type": "user_message", "content": f"turn {n} " + "word " * 50})
    await chat.until(lambda e: e["type"] == "result" and e.get("text", "").startswith("echo: turn 4"))
    await stream.until(changed(session["id"], lambda s: s["phase"] == "ready" and s["num_turns"] == 5))
    await asyncio.sleep(0.3)
    with pytest.raises(asyncio.TimeoutError):
        await stream.next(timeout=0.3)
    frames = [e for e in stream.events if e["type"] == "session_changed"]
    visible = [e for e in chat.events if e["type"] in FEED_EVENT_TYPES]
    deltas = [e for e in chat.events if e["type"] == "stream_delta"]
    assert deltas and 0 < len(frames) <= len(visible), (len(frames), len(visible))
    chat.close()
    stream.close()


class _Orchestrator:
    def __init__(self) -> None:
        self.sessions: dict[str, Any] = {}


class _Session:
    def __init__(self, session_id: str) -> None:
        self.id = session_id
        self.touched = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.id, "touched": self.touched}


async def test_feed_coalesces_changes_within_its_window() -> None:
    """Unit level: many touches of one session inside the window become one frame with the latest
    state; a deleted session becomes ``session_removed``; a failing subscriber is dropped."""
    orch = _Orchestrator()
    one, two = _Session("a"), _Session("b")
    orch.sessions = {"a": one, "b": two}
    feed = SessionFeed(orch)  # type: ignore[arg-type]
    got: list[dict[str, Any]] = []
    feed.subscribe(lambda text: got.append(json.loads(text)))
    assert got == [{"seq": None, "type": "sessions", "sessions": [one.to_json(), two.to_json()]}]

    def broken(text: str) -> None:
        if json.loads(text)["type"] != "sessions":
            raise ConnectionError("gone")

    feed.subscribe(broken)
    for n in range(100):
        one.touched = n
        feed.touch("a")
    del orch.sessions["b"]
    feed.touch("b")
    await asyncio.sleep(COALESCE_SECONDS * 3)
    assert got[1:] == [
        {"seq": None, "type": "session_changed", "session": {"id": "a", "created_at": "a", "touched": 99}},
        {"seq": None, "type": "session_removed", "session_id": "b"},
    ]
    assert feed.subscriber_count == 1  # the broken one was dropped
    feed.close()
    assert feed.subscriber_count == 0


async def test_feed_is_read_only_and_survives_bad_frames(api: Any, feed: Any, workdir: Path) -> None:
    session = await create(api, cwd="project")
    stream = await feed()
    await stream.next()
    for frame in ("{broken", json.dumps({"type": "user_message", "content": "hi"}), "x" * 100_000):
        await stream.ws.write_message(frame)
        error = await stream.until_type("error")
        assert "read-only" in error["message"]
    _, info = await api("GET", "sessions", session["id"], "events")
    assert not [e for e in info["events"] if e["type"] == "user_message"]
    # still subscribed
    await api("PATCH", "sessions", session["id"], body={"name": "still here"})
    await stream.until(changed(session["id"], lambda s: s["name"] == "still here"))
    stream.close()


async def test_many_feed_subscribers_and_a_vanishing_one(api: Any, feed: Any, workdir: Path) -> None:
    streams = [await feed() for _ in range(5)]
    for stream in streams:
        assert (await stream.next())["sessions"] == []
    streams[0].close()
    session = await create(api, cwd="project")
    for stream in streams[1:]:
        await stream.until(changed(session["id"], lambda s: s["phase"] == "ready"))
        stream.close()


class _StoppableClient(CompanionClient):
    """The real client; its feed iteration ends when the test sets ``stop``."""

    stop = threading.Event()

    def watch_sessions(self, *, stop: threading.Event | None = None, reconnect: int = 3) -> Any:
        return super().watch_sessions(stop=self.stop, reconnect=reconnect)


async def test_cli_list_watch_follows_the_feed(api: Any, jp_http_port: int, jp_base_url: str,
                                               jp_auth_header: dict[str, str], workdir: Path) -> None:
    """``jupyter companion list --watch --json``: one line per change, from the real server's feed."""
    token = jp_auth_header["Authorization"].split()[-1]
    client = _StoppableClient(server=ServerInfo(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", token))
    client.stop = threading.Event()
    out = io.StringIO()
    runner = asyncio.ensure_future(asyncio.to_thread(
        cli_main, ["list", "--watch", "--json"], stdout=out, stderr=io.StringIO(),
        client_factory=lambda url, tok: client))

    def lines() -> list[list[tuple[str, str]]]:
        return [[(s["name"], s["phase"]) for s in json.loads(line)["sessions"]] for line in out.getvalue().splitlines()]

    async def until(test: Callable[[list[list[tuple[str, str]]]], bool]) -> None:
        for _ in range(300):
            if test(lines()):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"not reached: {lines()}")

    await until(lambda seen: seen[:1] == [[]])  # the snapshot of an empty server
    session = await create(api, cwd="project", name="watched")
    await until(lambda seen: ("watched", "ready") in seen[-1])
    await api("POST", "sessions", session["id"], "archive")
    await until(lambda seen: seen[-1] == [])  # archived: not in the default (non-archived) list
    client.stop.set()
    assert await asyncio.wait_for(runner, 10) == 0


def test_feed_frames_fold_into_a_session_map() -> None:
    sessions: dict[str, dict[str, Any]] = {}
    assert apply_feed_frame(sessions, {"type": "sessions", "sessions": [{"id": "a"}, {"id": "b"}, {"no": "id"}]})
    assert sorted(sessions) == ["a", "b"]
    assert apply_feed_frame(sessions, {"type": "session_changed", "session": {"id": "a", "name": "x"}})
    assert sessions["a"] == {"id": "a", "name": "x"}
    assert apply_feed_frame(sessions, {"type": "session_removed", "session_id": "b"})
    assert not apply_feed_frame(sessions, {"type": "session_removed", "session_id": "b"})
    assert not apply_feed_frame(sessions, {"type": "error", "message": "read-only"})
    assert not apply_feed_frame(sessions, {"type": "session_changed", "session": "garbage"})
    assert list(sessions) == ["a"]
