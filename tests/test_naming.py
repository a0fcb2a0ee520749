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


def test_titles_from_a_prompt() -> None:
    from jupyter_companion.sessions.titles import title_of

    assert title_of("Fix the login bug\nand add a test") == "Fix the login bug"
    assert title_of("\n\n## **Refactor** `utils.py`  now ") == "Refactor utils.py now"
    long = title_of("Please look at every function in the billing module and tell me which ones are unused")
    assert long is not None and len(long) <= 60 and long.endswith("…") and " " in long
    assert not long.endswith(" …")
    assert title_of("   \n ``` \n") is None


async def test_a_session_without_a_name_is_named_after_its_first_prompt(api: Any, connect: Any, workdir: Path) -> None:
    names = []
    for body in ({}, {}, {"name": "kept as given"}):
        _, session = await api("POST", "sessions", body={"backend": "echo", "cwd": "project", **body})
        assert session["name_auto"] is (not body)
        stream = await connect(session["id"])
        for text in ("Fix the login bug\nwith details", "a second prompt"):
            await api("POST", "sessions", session["id"], "messages", body={"content": text})
            await stream.until_type("result")
        names.append((await api("GET", "sessions", session["id"]))[1]["name"])
    assert names == ["Fix the login bug", "Fix the login bug 2", "kept as given"]
    _, renamed_first = await api("POST", "sessions", body={"backend": "echo", "cwd": "project"})
    await api("PATCH", "sessions", renamed_first["id"], body={"name": "my own"})
    stream = await connect(renamed_first["id"])
    await api("POST", "sessions", renamed_first["id"], "messages", body={"content": "Something else"})
    await stream.until_type("result")
    assert (await api("GET", "sessions", renamed_first["id"]))[1]["name"] == "my own"
