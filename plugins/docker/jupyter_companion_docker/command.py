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
    "CODEX_HOME", "TERM_PROGRAM", "COLORTERM",
})
HOST_PREFIXES = ("XDG_", "DOCKER_", "SSH_", "DBUS_", "CONDA_", "PYENV", "JPY_", "JUPYTER", "VSCODE_", "npm_", "NVM_")


#: Runs inside the container before the CLI: note its pid, give it the image's shell as SHELL.
LAUNCH = (f'echo $$ > {PIDFILE}; [ -n "$SHELL" ] || SHELL=$(command -v bash || command -v zsh || command -v sh); '
          'export SHELL; exec "$@"')


def passes_into_container(name: str) -> bool:
    """Whether a variable of the CLI's environment is given to the CLI in the container."""
    return name not in HOST_ONLY and not name.startswith(HOST_PREFIXES)


def exec_wrapper(docker_argv: list[str], container_id: Callable[[], str | None], cli_env: dict[str, str]) -> CommandWrapper:
    """A wrapper running the CLI with ``docker exec -i`` in the container ``container_id()``.

    Variables are passed by name (``-e NAME``), their values taken from the docker client's own
    environment, so no secret ever appears on a command line. The CLI is looked up on the
    container's PATH by its base name, and writes its pid so that a leftover can be stopped.
    """

    def wrap(argv: list[str], env: dict[str, str], cwd: str) -> tuple[list[str], dict[str, str], str]:
        cid = container_id()
        if not cid:
            raise BackendError("the session's container is not ready")
        names = sorted(k for k in env if passes_into_container(k))
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
