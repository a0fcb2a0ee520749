"""What ``GET status`` says about backends: availability, credentials (as the CLIs report them,
see the real-CLI tests in ``tests/e2e/test_model_trouble_*_e2e.py``) and protocol drift."""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_companion.backends import claude_probe, codex
from jupyter_companion.backends.base import Availability, BackendSpec, Credentials
from jupyter_companion.sessions.backend_status import MAX_DRIFT_KINDS, BackendStatus


def test_claude_account_answers() -> None:
    read = claude_probe.credentials_from_account
    # what the real CLI answered with an API key, an OAuth token, and nothing (recorded)
    assert read({"tokenSource": "none", "apiKeySource": "ANTHROPIC_API_KEY", "apiProvider": "firstParty"}) == (
        Credentials(True, source="ANTHROPIC_API_KEY"))
    assert read({"tokenSource": "CLAUDE_CODE_OAUTH_TOKEN", "apiProvider": "firstParty"}) == (
        Credentials(True, source="CLAUDE_CODE_OAUTH_TOKEN"))
    missing = read({"tokenSource": "none", "apiProvider": "firstParty"})
    assert missing.configured is False and missing.hint == claude_probe.NO_CREDENTIALS_HINT
    assert read({"apiProvider": "bedrock"}).configured is True
    assert read(None).configured is False


def test_codex_account_answers() -> None:
    read = codex.credentials_from_account
    # what the real app-server answered (account/read) in each situation (recorded)
    assert read({"account": {"type": "apiKey"}, "requiresOpenaiAuth": True}, {}) == (
        Credentials(True, source="API key (auth.json)"))
    assert read({"account": None, "requiresOpenaiAuth": False}, {}).source == "model provider from config.toml"
    assert read({"account": None, "requiresOpenaiAuth": True}, {"OPENAI_API_KEY": "sk-x"}).source == "OPENAI_API_KEY"
    missing = read({"account": None, "requiresOpenaiAuth": True}, {"OPENAI_API_KEY": ""})
    assert missing.configured is False and "codex login" in (missing.hint or "")


def _spec(name: str, checks: list[str], *, available: bool = True, credentials: Any = None) -> BackendSpec:
    async def check() -> Availability:
        checks.append("check")
        await asyncio.sleep(0.01)
        return Availability(available, version="1.0" if available else None, reason=None if available else "gone")

    async def check_credentials(env: dict[str, str]) -> Credentials:
        checks.append(f"credentials:{env.get('MARK')}")
        if isinstance(credentials, Exception):
            raise credentials
        return credentials

    return BackendSpec(name=name, label=name.title(), create_adapter=lambda *a: None,  # type: ignore[arg-type,return-value]
                       check=check, check_credentials=check_credentials if credentials is not None else None)


async def test_status_asks_each_backend_once_and_never_hides_one() -> None:
    calls: dict[str, list[str]] = {"a": [], "b": [], "c": [], "d": []}
    backends = {
        "a": _spec("a", calls["a"], credentials=Credentials(False, hint="log in")),
        "b": _spec("b", calls["b"], credentials=RuntimeError("probe failed")),
        "c": _spec("c", calls["c"]),
        "d": _spec("d", calls["d"], available=False, credentials=Credentials(True)),
    }
    status = BackendStatus(backends, lambda: {"MARK": "base-env"})
    first, second = await asyncio.gather(status.report(), status.report())  # concurrent callers share
    assert first == second
    by_name = {b["name"]: b for b in first}
    assert by_name["a"]["credentials"] == {"configured": False, "hint": "log in"}
    assert "credentials" not in by_name["b"] and by_name["b"]["available"] is True  # probe failed: no claim
    assert "credentials" not in by_name["c"]
    assert by_name["d"] == {"name": "d", "label": "D", "available": False, "reason": "gone", "conversations": False}
    assert calls == {"a": ["check", "credentials:base-env"], "b": ["check", "credentials:base-env"],
                     "c": ["check"], "d": ["check"]}
    # creating a session needs availability only: no credentials probe on that path
    assert (await status.availability(backends["a"]))["available"] is True
    assert calls["a"] == ["check", "credentials:base-env"]


def test_drift_is_counted_per_backend_and_kind_and_bounded() -> None:
    status = BackendStatus({}, dict)
    assert status.note_drift("codex", "codex notification thread/goal/cleared", "{}", "s1") is True
    assert status.note_drift("codex", "codex notification thread/goal/cleared", "{}", "s2") is False
    [entry] = status.drift()
    assert entry["count"] == 2 and entry["session_id"] == "s1" and entry["backend"] == "codex"
    for i in range(MAX_DRIFT_KINDS + 5):
        status.note_drift("claude", f"kind {i}", "", "s")
    kinds = {d["what"] for d in status.drift()}
    assert len(kinds) == MAX_DRIFT_KINDS and "kind 0" not in kinds and f"kind {MAX_DRIFT_KINDS + 4}" in kinds
