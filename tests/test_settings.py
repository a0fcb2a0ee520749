"""Settings (core + plugin schema) and environment profiles: validation, masking, use at creation."""

from __future__ import annotations

from pathlib import Path
from typing import Any


async def test_settings_validate_and_reset(api: Any) -> None:
    status, data = await api("GET", "settings")
    assert status == 200 and data["settings"]["default_permission_mode"] == "default"
    assert "default_model" in data["schema"]
    status, data = await api("PATCH", "settings", body={"default_permission_mode": "plan"})
    assert status == 200 and data["settings"]["default_permission_mode"] == "plan"
    assert (await api("PATCH", "settings", body={"default_permission_mode": "yolo"}))[0] == 400
    assert (await api("PATCH", "settings", body={"nope": 1}))[0] == 400
    assert (await api("PATCH", "settings", body={"default_model": 3}))[0] == 400
    status, data = await api("PATCH", "settings", body={"default_permission_mode": None})
    assert data["settings"]["default_permission_mode"] == "default"


async def test_env_profiles_are_masked_and_reach_the_cli(api: Any, connect: Any, workdir: Path,
                                                         jp_serverapp: Any) -> None:
    status, profile = await api("PUT", "env-profiles", "work", body={"env": {"API_TOKEN": "sk-secret-123456789", "TEAM": "ab"}})
    assert status == 200 and profile["env"] == {"API_TOKEN": "••••6789", "TEAM": "••••"}
    _, listing = await api("GET", "env-profiles")
    assert "sk-secret" not in str(listing) and listing["profiles"][0]["name"] == "work"
    # a masked value sent back keeps the stored secret
    await api("PUT", "env-profiles", "work", body={"env": {"API_TOKEN": "••••6789", "TEAM": "cd"}})
    assert (await api("PUT", "env-profiles", "bad name!", body={"env": {}}))[0] == 400
    assert (await api("PUT", "env-profiles", "x", body={"env": {"1BAD": "v"}}))[0] == 400
    assert (await api("POST", "sessions", body={"backend": "claude", "env_profile": "missing"}))[0] == 400

    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "env_profile": "work",
                                                          "env": {"EXTRA": "1"}})
    assert status == 201 and session["env_profile"] == "work"
    assert session["env_keys"] == ["API_TOKEN", "EXTRA", "TEAM"]
    assert "sk-secret" not in str(session)
    pid = session["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"API_TOKEN=sk-secret-123456789" in environ and b"TEAM=cd" in environ and b"EXTRA=1" in environ
    # the session keeps a reference to the profile, not a copy of its values
    orch = jp_serverapp.web_app.settings["companion_orchestrator"]
    assert orch.sessions[session["id"]].record()["env"] == {"EXTRA": "1"}
    await api("PUT", "env-profiles", "work", body={"env": {"API_TOKEN": "sk-rotated-987654321", "TEAM": "cd"}})
    status, relaunched = await api("POST", "sessions", session["id"], "relaunch")
    assert status == 200
    environ = Path(f"/proc/{relaunched['pid']}/environ").read_bytes().split(b"\0")
    assert b"API_TOKEN=sk-rotated-987654321" in environ and b"EXTRA=1" in environ
    assert (await api("DELETE", "env-profiles", "work"))[0] == 200
    assert (await api("DELETE", "env-profiles", "work"))[0] == 404
    stream = await connect(session["id"])
    status, relaunched = await api("POST", "sessions", session["id"], "relaunch")
    notice = await stream.until(lambda e: e.get("code") == "env_profile_missing")
    assert "'work' no longer exists" in notice["message"]
    environ = Path(f"/proc/{relaunched['pid']}/environ").read_bytes().split(b"\0")
    assert not any(v.startswith(b"API_TOKEN=") for v in environ) and b"EXTRA=1" in environ
    stream.close()


async def test_masked_values_sent_back_are_never_stored(api: Any) -> None:
    assert (await api("PUT", "env-profiles", "p", body={"env": {"NEW": "••••1234"}}))[0] == 400
    status, _ = await api("PATCH", "settings", body={"echo_api_key": "••••9999"})
    assert status == 400  # nothing stored yet: a masked form is not a secret
    await api("PATCH", "settings", body={"echo_api_key": "real-secret-value-42"})
    status, data = await api("PATCH", "settings", body={"echo_api_key": "••••e-42", "echo_prefix": "hey"})
    assert status == 200 and data["settings"]["echo_api_key"] == "••••e-42" and data["settings"]["echo_prefix"] == "hey"
    status, data = await api("PATCH", "settings", body={"echo_api_key": "••••"})
    assert status == 200
    assert (await api("GET", "settings"))[1]["settings"]["echo_api_key"] == "••••e-42"  # still the real secret


async def test_default_mode_and_model_settings_apply_to_new_sessions(api: Any, workdir: Path) -> None:
    await api("PATCH", "settings", body={"default_permission_mode": "acceptEdits", "default_model": "haiku"})
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project"})
    assert status == 201 and session["permission_mode"] == "acceptEdits" and session["model"] == "haiku"
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "model": "opus",
                                                          "permission_mode": "plan"})
    assert session["permission_mode"] == "plan" and session["model"] == "opus"


async def test_names_with_a_trailing_line_break_are_refused(api: Any, workdir: Path) -> None:
    assert (await api("PUT", "env-profiles", "work%0A", body={"env": {}}))[0] == 400
    assert (await api("PUT", "env-profiles", "work", body={"env": {"NAME\n": "v"}}))[0] == 400
    for field, value in (("env", {"NAME\n": "v"}), ("allowed_tools", ["Bash\n"]), ("resume_session", "abc\n"),
                         ("model", "opus\n")):
        status, body = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", field: value})
        assert status == 400, (field, body)
    _, listing = await api("GET", "env-profiles")
    assert listing["profiles"] == []
