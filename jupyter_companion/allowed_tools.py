"""A session's ``allowed_tools`` rules, applied to permission requests of every backend.

Claude Code applies ``--allowedTools`` itself and never asks for what they allow; a request it
still sends was escalated on purpose (a path outside its folders, ``blocked_path``), so this plugin
leaves backends that apply the rules themselves (``BackendSpec.applies_allowed_tools``) and any
request carrying ``blocked_path`` to the user. Other CLIs (Codex) have no such option, so this
builtin plugin answers their permission requests from the same rules, through the
``permission_request`` hook like any third-party auto-approver. The rule syntax is Claude Code's:

``Tool``
    every request of that tool (``Bash``, ``Edit``, ``Write``, ``mcp__server__tool``, ...).
``Bash(command)``
    exactly that command line (runs of spaces and tabs count as one space; a line break never
    matches a space).
``Bash(prefix:*)``
    that command or the command followed by arguments (``Bash(git diff:*)`` allows
    ``git diff --stat``), and only when the command line is one simple command: anything holding
    a shell operator, substitution or redirection (``; & | < > $ ` ( ) { }``, a backslash or a
    line break) never matches a prefix rule.
``Edit(pattern)`` / ``Write(pattern)`` / ``Read(pattern)``
    gitignore-style patterns (as Claude Code reads them, matched with ``pathspec``): ``*`` stays
    inside one folder, ``**`` crosses folders, a pattern without ``/`` matches a name at any depth.
    ``//path`` is absolute, ``~/path`` is in the home folder, ``/path`` and ``path`` (or
    ``./path``) are relative to the session's folder. Both sides are resolved first (symlinks
    included), so a link under an allowed folder that points elsewhere is judged by where it
    points, and ``..`` cannot climb out. A change to several files (a Codex patch) is allowed
    only when *every* path it writes, renames included, matches.

Only ``allow`` is ever decided here; anything else is left to the user.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

from .hookspecs import hookimpl

_RULE = re.compile(r"(?P<tool>[A-Za-z0-9_.:-]+)(?:\((?P<spec>.*)\))?", re.DOTALL)
#: Characters that make a command line more than one simple command.
_SHELL_SYNTAX = re.compile(r"[;&|<>$`(){}\\\n\r]")
_HORIZONTAL_SPACE = re.compile(r"[ \t]+")
_PATH_TOOLS = frozenset({"Edit", "Write", "Read", "MultiEdit", "NotebookEdit"})


def _normalize(command: str) -> str:
    return _HORIZONTAL_SPACE.sub(" ", command).strip()


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


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _pattern_base(spec: str, cwd: str) -> tuple[str, str]:
    """The folder a path rule is relative to, and the pattern relative to it."""
    if spec.startswith("//"):
        return os.sep, spec[2:]
    if spec.startswith("~/"):
        return os.path.expanduser("~"), spec[2:]
    if spec.startswith("./"):
        return cwd, spec[2:]
    return cwd, spec.lstrip("/")


def path_allowed(spec: str, path: str, cwd: str) -> bool:
    """Whether a path rule (``Edit(pattern)``) allows writing or reading ``path``.

    ``path`` is relative to ``cwd`` unless absolute; both it and the rule's folder are resolved
    (symlinks included) before the gitignore-style match.
    """
    if not spec or not path or "\n" in spec or "\x00" in path or spec.startswith("!"):
        return False
    base, pattern = _pattern_base(spec, cwd)
    if not pattern:
        return False
    real_base = os.path.realpath(base)
    real_path = os.path.realpath(path if os.path.isabs(path) else os.path.join(cwd, path))
    relative = os.path.relpath(real_path, real_base)
    if relative == "." or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return False
    return bool(_compiled(pattern).match_file(relative))


def written_paths(tool_input: dict[str, Any]) -> list[str]:
    """Every path a file tool's input touches: ``file_path``, or each change's ``path`` and
    ``move_path`` (a multi-file patch). An empty list means there is nothing to judge by."""
    changes = tool_input.get("changes")
    if isinstance(changes, list) and changes:
        paths: list[str] = []
        for change in changes:
            if not isinstance(change, dict):
                return []
            for key in ("path", "move_path"):
                value = change.get(key)
                if value is not None:
                    if not isinstance(value, str) or not value:
                        return []
                    paths.append(value)
        return paths
    file_path = tool_input.get("file_path")
    return [file_path] if isinstance(file_path, str) and file_path else []


def matching_rule(rules: list[str], tool: str, tool_input: dict[str, Any], cwd: str) -> str | None:
    """The first rule that allows this request, or None."""
    for rule in rules:
        found = _RULE.fullmatch(rule.strip()) if isinstance(rule, str) else None
        if found is None or found["tool"] != tool:
            continue
        spec = found["spec"]
        if spec is None:
            return rule
        if tool == "Bash" and command_allowed(spec, str(tool_input.get("command") or "")):
            return rule
        if tool in _PATH_TOOLS:
            paths = written_paths(tool_input)
            if paths and all(path_allowed(spec.strip(), path, cwd) for path in paths):
                return rule
    return None


def _backend_applies_rules(session: Any) -> bool:
    spec = getattr(session, "backend_spec", None)
    return bool(getattr(spec, "applies_allowed_tools", False))


@hookimpl
def permission_request(session: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """Allow a request that one of the session's ``allowed_tools`` rules covers."""
    rules = list(session.info.get("allowed_tools") or [])
    tool_input = request.get("input")
    if not rules or not isinstance(tool_input, dict):
        return None
    if request.get("blocked_path") or _backend_applies_rules(session):
        return None  # the CLI applied these very rules and still asked: the user decides
    rule = matching_rule(rules, str(request.get("tool_name") or ""), tool_input, session.cwd)
    if rule is None:
        return None
    return {"behavior": "allow", "message": f"allowed by the session's rule {rule!r}"}
