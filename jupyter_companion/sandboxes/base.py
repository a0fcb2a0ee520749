"""The contract of a sandbox provider: where and how a session's CLI runs.

A provider registers a :class:`SandboxSpec` through the ``register_sandboxes`` hook. ``local``
needs nothing but a command wrapper; a provider that creates something per session (a Docker
container, a Kubernetes pod) also fills in ``prepare`` (create or find it again, with progress),
``teardown`` (remove it), ``stop`` (the server stops) and ``sweep`` (remove leftovers), and
validates its profiles with ``validate_profile``. The core calls them off the hot path:

- ``prepare`` before every launch of the CLI, so a container that disappeared (removed, daemon
  restarted, server restarted) is found, started or recreated before the CLI runs in it;
- ``wrapper`` to turn the CLI's argv/env/cwd into what really runs (``docker exec -i ...``);
- ``teardown`` on archive and delete, ``stop`` when the server stops, ``sweep`` once at start-up
  with the ids of every session the server still knows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import Availability, CommandWrapper

#: ``progress(step, label, status, detail)`` -- status is ``in_progress``, ``done`` or ``error``.
SandboxProgress = Callable[[str, str, str, "str | None"], None]


class SandboxError(Exception):
    """A sandbox could not be prepared; ``step`` names the creation step that failed.

    The provider has already removed whatever it created for the attempt when it raises this.
    ``status`` is the HTTP status a create request answers with (400 for a bad profile, 502 when
    the engine failed, 400 when it cannot be reached: every refusal a user can act on is a 4xx).
    """

    def __init__(self, step: str, message: str, status: int = 502):
        super().__init__(message)
        self.step = step
        self.status = status


@dataclass
class SandboxRequest:
    """What :attr:`SandboxSpec.prepare` is asked to provide for one session.

    ``owner`` identifies this server's state (label what you create with it, so that ``sweep``
    never touches another server's); ``folders`` are the host folders the CLI works in (the
    session folder, its repository and for a worktree the main repository, then the session's
    private state folder where backends keep per-session state such as Codex's home), to be
    visible at the same paths inside; ``home`` is the home the CLI would have on the host (where it keeps its
    credentials: the ``HOME`` of its environment, else the server user's);
    ``env`` the variables of the profile and the session's env profile, for the sandbox's own
    environment; ``progress`` reports creation steps (``preparing_image``,
    ``creating_container``, ``running_init_script``).
    """

    session_id: str
    owner: str
    profile: dict[str, Any]
    folders: list[str]
    home: str
    progress: SandboxProgress
    existing: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class SandboxSpec:
    """A sandbox as registered by a plugin through ``register_sandboxes``.

    ``wrapper(session)`` returns the :class:`~jupyter_companion.backends.base.CommandWrapper`
    that turns the CLI's argv/env/cwd into what really runs. Every other callable is optional:

    - ``check()`` -- whether the provider can work now (``{"available", "reason"?}``); shown in
      ``GET status`` as ``sandboxes[].available``/``reason`` and checked before a create.
    - ``validate_profile(body)`` -- a profile of this provider, normalized; raise ``ValueError``
      with a message for the user. A provider without it takes no profiles.
    - ``prepare(request)`` -- make the session's sandbox ready (idempotent: find, start or
      recreate); returns the fields the core stores as ``session.sandbox`` (``container_id``,
      ``image`` ...), with ``"recreated": True`` when what existed before was gone. Raise
      :class:`SandboxError` after removing what the attempt created.
    - ``teardown(session)`` -- remove what was created (archive, delete).
    - ``stop(session)`` -- the server stops: release or keep what was created (documented by the
      provider); ``prepare`` runs again at the next launch.
    - ``sweep(owner, known_ids)`` -- remove what this server created for sessions it no longer
      has; returns a description of each removed item.
    - ``shell(session)`` -- the argv of an interactive shell inside the sandbox (the panel's
      terminal button runs it), or None.
    """

    name: str
    label: str
    wrapper: Callable[[Any], CommandWrapper]
    teardown: Callable[[Any], Awaitable[None]] | None = None
    description: str = ""
    check: Callable[[], Awaitable[Availability]] | None = None
    validate_profile: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    prepare: Callable[[SandboxRequest], Awaitable[dict[str, Any]]] | None = None
    stop: Callable[[Any], Awaitable[None]] | None = None
    sweep: Callable[[str, set[str]], Awaitable[list[str]]] | None = None
    shell: Callable[[Any], list[str] | None] | None = None
