"""Running the git binary (argv lists only, never a shell) and opening repositories."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GitError, NotARepositoryError

if TYPE_CHECKING:  # GitPython is imported on first use: it costs ~30 ms of server start-up
    import git as gitpython

#: Seconds a local git command may take; network commands get :data:`NETWORK_TIMEOUT`.
LOCAL_TIMEOUT = 60.0
NETWORK_TIMEOUT = 120.0

#: Options given to every git command the server runs: a repository's own configuration (which an
#: agent working in it can write) must not make the *server* run programs -- no hooks, no
#: fsmonitor daemon, no ``ext::`` transport, no credential helper.
SAFE_OPTIONS = (
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "protocol.ext.allow=never",
    "-c", "credential.helper=",
)
#: Commands that read or write working-tree files, where configured clean/smudge filters would run.
_TREE_COMMANDS = frozenset({"status", "diff", "checkout", "worktree", "merge", "stash", "add", "reset",
                            "switch", "restore", "commit", "pull"})
_FILTER_KEY = re.compile(r"^filter\.(.+)\.(?:clean|smudge|process|required)$")


@dataclass
class GitResult:
    """Outcome of one git invocation (output decoded as UTF-8 with replacement)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        """The most useful one-line-ish description of a failure."""
        text = (self.stderr or self.stdout).strip()
        return text.splitlines()[-1] if text else f"git exited with status {self.returncode}"


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for git: no credential prompts, English messages, no optional locks, literal pathspecs."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_LITERAL_PATHSPECS"] = "1"  # a file named '*' or ':(top)x' is just a file
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    if extra:
        env.update(extra)
    return env


def _filter_overrides(cwd: str | os.PathLike[str], env: dict[str, str]) -> list[str]:
    """``-c`` options that switch off every clean/smudge filter the repository configures."""
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv list, no shell
            ["git", *SAFE_OPTIONS, "config", "--get-regexp", r"^filter\."],
            cwd=os.fspath(cwd), capture_output=True, stdin=subprocess.DEVNULL, timeout=LOCAL_TIMEOUT,
            env=env, check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return []
    names = set()
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        match = _FILTER_KEY.match(line.split(" ", 1)[0])
        if match:
            names.add(match.group(1))
    options: list[str] = []
    for name in sorted(names):
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            options += ["-c", f"filter.{name}.{key}={value}"]
    return options


def run_git(
    args: list[str],
    cwd: str | os.PathLike[str],
    *,
    check: bool = True,
    timeout: float = LOCAL_TIMEOUT,
    env: dict[str, str] | None = None,
) -> GitResult:
    """Run ``git <args>`` in ``cwd`` and return its output.

    Every command gets :data:`SAFE_OPTIONS`; one that touches working-tree files also gets the
    repository's filters switched off. With ``check`` a non-zero exit raises :class:`GitError`
    carrying git's own message. Blocking: call it through ``asyncio.to_thread`` from async code.
    """
    run_env = git_env(env)
    options = list(SAFE_OPTIONS)
    if args and args[0] in _TREE_COMMANDS and os.path.isdir(cwd):
        options += _filter_overrides(cwd, run_env)
    argv = ["git", *options, *args]
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv list, no shell
            argv,
            cwd=os.fspath(cwd),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env=run_env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} timed out after {timeout:.0f}s", status=504) from exc
    except FileNotFoundError as exc:
        raise GitError("git is not installed or the folder does not exist", status=500) from exc
    result = GitResult(
        ["git", *args],
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    if check and not result.ok:
        raise GitError(f"git {args[0]} failed: {result.error_text()}")
    return result


def open_repo(path: str | os.PathLike[str], ceiling: str | os.PathLike[str] | None = None) -> gitpython.Repo:
    """Open the repository whose working tree contains ``path`` (a file or folder).

    With ``ceiling``, a repository whose working tree is not inside that folder (found by
    searching the parents of ``path``) does not count. Raises :class:`NotARepositoryError` when
    ``path`` is not inside a (permitted) git working tree.
    """
    import git as gitpython

    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    try:
        repo = gitpython.Repo(folder, search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError) as exc:
        raise NotARepositoryError(f"{os.fspath(path)} is not inside a git repository") from exc
    if repo.bare or repo.working_tree_dir is None:
        repo.close()
        raise NotARepositoryError(f"{os.fspath(path)} is a bare repository")
    if ceiling is not None:
        top, limit = work_root(repo), Path(ceiling).resolve()
        if not (top == limit or limit in top.parents):
            repo.close()
            raise NotARepositoryError(f"{os.fspath(path)} is not inside a git repository within {limit}")
    return repo


def work_root(repo: gitpython.Repo) -> Path:
    """Resolved top folder of the repository's working tree (a linked worktree's own folder)."""
    assert repo.working_tree_dir is not None
    return Path(repo.working_tree_dir).resolve()
