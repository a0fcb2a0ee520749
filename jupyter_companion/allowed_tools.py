"""A session's ``allowed_tools`` rules, applied to permission requests of every backend.

Claude Code applies ``--allowedTools`` itself and never asks for what they allow. Other CLIs
(Codex) have no such option, so this builtin plugin answers their permission requests from the
same rules, through the ``permission_request`` hook like any third-party auto-approver. The rule
syntax is Claude Code's:

``Tool``
    every request of that tool (``Bash``, ``Edit``, ``Write``, ``mcp__server__tool``, ...).
``Bash(command)``
    exactly that command line (whitespace-normalized).
``Bash(prefix:*)``
    that command or the command followed by arguments (``Bash(git diff:*)`` allows
    ``git diff --stat``), and only when the command line is one simple command: anything holding
    a shell operator, substitution or redirection (``; & | < > $ ` ( ) { }``, a backslash or a
    line break) never matches a prefix rule.
``Edit(glob)`` / ``Write(glob)`` / ``Read(glob)``
    a ``file_path`` matching the glob (``fnmatch``, where ``*`` also crosses folders; relative
    globs are relative to the session's folder; the path is normalized first, so ``..`` cannot
    climb out of a pattern).

Only ``allow`` is ever decided here; anything else is left to the user.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Any

from .hookspecs import hookimpl

_RULE = re.compile(r"^(?P<tool>[A-Za-z0-9_.:-]+)(?:\((?P<spec>.*)\))?$", re.DOTALL)
#: Characters that make a command line more than one simple command.
_SHELL_SYNTAX = re.compile(r"[;&|<>$`(){}\\\n\r]")
_PATH_TOOLS = frozenset({"Edit", "Write", "Read", "MultiEdit", "NotebookEdit"})


def _normalize(command: str) -> str:
    return " ".join(command.split())


def command_allowed(spec: str, command: str) -> bool:
    """Whether a ``Bash(spec)`` rule allows ``command``."""
    spec = _normalize(spec)
    line = _normalize(command)
    if not spec or not line:
        return False
    if spec.endswith(":*"):
        prefix = spec[:-2].strip()
        if not prefix or _SHELL_SYNTAX.search(command):
            return False
        return line == prefix or line.startswith(prefix + " ")
    return line == spec


def path_allowed(spec: str, path: str, cwd: str) -> bool:
    """Whether a path rule (``Edit(glob)``) allows ``path``."""
    if not spec or not path:
        return False
    absolute = os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path))
    pattern = spec if os.path.isabs(spec) else os.path.join(cwd, spec)
    return fnmatch.fnmatchcase(absolute, os.path.normpath(pattern))


def matching_rule(rules: list[str], tool: str, tool_input: dict[str, Any], cwd: str) -> str | None:
    """The first rule that allows this request, or None."""
    for rule in rules:
        found = _RULE.match(rule.strip()) if isinstance(rule, str) else None
        if found is None or found["tool"] != tool:
            continue
        spec = found["spec"]
        if spec is None:
            return rule
        if tool == "Bash" and command_allowed(spec, str(tool_input.get("command") or "")):
            return rule
        if tool in _PATH_TOOLS and path_allowed(spec.strip(), str(tool_input.get("file_path") or ""), cwd):
            return rule
    return None


@hookimpl
def permission_request(session: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """Allow a request that one of the session's ``allowed_tools`` rules covers."""
    rules = list(session.info.get("allowed_tools") or [])
    tool_input = request.get("input")
    if not rules or not isinstance(tool_input, dict):
        return None
    rule = matching_rule(rules, str(request.get("tool_name") or ""), tool_input, session.cwd)
    if rule is None:
        return None
    return {"behavior": "allow", "message": f"allowed by the session's rule {rule!r}"}
