"""The whole plugin API of jupyter-companion.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, named after the
hook specifications below, published through the ``jupyter_companion`` entry-point group::

    # pyproject.toml of a plugin distribution
    [project.entry-points.jupyter_companion]
    my_plugin = "my_package.companion_plugin"

    # my_package/companion_plugin.py
    from jupyter_companion.hookspecs import hookimpl

    @hookimpl
    def register_backends(register, app):
        register(BackendSpec(name="mine", label="My agent", ...))

The built-in Claude, Codex and ACP backends and the ``local`` sandbox are registered through this
very entry-point group, as is the ``docker`` sandbox of the separate distribution in
``plugins/docker``. A plugin that fails to import, or whose hook raises, is reported by
``GET companion/api/plugins`` and never stops the server. Hooks are called on the server's event
loop: they must return quickly (start a task for slow work). Four may be coroutines, and are
awaited: ``prepare_session``, ``validate_settings``, ``server_started`` and ``server_stopping``.

Objects handed to hooks:

- ``app``: the :class:`jupyter_companion.app.CompanionApp` (``app.config`` for traitlets
  configuration, ``app.serverapp`` for the Jupyter server, ``app.store`` for persistence;
  once the services are built, ``app.orchestrator.settings`` -- ``value(name)`` of a declared
  setting, ``stored(key)``/``put_stored(key, value)`` for what a plugin keeps across restarts --
  and ``app.orchestrator.agents.agents``, the agents by id).
- ``session``: a :class:`jupyter_companion.sessions.session.Session` (``session.id``,
  ``session.info`` -- the session object of API.md as a dict --, ``session.cwd``,
  ``session.backend_spec`` -- the :class:`~jupyter_companion.backends.base.BackendSpec` it runs,
  ``session.orch`` -- its orchestrator --, ``session.update(fields)`` to change session-object
  fields (subscribers are told) and ``session.emit({"type": "notice", "level", "code",
  "message"})`` to tell the person something).
- ``event``: a stored or transient event dict of API.md (``{seq, type, ts, session_id, ...}``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pluggy

PROJECT_NAME = "jupyter_companion"

#: Marks a function as a hook specification (used only in this module).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a plugin's function as an implementation of a hook.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_backends(register: Any, app: Any) -> None:
    """Add agent backends.

    Call ``register(spec)`` with a :class:`jupyter_companion.backends.base.BackendSpec` for every
    backend the plugin provides: a unique ``name``, a ``label``, an async availability ``check``,
    a static list of ``models`` and a ``create_adapter(launch_spec, sink, wrap)`` factory that
    returns a :class:`~jupyter_companion.backends.base.BackendAdapter`.
    """


@hookspec
def register_sandboxes(register: Any, app: Any) -> None:
    """Add sandbox providers (where and how a CLI runs).

    Call ``register(spec)`` with a :class:`jupyter_companion.sandboxes.base.SandboxSpec`. A
    sandbox turns the argv/env/cwd of a CLI into the command that really runs (``local`` runs it
    as is; the ``docker`` plugin wraps it in ``docker exec -i``). A sandbox that creates something
    per session also gives ``prepare`` (awaited before every launch: find, start or recreate, with
    progress steps), ``teardown``, ``stop``, ``sweep``, ``check`` and ``validate_profile`` (its
    profiles are then served by ``GET/PUT/DELETE sandbox-profiles``); see ``sandboxes/base.py``.
    """


@hookspec
def register_triggers(register: Any, app: Any) -> None:
    """Add triggers that start agent runs (an integration's events, a chat command ...).

    Call ``start = register(name, label)`` for each: ``name`` (1-40 of ``a-z 0-9 _ -``, starting
    with a letter) is what runs record as their ``trigger``, ``label`` what people read. Later,
    ``start(agent_id, input)`` starts a run of that agent with that input and returns the run
    (``{id, status, ...}``; ``skipped`` when the agent's previous run still goes); it raises
    :class:`jupyter_companion.errors.ApiError` for an unknown or disabled agent. The builtin
    ``manual``, ``schedule`` and ``webhook`` triggers start their runs the same way. Call ``start``
    on the server's event loop.
    """


@hookspec
def register_routes(app: Any) -> list[tuple[str, Any]] | None:
    """Return extra tornado routes ``[(pattern, handler_class), ...]`` for an integration.

    Patterns are relative to the server's ``base_url`` and should live under
    ``companion/api/<plugin name>/``. Subclass
    :class:`jupyter_companion.handlers.base.CompanionAPIHandler` and decorate methods with
    ``@web.authenticated`` and ``@authorized`` like the core's handlers. Whatever a plugin forgets,
    the core serves each handler behind Jupyter authentication and authorization on its
    ``auth_resource`` (``read`` for GET, ``write`` otherwise), and refuses a handler that is not a
    Jupyter handler. A handler that authenticates requests itself (a webhook with an HMAC
    signature) declares ``companion_public = True``. A route that is not ``(pattern, handler
    class[, kwargs])`` is dropped and the plugin reported failed.
    """


@hookspec
def register_settings(app: Any) -> dict[str, Any] | None:
    """Return a JSON-schema fragment ``{setting_name: schema}`` of settings the plugin reads.

    The settings are stored by the core (``app.store``) and returned with the other settings;
    names should be prefixed with the plugin's name. Secrets are marked ``"secret": true`` and
    are masked when read back.
    """


@hookspec
def server_started(app: Any) -> Awaitable[None] | None:
    """The server is up and its sessions are restored: restore what the plugin keeps across
    restarts. May be a coroutine (awaited; failures are reported, never raised)."""


@hookspec
def server_stopping(app: Any) -> Awaitable[None] | None:
    """The server is stopping, before its sessions' CLIs are stopped: undo what should not outlive
    it. May be a coroutine (awaited, so keep it short; failures are reported, never raised)."""


@hookspec
def validate_settings(changes: dict[str, Any], app: Any) -> Awaitable[None] | None:
    """Check settings before they are stored (``PATCH companion/api/settings``).

    ``changes`` holds the new values that passed the schema (a secret sent back in its masked form
    is left out: it does not change; ``None`` resets a setting). Raise
    :class:`jupyter_companion.errors.ApiError` to refuse the whole change with that status and
    message (an API key that the service does not accept: 400). May be a coroutine (it is
    awaited, so a plugin can ask its service); keep it short, the person saving waits for it.
    """


@hookspec
def prepare_session(session: Any, request: dict[str, Any], progress: Any) -> Awaitable[None] | None:
    """Prepare a new session from its create request, before the system prompt is gathered and
    its CLI starts.

    ``request`` is the create request's body as sent: a plugin reads its own fields there (the
    Linear plugin reads ``linear_issue``) and records what the session object should show with
    ``session.info[field] = value`` (kept with the session, returned by the API). ``progress(step,
    label, status, detail=None)`` reports slow work as creation steps (``status`` is
    ``"in_progress"``, ``"done"`` or ``"error"``). May be a coroutine (awaited). Raise
    :class:`jupyter_companion.errors.ApiError` to refuse the creation: nothing of the session is
    kept and the caller gets that status and message; any other exception is reported against
    the plugin and creation goes on.
    """


@hookspec
def session_created(session: Any) -> None:
    """Observe a new session, after its first CLI launch was requested."""


@hookspec
def session_archived(session: Any, options: dict[str, Any]) -> None:
    """Observe a session being archived (its CLI is already stopped).

    ``options`` is the archive request's body (``{}`` when none was sent): besides the core's
    ``force``, a plugin's own choices arrive there (the Linear plugin's ``linear_transition``,
    asked by the panel through an ``archive_choice`` of :func:`register_ui`).
    """


@hookspec
def register_ui(app: Any) -> list[dict[str, Any]] | None:
    """Declare what the JupyterLab panel shows for this plugin -- no JavaScript needed.

    Called for every ``GET companion/api/ui`` (so a contribution may reflect the settings of the
    moment). Return a list of contributions, each a dict with a ``kind``:

    - ``page``: an entry of the panel's *Integrations* page, ``{kind, id, label, description?,
      settings?: [setting names], status?: {url, fields: [{key, label, format?}]}, toggle?: {key,
      url, body_key, label_on, label_off}}``. ``settings`` are edited with the core's settings
      form (secrets masked; :func:`validate_settings` runs on save). ``status.url`` (relative to
      ``companion/api/``) is read and each field's ``key`` (dotted) shown as ``format`` ``text``
      (default), ``state`` (a badge), ``url`` (a link with a copy button) or ``qr`` (a link, a copy
      button and a QR code). ``toggle`` POSTs ``{body_key: true|false}`` to its ``url``; the answer
      replaces the status; an ``error`` or ``warning`` in it is shown.
    - ``create_field``: a field of the new-session form sent as ``name`` in the create request,
      ``{kind, name, label, placeholder?, search: {url, param, list?, value, text, detail?},
      create?: {url, label, value, fields: [{name, label, multiline?, required?, options_url?, list?,
      option_value?, option_text?}]}}``: typing searches ``search.url?{param}=…&cwd=…`` and lists
      the answer's ``list`` (default ``items``); ``create`` makes a new item from a small form
      instead (its options come from ``options_url``; one with ``selected: true`` is preselected).
      ``backends: [names]`` shows the field only for those backends.
    - ``session_field``: a badge in the sessions sidebar and the chat header for sessions whose
      object has ``field``: ``{kind, field, text, title?, href?}``, templates with
      ``{dotted.keys}`` of that field's value (plain text; ``href`` only when it is http(s)).
    - ``archive_choice``: asked before a session with ``field`` is archived: ``{kind, field, name,
      label, options: [{value, label}], default}``; the choice is sent as ``name`` in the archive
      request (see :func:`session_archived`).

    The panel renders all of it as text through its own components: nothing a plugin returns is
    inserted as HTML.
    """


@hookspec
def session_event(session: Any, event: dict[str, Any]) -> None:
    """Observe every event of every session (stored and transient), right after fan-out.

    Called very often: do not block and do not raise. An implementation that needs only some
    event types says which in an ``event_types`` attribute (``session_event.event_types =
    ("result",)``) and is called for those alone -- most events are ``stream_delta``.
    """


@hookspec
def system_prompt(session: Any) -> str | None:
    """Contribute text appended to a new session's system prompt (e.g. a linked issue).

    All non-empty contributions are joined with blank lines.
    """


@hookspec(firstresult=True)
def session_title(session: Any, prompt: str) -> str | None:
    """A short title for a session that was created without a name, from its first prompt.

    Called once, when that prompt is sent; the first non-empty string wins (the builtin
    ``titles`` plugin answers last, with the prompt's first line). A plugin that needs longer
    (asking a model) returns None and later calls ``session.update({"name": ...})`` itself,
    unless ``session.info["name_auto"]`` became false meanwhile (the user renamed it).
    """


@hookspec(firstresult=True)
def permission_request(session: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """Decide a tool permission request instead of asking the user.

    ``request`` is the ``permission_request`` event (``request_id, tool_name, input, ...``).
    Return ``None`` to let the user decide, or ``{"behavior": "allow"|"deny", "message"?: str,
    "updated_input"?: dict}``. The first plugin that returns a decision wins; the decision is
    recorded as ``permission_resolved`` with ``by: "plugin"``.
    """
