"""The docker sandbox through the public API, on a real Docker engine: availability, profiles,
creation steps, and every way a creation can fail leaving nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.docker_engine import docker, our_containers

pytestmark = pytest.mark.timeout(300)


async def _put(api: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    status, profile = await api("PUT", "sandbox-profiles", name, body=body)
    assert status == 200, profile
    return profile


async def _create(api: Any, **fields: Any) -> tuple[int, list[dict[str, Any]] | dict[str, Any]]:
    body = {"backend": "claude", "cwd": "project", "sandbox": "docker", **fields}
    return await api("POST", "sessions", body=body, headers={"Accept": "application/x-ndjson"})


def _steps(lines: list[dict[str, Any]], step: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("type") == "progress" and line.get("step") == step]


async def test_status_says_docker_is_available(api: Any, docker_url: str) -> None:
    status, body = await api("GET", "status")
    assert status == 200
    docker_entry = next(s for s in body["sandboxes"] if s["name"] == "docker")
    assert docker_entry["available"] is True and docker_entry["profiles"] is True and docker_entry["version"]
    local = next(s for s in body["sandboxes"] if s["name"] == "local")
    assert local["available"] is True and local["profiles"] is False


async def test_profiles_are_stored_validated_and_masked(api: Any, docker_url: str) -> None:
    for body, words in [
        ({"provider": "docker"}, "either 'image'"),
        ({"provider": "docker", "image": "x", "network": "wide"}, "'network' must be one of"),
        ({"provider": "nope", "image": "x"}, "'provider' must name"),
        ({"provider": "docker", "image": "x", "volumes": []}, "unknown field"),
        (["not", "an", "object"], "JSON object"),
    ]:
        status, error = await api("PUT", "sandbox-profiles", "bad", body=body)
        assert status == 400 and words in error["error"], (body, error)
    status, error = await api("PUT", "sandbox-profiles", "-starts-with-dash", body={"image": "x"})
    assert status == 400

    stored = await _put(api, "py", {"provider": "docker", "image": "python:3.12-slim", "env": {"TOKEN": "s3cret-value-123"},
                                    "memory": "512m", "cpus": 1})
    assert stored["name"] == "py" and stored["provider"] == "docker" and stored["network"] == "bridge"
    assert "s3cret" not in str(stored) and stored["env"]["TOKEN"].endswith("-123")
    # the masked value sent back keeps the secret; the provider defaults to the only one taking profiles
    again = await _put(api, "py", {"image": "python:3.12-slim", "env": {"TOKEN": stored["env"]["TOKEN"]}})
    assert again["env"] == stored["env"]
    _, listed = await api("GET", "sandbox-profiles")
    assert [p["name"] for p in listed["profiles"]] == ["py"]
    assert (await api("DELETE", "sandbox-profiles", "nope"))[0] == 404
    assert (await api("DELETE", "sandbox-profiles", "py")) == (200, {"ok": True})


async def test_a_create_names_a_valid_profile(api: Any, docker_url: str, session_folder: Path) -> None:
    status, error = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "docker"})
    assert status == 400 and "needs a 'sandbox_profile'" in error["error"]
    status, error = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "docker",
                                                        "sandbox_profile": "ghost"})
    assert status == 400 and "unknown sandbox profile 'ghost'" in error["error"]
    status, error = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "local",
                                                        "sandbox_profile": "ghost"})
    assert status == 400 and "'sandbox_profile'" in error["error"]
    _, sessions = await api("GET", "sessions")
    assert sessions["sessions"] == []


async def test_failed_creations_name_their_step_and_leave_nothing(
    api: Any, docker_url: str, test_base_image: str, session_folder: Path
) -> None:
    await _put(api, "missing", {"image": "companion-test/does-not-exist:1"})
    await _put(api, "failing", {"image": test_base_image, "init_script": "echo preparing things\nexit 3"})
    await _put(api, "slow", {"image": test_base_image, "init_script": "echo waiting; sleep 60", "init_timeout": 1})
    await _put(api, "broken-build", {"dockerfile": f"FROM {test_base_image}\nRUN exit 7\n"})
    cases = {
        "missing": ("preparing_image", "is not on this Docker engine and could not be pulled"),
        "failing": ("running_init_script", "failed with exit code 3: preparing things"),
        "slow": ("running_init_script", "did not finish within 1 s"),
        "broken-build": ("preparing_image", "building the image failed"),
    }
    for profile, (step, words) in cases.items():
        status, lines = await _create(api, sandbox_profile=profile)
        assert isinstance(lines, list) and status == 201, lines
        end = lines[-1]
        assert end["type"] == "error" and 400 <= end["status"] < 500 and words in end["error"], (profile, end)
        failed = [line for line in _steps(lines, step) if line["status"] == "error"]
        assert failed and words in failed[0]["detail"], (profile, lines)
        assert our_containers(docker_url) == [], profile
    failing = await _create(api, sandbox_profile="failing")
    assert isinstance(failing[1], list)
    output = [line.get("detail") for line in _steps(failing[1], "running_init_script") if line["status"] == "in_progress"]
    assert "preparing things" in output  # the script's output, line by line
    _, sessions = await api("GET", "sessions")
    assert sessions["sessions"] == []
    for name in cases:
        assert (await api("DELETE", "sandbox-profiles", name))[0] == 200


@pytest.fixture
def unreachable(tmp_path: Path) -> str:
    return f"unix://{tmp_path}/no-engine.sock"


class TestWithoutAnEngine:
    """The engine is not running: a reason in status, a clear 400 on create, nothing stored."""

    @pytest.fixture
    def docker_host(self, unreachable: str) -> str:
        return unreachable

    async def test_status_and_create_say_why(self, api: Any, session_folder: Path, unreachable: str) -> None:
        _, body = await api("GET", "status")
        entry = next(s for s in body["sandboxes"] if s["name"] == "docker")
        assert entry["available"] is False and "no Docker engine is running at" in entry["reason"]
        await _put(api, "any", {"image": "companion-test/base:2"})
        status, error = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "docker",
                                                            "sandbox_profile": "any"})
        assert status == 400 and "start dockerd" in error["error"]
        _, sessions = await api("GET", "sessions")
        assert sessions["sessions"] == []


def test_the_engine_is_reachable_from_the_tests(docker_url: str) -> None:
    assert docker(docker_url, "version", "--format", "{{.Server.Os}}").strip() == "linux"


async def test_limits_network_ports_and_env_come_from_the_profile(
    api: Any, docker_url: str, test_base_image: str, session_folder: Path
) -> None:
    """A session of the in-process echo backend in a container made from a profile with limits."""
    import json

    await _put(api, "limited", {"image": test_base_image, "cpus": 0.5, "memory": "64m", "ports": [8000],
                                "env": {"FROM_PROFILE": "yes"}})
    status, lines = await _create(api, backend="echo", sandbox_profile="limited")
    assert isinstance(lines, list) and lines[-1]["type"] == "done", lines
    sandbox = lines[-1]["session"]["sandbox"]
    info = json.loads(docker(docker_url, "inspect", sandbox["container_id"]))[0]
    host = info["HostConfig"]
    assert host["NanoCpus"] == 500_000_000 and host["Memory"] == 64 * 2**20
    assert host["NetworkMode"] == "bridge"
    binding = host["PortBindings"]["8000/tcp"][0]
    assert binding["HostIp"] == "127.0.0.1"
    assert sandbox["ports"] == {"8000": int(info["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])}
    assert "FROM_PROFILE=yes" in info["Config"]["Env"] and "IS_SANDBOX=1" in info["Config"]["Env"]
    assert (await api("DELETE", "sessions", lines[-1]["session"]["id"]))[0] == 200
    assert our_containers(docker_url) == []
