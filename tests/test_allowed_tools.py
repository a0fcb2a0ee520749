"""``allowed_tools`` rules applied to permission requests of any backend (jupyter_companion/allowed_tools.py)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_companion.allowed_tools import (
    command_allowed,
    matching_rule,
    path_allowed,
    permission_request,
    written_paths,
)
from jupyter_companion.backends.codex_protocol import approval_tool


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
        ("npm test", "npm\ttest", True),
        ("make test", "make\ntest", False),
        ("make test", "make\r\ntest", False),
        ("make test", "make test\nrm -rf /", False),
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
    assert path_allowed("./src/*.py", "/w/src/app.py", "/w")
    assert path_allowed("/src/*.py", "/w/src/app.py", "/w")  # Claude Code: '/x' is the project's x
    assert not path_allowed("src/*.py", "/w/src/../../etc/passwd", "/w")
    assert not path_allowed("src/*.py", "other/app.py", "/w")
    assert not path_allowed("src/*.py", "/w/src/deep/app.py", "/w")  # '*' stays in one folder
    assert path_allowed("src/*", "/w/src/deep/app.py", "/w")  # as in gitignore: src/deep matched whole
    assert path_allowed("src/**", "/w/src/deep/er/app.py", "/w")
    assert path_allowed("*.md", "/w/docs/a/readme.md", "/w")  # no '/': any depth, as in gitignore
    assert not path_allowed("*.md", "/elsewhere/readme.md", "/w")
    assert path_allowed("//tmp/*", "/tmp/x", "/w")
    assert not path_allowed("/tmp/*", "/tmp/x", "/w")  # '/tmp' is the session folder's tmp
    assert not path_allowed("", "/w/a", "/w")
    assert not path_allowed("!src", "/w/other", "/w")
    assert not path_allowed("src/**", "/w/src", "/w")
    assert not path_allowed("**", "/w", "/w")


def test_path_rules_resolve_symlinks_on_both_sides(tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / "src").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (work / "src" / "escape").symlink_to(outside)
    (work / "src" / "bashrc").symlink_to(tmp_path / ".bashrc")
    cwd = str(work)
    assert path_allowed("src/**", str(work / "src" / "ok.py"), cwd)
    assert not path_allowed("src/**", str(work / "src" / "escape" / "x.py"), cwd)
    assert not path_allowed("src/**", "src/escape/x.py", cwd)
    assert not path_allowed("src/**", "src/bashrc", cwd)
    assert path_allowed(f"/{outside.name}/**", str(outside / "x"), str(tmp_path))
    # the session folder itself reached through a symlink still matches its own rules
    link = tmp_path / "link-to-w"
    link.symlink_to(work)
    assert path_allowed("src/*.py", str(work / "src" / "a.py"), str(link))
    assert path_allowed("src/*.py", str(link / "src" / "a.py"), cwd)


def test_every_path_of_a_multi_file_patch_must_match() -> None:
    rules = ["Edit(src/**)"]
    one = {"file_path": "/w/src/a.py", "changes": [{"path": "/w/src/a.py", "kind": "update", "diff": ""}]}
    assert matching_rule(rules, "Edit", one, "/w") == "Edit(src/**)"
    two = {"file_path": "/w/src/a.py", "changes": [
        {"path": "/w/src/a.py", "kind": "update", "diff": ""},
        {"path": os.path.expanduser("~/.bashrc"), "kind": "update", "diff": ""},
    ]}
    assert matching_rule(rules, "Edit", two, "/w") is None
    moved = {"file_path": "/w/src/a.py", "changes": [
        {"path": "/w/src/a.py", "kind": "update", "diff": "", "move_path": "/w/bin/a.py"}]}
    assert written_paths(moved) == ["/w/src/a.py", "/w/bin/a.py"]
    assert matching_rule(rules, "Edit", moved, "/w") is None
    assert matching_rule(rules, "Edit", {"file_path": "/w/src", "changes": []}, "/w") is None
    assert matching_rule(rules, "Edit", {"changes": [{"path": ""}]}, "/w") is None
    assert matching_rule(rules, "Edit", {"changes": ["/w/src/a.py"]}, "/w") is None


def test_codex_patches_keep_every_path_and_rename() -> None:
    params = {"fileChanges": {
        "/w/src/a.py": {"type": "update", "unified_diff": "@@", "move_path": "/w/src/b.py"},
        "/home/u/.bashrc": {"type": "add", "content": "evil"},
    }}
    name, tool_input = approval_tool("applyPatchApproval", params, None)
    assert name == "Edit"
    assert written_paths(tool_input) == ["/w/src/a.py", "/w/src/b.py", "/home/u/.bashrc"]
    item = {"type": "fileChange", "changes": [
        {"path": "/w/src/a.py", "kind": {"type": "update", "move_path": "/w/src/c.py"}, "diff": "@@"},
        {"path": "/w/src/d.py", "kind": {"type": "delete"}, "diff": ""},
    ]}
    name, tool_input = approval_tool("item/fileChange/requestApproval", {"itemId": "i"}, item)
    assert written_paths(tool_input) == ["/w/src/a.py", "/w/src/c.py", "/w/src/d.py"]
    assert matching_rule(["Edit(src/**)"], name, tool_input, "/w") == "Edit(src/**)"


def test_matching_rule_by_tool() -> None:
    rules: list[Any] = ["Read", "Bash(git status:*)", "Edit(docs/**)", "mcp__files__list", "not a rule(", 42]
    assert matching_rule(rules, "Read", {"file_path": "/anything"}, "/w") == "Read"
    assert matching_rule(rules, "Bash", {"command": "git status -s"}, "/w") == "Bash(git status:*)"
    assert matching_rule(rules, "Bash", {"command": "git push"}, "/w") is None
    assert matching_rule(rules, "Edit", {"file_path": "docs/a/b.md"}, "/w") == "Edit(docs/**)"
    assert matching_rule(rules, "Edit", {"file_path": "src/a.py"}, "/w") is None
    assert matching_rule(rules, "mcp__files__list", {}, "/w") == "mcp__files__list"
    assert matching_rule(rules, "Write", {"file_path": "docs/a.md"}, "/w") is None


def session(rules: Any, applies_allowed_tools: bool = False) -> Any:
    spec = SimpleNamespace(applies_allowed_tools=applies_allowed_tools)
    return SimpleNamespace(info={"allowed_tools": rules}, cwd="/w", backend_spec=spec)


def test_hook_allows_only_what_a_rule_covers() -> None:
    request = {"request_id": "r", "tool_name": "Bash", "input": {"command": "touch x"}}
    decision = permission_request(session(["Bash(touch:*)"]), request)
    assert decision == {"behavior": "allow", "message": "allowed by the session's rule 'Bash(touch:*)'"}
    assert permission_request(session(["Bash(ls:*)"]), request) is None
    assert permission_request(session([]), request) is None
    assert permission_request(session(None), request) is None
    assert permission_request(session(["Bash"]), {**request, "input": "not a dict"}) is None


def test_hook_never_overrides_a_cli_that_applies_the_rules_itself() -> None:
    request = {"request_id": "r", "tool_name": "Edit", "input": {"file_path": "/w/src/a.py"}}
    assert permission_request(session(["Edit(src/**)"]), request) is not None
    # Claude applies --allowedTools itself: a request it still sends was escalated on purpose
    assert permission_request(session(["Edit(src/**)"], applies_allowed_tools=True), request) is None
    escalated = {**request, "blocked_path": "/w/src/a.py"}
    assert permission_request(session(["Edit(src/**)"]), escalated) is None
