"""A real JupyterHub for the tests (issue 16): ``jupyterhub`` from PyPI with the pinned
``configurable-http-proxy`` from npm, the dummy authenticator (one shared password) and the simple
local process spawner (each user's server a process with a home of its own under the test's
folder), every single-user server running this extension with :class:`CompanionHubAuthorizer`.

The scopes, roles and token settings are ``deploy/hub/companion_scopes.py``, loaded as
docs/deployment.md says. A ``tester`` service holds an admin token for the test's own calls.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from .clis import ensure_cli
from .server import free_port, wait_until

#: The hub configuration of docs/deployment.md (scopes, roles, token settings).
HUB_SNIPPET = Path(__file__).resolve().parents[2] / "deploy" / "hub" / "companion_scopes.py"
PASSWORD = "correct horse battery staple"  # noqa: S105 - the dummy authenticator's test password


def hub_config(hub: Hub) -> str:
    """The hub's ``jupyterhub_config.py``."""
    settings = {
        "JupyterHub": {
            "ip": "127.0.0.1", "port": hub.port, "hub_ip": "127.0.0.1", "hub_port": hub.hub_port,
            "db_url": f"sqlite:///{hub.root / 'jupyterhub.sqlite'}",
            "cookie_secret_file": str(hub.root / "cookie_secret"), "pid_file": str(hub.root / "hub.pid"),
            "authenticator_class": "dummy", "spawner_class": "simple",
            "services": [{"name": "tester", "api_token": hub.admin_token}],
            "load_roles": [
                {"name": "tester", "services": ["tester"],
                 "scopes": ["admin:users", "admin:servers", "tokens", "shares", "list:users", "read:users"]},
            ],
            "cleanup_servers": True,
        },
        "ConfigurableHTTPProxy": {"command": [hub.proxy_binary], "api_url": f"http://127.0.0.1:{hub.proxy_api_port}"},
        "Authenticator": {"allowed_users": sorted(hub.users)},
        "DummyAuthenticator": {"password": PASSWORD},
        "SimpleLocalProcessSpawner": {"home_dir_template": str(hub.root / "home" / "{username}")},
        "Spawner": {
            "cmd": [str(Path(sys.executable).with_name("jupyterhub-singleuser"))],
            "args": [f"--config={hub.root / 'jupyter_server_config.py'}"],
            "default_url": "/lab",
            "environment": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **hub.server_env},
            "start_timeout": 90, "http_timeout": 90,
        },
        "LocalProcessSpawner": {"interrupt_timeout": 10, "term_timeout": 5},
    }
    for section, values in hub.extra_config.items():
        settings.setdefault(section, {}).update(values)
    # the scopes, roles and token settings exactly as docs/deployment.md gives them
    return _python_config(settings) + f"load_subconfig({str(HUB_SNIPPET)!r})\n"


def server_config(settings: dict[str, Any]) -> str:
    """A single-user server's ``jupyter_server_config.py``: the extension, the hub authorizer and
    ``settings`` (``{section: {name: value}}``)."""
    base = {"ServerApp": {"authorizer_class": "jupyter_companion.hub.CompanionHubAuthorizer",
                          "jpserver_extensions": {"jupyter_companion": True},
                          "allow_root": os.geteuid() == 0}}  # the test machines run as root
    for section, values in settings.items():
        base.setdefault(section, {}).update(values)
    return _python_config(base)


def _python_config(settings: dict[str, Any]) -> str:
    lines = ["import json", "c = get_config()  # noqa"]
    for section, values in settings.items():
        for name, value in values.items():
            lines.append(f"c.{section}.{name} = json.loads({json.dumps(json.dumps(value))})")
    return "\n".join(lines) + "\n"


