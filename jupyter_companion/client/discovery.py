"""Find the Jupyter server to talk to, in the order API.md gives.

1. an explicit ``connect(url, token)``;
2. the environment variables ``JUPYTER_COMPANION_URL`` / ``JUPYTER_COMPANION_TOKEN``;
3. inside a JupyterHub single-user server (a notebook's kernel, a terminal there): that server,
   from ``JUPYTERHUB_SERVICE_URL`` (or the runtime directory's server under
   ``JUPYTERHUB_SERVICE_PREFIX``), authenticated with the hub token ``JUPYTERHUB_API_TOKEN``;
4. the running Jupyter servers of the runtime directory whose ``root_dir`` contains the working
   directory and that answer ``GET companion/api/status`` (the deepest root first).

With the environment variables, the optional ``JUPYTER_COMPANION_ROOT`` names the server's root
so that folders can be sent relative to it (otherwise absolute paths are sent, which API.md allows).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CompanionNotFound

ENV_URL = "JUPYTER_COMPANION_URL"
ENV_TOKEN = "JUPYTER_COMPANION_TOKEN"
#: What JupyterHub's spawner gives a single-user server (and so its kernels and terminals).
HUB_TOKEN = "JUPYTERHUB_API_TOKEN"
HUB_SERVICE_URL = "JUPYTERHUB_SERVICE_URL"
HUB_PREFIX = "JUPYTERHUB_SERVICE_PREFIX"
STATUS_PATH = "companion/api/status"


@dataclass(frozen=True)
class ServerInfo:
    """Where a companion server lives: base URL (ending in ``/``), token and, if known, root_dir."""

    url: str
    token: str = ""
    root_dir: str | None = None
    source: str = "explicit"

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normalize_url(self.url))

    def relative_cwd(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the server's root when it lies inside it, else absolute."""
        absolute = Path(path).resolve()
        if self.root_dir:
            root = Path(self.root_dir).expanduser().resolve()
            try:
                rel = absolute.relative_to(root)
            except ValueError:
                return str(absolute)
            return rel.as_posix() if str(rel) != "." else ""
        return str(absolute)


def normalize_url(url: str) -> str:
    """A base URL with a scheme and exactly one trailing slash."""
    url = url.strip()
    if not url:
        raise ValueError("empty server URL")
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/") + "/"


def _contains(root: str, cwd: Path) -> bool:
    try:
        cwd.relative_to(Path(root).expanduser().resolve())
    except (ValueError, OSError):
        return False
    return True


def probe_status(url: str, token: str, timeout: float = 3.0) -> tuple[bool, str]:
    """``(True, "")`` when ``url`` answers ``GET companion/api/status``; else ``(False, why)``."""
    req = urllib.request.Request(normalize_url(url) + STATUS_PATH, method="GET")
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) URL from config
            json.loads(resp.read().decode("utf-8") or "{}")
            return True, ""
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False, "the companion extension is not enabled there (404)"
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"unreachable ({reason})"


def running_servers(runtime_dir: str | None = None) -> list[dict[str, Any]]:
    """The running Jupyter servers listed in ``runtime_dir`` (default: the user's runtime dir)."""
    from jupyter_server.serverapp import list_running_servers

    try:
        return list(list_running_servers(runtime_dir))
    except OSError:
        return []


def discover(
    url: str | None = None,
    token: str | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    runtime_dir: str | None = None,
    environ: dict[str, str] | None = None,
    probe: Callable[[str, str], tuple[bool, str]] = probe_status,
    servers: Iterable[dict[str, Any]] | None = None,
) -> ServerInfo:
    """Resolve the server to use; raise :class:`CompanionNotFound` (saying how to fix it) if none.

    ``servers`` replaces the runtime-dir listing (tests); ``probe`` checks a candidate.
    """
    env = os.environ if environ is None else environ
    if url:
        tok = token if token is not None else _token_for(url, env, runtime_dir, servers)
        return ServerInfo(url, tok or "", source="explicit")
    if env.get(ENV_URL):
        tok = token if token is not None else env.get(ENV_TOKEN, "")
        return ServerInfo(env[ENV_URL], tok, root_dir=env.get("JUPYTER_COMPANION_ROOT") or None, source="env")
    listed = list(servers) if servers is not None else running_servers(runtime_dir)
    if env.get(HUB_TOKEN) and (env.get(HUB_SERVICE_URL) or env.get(HUB_PREFIX)):
        hub = hub_server(env, listed, token)
        if hub is not None:
            return hub

    here = Path(cwd if cwd is not None else os.getcwd()).resolve()
    candidates = [s for s in listed if s.get("url") and _contains(str(s.get("root_dir", "")), here)]
    # the deepest root first: the server that serves this very folder wins over a parent's
    candidates.sort(key=lambda s: len(str(Path(str(s.get("root_dir", "/"))).expanduser())), reverse=True)
    tried = [
        f"{s.get('url')}: root_dir {s.get('root_dir')} does not contain {here}"
        for s in listed
        if s not in candidates
    ]
    for server in candidates:
        srv_token = token if token is not None else str(server.get("token") or "")
        ok, why = probe(str(server["url"]), srv_token)
        if ok:
            return ServerInfo(
                str(server["url"]), srv_token, root_dir=str(server.get("root_dir")), source="runtime"
            )
        tried.append(f"{server['url']}: {why}")
    if not listed:
        raise CompanionNotFound("No running Jupyter server was found (and JUPYTER_COMPANION_URL is not set).")
    raise CompanionNotFound("No running Jupyter server with jupyter-companion serves this folder.", tried)


def hub_server(env: Any, listed: list[dict[str, Any]], token: str | None) -> ServerInfo | None:
    """The JupyterHub single-user server this process runs under, with the hub token; None when
    neither ``JUPYTERHUB_SERVICE_URL`` nor a listed server under ``JUPYTERHUB_SERVICE_PREFIX`` says
    where it is."""
    prefix = "/" + str(env.get(HUB_PREFIX) or "").strip("/") + "/"
    same_prefix = [s for s in listed if "/" + str(s.get("base_url") or "/").strip("/") + "/" == prefix]
    url = local_url(str(env.get(HUB_SERVICE_URL) or "")) if env.get(HUB_SERVICE_URL) else ""
    if not url and same_prefix:
        url = str(same_prefix[0].get("url") or "")
    if not url:
        return None
    root = env.get("JUPYTERHUB_ROOT_DIR") or (str(same_prefix[0].get("root_dir")) if same_prefix else None)
    tok = token if token is not None else str(env[HUB_TOKEN])
    return ServerInfo(url, tok, root_dir=root or None, source="jupyterhub")


def local_url(url: str) -> str:
    """``JUPYTERHUB_SERVICE_URL`` is where the server binds; an all-interfaces bind is reached on
    127.0.0.1."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - a bind address, turned into loopback
        netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urllib.parse.urlunsplit(parts)


def _token_for(url: str, env: Any, runtime_dir: str | None, servers: Iterable[dict[str, Any]] | None) -> str:
    """A token for an explicit URL given without one: the env's, or the running server's."""
    if env.get(ENV_TOKEN) and normalize_url(env.get(ENV_URL) or url) == normalize_url(url):
        return str(env[ENV_TOKEN])
    listed = list(servers) if servers is not None else running_servers(runtime_dir)
    for server in listed:
        if server.get("url") and normalize_url(str(server["url"])) == normalize_url(url):
            return str(server.get("token") or "")
    return ""
