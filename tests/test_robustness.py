"""Bad input never yields a 500 and loses nothing.

Every route of ``companion/api/`` (core, git, settings, env profiles) and the WebSocket get
malformed and hostile input: invalid JSON, wrong types for every field, huge and odd strings,
unknown or path-like ids, hostile query values and unknown methods. Each answer must be a 4xx
JSON ``{error}`` without a traceback or a path of the server's code, and the session must still
answer a prompt afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tornado.websocket import WebSocketClientConnection

import jupyter_companion
from jupyter_companion.backends.base import no_wrapper
from jupyter_companion.errors import ApiError
from jupyter_companion.events import CommandError, has_lone_surrogate, parse_command
from jupyter_companion.gitops.errors import GitError
from jupyter_companion.gitops.paths import confine, relative_inside
from jupyter_companion.plugins import PluginManager
from jupyter_companion.sandboxes.base import SandboxSpec
from jupyter_companion.sessions.create_request import validate_create
from jupyter_companion.sessions.orchestrator import Orchestrator, OrchestratorConfig
from jupyter_companion.settings import SettingsService
from tests.support.memory_store import MemorySettingsStore

pytestmark = pytest.mark.timeout(300)

PACKAGE_DIR = str(Path(jupyter_companion.__file__).resolve().parent)

#: Values of the wrong type or shape, sent for every field.
HOSTILE: list[Any] = [
    None,
    0,
    -1,
    2**64,
    -(2**63) - 1,
    1.5,
    float("inf"),
    True,
    False,
    "",
    " \t\n",
    "x" * 300_000,
    "\u202e\U0001f600\u65e5\u672c\ufeff",
    "a\x00b",
    "\x1b[31m\r\n",
    "../../../../etc/passwd",
    "/etc",
    "--upload-pack=touch /tmp/pwned",
    [],
    [None],
    ["a", 1, {}],
    {},
    {"a": {"b": [1, {"c": None}]}},
]

#: Request bodies that are not a usable JSON object.
RAW_BODIES: list[str | bytes] = [
    "{",
    "nul",
    "[]",
    "[1, 2]",
    "null",
    "1",
    '"a string"',
    "NaN",
    "-Infinity",
    "1e999999",
    "{'single': 'quotes'}",
    b"\xff\xfe\xfd",
    b'{"content": "\xc3\x28"}',
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    '{"content": "x"}' + "garbage",
    "\x00",
]

#: Session ids that must never reach a service (or find a session).
BAD_IDS = [
    "0" * 32,
    "nope",
    "..",
    "..%2F..%2Fetc",
    "%2E%2E",
    "a%00b",
    "x" * 65,
    "x" * 5000,
    "%E2%80%AE%F0%9F%98%80",
    "a%20b",
    "%3Cscript%3E",
]

#: Query values for integer, enum and path arguments.
BAD_QUERY = [
    "-1",
    "-9223372036854775809",
    "9223372036854775808",
    "9" * 40,
    "9" * 5000,
    "1e3",
    "0x10",
    "1.5",
    "abc",
    "NaN",
    "%00",
    "\u202e",
    " 1",
    "x" * 20_000,
]


def clean_error_problem(status: int, body: Any) -> str | None:
    """Why an answer is not a 4xx JSON ``{error: str}`` free of tracebacks and server paths."""
    if not 400 <= status < 500:
        return f"status {status}"
    if not isinstance(body, dict):
        return f"body is not a JSON object: {str(body)[:200]!r}"
    if not isinstance(body.get("error"), str) or not body["error"]:
        return f"no 'error' message: {str(body)[:200]!r}"
    text = json.dumps(body)
    if "Traceback" in text or 'File "' in text or body.get("traceback"):
        return f"a traceback: {text[:300]}"
    if PACKAGE_DIR in text or "site-packages" in text:
        return f"a server path: {text[:300]}"
    return None


class Problems:
    """Collects every bad answer of a test, so one run reports all of them."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, status: int, body: Any, context: Any = None) -> None:
        """Record the answer unless it is a clean 4xx error."""
        problem = clean_error_problem(status, body)
        if problem:
            self.found.append(f"{str(context)[:100]}: {problem[:120]}")

    def answer(self, result: tuple[int, Any], context: Any = None) -> None:
        """:meth:`check` of a ``(status, body)`` pair."""
        self.check(result[0], result[1], context)

    def expect(self, ok: bool, context: Any) -> None:
        """Record ``context`` when ``ok`` is false."""
        if not ok:
            self.found.append(str(context)[:400])

    def assert_none(self) -> None:
        """Fail with the whole list."""
        assert not self.found, f"{len(self.found)} bad answers:\n" + "\n".join(self.found[:40])