class Hub:
    """A JupyterHub process (with its proxy) and the users' servers it spawns."""

    def __init__(self, root: Path, users: list[str], *, server_settings: dict[str, Any] | None = None,
                 server_env: dict[str, str] | None = None, extra_config: dict[str, Any] | None = None):
        self.root = root
        self.users = list(users)
        self.server_settings = server_settings or {}
        self.server_env = dict(server_env or {})
        self.extra_config = extra_config or {}
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.admin_token = uuid.uuid4().hex
        self.proxy_binary = ensure_cli("configurable-http-proxy")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "hub.log"

    @property
    def url(self) -> str:
        """The public (proxy) URL, with trailing slash."""
        return f"http://127.0.0.1:{self.port}/"

    def home(self, user: str) -> Path:
        """A user's home (the server's root and where its SQLite file lives)."""
        return self.root / "home" / user

    def start(self, timeout: float = 90.0) -> Hub:
        """Start the hub and wait until its API answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "jupyterhub_config.py").write_text(hub_config(self))
        (self.root / "jupyter_server_config.py").write_text(server_config(self.server_settings))
        env = {**os.environ, "PATH": f"{Path(self.proxy_binary).parent}:{os.environ.get('PATH', '')}"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "jupyterhub", "-f", str(self.root / "jupyterhub_config.py")],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: self._answers(), timeout=timeout, interval=0.3)
        except AssertionError:
            raise AssertionError(f"the hub did not start; log:\n{self.log_tail()}") from None
        return self

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the hub exited ({self.proc.returncode}); log:\n{self.log_tail()}")
        try:
            return self.api("GET", "")[0] == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the hub (and, with ``cleanup_servers``, the users' servers and the proxy)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the hub's log (the servers log there too)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- the hub's REST API ------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """Call ``/hub/api/<path>`` (as the tester service unless ``token``)."""
        return request(method, f"{self.url}hub/api/{path}", body, token or self.admin_token)

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``user`` (all of the user's permissions unless ``scopes``)."""
        body: dict[str, Any] = {"note": "test"}
        if scopes is not None:
            body["scopes"] = scopes
        status, answer = self.api("POST", f"users/{user}/tokens", body)
        assert status in (200, 201), answer
        return str(answer["token"])

    def start_server(self, user: str, timeout: float = 120.0) -> None:
        """Start ``user``'s server (as the hub's home page would) and wait until it is ready."""
        status, answer = self.api("POST", f"users/{user}/server")
        assert status in (201, 202, 400), answer  # 400: already running
        wait_until(lambda: self.server_ready(user), timeout=timeout, interval=0.5)

    def server_ready(self, user: str) -> bool:
        """True when the hub reports ``user``'s default server ready."""
        _, model = self.api("GET", f"users/{user}")
        server = (model.get("servers") or {}).get("") or {}
        return bool(server.get("ready"))

    def stop_server(self, user: str, timeout: float = 60.0) -> None:
        """Stop ``user``'s server as the idle culler does (``DELETE users/<name>/server``)."""
        status, answer = self.api("DELETE", f"users/{user}/server")
        assert status in (202, 204), answer
        wait_until(lambda: "" not in (self.api("GET", f"users/{user}")[1].get("servers") or {}),
                   timeout=timeout, interval=0.5)

    # -- a user's server through the proxy ----------------------------------------------------------
    def companion(self, owner: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        """Call ``/user/<owner>/companion/api/<path>`` through the proxy with ``token``."""
        return request(method, f"{self.url}user/{owner}/companion/api/{path}", body, token)

    def ws_url(self, owner: str, session_id: str) -> str:
        """The session WebSocket of ``owner``'s server, through the proxy."""
        return f"ws://127.0.0.1:{self.port}/user/{owner}/companion/ws/sessions/{session_id}"


def request(method: str, url: str, body: Any = None, token: str = "", timeout: float = 60.0) -> tuple[int, Any]:
    """One HTTP call with ``Authorization: token``; ``(status, JSON or text)``."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"token {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - local test URL
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def wait_for(predicate: Any, timeout: float = 90.0) -> Any:
    """Poll ``predicate()`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("condition not reached in time")
