"""The contract between a Session and the adapter that drives one agent CLI.

A backend is registered by a plugin (see :mod:`jupyter_companion.hookspecs`) as a
:class:`BackendSpec`. For every running CLI the Session asks the spec for an adapter,
handing it a :class:`LaunchSpec` (what to run, where, with which options) and an
:class:`AdapterSink` (where normalized events go). The adapter speaks the CLI's own
protocol and emits only events of the vocabulary in ``API.md``: the rest of the system
never knows which CLI is behind a session.
"""

from __future__ import annotations

import abc
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Permission modes accepted everywhere (API.md).
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions")


@dataclass
class LaunchSpec:
    """Everything an adapter needs to start (or resume) the CLI of one session."""

    session_id: str
    cwd: str
    model: str | None = None
    permission_mode: str = "default"
    allowed_tools: list[str] = field(default_factory=list)
    system_prompt: str = ""
    #: The CLI's own conversation id (Claude session id, Codex thread id) to resume.
    resume_id: str | None = None
    #: Resume the history but continue under a new CLI conversation id.
    fork: bool = False
    #: Extra environment for the CLI (on top of the server's environment).
    env: dict[str, str] = field(default_factory=dict)
    #: Private scratch folder owned by the session (e.g. for a per-session CODEX_HOME).
    state_dir: str = ""
    #: Where the process's protocol is recorded: ``tap(direction, raw)`` per line and
    #: ``tap.close(code)`` at its end (a :class:`~jupyter_companion.recordings.recorder.Tap`);
    #: pass it to :class:`~jupyter_companion.backends.ndjson.LineProcess`. None: not recorded.
    tap: Any = None
    #: What the session's backend chose at creation (a replay's recording and speed).
    backend_options: dict[str, Any] = field(default_factory=dict)


class CommandWrapper(Protocol):
    """How a sandbox runs a command: returns the argv, env and cwd to execute."""

    def __call__(
        self, argv: list[str], env: dict[str, str], cwd: str
    ) -> tuple[list[str], dict[str, str], str]: ...


def no_wrapper(argv: list[str], env: dict[str, str], cwd: str) -> tuple[list[str], dict[str, str], str]:
    """The identity wrapper of the ``local`` sandbox."""
    return argv, env, cwd


class AdapterSink(Protocol):
    """Where an adapter reports what its CLI does. Implemented by the Session."""

    def emit(self, event: dict[str, Any]) -> None:
        """Record one normalized event (``{"type": ..., ...}``, no seq/ts/session_id)."""

    def set_phase(self, phase: str) -> None:
        """Ask for a phase transition (refused transitions are logged, never raised)."""

    def set_cli_session_id(self, cli_session_id: str) -> None:
        """Remember the CLI's own conversation id, used to resume after a relaunch."""

    def update(self, fields: dict[str, Any]) -> None:
        """Merge fields into the session object and emit a ``session_update`` for them."""

    def drift(self, what: str, detail: str = "") -> None:
        """Report protocol drift (an unknown message type); reported once per ``what``."""

    def on_exit(self, returncode: int | None, stderr_tail: str) -> None:
        """The CLI process has ended (whatever the reason)."""


class NullSink:
    """A sink that drops everything: for short-lived probes of a CLI (models, credentials)."""

    def emit(self, event: dict[str, Any]) -> None:
        """Dropped."""

    def set_phase(self, phase: str) -> None:
        """Dropped."""

    def set_cli_session_id(self, cli_session_id: str) -> None:
        """Dropped."""

    def update(self, fields: dict[str, Any]) -> None:
        """Dropped."""

    def drift(self, what: str, detail: str = "") -> None:
        """Dropped."""

    def on_exit(self, returncode: int | None, stderr_tail: str) -> None:
        """Dropped."""


class BackendAdapter(abc.ABC):
    """Drives one CLI process for one session."""

    def __init__(self, spec: LaunchSpec, sink: AdapterSink, wrap: CommandWrapper = no_wrapper):
        self.spec = spec
        self.sink = sink
        self.wrap = wrap

    @property
    @abc.abstractmethod
    def pid(self) -> int | None:
        """The process id of the running CLI, or None."""

    @property
    @abc.abstractmethod
    def running(self) -> bool:
        """True while the CLI process is alive."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Spawn the CLI and perform the protocol handshake; raise ``BackendError`` on failure."""

    @abc.abstractmethod
    async def send_user_message(self, content: str, images: list[dict[str, Any]]) -> None:
        """Start a turn (or queue it behind the running one)."""

    @abc.abstractmethod
    async def respond_permission(
        self,
        request_id: str,
        behavior: str,
        *,
        updated_input: dict[str, Any] | None = None,
        message: str | None = None,
        updated_permissions: list[dict[str, Any]] | None = None,
        original: dict[str, Any] | None = None,
    ) -> None:
        """Answer a pending ``permission_request`` (``original`` is the stored request event)."""

    @abc.abstractmethod
    async def interrupt(self) -> None:
        """Stop the running turn."""

    @abc.abstractmethod
    async def set_model(self, model: str) -> None:
        """Switch the model for the next turns."""

    @abc.abstractmethod
    async def set_permission_mode(self, mode: str) -> None:
        """Switch the permission mode."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the CLI (gracefully, then by force); never raises."""


