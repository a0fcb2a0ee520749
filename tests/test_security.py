"""Security rules: authentication and authorization on every route, folder confinement, git
option injection, private state files, secrets kept out of answers and logs, no shell."""

from __future__ import annotations

import ast
import json
import logging
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado import web
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.routing import Router, Rule
from tornado.websocket import WebSocketHandler, websocket_connect

import jupyter_companion

pytestmark = pytest.mark.timeout(180)

PACKAGE_DIR = Path(jupyter_companion.__file__).resolve().parent
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
SECRET = "sk-very-secret-value-0123456789"
PROFILE_SECRET = "profile-secret-value-9876543210"


# -- helpers -----------------------------------------------------------------------------------


def companion_routes(web_app: web.Application) -> list[tuple[Rule, type]]:
    """Every route of the server under ``companion/``, plus every other route the extension
    registered (plugin routes included, wherever they live)."""
    found: list[tuple[Rule, type]] = []
    app = web_app.settings.get("companion_app")
    registered = {route[1] for route in getattr(app, "handlers", [])}
    assert registered, "the extension registered no handlers?"

    def walk(router: Any) -> None:
        for rule in getattr(router, "rules", []):
            target = rule.target
            if isinstance(target, type) and issubclass(target, web.RequestHandler):
                regex = getattr(rule.matcher, "regex", None)
                if regex is not None and ("/companion/" in regex.pattern or target in registered):
                    found.append((rule, target))
            elif isinstance(target, Router):
                walk(target)

    walk(web_app.default_router)
    return found


#: Values for the path arguments of companion routes.
ARGUMENTS = {"session_id": None, "action": "kill", "request_id": "r1", "name": "p1", "backend": "claude", "queued_id": "q1",
             "agent_id": "0123456789ab", "run_id": "0" * 32, "prompt_id": "0123456789ab",
             "issue_id": "ENG-1", "rec_id": "no-such-recording"}  # issue_id: the Linear plugin's route


def concrete_paths(rule: Rule, session_id: str) -> list[str]:
    """Request paths that the rule matches (one per alternative of simple enumerations)."""
    pattern = rule.matcher.regex.pattern  # type: ignore[attr-defined]
    catch_all = "/companion/(?:api|ws)(?:/.*[^/])?$"
    if pattern.endswith(catch_all):  # the JSON 404 catch-all
        base = pattern[: -len(catch_all)]
        return [f"{base}/companion/api/no-such-route", f"{base}/companion/ws/no/such"]
    values = {**ARGUMENTS, "session_id": session_id}
    paths = [""]
    i = 0
    while i < len(pattern):
        if pattern.startswith("(?P<", i):
            name = pattern[i + 4: pattern.index(">", i)]
            end = _group_end(pattern, i)
            body = pattern[pattern.index(">", i) + 1: end]
            assert name in values, f"route {pattern!r} has path argument {name!r}: teach this test a value"
            if name == "action":  # an enumeration: every alternative
                paths = [p + choice for p in paths for choice in body.split("|")]
            else:
                paths = [p + str(values[name]) for p in paths]
            i = end + 1
        elif pattern[i] == "\\":
            paths = [p + pattern[i + 1] for p in paths]
            i += 2
        elif pattern[i] == "$" and i == len(pattern) - 1:
            i += 1
        else:
            assert pattern[i] not in "()[]{}*+?|^$", f"cannot build a URL for route {pattern!r}: teach this test"
            paths = [p + pattern[i] for p in paths]
            i += 1
    return paths


def _group_end(pattern: str, start: int) -> int:
    """Index of the parenthesis closing the group that opens at ``start``."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise AssertionError(f"unbalanced group in {pattern!r}")


def implemented_methods(handler: type) -> list[str]:
    """HTTP methods the handler class implements."""
    if issubclass(handler, WebSocketHandler):
        return ["get"]
    return [m for m in HTTP_METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)]


async def ws_status(jp_http_port: int, path: str, headers: dict[str, str]) -> int:
    """Status of a WebSocket upgrade (101 when it opened)."""
    request = HTTPRequest(f"ws://127.0.0.1:{jp_http_port}{path}", headers=headers)
    try:
        connection = await websocket_connect(request)
    except HTTPClientError as exc:
        return exc.code
    connection.close()
    return 101


async def create(api: Any, **body: Any) -> dict[str, Any]:
    status, session = await api("POST", "sessions", body={"backend": "claude", **body})
    assert status == 201, session
    return session


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder`` with a fixed identity."""
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *identity, "-C", str(folder), *args], check=True, capture_output=True,
                          text=True).stdout


