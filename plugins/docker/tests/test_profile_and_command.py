"""Fast checks of the docker sandbox's pieces: profile validation and the ``docker exec`` command."""

from __future__ import annotations

import pytest

from jupyter_companion_docker.command import LAUNCH, exec_wrapper, passes_into_container, shell_argv
from jupyter_companion_docker.profile import validate_profile


def test_a_profile_is_normalized() -> None:
    profile = validate_profile({"provider": "docker", "image": "python:3.12-slim", "cpus": 1.5, "memory": "2g",
                                "ports": [8000, 8000, 3000], "env": {"A": "1"}, "init_script": "echo hi"})
    assert profile == {"image": "python:3.12-slim", "network": "bridge", "cpus": 1.5, "memory": "2g",
                       "ports": [3000, 8000], "env": {"A": "1"}, "init_script": "echo hi"}


@pytest.mark.parametrize(("body", "words"), [
    ({}, "either 'image'"),
    ({"image": "a", "dockerfile": "FROM a"}, "not both"),
    ({"dockerfile": "RUN true"}, "no FROM line"),
    ({"image": "has space"}, "image reference"),
    ({"image": "a", "network": "overlay"}, "'network' must be one of"),
    ({"image": "a", "cpus": 0}, "'cpus'"),
    ({"image": "a", "cpus": True}, "'cpus'"),
    ({"image": "a", "memory": "lots"}, "'memory'"),
    ({"image": "a", "ports": [0]}, "'ports'"),
    ({"image": "a", "env": {"1X": "v"}}, "'env'"),
    ({"image": "a", "init_timeout": 0}, "'init_timeout'"),
    ({"image": "a", "user": "root; rm"}, "'user'"),
    ({"image": "a", "volumes": ["/:/host"]}, "unknown field(s) volumes"),
])
def test_bad_profiles_are_refused_with_a_reason(body: dict, words: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        validate_profile(body)
    assert words in str(info.value)


def test_the_cli_runs_with_docker_exec_and_secrets_stay_off_the_command_line() -> None:
    wrap = exec_wrapper(["docker", "--host", "unix:///e.sock"], lambda: {"container_id": "cid123", "mounts": ["/srv"]},
                        {"DOCKER_HOST": "unix:///e.sock"})
    env = {"PATH": "/host/bin", "HOME": "/host/home", "ANTHROPIC_API_KEY": "sk-secret", "CODEX_HOME": "/host/x",
           "DISABLE_AUTOUPDATER": "1", "XDG_RUNTIME_DIR": "/run/user/0"}
    argv, client_env, cwd = wrap(["/opt/npm/.bin/claude", "--print"], env, "/srv/project")
    assert argv[:7] == ["docker", "--host", "unix:///e.sock", "exec", "-i", "-w", "/srv/project"]
    assert "sk-secret" not in " ".join(argv)
    passed = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    assert passed == ["ANTHROPIC_API_KEY", "DISABLE_AUTOUPDATER"]
    assert argv[argv.index("cid123") + 1:] == ["sh", "-c", LAUNCH, "companion-cli",
                                                "claude", "--print"]
    assert client_env["ANTHROPIC_API_KEY"] == "sk-secret" and client_env["DOCKER_HOST"] == "unix:///e.sock"
    assert cwd == "/srv/project"
    inside = wrap(["codex", "app-server"], {"CODEX_HOME": "/srv/state/codex-home"}, "/srv/project")[0]
    assert inside[inside.index("-e") + 1] == "CODEX_HOME"  # a folder the container sees: passed
    assert not passes_into_container("PATH") and passes_into_container("OPENAI_API_KEY")


def test_the_shell_opens_in_the_session_folder() -> None:
    argv = shell_argv(["docker"], {"container_id": "cid"}, "/srv/p")
    assert argv is not None and argv[:6] == ["docker", "exec", "-it", "-w", "/srv/p", "cid"]
    assert shell_argv(["docker"], {}, "/srv/p") is None
