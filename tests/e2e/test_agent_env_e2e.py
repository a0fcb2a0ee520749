"""The real CLIs never inherit the server's own credentials (``JUPYTER_TOKEN``, the hub's token...):
with them an agent could drive this API and approve its own permission requests. What a user adds
on purpose (``cli_env``, env profiles, a session's ``env``) still reaches them. Read from the
running CLI process itself (``/proc/<pid>/environ``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_server import ScriptedAnthropic
from tests.support.clis import claude_env, ensure_cli
from tests.support.codex_env import codex_env, write_codex_home
from tests.support.openai_server import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SERVER_SECRETS = {
    "JUPYTER_TOKEN": "server-token-must-not-leak",
    "JUPYTERHUB_API_TOKEN": "hub-token-must-not-leak",
    "JPY_API_TOKEN": "hub-token-must-not-leak",
    "JUPYTER_COMPANION_TOKEN": "client-token-must-not-leak",
}


@pytest.fixture
def model_servers() -> Iterator[tuple[ScriptedAnthropic, ScriptedOpenAI]]:
    with ScriptedAnthropic() as anthropic, ScriptedOpenAI([]) as openai:
        yield anthropic, openai


@pytest.fixture
def companion_config(companion_config: dict[str, Any], model_servers: Any, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    anthropic, openai = model_servers
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in claude_env(anthropic.base_url, home).items() if k != "PATH"}
    env.update(codex_env(write_codex_home(tmp_path / "codex-home", openai.base_url)))
    env["JUPYTERHUB_API_TOKEN"] = "configured-on-purpose"  # cli_env may still set one
    for name, value in SERVER_SECRETS.items():
        monkeypatch.setenv(name, value)
    return {**companion_config, "cli_env": env}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {**jp_server_config, "ClaudeBackend": {"binary": ensure_cli("claude")},
            "CodexBackend": {"binary": ensure_cli("codex")}}


def process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode("utf-8", "replace") for k, v in pairs}


@pytest.mark.parametrize("backend", ["claude", "codex"])
async def test_cli_gets_no_server_credentials(api: Any, workdir: Path, backend: str) -> None:
    status, session = await api("POST", "sessions", body={"backend": backend, "cwd": "project",
                                                           "env": {"JPY_API_TOKEN": "given-for-this-session"}})
    assert status == 201, session
    env = process_env(session["pid"])
    assert "JUPYTER_TOKEN" not in env and "JUPYTER_COMPANION_TOKEN" not in env
    assert env["JUPYTERHUB_API_TOKEN"] == "configured-on-purpose"  # from cli_env
    assert env["JPY_API_TOKEN"] == "given-for-this-session"  # from the session's env
    assert not any(v in SERVER_SECRETS.values() for v in env.values())
    assert env.get("PATH")  # the rest of the server's environment is still inherited
