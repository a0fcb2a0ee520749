"""New sessions get distinct, readable names (issue: two sessions in one folder were both named
after the folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_companion.sessions.naming import default_name, distinct_name


def test_names_say_folder_and_branch_and_never_repeat() -> None:
    assert default_name("/w/proj", None) == "proj"
    assert default_name("/w/proj/", "feature/x") == "proj (feature/x)"
    assert default_name("/", None) == "session"
    assert distinct_name("proj", []) == "proj"
    assert distinct_name("proj", ["proj"]) == "proj 2"
    assert distinct_name("proj", ["proj", "proj 2", "proj 4"]) == "proj 3"


async def test_two_sessions_in_one_folder_have_different_names(api: Any, workdir: Path) -> None:
    names = []
    for _ in range(3):
        status, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "project"})
        assert status == 201
        names.append(session["name"])
    assert names == ["project", "project 2", "project 3"]
    status, named = await api("POST", "sessions", body={"backend": "echo", "cwd": "project", "name": "mine"})
    assert named["name"] == "mine"  # a name the user gives is kept as it is
