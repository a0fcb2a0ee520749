"""End to end: the REAL Claude Code CLI inside a session's container on a real Docker engine,
against a scripted Messages API on 127.0.0.1 (the test profile uses network ``host``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
from tests.support.clis import claude_env, ensure_cli
from tests.support.docker_engine import MARKER_PATH, MARKER_TEXT, docker, our_containers
from tests.support.server import JupyterServerProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def model_server() -> Iterator[ScriptedAnthropic]:
    with ScriptedAnthropic() as srv:
        srv.on(r"where are you", [Text("Let me look."),
                                   ToolUse("Bash", {"command": f"cat {MARKER_PATH} > where.txt", "description": "Look"})],
               times=1)
        srv.on_tool_result(Text("Done looking."))
        srv.on(r"go slow", Text("tick " * 400, chunks=400, delay=0.05), times=1)
        srv.on(None, lambda req: Text(f"Hello from the box! You wrote: {req.last_user_text}", chunks=3))
        yield srv


@pytest.fixture
def claude_binary() -> str:
    return ensure_cli("claude")


@pytest.fixture
def companion_config(companion_config: dict[str, Any], model_server: ScriptedAnthropic, tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Boxed Tester\n")
    env = claude_env(model_server.base_url, home)
    return {**companion_config, "cli_env": {k: v for k, v in env.items() if k != "PATH"}}


def _inspect(url: str, container: str) -> dict[str, Any]:
    return json.loads(docker(url, "inspect", container))[0]


async def _docker_session(api: Any, image: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    status, _ = await api("PUT", "sandbox-profiles", "box", body={"provider": "docker", "image": image, "network": "host"})
    assert status == 200
    status, lines = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "docker",
                                                        "sandbox_profile": "box"},
                              headers={"Accept": "application/x-ndjson"})
    assert status == 201 and lines[-1]["type"] == "done", lines
    return lines[-1]["session"], lines


async def test_the_cli_works_inside_the_container_and_survives_what_happens_to_it(
    api: Any, connect: Any, session_folder: Path, docker_url: str, test_claude_image: str
) -> None:
    session, lines = await _docker_session(api, test_claude_image)
    steps = [(line["step"], line["status"]) for line in lines if line["type"] == "progress"]
    assert ("preparing_image", "done") in steps and ("creating_container", "done") in steps
    assert steps.index(("creating_container", "done")) < steps.index(("launching_cli", "done"))
    sandbox = session["sandbox"]
    assert sandbox["provider"] == "docker" and sandbox["profile"] == "box" and sandbox["image"] == test_claude_image
    first_container = sandbox["container_id"]
    info = _inspect(docker_url, first_container)
    assert info["Config"]["Labels"]["io.jupyter-companion.session"] == session["id"]
    assert any(m["Source"] == str(session_folder) and m["Destination"] == str(session_folder) for m in info["Mounts"])
    assert first_container in sandbox["shell"]
    # the CLI's credential files are linked read-only from the host, never copied
    credentials = [m for m in info["Mounts"] if m["Destination"].startswith("/run/companion-credentials/")]
    assert [(Path(m["Source"]).name, m["RW"]) for m in credentials] == [(".gitconfig", False)]
    assert "Boxed Tester" in docker(docker_url, "exec", first_container, "cat", "/home/companion/.gitconfig")

    # a prompt streams
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "hello there"})
    result = await stream.until_type("result", timeout=120)
    assert result["text"] == "Hello from the box! You wrote: hello there"
    assert any(e["type"] == "stream_delta" for e in stream.events)

    # a tool needing permission, approved through the API, runs inside the container
    await stream.send({"type": "user_message", "content": "where are you?"})
    request = await stream.until_type("permission_request", timeout=120)
    assert request["tool_name"] == "Bash"
    status, _ = await api("POST", "sessions", session["id"], "permissions", request["request_id"], body={"behavior": "allow"})
    assert status == 200
    await stream.until(lambda e: e["type"] == "result" and e["seq"] > result["seq"], timeout=120)
    tool_result = [e for e in stream.events if e["type"] == "tool_result"][-1]
    assert tool_result["is_error"] is False, tool_result["content"]
    assert (session_folder / "where.txt").read_text().strip() == MARKER_TEXT
    assert not os.path.exists(MARKER_PATH)  # the host has no such file: the tool ran in the container

    # interrupt
    await stream.send({"type": "user_message", "content": "go slow please"})
    await stream.until_type("stream_delta", timeout=120)
    await stream.send({"type": "interrupt"})
    stopped = await stream.until(lambda e: e["type"] == "result" and e.get("interrupted"), timeout=60)

    # the CLI is killed: relaunched in the same container, with one CLI in it
    _, info_now = await api("GET", "sessions", session["id"])
    os.kill(info_now["pid"], signal.SIGKILL)
    await stream.until(lambda e: e.get("code") == "cli_exited", timeout=60)
    await stream.until(lambda e: e.get("code") == "relaunched", timeout=60)
    await stream.send({"type": "user_message", "content": "still there?"})
    again = await stream.until(lambda e: e["type"] == "result" and e["seq"] > stopped["seq"], timeout=120)
    assert again["text"] == "Hello from the box! You wrote: still there?"
    _, info_now = await api("GET", "sessions", session["id"])
    assert info_now["sandbox"]["container_id"] == first_container
    processes = docker(docker_url, "top", first_container, "-o", "pid,args")
    assert sum(" claude " in f" {line} " for line in processes.splitlines()) == 1, processes

    # the container is removed behind our back: recreated before the CLI runs again
    docker(docker_url, "rm", "-f", first_container)
    await stream.until(lambda e: e.get("code") == "cli_exited", timeout=60)
    await stream.send({"type": "user_message", "content": "and now?"})
    await stream.until(lambda e: e.get("code") == "sandbox_recreated", timeout=120)
    latest = await stream.until(lambda e: e["type"] == "result" and e["seq"] > again["seq"] and not e["is_error"],
                                timeout=120)
    assert latest["text"].startswith("Hello from the box! You wrote:") and "and now?" in latest["text"]
    _, info_now = await api("GET", "sessions", session["id"])
    assert info_now["sandbox"]["container_id"] != first_container
    assert len(our_containers(docker_url)) == 1

    # archive removes it, and the profile can go once no live session uses it
    status, error = await api("DELETE", "sandbox-profiles", "box")
    assert status == 409 and "archive or delete those sessions first" in error["error"]
    assert (await api("POST", "sessions", session["id"], "archive"))[0] == 200
    assert our_containers(docker_url) == []
    assert (await api("DELETE", "sandbox-profiles", "box"))[0] == 200
    assert (await api("DELETE", "sessions", session["id"]))[0] == 200


def test_a_restarted_server_finds_its_container_and_sweeps_strays(
    tmp_path: Path, docker_url: str, test_claude_image: str, model_server: ScriptedAnthropic
) -> None:
    root = tmp_path / "root"
    (root / "project").mkdir(parents=True)
    home = tmp_path / "home"
    home.mkdir()
    env = claude_env(model_server.base_url, home)
    args = [f"--ClaudeBackend.binary={ensure_cli('claude')}", f"--DockerSandbox.docker_host={docker_url}"]
    server = JupyterServerProcess(root, tmp_path / "state", env=env, args=args).start()
    try:
        assert server.request("PUT", "companion/api/sandbox-profiles/box",
                              {"image": test_claude_image, "network": "host"})[0] == 200
        # created from the command line, which shows the creation steps
        created = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "jupyter_companion.cli", "new", "--cwd", "project", "--sandbox-profile", "box"],
            env={**os.environ, "JUPYTER_COMPANION_URL": server.url, "JUPYTER_COMPANION_TOKEN": server.token},
            cwd=root, capture_output=True, text=True, timeout=180, check=False, stdin=subprocess.DEVNULL,
        )
        assert created.returncode == 0, created.stderr
        assert "Creating the container" in created.stderr and "Starting Claude Code" in created.stderr
        sid = created.stdout.split()[2]
        session = server.request("GET", f"companion/api/sessions/{sid}")[1]
        assert session["sandbox"]["provider"] == "docker"
        container = session["sandbox"]["container_id"]
        assert server.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "first words"})[0] in (200, 202)
        wait_until(lambda: any(e["type"] == "result" for e in server.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]))
    finally:
        server.stop()
    assert _inspect(docker_url, container)["State"]["Running"] is False  # kept, stopped
    # a stray container of this server's state whose session does not exist
    labels = _inspect(docker_url, container)["Config"]["Labels"]
    stray = docker(docker_url, "create", "--label", f"io.jupyter-companion.owner={labels['io.jupyter-companion.owner']}",
                   "--label", "io.jupyter-companion.session=0000dead", test_claude_image, "true").strip()

    again = JupyterServerProcess(root, tmp_path / "state", env=env, args=args).start()
    try:
        wait_until(lambda: stray[:12] not in docker(docker_url, "ps", "-a", "--format", "{{.ID}}"), timeout=30)
        assert again.request("POST", f"companion/api/sessions/{sid}/messages", {"content": "second words"})[0] in (200, 202)

        def answered() -> bool:
            events = again.request("GET", f"companion/api/sessions/{sid}/events")[1]["events"]
            return any(e["type"] == "result" and "second words" in (e.get("text") or "") for e in events)

        wait_until(answered, timeout=120)
        assert _inspect(docker_url, container)["State"]["Running"] is True  # the same container, started again
        assert again.request("DELETE", f"companion/api/sessions/{sid}")[0] == 200
        assert our_containers(docker_url) == []
    finally:
        again.stop()


async def test_a_dockerfile_profile_builds_and_runs_its_init_script(
    api: Any, session_folder: Path, docker_url: str, test_claude_image: str
) -> None:
    nonce = uuid.uuid4().hex  # a Dockerfile no earlier run built: this run builds it
    dockerfile = f"FROM {test_claude_image}\nRUN echo built-for-test > /built.txt && echo {nonce} > /nonce.txt\n"
    status, _ = await api("PUT", "sandbox-profiles", "built", body={
        "dockerfile": dockerfile, "network": "host", "init_script": "cat /built.txt\necho init done > init.txt"})
    assert status == 200
    status, lines = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "docker",
                                                        "sandbox_profile": "built"},
                              headers={"Accept": "application/x-ndjson"})
    assert status == 201 and lines[-1]["type"] == "done", lines
    image_lines = [line.get("detail") or "" for line in lines if line.get("step") == "preparing_image"]
    assert any("Step" in d or "RUN" in d for d in image_lines), image_lines
    script_lines = [line.get("detail") for line in lines if line.get("step") == "running_init_script"]
    assert "built-for-test" in script_lines and script_lines[-1] == "exit code 0"
    assert (session_folder / "init.txt").read_text().strip() == "init done"
    session = lines[-1]["session"]
    assert session["sandbox"]["image"].startswith("jupyter-companion-sandbox/built:")
    assert (await api("DELETE", "sessions", session["id"]))[0] == 200
    assert our_containers(docker_url) == []
    docker(docker_url, "rmi", session["sandbox"]["image"])
