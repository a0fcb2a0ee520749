"""The core's side of sandboxes with stand-in providers: profiles, the create-request choice,
preparation before a launch (results, recreation notice, failures), teardown, sweep."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jupyter_companion.backends.base import Availability, no_wrapper
from jupyter_companion.errors import ApiError
from jupyter_companion.sandboxes.base import SandboxError, SandboxRequest, SandboxSpec
from jupyter_companion.sandboxes.manager import SandboxManager, sandbox_of
from jupyter_companion.settings import SettingsService
from tests.support.memory_store import MemorySettingsStore


class _Orch:
    def base_env(self) -> dict[str, str]:
        return {"HOME": "/home/cli-user"}


class _Session:
    def __init__(self, tmp: Path, sandbox: Any, archived: bool = False):
        self.id, self.cwd, self.env, self.orch = "s1", str(tmp), {}, _Orch()
        self.info: dict[str, Any] = {"sandbox": sandbox, "name": "mine", "archived": archived}
        self.archived = archived
        self.events: list[dict[str, Any]] = []
        self._state = tmp / "state"

    def state_dir(self) -> str:
        self._state.mkdir(exist_ok=True)
        return str(self._state)

    def update(self, fields: dict[str, Any]) -> None:
        self.info.update(fields)

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def _manager(tmp: Path, prepare: Any = None, check: Any = None) -> SandboxManager:
    manager = SandboxManager(SettingsService(MemorySettingsStore(), {}), str(tmp), "local")  # type: ignore[arg-type]
    manager.register(SandboxSpec(name="local", label="Local", wrapper=lambda s: no_wrapper))
    manager.register(SandboxSpec(
        name="box", label="Box", wrapper=lambda s: no_wrapper, prepare=prepare, check=check,
        validate_profile=lambda body: {k: v for k, v in body.items() if k != "provider"},
    ))
    return manager


def test_a_create_request_names_a_profile_of_its_provider(tmp_path: Path) -> None:
    manager = _manager(tmp_path)
    manager.profiles.put("p", {"image": "x"})  # the only provider taking profiles is implied
    assert manager.choose("box", "p") == {"provider": "box", "profile": "p"}
    assert manager.choose("local", None) == {"provider": "local"}
    for sandbox, profile, words in [("box", None, "needs a 'sandbox_profile'"), ("box", "nope", "unknown sandbox profile"),
                                    ("local", "p", "'sandbox_profile' must name"), ("gone", None, "unknown sandbox")]:
        with pytest.raises(ApiError, match=words):
            manager.choose(sandbox, profile)
    assert sandbox_of({"sandbox": "box"}, "local") == {"provider": "box"}  # records of earlier versions
    assert sandbox_of({}, "local") == {"provider": "local"}


def test_preparing_stores_what_the_provider_made_and_says_when_it_was_recreated(tmp_path: Path) -> None:
    seen: list[SandboxRequest] = []

    async def prepare(request: SandboxRequest) -> dict[str, Any]:
        seen.append(request)
        request.progress("creating_container", "Creating", "done", None)
        return {"container_id": f"c{len(seen)}", "recreated": len(seen) > 1}

    manager = _manager(tmp_path, prepare)
    manager.profiles.put("p", {"image": "x", "env": {"A": "1"}})
    session = _Session(tmp_path, {"provider": "box", "profile": "p"})
    steps: list[tuple[str, ...]] = []
    asyncio.run(manager.prepare(session, lambda *a: steps.append(a)))  # type: ignore[arg-type]
    assert session.info["sandbox"] == {"provider": "box", "profile": "p", "container_id": "c1"}
    assert steps == [("creating_container", "Creating", "done", None)] and session.events == []
    request = seen[0]
    assert request.home == "/home/cli-user" and request.env == {"A": "1"} and request.owner == manager.owner
    assert request.folders == [str(tmp_path.resolve()), str((tmp_path / "state").resolve())]
    asyncio.run(manager.prepare(session))  # type: ignore[arg-type]
    assert session.info["sandbox"]["container_id"] == "c2"
    assert [e.get("code") for e in session.events] == ["sandbox_recreated"]


def test_failures_become_sandbox_errors_naming_the_step(tmp_path: Path) -> None:
    async def broken(request: SandboxRequest) -> dict[str, Any]:
        raise RuntimeError("engine fell over")

    manager = _manager(tmp_path, broken)
    manager.profiles.put("p", {"image": "x"})
    with pytest.raises(SandboxError, match="the Box sandbox failed: engine fell over") as info:
        asyncio.run(manager.prepare(_Session(tmp_path, {"provider": "box", "profile": "p"})))  # type: ignore[arg-type]
    assert info.value.step == "creating_container" and info.value.status == 502
    with pytest.raises(SandboxError, match="not installed any more") as missing:
        asyncio.run(manager.prepare(_Session(tmp_path, {"provider": "uninstalled"})))  # type: ignore[arg-type]
    assert missing.value.status == 400
    with pytest.raises(SandboxError, match="was deleted"):
        asyncio.run(manager.prepare(_Session(tmp_path, {"provider": "box", "profile": "gone"})))  # type: ignore[arg-type]


def test_availability_and_profiles_in_use(tmp_path: Path) -> None:
    async def down() -> Availability:
        return Availability(False, reason="no engine")

    manager = _manager(tmp_path, check=down)
    report = {entry["name"]: entry for entry in asyncio.run(manager.report())}
    assert report["box"]["available"] is False and report["box"]["reason"] == "no engine" and report["box"]["profiles"]
    assert report["local"] == {"name": "local", "label": "Local", "description": "", "profiles": False, "available": True}
    with pytest.raises(ApiError, match="not available: no engine"):
        asyncio.run(manager.check_available({"provider": "box"}))
    manager.profiles.put("p", {"image": "x"})
    live = _Session(tmp_path, {"provider": "box", "profile": "p"})
    archived = _Session(tmp_path, {"provider": "box", "profile": "p"}, archived=True)
    assert manager.users_of("p", [live, archived]) == ["mine"]  # type: ignore[list-item]
    with pytest.raises(ApiError, match="is used by 'mine'") as busy:
        manager.profiles.delete("p", lambda name: manager.users_of(name, [live]))  # type: ignore[list-item]
    assert busy.value.status == 409
    manager.profiles.delete("p", lambda name: [])
    assert manager.profiles.all() == []


def test_a_provider_that_does_not_answer_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jupyter_companion.sandboxes.manager as manager_module

    async def hangs() -> Availability:
        await asyncio.sleep(30)
        return Availability(True)

    monkeypatch.setattr(manager_module, "CHECK_TIMEOUT", 0.1)
    found = asyncio.run(_manager(tmp_path, check=hangs).availability("box"))
    assert found == {"available": False, "reason": "it did not say within 0.1 s whether it can work"}


@pytest.mark.timeout(120)
async def test_a_sandbox_that_cannot_be_prepared_keeps_the_conversation(
    jp_serverapp: Any, api: Any, connect: Any, workdir: Path
) -> None:
    """A relaunch whose sandbox fails is refused with the sandbox's reason; the CLI's conversation
    id stays (no ``context_lost``), and the next relaunch resumes it."""
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    broken = {"now": False}
    calls: list[str] = []

    async def prepare(request: SandboxRequest) -> dict[str, Any]:
        calls.append(request.session_id)
        if broken["now"]:
            raise SandboxError("creating_container", "the engine went away", 400)
        return {"made": True}

    orch.register_sandbox(SandboxSpec(name="flaky", label="Flaky", wrapper=lambda s: no_wrapper, prepare=prepare,
                                      validate_profile=lambda body: {}))
    assert (await api("PUT", "sandbox-profiles", "p", body={"provider": "flaky"}))[0] == 200
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "sandbox": "flaky",
                                                          "sandbox_profile": "p"})
    assert status == 201 and session["sandbox"] == {"provider": "flaky", "profile": "p", "made": True}
    assert len(calls) == 1  # the creation prepared it once, the first launch did not again
    stream = await connect(session["id"])
    await api("POST", "sessions", session["id"], "messages", body={"content": "hello"})
    await stream.until_type("result")
    _, before = await api("GET", "sessions", session["id"])
    assert before["cli_session_id"]

    broken["now"] = True
    status, error = await api("POST", "sessions", session["id"], "relaunch")
    assert status == 502 and "the engine went away" in error["error"]
    _, after = await api("GET", "sessions", session["id"])
    assert after["cli_session_id"] == before["cli_session_id"] and after["phase"] == "terminated"
    assert not [e for e in stream.events if e.get("code") == "context_lost"]
    broken["now"] = False
    assert (await api("POST", "sessions", session["id"], "relaunch"))[0] == 200
    assert len(calls) == 3  # every later launch prepares it
    _, resumed = await api("GET", "sessions", session["id"])
    assert resumed["cli_session_id"] == before["cli_session_id"] and resumed["pid"]