class BackendError(Exception):
    """A backend could not do what was asked; the message is shown to the user."""


@dataclass
class Availability:
    """Whether a backend can run here, and why not."""

    available: bool
    reason: str | None = None
    version: str | None = None
    binary: str | None = None

    def fields(self) -> dict[str, Any]:
        """As ``GET status`` shows it: ``{available, reason?, version?}`` (a missing reason named)."""
        shown: dict[str, Any] = {"available": bool(self.available)}
        if not self.available:
            shown["reason"] = self.reason or "not available"
        elif self.reason:
            shown["reason"] = self.reason
        if self.version:
            shown["version"] = self.version
        return shown


@dataclass
class Credentials:
    """Whether a backend's CLI has credentials for its model, as the CLI itself reports them.

    ``source`` names where they come from (``ANTHROPIC_API_KEY``, ``ChatGPT account``, a model
    provider ...) without ever containing the secret; ``hint`` says what to do when there are none.
    """

    configured: bool
    source: str | None = None
    hint: str | None = None


CredentialsCheck = Callable[[dict[str, str]], Awaitable[Credentials]]
AdapterFactory = Callable[[LaunchSpec, AdapterSink, CommandWrapper], BackendAdapter]
ConversationLister = Callable[[int, Callable[[dict[str, Any]], bool]], Awaitable[list[dict[str, Any]]]]


@dataclass
class BackendSpec:
    """A backend as registered by a plugin through ``register_backends``."""

    name: str
    label: str
    create_adapter: AdapterFactory
    check: Callable[[], Awaitable[Availability]]
    models: list[dict[str, str]] = field(default_factory=list)
    #: Optional live model discovery; falls back to ``models``.
    list_models: Callable[[], Awaitable[list[dict[str, str]]]] | None = None
    #: Optional: earlier conversations of this CLI that a session can continue
    #: (``resume_session``), newest first. Called as ``list_conversations(limit, keep)``; each
    #: item is ``{id, cwd, title, started_at?, updated_at?}`` and only those ``keep(item)``
    #: accepts count towards ``limit``.
    list_conversations: ConversationLister | None = None
    #: True when the CLI applies a session's ``allowed_tools`` itself (Claude's
    #: ``--allowedTools``): the core's builtin rule plugin then never answers its requests, since
    #: a request such a CLI still sends was escalated on purpose.
    applies_allowed_tools: bool = False
    #: Optional: ask the CLI whether it has credentials, given the environment sessions start
    #: with (``cli_env`` included, no env profile). Shown in ``GET status`` and the new-session
    #: form; never blocks a session (an env profile may bring the credentials).
    check_credentials: CredentialsCheck | None = None
    #: How the core talks to the CLI, as ``GET status`` shows it (``acp`` for Agent Client
    #: Protocol agents; the builtins name their own protocol).
    protocol: str = ""
    #: Optional: the agent's own modes as ``[{id, label}]``, as its sessions advertised them
    #: (``GET backends`` shows them after ``models``, which may have asked a probe session).
    agent_modes: Callable[[], list[dict[str, str]]] | None = None
    #: Optional: an adapter for a replay of this backend's recording: like ``create_adapter``,
    #: but its CLI is whatever ``wrap`` runs (the recording's player), so no binary is needed.
    #: Without it, the backend's recordings cannot be replayed.
    replay_adapter: Callable[[LaunchSpec, AdapterSink, CommandWrapper], BackendAdapter] | None = None
    #: Fields of the session object a backend keeps per session (``backend_options``, set by its
    #: plugin's ``prepare_session``) reach its adapter as ``LaunchSpec.backend_options``.


#: Variables of the server's own environment that agent CLIs never inherit: the credentials of
#: the Jupyter server itself, with which an agent could drive this API (approve its own
#: permission requests). ``cli_env``, env profiles and a session's ``env`` can still set them.
SERVER_CREDENTIALS = ("JUPYTER_TOKEN", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTER_COMPANION_TOKEN")


def agent_environment(extra: dict[str, str] | None = None, strip: tuple[str, ...] | list[str] = SERVER_CREDENTIALS) -> dict[str, str]:
    """The environment an agent CLI starts with: the server's, without ``strip``, plus ``extra``."""
    hidden = set(strip)
    env = {name: value for name, value in os.environ.items() if name not in hidden}
    env.update(extra or {})
    return env


def find_binary(configured: str | None, default_name: str) -> str | None:
    """Resolve a CLI binary from a configured path/name or the PATH."""
    candidate = configured or default_name
    found = shutil.which(candidate)
    return found
