"""One container per session: create, find again, run the init script, remove, sweep.

Blocking calls of the Docker SDK (run in a thread). A container is named ``companion-<id>``
and labelled with the session id and the owning server, so a server finds its containers again
after a restart and never touches another server's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from jupyter_companion.sandboxes.base import SandboxError, SandboxRequest

LABEL_SESSION = "io.jupyter-companion.session"
LABEL_OWNER = "io.jupyter-companion.owner"
LABEL_PROFILE = "io.jupyter-companion.profile"
#: The container's main process: wait for a stop signal, nothing else.
KEEPALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"
#: Where the CLI started by ``docker exec`` writes its pid (to stop a leftover before a relaunch).
PIDFILE = "/tmp/.companion-cli.pid"
#: Where the host's CLI credential files are mounted read-only.
CREDENTIALS_DIR = "/run/companion-credentials"
#: Host file (relative to the user's home) -> (name under CREDENTIALS_DIR, path under the container's HOME).
CREDENTIAL_FILES = {
    ".claude/.credentials.json": ("claude-credentials.json", ".claude/.credentials.json"),
    ".codex/auth.json": ("codex-auth.json", ".codex/auth.json"),
    ".gitconfig": ("gitconfig", ".gitconfig"),
}
MAX_SCRIPT_LINES = 2000


def container_name(session_id: str) -> str:
    """The name of a session's container (with the whole session id, so ``docker ps --filter
    name=<id>`` finds it)."""
    return f"companion-{session_id}"


def find(client: docker.DockerClient, session_id: str, owner: str) -> Container | None:
    """The session's container (running or not), or None."""
    found = client.containers.list(
        all=True, filters={"label": [f"{LABEL_SESSION}={session_id}", f"{LABEL_OWNER}={owner}"]}
    )
    return found[0] if found else None


def default_user() -> str | None:
    """Who runs in the container: the server's own uid:gid (so files the agent writes into the
    mounted folders belong to the user), or the image's default user when the server runs as root."""
    return None if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"


def create(
    client: docker.DockerClient, request: SandboxRequest, image: str, home: str
) -> Container:
    """Create and start the session's container, then prepare its HOME (credentials linked
    read-only from the host, never copied)."""
    profile = request.profile
    user = profile.get("user") or default_user()
    network = profile.get("network") or "bridge"
    volumes: dict[str, dict[str, str]] = {f: {"bind": f, "mode": "rw"} for f in request.folders}
    links = []
    for host_rel, (staged, home_rel) in CREDENTIAL_FILES.items():
        host_path = os.path.join(request.home, host_rel)
        if os.path.isfile(host_path):
            volumes[host_path] = {"bind": f"{CREDENTIALS_DIR}/{staged}", "mode": "ro"}
            links.append((f"{CREDENTIALS_DIR}/{staged}", f"{home}/{home_rel}"))
    kwargs: dict[str, Any] = {
        "image": image,
        "command": ["sh", "-c", KEEPALIVE],
        "name": container_name(request.session_id),
        "labels": {LABEL_SESSION: request.session_id, LABEL_OWNER: request.owner,
                   LABEL_PROFILE: str(profile.get("name") or "")},
        "detach": True,
        "init": True,
        "working_dir": request.folders[0] if request.folders else "/",
        "environment": {"HOME": home, "IS_SANDBOX": "1", **request.env},
        "volumes": volumes,
        "network_mode": network,
    }
    if user:
        kwargs["user"] = user
    if profile.get("cpus"):
        kwargs["nano_cpus"] = int(float(profile["cpus"]) * 1e9)
    if profile.get("memory"):
        kwargs["mem_limit"] = profile["memory"]
    if profile.get("ports") and network == "bridge":
        kwargs["ports"] = {f"{p}/tcp": ("127.0.0.1", None) for p in profile["ports"]}
    try:
        container = client.containers.create(**kwargs)
    except docker.errors.APIError as exc:
        if exc.status_code == 409:  # a container of that name survived an earlier attempt
            remove_named(client, kwargs["name"], request.session_id)
            container = client.containers.create(**kwargs)
        else:
            raise
    try:
        container.start()
        _prepare_home(container, home, user, links)
        container.reload()
    except BaseException:
        remove(container)
        raise
    return container