async def create(api: Any, **body: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", **body})
    assert status == 201, session
    return session


async def prompt_answered(api: Any, connect: Any, session_id: str, text: str) -> None:
    """The session still works: a prompt over a fresh socket gets its result.

    Turns queued earlier may still be finishing, so their results are skipped; the prompt's own
    result must come (the fake CLI answers in order).
    """
    status, info = await api("GET", "sessions", session_id)
    assert status == 200, info
    stream = await connect(session_id, after=info["last_seq"])
    await stream.send({"type": "user_message", "content": text})
    await stream.until(lambda e: e["type"] == "result" and e.get("text") == f"echo: {text}")
    stream.close()


def _make_repo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    (folder / "a.txt").write_text("one\n")
    subprocess.run(["git", *env_args, "-C", str(folder), "add", "a.txt"], check=True)
    subprocess.run(["git", *env_args, "-C", str(folder), "commit", "-q", "-m", "first"], check=True)


# -- session creation ------------------------------------------------------------------------

CREATE_FIELDS = [
    "backend", "cwd", "model", "permission_mode", "name", "branch", "create_branch", "worktree",
    "sandbox", "env_profile", "env", "allowed_tools", "resume_session", "fork",
]


async def test_create_session_with_hostile_fields_and_bodies(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """Every create field with every hostile value: 201 or a clean 4xx, never a 500."""
    problems = Problems()
    kept = await create(api, cwd="project")
    created = 0
    for field in CREATE_FIELDS:
        for value in HOSTILE:
            status, body = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", field: value})
            if status == 201:  # the value happens to be acceptable (e.g. a unicode name)
                created += 1
                assert (await api("DELETE", "sessions", body["id"]))[0] == 200
            else:
                problems.check(status, body, (field, value))
    problems.expect(created > 0, "no hostile value was accepted")  # the loop did reach the service with valid-enough bodies
    for payload in RAW_BODIES:
        status, body = await raw("POST", "companion/api/sessions", body=payload)
        problems.check(status, body, payload[:40])
    status, body = await raw("POST", "companion/api/sessions", body=None)
    problems.check(status, body, "empty body")
    # the NDJSON variant: errors end the stream with a 4xx status line
    for field, value in [("cwd", "/etc"), ("backend", ["x"]), ("branch", "--upload-pack=x"), ("env", {"A": 1})]:
        status, lines = await api("POST", "sessions", body={"cwd": "project", field: value},
                                  headers={"Accept": "application/x-ndjson"})
        last = lines[-1] if isinstance(lines, list) else lines
        code = last.get("status", status) if isinstance(last, dict) else status
        problems.expect(400 <= code < 500 and "error" in last, ("ndjson", field, value, str(lines)[:300]))
        problems.expect("Traceback" not in json.dumps(lines), ("ndjson traceback", field))
    problems.assert_none()
    await prompt_answered(api, connect, kept["id"], "after create abuse")


# -- one session's routes --------------------------------------------------------------------


async def test_session_routes_refuse_hostile_bodies(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """PATCH, messages, permissions, archive with wrong types and broken JSON."""
    problems = Problems()
    session = await create(api, cwd="project", name="keep")
    sid = session["id"]
    base = f"companion/api/sessions/{sid}"
    await prompt_answered(api, connect, sid, "before body abuse")
    for value in HOSTILE:
        if isinstance(value, str) and value.strip() and len(value) <= 200:
            continue  # a valid name
        status, body = await api("PATCH", "sessions", sid, body={"name": value})
        problems.check(status, body, ("name", value))
    for extra in ({}, {"nme": "x"}, [1]):
        problems.answer((await api("PATCH", "sessions", sid, body=extra)), extra)
    for value in HOSTILE:
        for field in ("content", "images", "client_msg_id"):
            message: dict[str, Any] = {"content": "hello", field: value}
            if field == "content" and isinstance(value, str) and value.strip():
                continue  # a valid prompt
            if field == "images" and value in (None, []):
                continue  # no images
            if field == "client_msg_id" and (value is None or (isinstance(value, str) and value and len(value) <= 200)):
                continue  # a valid idempotency key
            status, body = await api("POST", "sessions", sid, "messages", body=message)
            problems.check(status, body, (field, value))
        for image_field in ("media_type", "data"):
            if image_field == "data" and isinstance(value, str) and re.fullmatch(r"(?:[A-Za-z0-9+/]{4})+", value):
                continue  # valid base64
            image = {"media_type": "image/png", "data": "iVBORw0KGgo=", image_field: value}
            status, body = await api("POST", "sessions", sid, "messages", body={"content": "x", "images": [image]})
            problems.check(status, body, (image_field, value))
    too_many = [{"media_type": "image/png", "data": "AA=="}] * 21
    problems.answer(await api("POST", "sessions", sid, "messages", body={"content": "x", "images": too_many}))
    problems.answer(await api("POST", "sessions", sid, "messages", body={"content": "x" * 1_000_001}))
    for field in ("behavior", "updated_input", "updated_permissions", "message", "client_msg_id"):
        for value in HOSTILE:
            decision: dict[str, Any] = {"behavior": "allow", field: value}
            status, body = await api("POST", "sessions", sid, "permissions", "req-1", body=decision)
            problems.check(status, body, (field, value))
    for request_id in ["..", "%2E%2E", "a%00b", "x" * 200, "%E2%80%AE", "%0D%0AX-Injected:%201"]:
        status, body = await raw("POST", f"{base}/permissions/{request_id}", body='{"behavior": "allow"}')
        problems.check(status, body, request_id)
    for payload in RAW_BODIES:
        for path in (base, f"{base}/messages", f"{base}/permissions/req-1"):
            method = "PATCH" if path == base else "POST"
            status, body = await raw(method, path, body=payload)
            problems.check(status, body, (path, payload[:40]))
        status, body = await raw("POST", f"{base}/archive", body=payload)
        problems.check(status, body, ("archive", payload[:40]))
    _, info = await api("GET", "sessions", sid)
    problems.expect(info["name"] == "keep" and not info["archived"], ("session changed", info["name"], info["archived"]))
    problems.assert_none()
    await prompt_answered(api, connect, sid, "after body abuse")
    _, data = await api("GET", "sessions", sid, "events")
    prompts = [e["content"] for e in data["events"] if e["type"] == "user_message"]
    assert prompts == ["before body abuse", "after body abuse"]  # nothing lost, nothing extra


#: JSON text of a string with an unpaired UTF-16 surrogate: valid JSON, but not encodable as UTF-8.
LONE = '"x\\ud800y"'


def lone(template: str) -> str:
    """``template`` with ``@@`` replaced by :data:`LONE`."""
    return template.replace("@@", LONE)


async def test_lone_surrogates_and_hostile_models_lose_nothing(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """Strings that decode but cannot be encoded (``\\ud800``) are refused everywhere; a hostile
    model cannot be set over the socket or as a setting, so later launches keep working."""
    problems = Problems()
    session = await create(api, cwd="project", name="keep")
    sid = session["id"]
    base = f"companion/api/sessions/{sid}"
    bodies = [("POST", "companion/api/sessions", lone('{"cwd": "project", "' + field + '": @@}'))
              for field in ("backend", "cwd", "model", "permission_mode", "name", "branch", "sandbox",
                            "env_profile", "resume_session")]
    bodies += [
        ("POST", "companion/api/sessions", lone('{"cwd": "project", "env": {"A": @@}}')),
        ("POST", "companion/api/sessions", lone('{"cwd": "project", "env": {@@: "v"}}')),
        ("POST", "companion/api/sessions", lone('{"cwd": "project", "allowed_tools": [@@]}')),
        ("POST", "companion/api/sessions", lone('{"cwd": "project", @@: 1}')),
        ("PATCH", base, lone('{"name": @@}')),
        ("POST", f"{base}/messages", lone('{"content": @@}')),
        ("POST", f"{base}/messages", lone('{"content": "x", "client_msg_id": @@}')),
        ("POST", f"{base}/messages", lone('{"content": "x", "images": [{"media_type": "image/png", "data": @@}]}')),
        ("POST", f"{base}/permissions/r1", lone('{"behavior": "deny", "message": @@}')),
        ("POST", f"{base}/permissions/r1", lone('{"behavior": "allow", "updated_input": {"k": @@}}')),
        ("POST", f"{base}/archive", lone('{"force": false, "x": @@}')),
        ("PATCH", "companion/api/settings", lone('{"default_model": @@}')),
        ("PUT", "companion/api/env-profiles/p1", lone('{"env": {"A": @@}}')),
        ("PUT", "companion/api/env-profiles/p1", lone('{"env": {@@: "v"}}')),
    ]
    for method, path, body in bodies:
        status, answer = await raw(method, path, body=body)
        problems.check(status, answer, (method, path[-30:], body[:60]))
    for model in ["--dangerously-skip-permissions", "-x", "a b", "sonnet\n", "x;rm -rf /", "\u202eevil", "a" * 201, " "]:
        status, answer = await api("PATCH", "settings", body={"default_model": model})
        problems.check(status, answer, ("default_model", model))
        status, answer = await api("POST", "sessions", body={"cwd": "project", "model": model})
        problems.check(status, answer, ("model", model))
    stream = await connect(sid, after=session["last_seq"])
    for frame in [lone('{"type": "user_message", "content": @@}'), lone('{"type": "set_model", "model": @@}'),
                  lone('{"type": "interrupt", "client_msg_id": @@}'),
                  '{"type": "set_model", "model": "--dangerously-skip-permissions"}',
                  '{"type": "set_model", "model": "sonnet\\n"}', '{"type": "set_model", "model": "a b"}']:
        await stream.ws.write_message(frame)
        reply = await stream.until(lambda e: e["type"] in ("error", "session_update", "user_message"))
        problems.expect(reply["type"] == "error", (frame, reply))
    stream.close()
    problems.assert_none()
    _, info = await api("GET", "sessions", sid)
    assert info["name"] == "keep" and info["model"] in (None, "claude-fake-1")
    assert (await api("GET", "settings"))[1]["settings"]["default_model"] == ""
    # a fresh launch (argv and environment built again) and a new session still work
    assert (await api("POST", "sessions", sid, "kill"))[0] == 200
    await prompt_answered(api, connect, sid, "after surrogates")
    other = await create(api, cwd="project")
    await prompt_answered(api, connect, other["id"], "a new session")


async def test_archive_force_must_be_a_real_boolean(api: Any, raw: Any, jp_root_dir: Path) -> None:
    """``{"force": "false"}`` (or 1, [], ...) is refused instead of discarding uncommitted work."""
    problems = Problems()
    _make_repo(jp_root_dir / "repo")
    session = await create(api, cwd="repo", worktree=True, branch="feature", create_branch=True)
    sid = session["id"]
    work = Path(session["cwd"]) / "unsaved.txt"
    work.write_text("precious\n")
    for force in ['"false"', '"no"', "0", "1", "[]", "{}", '"true"']:
        status, body = await raw("POST", f"companion/api/sessions/{sid}/archive", body='{"force": ' + force + "}")
        problems.check(status, body, force)
        problems.expect(status == 400, ("force", force, status))
    for payload in ["[]", "[true]", '"force"', "true", " \n"]:
        status, body = await raw("POST", f"companion/api/sessions/{sid}/archive", body=payload)
        problems.expect(status == 400, ("body", payload, status))
    problems.assert_none()
    assert work.read_text() == "precious\n"
    status, body = await api("POST", "sessions", sid, "archive", body={"force": False})
    assert status == 200 and body["worktree"]["cleaned"] is False and body["worktree"]["dirty"] is True
    assert work.read_text() == "precious\n"
    status, body = await api("POST", "sessions", sid, "archive", body={"force": None})
    assert status == 200 and body["worktree"]["cleaned"] is False and work.exists()


async def test_unknown_and_path_like_session_ids(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """Every session route with ids that do not exist or look like paths: a clean 404/4xx."""
    problems = Problems()
    session = await create(api, cwd="project")
    routes = [
        ("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/kill"), ("POST", "/relaunch"),
        ("POST", "/archive"), ("POST", "/unarchive"), ("POST", "/interrupt"), ("POST", "/messages"),
        ("POST", "/permissions/r1"), ("GET", "/events"), ("GET", "/changes"), ("GET", "/diff?file=a.txt"),
        ("GET", "/commits"), ("GET", "/pr"),
    ]
    body = json.dumps({"name": "x", "content": "x", "behavior": "allow"})
    for bad_id in BAD_IDS:
        for method, suffix in routes:
            status, answer = await raw(method, f"companion/api/sessions/{bad_id}{suffix}",
                                       body=body if method in ("POST", "PATCH") else None)
            problems.check(status, answer, (method, bad_id[:20], suffix))
    for bad_id in BAD_IDS:
        status, answer = await raw("GET", f"companion/ws/sessions/{bad_id}")
        problems.check(status, answer, ("ws", bad_id[:20]))
    _, listing = await api("GET", "sessions")
    assert [s["id"] for s in listing["sessions"]] == [session["id"]]
    problems.assert_none()
    await prompt_answered(api, connect, session["id"], "after id abuse")


async def test_hostile_query_values(api: Any, raw: Any, connect: Any, jp_root_dir: Path) -> None:
    """after/limit/archived/base/path/file with odd, huge, negative and overflowing values."""
    problems = Problems()
    _make_repo(jp_root_dir / "repo")
    session = await create(api, cwd="repo")
    sid = session["id"]
    await prompt_answered(api, connect, sid, "before query abuse")
    checks: list[tuple[str, str, Callable[[int], bool]]] = [
        (f"companion/api/sessions/{sid}/events", "after", lambda s: s in (200, 400)),
        (f"companion/api/sessions/{sid}/events", "limit", lambda s: s in (200, 400)),
        (f"companion/api/sessions/{sid}/commits", "limit", lambda s: s in (200, 400)),
        ("companion/api/sessions", "archived", lambda s: s == 400),
        (f"companion/api/sessions/{sid}/changes", "base", lambda s: s == 400),
        (f"companion/api/sessions/{sid}/diff?file=a.txt&", "base", lambda s: s == 400),
        (f"companion/api/sessions/{sid}/diff", "file", lambda s: s in (400, 403, 404)),
        ("companion/api/git/info", "path", lambda s: s in (200, 400, 403, 404)),
        ("companion/api/git/branches", "path", lambda s: s in (200, 400, 403, 404)),
        ("companion/api/git/worktrees", "path", lambda s: s in (200, 400, 403, 404)),
        ("companion/api/backends/claude/conversations", "cwd", lambda s: s in (200, 400, 403)),
        ("companion/api/backends/claude/conversations", "limit", lambda s: s in (200, 400)),
        (f"companion/api/sessions/{sid}/export", "format", lambda s: s == 400),
    ]
    values = BAD_QUERY + ["../..", "/", "/etc/passwd", "repo/../../..", "x/" * 3000, "a" * 300]
    for path, name, ok in checks:
        for value in values:
            joiner = "" if path.endswith("&") else "?"
            url = f"{path}{joiner}{name}={urllib.parse.quote(value, safe='%')}"
            status, body = await raw("GET", url)
            problems.expect(ok(status), (url[:200], status, str(body)[:300]))
            if status >= 400:
                problems.check(status, body, url[:200])
    # the same argument twice, and an empty value
    status, body = await raw("GET", f"companion/api/sessions/{sid}/events?after=1&after=x&limit=")
    problems.expect(status < 500, ("after twice", status, body))
    status, body = await raw("GET", f"companion/api/sessions/{sid}/events?limit=")
    problems.expect(status == 400 and "'limit' must be an integer" in body.get("error", ""), ("limit=", status, body))
    status, body = await raw("GET", f"companion/api/sessions/{sid}/events?after=-5&limit=2")
    problems.expect(status == 400 or (status == 200 and len(body["events"]) <= 2), ("after=-5", status, body))
    status, body = await raw("GET", f"companion/ws/sessions/{sid}?after=abc")
    problems.check(status, body, "ws after=abc")
    status, body = await raw("GET", f"companion/ws/sessions/{sid}?after={'9' * 5000}")
    problems.check(status, body, "ws after=9*5000")
    # huge but valid integers on the socket: the socket opens and takes commands (a negative
    # value counts as 0, a huge one replays nothing)
    for after in ("9223372036854775808", "-9223372036854775809", str(10**30)):
        stream = await connect(sid, after=after)
        await stream.send({"type": "user_message", "content": f"after={after[:5]}"})
        await stream.until(lambda e: e["type"] == "stream_delta")
        problems.expect(after.startswith("-") or not stream.stored(), ("replayed", after, stream.stored()[:2]))
        stream.close()
    problems.assert_none()
    await prompt_answered(api, connect, sid, "after query abuse")


async def test_settings_and_env_profiles_refuse_hostile_input(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """PATCH settings and PUT/DELETE env-profiles with wrong types, bad names and broken JSON."""
    problems = Problems()
    session = await create(api, cwd="project")
    for value in HOSTILE:
        if value is None:
            continue  # null resets a setting
        for key in ("default_permission_mode",):
            problems.answer((await api("PATCH", "settings", body={key: value})), (key, value))
        if not isinstance(value, str):
            problems.answer((await api("PATCH", "settings", body={"default_model": value})), value)
        problems.answer((await api("PATCH", "settings", body={"unknown": value})), value)
        if value != {}:  # {} is a valid (empty) profile
            problems.answer((await api("PUT", "env-profiles", "p1", body={"env": value})), ("env", value))
        if not isinstance(value, str) or "\x00" in value:
            problems.answer((await api("PUT", "env-profiles", "p1", body={"env": {"OK": value}})), ("value", value))
        if isinstance(value, str):
            problems.answer((await api("PUT", "env-profiles", "p1", body={"env": {value: "v"}})), ("name", value))
    for key in ["", "\x00", "x" * 10_000]:
        problems.answer((await api("PATCH", "settings", body={key: "plan"})), key)
    for name in ["..", "%2E%2E", "a%00b", "-x", ".hidden", "x" * 64 + "y", "a%20b", "%E2%80%AE", "a%2Fb"]:
        status, body = await raw("PUT", f"companion/api/env-profiles/{name}", body='{"env": {"A": "b"}}')
        problems.check(status, body, name)
        status, body = await raw("DELETE", f"companion/api/env-profiles/{name}")
        problems.check(status, body, name)
    for payload in RAW_BODIES + ["{}"]:
        problems.answer((await raw("PATCH", "companion/api/settings", body=payload)), payload[:40])
        problems.answer((await raw("PUT", "companion/api/env-profiles/p1", body=payload)), payload[:40])
    _, data = await api("GET", "settings")
    assert data["settings"]["default_permission_mode"] == "default"
    _, profiles = await api("GET", "env-profiles")
    assert profiles["profiles"] == []
    problems.assert_none()
    await prompt_answered(api, connect, session["id"], "after settings abuse")


async def test_unknown_methods_and_routes(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """Methods a route does not implement (and nonstandard ones) get a clean 4xx."""
    problems = Problems()
    session = await create(api, cwd="project")
    sid = session["id"]
    paths = [
        "status", "backends", "plugins", "sessions", f"sessions/{sid}", f"sessions/{sid}/kill",
        f"sessions/{sid}/messages", f"sessions/{sid}/permissions/r1", f"sessions/{sid}/events",
        f"sessions/{sid}/changes", f"sessions/{sid}/diff", f"sessions/{sid}/commits", f"sessions/{sid}/pr",
        "git/info", "git/branches", "git/worktrees", "settings", "env-profiles", "env-profiles/p1",
    ]
    implemented = {
        "status": {"GET"}, "backends": {"GET"}, "plugins": {"GET"}, "sessions": {"GET", "POST"},
        f"sessions/{sid}": {"GET", "PATCH", "DELETE"}, f"sessions/{sid}/kill": {"POST"},
        f"sessions/{sid}/messages": {"POST"}, f"sessions/{sid}/permissions/r1": {"POST"},
        "settings": {"GET", "PATCH"}, "env-profiles": {"GET"}, "env-profiles/p1": {"PUT", "DELETE"},
    }
    for path in paths:
        allowed = implemented.get(path, {"GET"})
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "PROPFIND", "TRACE", "FOO"):
            if method in allowed:
                continue
            status, body = await raw(method, f"companion/api/{path}", body="{}" if method != "GET" else None)
            problems.check(status, body, (method, path))
    for path in ["nope", f"sessions/{sid}/nope", "git", "git/nope", "..%2F..%2Fapi%2Fstatus", "%00"]:
        status, body = await raw("GET", f"companion/api/{path}")
        problems.check(status, body, path)
    status, body = await raw("GET", "companion/api/sessions/")  # Jupyter redirects a trailing slash
    problems.expect(status in (301, 302) or 400 <= status < 500, ("trailing slash", status))
    _, info = await api("GET", "sessions", sid)
    assert info["pid"]  # no stray method killed it
    problems.assert_none()
    await prompt_answered(api, connect, sid, "after method abuse")


async def test_oversized_body_is_413(api: Any, raw: Any, connect: Any, workdir: Path) -> None:
    """A body above the 64 MiB limit is refused with 413, and the session is unaffected."""
    problems = Problems()
    session = await create(api, cwd="project")
    payload = '{"content": "' + "x" * (64 * 1024 * 1024 + 16) + '"}'
    status, body = await raw("POST", f"companion/api/sessions/{session['id']}/messages", body=payload)
    del payload
    problems.check(status, body, "oversized")
    assert status == 413
    _, events = await api("GET", "sessions", session["id"], "events")
    assert not [e for e in events["events"] if e["type"] == "user_message"]
    problems.assert_none()
    await prompt_answered(api, connect, session["id"], "after the big body")


# -- WebSocket --------------------------------------------------------------------------------


async def test_websocket_survives_hostile_frames(api: Any, connect: Any, workdir: Path) -> None:
    """Binary frames, every command field with every hostile value, deep JSON, a flood of 1000
    malformed frames: each gets an error frame, the socket stays open, a prompt is answered."""
    session = await create(api, cwd="project")
    stream = await connect(session["id"], after=session["last_seq"])
    ws: WebSocketClientConnection = stream.ws

    async def expect_error(frame: str | bytes, binary: bool = False) -> dict[str, Any]:
        await ws.write_message(frame, binary=binary)
        error = await stream.until(lambda e: e.get("type") in ("error", "user_message", "session_update"))
        assert error["type"] == "error" and error["seq"] is None, (str(frame)[:80], error)
        assert isinstance(error["message"], str) and "Traceback" not in error["message"]
        assert PACKAGE_DIR not in error["message"]
        return error

    await expect_error(b"\xff\xfe\x00\x01", binary=True)
    await expect_error(b"[1, 2]", binary=True)
    for payload in RAW_BODIES:
        if isinstance(payload, str) and payload.strip() in ('{"content": "x"}garbage',):
            continue
        await expect_error(payload, binary=isinstance(payload, bytes))
    commands = {
        "user_message": {"content": "x"},
        "permission_response": {"request_id": "r1", "behavior": "allow"},
        "set_model": {"model": "sonnet"},
        "set_permission_mode": {"mode": "plan"},
        "interrupt": {},
    }
    for kind, good in commands.items():
        for field in [*good, "client_msg_id", "type"]:
            for value in HOSTILE:
                frame = {"type": kind, **good, field: value}
                try:
                    from jupyter_companion.events import parse_command

                    parse_command(frame)
                    continue  # a valid command: not what this loop is about
                except ValueError:
                    pass
                await expect_error(json.dumps(frame))
    for _ in range(1000):
        await ws.write_message("{broken")
    for _ in range(1000):
        error = await stream.until_type("error")
        assert error["message"] == "the frame is not valid JSON"
    await stream.send({"type": "user_message", "content": "still alive", "client_msg_id": "final"})
    result = await stream.until_type("result")
    assert result["text"] == "echo: still alive"
    stream.close()
    _, data = await api("GET", "sessions", session["id"], "events")
    assert [e["content"] for e in data["events"] if e["type"] == "user_message"] == ["still alive"]


async def test_websocket_oversized_frame_closes_only_that_socket(
    api: Any, connect: Any, jp_ws_fetch: Any, workdir: Path
) -> None:
    """A frame above 64 MiB closes the socket; another socket and the session are unaffected."""
    session = await create(api, cwd="project")
    watcher = await connect(session["id"], after=session["last_seq"])
    ws = await jp_ws_fetch("companion", "ws", "sessions", session["id"], params={"after": "1000000000"},
                           max_message_size=1024 * 1024)
    big = '{"type": "user_message", "content": "' + "y" * (64 * 1024 * 1024 + 16) + '"}'
    try:
        await ws.write_message(big)
    except Exception:  # the server may close before the write completes
        pass
    del big
    closed = await asyncio.wait_for(_drain(ws), 60)
    assert closed
    await watcher.send({"type": "user_message", "content": "watcher ok"})
    assert (await watcher.until_type("result"))["text"] == "echo: watcher ok"
    await prompt_answered(api, connect, session["id"], "after the big frame")
    _, data = await api("GET", "sessions", session["id"], "events")
    assert all(len(e.get("content") or "") < 1000 for e in data["events"] if e["type"] == "user_message")


async def _drain(ws: WebSocketClientConnection) -> bool:
    while True:
        message = await ws.read_message()
        if message is None:
            return True


# -- property tests of the validators (hypothesis) ---------------------------------------------


#: Text biased towards what breaks parsers and file systems.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["..", "../..", "/", "/etc", "~", "-", "--x=y", "@{", "\x00", "\ud800", "a" * 300,
                     "project", "default", "plan", "claude", "local", "image/png", "allow", "deny"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10).map(lambda t: t + "\ud800"),
)


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists and objects of ``inner`` values (a named function: hypothesis inspects its source)."""
    return st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    _nested,
    max_leaves=12,
)
CREATE_KEYS = [*CREATE_FIELDS, "x"]
create_bodies = st.dictionaries(st.sampled_from(CREATE_KEYS), json_values, max_size=6) | json_values
COMMAND_KEYS = ["type", "content", "images", "client_msg_id", "request_id", "behavior", "updated_input",
                "updated_permissions", "message", "model", "mode"]
command_types = st.sampled_from(["user_message", "permission_response", "interrupt", "set_model",
                                 "set_permission_mode", "bogus"])
commands = st.one_of(
    json_values,
    st.builds(lambda kind, rest: {**rest, "type": kind}, command_types,
              st.dictionaries(st.sampled_from(COMMAND_KEYS), json_values, max_size=5)),
)
fuzz = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

def _orchestrator(root: Path) -> Orchestrator:
    store: Any = MemorySettingsStore()
    orch = Orchestrator(store, PluginManager(), OrchestratorConfig(root_dir=str(root), state_root=str(root / ".s")),
                        SettingsService(store, {}))
    orch.backends = {"claude": Any}  # type: ignore[dict-item]  # only membership is checked
    orch.register_sandbox(SandboxSpec(name="local", label="Local", wrapper=lambda session: no_wrapper))
    return orch

@fuzz
@given(frame=commands)
def test_parse_command_only_raises_command_error(frame: Any) -> None:
    """Any decoded frame is either a valid command or a CommandError (never a crash)."""
    try:
        command = parse_command(frame)
    except CommandError as exc:
        assert str(exc)
        return
    assert command["type"] in ("user_message", "permission_response", "interrupt", "set_model",
                               "set_permission_mode")
    assert not has_lone_surrogate(frame) or command["type"] != "set_model"

@fuzz
@given(body=create_bodies)
def test_create_validation_only_raises_4xx(tmp_path_factory: pytest.TempPathFactory, body: Any) -> None:
    """Any create body is either accepted or refused with a 4xx ApiError."""
    root = tmp_path_factory.getbasetemp() / "fuzz-root"
    (root / "project").mkdir(parents=True, exist_ok=True)
    orch = _orchestrator(root)
    try:
        opts = validate_create(orch, body)
        cwd = orch.folders.resolve_cwd(body.get("cwd"))
    except ApiError as exc:
        assert 400 <= exc.status < 500 and exc.message
        return
    assert opts["backend"] == "claude" and cwd.startswith(str(root.resolve()))

@fuzz
@given(changes=json_values | st.dictionaries(st.sampled_from(["default_model", "default_permission_mode", "x"]),
                                             json_values, max_size=3))
def test_settings_update_only_raises_4xx(changes: Any) -> None:
    """Any settings change is either stored or refused with a 4xx ApiError."""
    service = SettingsService(MemorySettingsStore(), {})  # type: ignore[arg-type]
    try:
        service.update(changes)
    except ApiError as exc:
        assert 400 <= exc.status < 500
        return
    model = service.value("default_model")
    assert model == "" or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/@\[\]-]{0,199}", model)

@fuzz
@given(raw_path=hostile_text | st.lists(hostile_text, max_size=4).map("/".join))
def test_path_confinement_never_escapes(tmp_path_factory: pytest.TempPathFactory, raw_path: str) -> None:
    """``confine`` and ``relative_inside`` return a path inside the root or raise GitError."""
    root = (tmp_path_factory.getbasetemp() / "fuzz-confine").resolve()
    (root / "sub").mkdir(parents=True, exist_ok=True)
    try:
        inside = confine(root, raw_path)
    except GitError as exc:
        assert 400 <= exc.status < 500
    else:
        assert inside == root or root in inside.parents
    try:
        relative = relative_inside(root, raw_path)
    except GitError as exc:
        assert 400 <= exc.status < 500
    else:
        assert not relative.startswith("../") and relative != ".." and not os.path.isabs(relative)

