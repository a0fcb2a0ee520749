"""How an agent CLI runs inside a session's container: ``docker exec -i`` with the CLI's stdin
and stdout as its transport, and the shell the panel's terminal button opens."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from jupyter_companion.backends.base import BackendError, CommandWrapper

from .containers import PIDFILE

#: Variables that describe the host, not the container: never passed in.
HOST_ONLY = frozenset({
    "PATH", "HOME", "PWD", "OLDPWD", "SHELL", "USER", "LOGNAME", "HOSTNAME", "TMPDIR", "TMP", "TEMP", "MAIL",
    "DISPLAY", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LD_LIBRARY_PATH", "LD_PRELOAD", "SHLVL", "_",
    "TERM_PROGRAM", "COLORTERM",
})
#: Variables naming a host folder: passed only when that folder is mounted in the container.
HOST_FOLDERS = frozenset({"CODEX_HOME", "CLAUDE_CONFIG_DIR"})
HOST_PREFIXES = ("XDG_", "DOCKER_", "SSH_", "DBUS_", "CONDA_", "PYENV", "JPY_", "JUPYTER", "VSCODE_", "npm_", "NVM_")


#: Runs inside the container before the CLI: note its pid, give it the image's shell as SHELL.
LAUNCH = (f'echo $$ > {PIDFILE}; [ -n "$SHELL" ] || SHELL=$(command -v bash || command -v zsh || command -v sh); '
          'export SHELL; exec "$@"')


def passes_into_container(name: str) -> bool:
    """Whether a variable of the CLI's environment is given to the CLI in the container."""
    return name not in HOST_ONLY and not name.startswith(HOST_PREFIXES)


def visible(path: str, mounts: list[str]) -> bool:
    """Whether a host path is inside one of the folders mounted at the same path."""
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def exec_wrapper(
    docker_argv: list[str], container: Callable[[], dict[str, Any]], cli_env: dict[str, str]
) -> CommandWrapper:
    """A wrapper running the CLI with ``docker exec -i`` in the container ``container()`` names
    (the session's ``sandbox`` field: ``container_id``, ``mounts``).

    Variables are passed by name (``-e NAME``), their values taken from the docker client's own
    environment, so no secret ever appears on a command line. The CLI is looked up on the
    container's PATH by its base name, and writes its pid so that a leftover can be stopped.
    """

    def wrap(argv: list[str], env: dict[str, str], cwd: str) -> tuple[list[str], dict[str, str], str]:
        sandbox = container()
        cid, mounts = sandbox.get("container_id"), list(sandbox.get("mounts") or [])
        if not cid:
            raise BackendError("the session's container is not ready")
        names = sorted(k for k in env if passes_into_container(k)
                       and (k not in HOST_FOLDERS or visible(os.path.realpath(env[k]), mounts)))
        command = [*docker_argv, "exec", "-i", "-w", cwd]
        for name in names:
            command += ["-e", name]
        command += [cid, "sh", "-c", LAUNCH, "companion-cli", os.path.basename(argv[0]), *argv[1:]]
        return command, {**env, **cli_env}, cwd

    return wrap


def shell_argv(docker_argv: list[str], info: dict[str, Any], cwd: str) -> list[str] | None:
    """An interactive shell in the container, in the session folder (bash when the image has it)."""
    cid = info.get("container_id")
    if not cid:
        return None
    return [*docker_argv, "exec", "-it", "-w", cwd, str(cid), "sh", "-c",
            "command -v bash >/dev/null 2>&1 && exec bash -l || exec sh -l"]