def _prepare_home(container: Container, home: str, user: str | None, links: list[tuple[str, str]]) -> None:
    commands = [f"mkdir -p '{home}/.claude' '{home}/.codex'"]
    commands += [f"ln -sf '{source}' '{target}'" for source, target in links]
    if user:
        commands.append(f"chown -R '{user}' '{home}'")
    code, output = container.exec_run(["sh", "-c", " && ".join(commands)], user="0")
    if code != 0:
        raise SandboxError("creating_container", f"could not prepare the container's HOME ({home}): "
                                                 f"{output.decode(errors='replace').strip()[:300]}")


def shared_folders(container: Container) -> list[str]:
    """Host folders mounted read-write at the same path (the session's folders)."""
    return [m["Destination"] for m in container.attrs.get("Mounts") or []
            if m.get("RW") and m.get("Type") == "bind" and m.get("Source") == m.get("Destination")]


def published_ports(container: Container) -> dict[str, int]:
    """Container port -> host port on 127.0.0.1."""
    ports: dict[str, int] = {}
    for key, bindings in (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).items():
        if bindings:
            ports[key.split("/")[0]] = int(bindings[0]["HostPort"])
    return ports


def run_script(
    client: docker.DockerClient, container: Container, script: str, workdir: str, report: Callable[[str], None]
) -> tuple[int, list[str]]:
    """Run the init script with ``sh -c`` in the container, reporting each output line;
    ``(exit code, the last lines)``."""
    exec_id = client.api.exec_create(container.id, ["sh", "-c", script], workdir=workdir, stdout=True, stderr=True)
    tail: list[str] = []
    buffer = b""
    count = 0
    for chunk in client.api.exec_start(exec_id, stream=True):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").rstrip("\r")
            tail = (tail + [line])[-20:]
            count += 1
            if count <= MAX_SCRIPT_LINES:
                report(line[:1000])
            elif count == MAX_SCRIPT_LINES + 1:
                report("… (further output is not shown)")
    if buffer:
        line = buffer.decode(errors="replace")
        tail = (tail + [line])[-20:]
        report(line[:1000])
    code = client.api.exec_inspect(exec_id).get("ExitCode")
    return (int(code) if code is not None else -1), tail


def stop_leftover_cli(container: Container) -> None:
    """Kill a CLI an earlier launch left running in the container (its ``docker exec`` client
    was killed); one session, one CLI."""
    container.exec_run(["sh", "-c", f"test -f {PIDFILE} && kill -9 $(cat {PIDFILE}) 2>/dev/null; rm -f {PIDFILE}; true"],
                       user="0")


def remove(container: Container) -> None:
    """Remove a container (and its anonymous volumes), whatever its state; when a removal is
    already under way (``docker rm -f`` by someone else), wait until it is gone."""
    try:
        container.remove(force=True, v=True)
        return
    except docker.errors.NotFound:
        return
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            container.reload()
        except docker.errors.NotFound:
            return
        time.sleep(0.2)


def remove_named(client: docker.DockerClient, name: str, session_id: str) -> None:
    """Remove the container called ``name`` when it belongs to ``session_id``."""
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return
    if container.labels.get(LABEL_SESSION) != session_id:
        raise SandboxError("creating_container", f"a container named {name!r} exists and is not this session's")
    remove(container)


def sweep(client: docker.DockerClient, owner: str, known: set[str]) -> list[str]:
    """Remove this server's containers whose session it no longer has; their names."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}):
        if container.labels.get(LABEL_SESSION) not in known:
            remove(container)
            removed.append(container.name)
    return removed