def make_repo(folder: Path) -> Path:
    """A repository with one commit on ``main``."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    (folder / "a.txt").write_text("one\n")
    git(folder, "add", "a.txt")
    git(folder, "commit", "-q", "-m", "first")
    return folder


# -- authentication ----------------------------------------------------------------------------


async def test_every_route_refuses_requests_without_a_valid_token(
    jp_serverapp: Any, api: Any, raw: Any, jp_http_port: int, workdir: Path
) -> None:
    """Enumerated from the server's own route table: no token, a wrong token (header or query),
    all get 401/403, and nothing reaches a service."""
    session = await create(api, cwd="project")
    sid = session["id"]
    routes = companion_routes(jp_serverapp.web_app)
    patterns = {rule.matcher.regex.pattern for rule, _ in routes}  # type: ignore[attr-defined]
    assert any(p.endswith("/companion/api/sessions$") for p in patterns), patterns
    assert any("/companion/ws/sessions/" in p for p in patterns), patterns
    assert any(p.endswith("/companion/api/git/info$") for p in patterns), patterns
    assert any(p.endswith("/companion/api/env-profiles$") for p in patterns), patterns
    refused: list[str] = []
    checked = 0
    for rule, handler in routes:
        for path in concrete_paths(rule, sid):
            for method in implemented_methods(handler):
                for headers, query in (({}, ""), ({"Authorization": "token wrong"}, ""), ({}, "?token=wrong")):
                    if issubclass(handler, WebSocketHandler):
                        status = await ws_status(jp_http_port, path + query, headers)
                        body: Any = None
                    else:
                        status, body = await raw(method, path + query, auth=False, headers=headers)
                    checked += 1
                    if status not in (401, 403):
                        refused.append(f"{method.upper()} {path}{query} {headers}: {status} {str(body)[:100]}")
    assert checked > 60
    assert not refused, "\n".join(refused)
    _, info = await api("GET", "sessions", sid)
    assert info["pid"] and not info["archived"] and info["name"] == session["name"]
    _, listing = await api("GET", "sessions")
    assert [s["id"] for s in listing["sessions"]] == [sid]
    _, profiles = await api("GET", "env-profiles")
    assert profiles["profiles"] == []


@pytest.mark.parametrize("authorizer_mode", ["deny"])
async def test_every_route_checks_authorization(jp_serverapp: Any, raw: Any, jp_http_port: int,
                                                jp_auth_header: dict[str, str]) -> None:
    """With an authorizer that denies ``companion``, every route and method answers 403 (a
    route missing ``@authorized`` would answer 404 or 200 instead)."""
    not_refused: list[str] = []
    for rule, handler in companion_routes(jp_serverapp.web_app):
        for path in concrete_paths(rule, "0" * 32):
            for method in implemented_methods(handler):
                if issubclass(handler, WebSocketHandler):
                    status = await ws_status(jp_http_port, path, jp_auth_header)
                else:
                    status, _ = await raw(method, path)
                if status != 403:
                    not_refused.append(f"{method.upper()} {path}: {status}")
    assert not not_refused, "\n".join(not_refused)
    status, _ = await raw("GET", "api/status")  # other resources still work
    assert status == 200


@pytest.mark.parametrize("authorizer_mode", ["read-only"])
async def test_read_only_user_can_watch_but_not_drive(
    jp_serverapp: Any, api: Any, raw: Any, connect: Any, jp_http_port: int, workdir: Path
) -> None:
    """``read`` opens GET routes and the socket; every write (REST or WS command) is refused."""
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    await orch.ensure_active()
    session = await orch.create({"backend": "claude", "cwd": "project"})
    sid = session.id
    writes: list[str] = []
    reads = 0
    for rule, handler in companion_routes(jp_serverapp.web_app):
        if issubclass(handler, WebSocketHandler):
            continue
        for path in concrete_paths(rule, sid):
            for method in implemented_methods(handler):
                status, _ = await raw(method, path)
                if method == "get":
                    reads += 1
                    assert status != 403, path
                elif status != 403:
                    writes.append(f"{method.upper()} {path}: {status}")
    assert reads > 10 and not writes, "\n".join(writes)
    stream = await connect(sid)
    for command in (
        {"type": "user_message", "content": "hello", "client_msg_id": "w1"},
        {"type": "interrupt"},
        {"type": "set_model", "model": "opus"},
        {"type": "set_permission_mode", "mode": "bypassPermissions"},
        {"type": "permission_response", "request_id": "r1", "behavior": "allow"},
    ):
        await stream.send(command)
        error = await stream.until_type("error")
        assert "not authorized" in error["message"], (command, error)
    _, events = await api("GET", "sessions", sid, "events")
    assert not [e for e in events["events"] if e["type"] == "user_message"
                or (e["type"] == "session_update" and ("model" in e or "permission_mode" in e))]
    assert session.info["permission_mode"] == "default" and session.running
    stream.close()


# -- folder confinement ------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the server root, with a file worth stealing."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    return folder


async def test_session_cwd_is_confined_to_the_root(api: Any, jp_root_dir: Path, outside: Path, workdir: Path) -> None:
    """Absolute paths outside, ``..``, symlinks out, symlink loops, files: all 4xx, no session."""
    (jp_root_dir / "link-out").symlink_to(outside)
    (jp_root_dir / "project" / "deep-link").symlink_to(outside)
    (jp_root_dir / "loop-a").symlink_to(jp_root_dir / "loop-b")
    (jp_root_dir / "loop-b").symlink_to(jp_root_dir / "loop-a")
    (jp_root_dir / "self-loop").symlink_to(jp_root_dir / "self-loop")
    (jp_root_dir / "file.txt").write_text("x")
    cases = {
        str(outside): 403, "/": 403, "/etc": 403, "..": 403, "../..": 403, "project/../..": 403,
        f"{jp_root_dir}/..": 403, "link-out": 403, "project/deep-link": 403, f"{jp_root_dir}/link-out": 403,
        "link-out/../project": 403, "loop-a": 400, "self-loop": 400, "file.txt": 400, "~": 400,
        "project/missing": 400, "project\x00/../..": 400,
    }
    wrong: list[str] = []
    for cwd, expected in cases.items():
        status, body = await api("POST", "sessions", body={"backend": "claude", "cwd": cwd})
        if status != expected or not isinstance(body, dict) or "error" not in body:
            wrong.append(f"{cwd!r}: {status} {body}")
        lines = (await api("POST", "sessions", body={"backend": "claude", "cwd": cwd},
                           headers={"Accept": "application/x-ndjson"}))[1]
        last = lines[-1] if isinstance(lines, list) else lines
        if last.get("type") != "error" or last.get("status") != expected:
            wrong.append(f"ndjson {cwd!r}: {last}")
    assert not wrong, "\n".join(wrong)
    _, listing = await api("GET", "sessions", params={"archived": "all"})
    assert listing["sessions"] == []
    session = await create(api, cwd=str(workdir))  # an absolute path inside is fine
    assert session["cwd"] == str(workdir.resolve())


async def test_git_routes_are_confined(api: Any, jp_root_dir: Path, outside: Path) -> None:
    """``path`` of git/* and ``file`` of a session's diff cannot leave the root or the repository,
    through ``..``, absolute paths or symlinks (to a file or a folder)."""
    repo = make_repo(jp_root_dir / "repo")
    make_repo(outside / "other-repo")
    (jp_root_dir / "link-out").symlink_to(outside)
    (jp_root_dir / "link-repo").symlink_to(outside / "other-repo")
    (jp_root_dir / "loop").symlink_to(jp_root_dir / "loop")
    (repo / "leak").symlink_to(outside / "secret.txt")
    (repo / "leakdir").symlink_to(outside)
    (repo / "self-loop").symlink_to(repo / "self-loop")
    (repo / "tracked-leak").symlink_to(outside / "secret.txt")
    git(repo, "add", "tracked-leak")
    git(repo, "commit", "-q", "-m", "a link")
    wrong: list[str] = []
    for route in ("info", "branches", "worktrees"):
        for path, expected in {
            str(outside): {403}, str(outside / "other-repo"): {403}, "..": {403}, "repo/../..": {403},
            "link-out": {403}, "link-repo": {403}, "repo/leakdir": {403}, "/": {403},
            "loop": {400, 403, 404}, "repo/a.txt": {200, 400, 404}, "missing": {404},
        }.items():
            status, body = await api("GET", "git", route, params={"path": path})
            text = json.dumps(body)
            if status not in expected or "TOP-SECRET" in text or "other-repo" in text.replace(path, ""):
                wrong.append(f"git/{route}?path={path}: {status} {text[:150]}")
    session = await create(api, cwd="repo")
    sid = session["id"]
    for file, expected in {
        "../../outside/secret.txt": {403}, str(outside / "secret.txt"): {403}, "/etc/passwd": {403},
        "leak": {403}, "leakdir/secret.txt": {200, 400, 403, 404}, "leakdir/../../outside/secret.txt": {403},
        "a.txt/../../x": {403}, "..": {403}, "missing.txt": {404}, "self-loop": {400, 403, 404},
        str(repo / "self-loop"): {400, 403, 404}, str(repo / "self-loop" / "x"): {400, 403, 404},
    }.items():
        status, body = await api("GET", "sessions", sid, "diff", params={"file": file})
        text = json.dumps(body)
        if status not in expected or "TOP-SECRET" in text or "root:x:0" in text:
            wrong.append(f"diff file={file}: {status} {text[:150]}")
    status, body = await api("GET", "sessions", sid, "diff", params={"file": "tracked-leak"})
    if "TOP-SECRET" in json.dumps(body):  # a committed link shows as its target path, never the content
        wrong.append(f"tracked-leak: {body}")
    for route in ("changes", "commits", "pr"):
        status, body = await api("GET", "sessions", sid, route)
        if "TOP-SECRET" in json.dumps(body):
            wrong.append(f"{route}: {body}")
    assert not wrong, "\n".join(wrong)


INJECTED_BRANCHES = [
    "--upload-pack=touch PWNED", "-b", "-", "--", "-c core.sshCommand=x", "a..b", "..", "x@{1}", "@{u}", "@",
    "a\x01b", "a\nb", "a\tb", "a b", "HEAD", "x.lock", "/x", "x/", "x//y", "x~1", "x^", "x:y", "x?", "x*", "x[",
    "x\\y", ".x", "x/.y", "x" * 300, "",
]


async def test_branch_names_cannot_inject_options(api: Any, jp_root_dir: Path) -> None:
    """Invalid or option-like branch names are refused with 400 before git runs with them."""
    repo = make_repo(jp_root_dir / "repo")
    before = git(repo, "branch", "--list")
    wrong: list[str] = []
    for branch in INJECTED_BRANCHES:
        for extra in ({}, {"create_branch": True}, {"worktree": True}, {"worktree": True, "create_branch": True}):
            body = {"backend": "claude", "cwd": "repo", "branch": branch, **extra}
            status, answer = await api("POST", "sessions", body=body)
            if branch == "" and status == 201:
                await api("DELETE", "sessions", answer["id"])  # an empty name means "no branch"
                continue
            if status != 400 or "error" not in answer:
                wrong.append(f"{branch!r} {extra}: {status} {str(answer)[:150]}")
    assert not wrong, "\n".join(wrong)
    assert git(repo, "branch", "--list") == before
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not list(jp_root_dir.rglob("PWNED")) and not Path("PWNED").exists()
    _, listing = await api("GET", "sessions", params={"archived": "all"})
    assert listing["sessions"] == []


# -- private state -----------------------------------------------------------------------------


async def test_state_files_are_private(jp_serverapp: Any, api: Any, connect: Any, workdir: Path) -> None:
    """The SQLite file (and its WAL/SHM) is 0600; the state root and each session's state dir 0700."""
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    session = await create(api, cwd="project")
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "write something"})
    await stream.until_type("result")
    await orch.store.aflush()
    db = Path(orch.store.path)
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")) if p.exists()]
    assert db in files and Path(f"{db}-wal") in files  # the store runs in WAL mode
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))
    state_root = Path(orch.state_root)
    session_dir = Path(orch.sessions[session["id"]].state_dir())
    for folder in (state_root, session_dir):
        assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, (folder, oct(folder.stat().st_mode))


# -- secrets -----------------------------------------------------------------------------------


@pytest.fixture
def server_log(jp_serverapp: Any) -> Iterator[list[str]]:
    """Every log record of the server (root, ServerApp, tornado, companion) at DEBUG, formatted."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                lines.append(self.format(record))
            except Exception:  # a record that cannot be formatted is not a leak
                lines.append(str(record.msg))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = {logging.getLogger(), jp_serverapp.log, logging.getLogger("tornado.access"),
               logging.getLogger("tornado.application"), logging.getLogger("jupyter_companion")}
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield lines
    for logger in loggers:
        logger.removeHandler(handler)
        logger.setLevel(levels[logger])


async def test_env_values_never_leave_the_server(
    jp_serverapp: Any, api: Any, raw: Any, connect: Any, workdir: Path, server_log: list[str]
) -> None:
    """Session env and env-profile values reach the CLI but never an answer, an event or the log."""
    status, profile = await api("PUT", "env-profiles", "work", body={"env": {"PROFILE_TOKEN": PROFILE_SECRET}})
    assert status == 200 and PROFILE_SECRET not in json.dumps(profile)
    status, lines = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "env_profile": "work",
                                                         "env": {"API_TOKEN": SECRET}},
                              headers={"Accept": "application/x-ndjson"})
    assert status == 201 and lines[-1]["type"] == "done", lines
    session = lines[-1]["session"]
    sid = session["id"]
    assert session["env_keys"] == ["API_TOKEN", "PROFILE_TOKEN"]
    environ = Path(f"/proc/{session['pid']}/environ").read_bytes().split(b"\0")
    assert f"API_TOKEN={SECRET}".encode() in environ and f"PROFILE_TOKEN={PROFILE_SECRET}".encode() in environ
    assert SECRET.encode() not in Path(f"/proc/{session['pid']}/cmdline").read_bytes()  # argv is world-readable
    stream = await connect(sid)
    await stream.send({"type": "user_message", "content": "hello"})
    await stream.until_type("result")
    # errors and odd requests are logged: none of them may echo a value
    await api("POST", "sessions", body={"backend": "claude", "cwd": "/etc", "env": {"API_TOKEN": SECRET}})
    await api("POST", "sessions", body={"backend": "nope", "env": {"X": PROFILE_SECRET}})
    await api("PUT", "env-profiles", "bad name", body={"env": {"A": SECRET}})
    await api("PUT", "env-profiles", "work", body={"env": {"PROFILE_TOKEN": "••••3210"}})  # keeps the value
    await raw("POST", "companion/api/sessions", body='{"env": {"A": "' + SECRET + '"')
    await api("POST", "sessions", sid, "relaunch")
    answers = [
        lines,
        stream.events,
        (await api("GET", "sessions"))[1],
        (await api("GET", "sessions", params={"archived": "all"}))[1],
        (await api("GET", "sessions", sid))[1],
        (await api("GET", "sessions", sid, "events"))[1],
        (await api("GET", "settings"))[1],
        (await api("GET", "env-profiles"))[1],
        (await api("GET", "status"))[1],
        (await api("GET", "plugins"))[1],
    ]
    text = json.dumps(answers)
    for secret in (SECRET, PROFILE_SECRET):
        assert secret not in text
        assert secret[:-4] not in text  # masking shows at most the last four characters
        leaked = [line for line in server_log if secret in line or secret[:-4] in line]
        assert not leaked, leaked[:3]
    assert server_log  # the capture did see the server's log
    environ = Path(f"/proc/{orch_pid(jp_serverapp, sid)}/environ").read_bytes().split(b"\0")
    assert f"PROFILE_TOKEN={PROFILE_SECRET}".encode() in environ  # the masked PUT kept the value


def orch_pid(jp_serverapp: Any, session_id: str) -> int:
    """The pid of a session's running CLI."""
    session = jp_serverapp.web_app.settings["companion_orchestrator"].sessions[session_id]
    assert session.adapter is not None and session.adapter.pid
    return int(session.adapter.pid)


# -- no shell ----------------------------------------------------------------------------------


def test_no_shell_anywhere_in_the_package() -> None:
    """No ``shell=True``, ``create_subprocess_shell``, ``os.system``/``os.popen`` in the code."""
    offences: list[str] = []
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        tree = ast.parse(source.read_text(), filename=str(source))
        where = source.relative_to(PACKAGE_DIR.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "shell" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None)
                    ):
                        offences.append(f"{where}:{node.lineno}: shell={ast.unparse(keyword.value)}")
            if isinstance(node, ast.Attribute) and node.attr in (
                "create_subprocess_shell", "system", "popen", "getoutput", "getstatusoutput", "spawnlp", "execlp",
            ):
                base = ast.unparse(node.value)
                if node.attr == "create_subprocess_shell" or base in ("os", "subprocess", "commands"):
                    offences.append(f"{where}:{node.lineno}: {base}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in ("os", "subprocess", "asyncio"):
                for alias in node.names:
                    if alias.name in ("system", "popen", "create_subprocess_shell", "getoutput", "getstatusoutput"):
                        offences.append(f"{where}:{node.lineno}: from {node.module} import {alias.name}")
    assert not offences, "\n".join(offences)
    # and the plain-text spelling, in case it hides in a string handed to exec/eval
    for source in sources:
        text = source.read_text()
        for needle in ("shell=True", "create_subprocess_shell", "os.system("):
            assert needle not in text, f"{source}: {needle}"
