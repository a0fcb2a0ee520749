"""``allowed_tools`` rules applied to permission requests of any backend (jupyter_companion/allowed_tools.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_companion.allowed_tools import command_allowed, matching_rule, path_allowed, permission_request


@pytest.mark.parametrize(
    ("spec", "command", "allowed"),
    [
        ("git diff:*", "git diff", True),
        ("git diff:*", "git diff --stat  src/", True),
        ("git diff:*", "git difftool", False),
        ("git diff:*", "git diff; rm -rf /", False),
        ("git diff:*", "git diff && curl evil", False),
        ("git diff:*", "git diff | sh", False),
        ("git diff:*", "git diff $(rm -rf /)", False),
        ("git diff:*", "git diff `id`", False),
        ("git diff:*", "git diff > /etc/passwd", False),
        ("git diff:*", "git diff\nrm -rf /", False),
        ("git diff:*", "git diff \\\n; id", False),
        ("touch:*", "touch a.txt", True),
        ("npm test", "npm  test", True),
        ("npm test", "npm test --watch", False),
        (":*", "anything", False),
        ("", "ls", False),
        ("ls:*", "", False),
    ],
)
def test_bash_rules(spec: str, command: str, allowed: bool) -> None:
    assert command_allowed(spec, command) is allowed


def test_path_rules_are_relative_to_the_session_folder() -> None:
    assert path_allowed("src/*.py", "src/app.py", "/w")
    assert path_allowed("src/*.py", "/w/src/app.py", "/w")
    assert not path_allowed("src/*.py", "/w/src/../../etc/passwd", "/w")
    assert not path_allowed("src/*.py", "other/app.py", "/w")
    assert path_allowed("/tmp/*", "/tmp/x", "/w")
    assert not path_allowed("", "/w/a", "/w")


def test_matching_rule_by_tool() -> None:
    rules: list[Any] = ["Read", "Bash(git status:*)", "Edit(docs/**)", "mcp__files__list", "not a rule(", 42]
    assert matching_rule(rules, "Read", {"file_path": "/anything"}, "/w") == "Read"
    assert matching_rule(rules, "Bash", {"command": "git status -s"}, "/w") == "Bash(git status:*)"
    assert matching_rule(rules, "Bash", {"command": "git push"}, "/w") is None
    assert matching_rule(rules, "Edit", {"file_path": "docs/a/b.md"}, "/w") == "Edit(docs/**)"
    assert matching_rule(rules, "Edit", {"file_path": "src/a.py"}, "/w") is None
    assert matching_rule(rules, "mcp__files__list", {}, "/w") == "mcp__files__list"
    assert matching_rule(rules, "Write", {"file_path": "docs/a.md"}, "/w") is None


def session(rules: Any) -> Any:
    return SimpleNamespace(info={"allowed_tools": rules}, cwd="/w")


def test_hook_allows_only_what_a_rule_covers() -> None:
    request = {"request_id": "r", "tool_name": "Bash", "input": {"command": "touch x"}}
    decision = permission_request(session(["Bash(touch:*)"]), request)
    assert decision == {"behavior": "allow", "message": "allowed by the session's rule 'Bash(touch:*)'"}
    assert permission_request(session(["Bash(ls:*)"]), request) is None
    assert permission_request(session([]), request) is None
    assert permission_request(session(None), request) is None
    assert permission_request(session(["Bash"]), {**request, "input": "not a dict"}) is None
