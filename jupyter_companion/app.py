"""The Jupyter server extension: configuration (traitlets) and wiring of services and handlers."""

from __future__ import annotations

import os
import re
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Integer, List, Unicode, default

from .backends.base import SERVER_CREDENTIALS
from .errors import ApiError


class CompanionApp(ExtensionApp):
    """jupyter-companion: coding-agent CLIs as long-lived sessions inside Jupyter."""

    name = "jupyter_companion"
    description = __doc__
    load_other_extensions = True

    db_path = Unicode(
        help="Path of the SQLite database holding sessions, events and settings. "
        "Default: <jupyter data dir>/companion/companion.db (a JupyterHub named server: "
        "<jupyter data dir>/companion/servers/<server name>/companion.db)."
    ).tag(config=True)

    @default("db_path")
    def _default_db_path(self) -> str:
        # a JupyterHub *named* server shares its user's home with the default server: its own folder
        server_name = re.sub(r"[^A-Za-z0-9._-]", "_", os.environ.get("JUPYTERHUB_SERVER_NAME", "")).strip(".")
        if server_name:
            return os.path.join(jupyter_data_dir(), "companion", "servers", server_name, "companion.db")
        return os.path.join(jupyter_data_dir(), "companion", "companion.db")

    state_dir = Unicode(
        help="Folder for per-session scratch state (e.g. a Codex home). Default: beside the database."
    ).tag(config=True)

    @default("state_dir")
    def _default_state_dir(self) -> str:
        return os.path.join(os.path.dirname(os.path.abspath(self.db_path)), "sessions")

    record = Bool(
        True, help="Record the raw protocol of every CLI process (one JSONL file each; secrets redacted).",
    ).tag(config=True)

    recordings_dir = Unicode(help="Folder of the recordings. Default: beside the database.").tag(config=True)

    @default("recordings_dir")
    def _default_recordings_dir(self) -> str:
        return os.path.join(os.path.dirname(os.path.abspath(self.db_path)), "recordings")

    recordings_max_lines = Integer(
        1_000_000, help="Lines kept across all recordings; the oldest files go first.").tag(config=True)
    recordings_max_lines_per_file = Integer(
        200_000, help="Lines one recording may hold; the rest of that process is not recorded.").tag(config=True)
    recordings_max_age_days = Float(30.0, help="Recordings older than this are deleted.").tag(config=True)

    demo_recordings = List(
        Unicode(), default_value=[],
        help="Recordings (JSONL files; relative paths from the server's root) that become replay sessions "
        "when the server starts, once each: a demo with no CLI and no API key (binder/, scripts/demo).",
    ).tag(config=True)
    demo_folder = Unicode("", help="Folder of the demo sessions, relative to the server's root.").tag(config=True)
    demo_speed = Float(0.5, help="How fast the demo sessions replay (1: as recorded).").tag(config=True)

    worktrees_dir = Unicode(
        "",
        help="Folder where session worktrees are created (one sub-folder per repository). Default: "
        "beside the repository inside the server root ('<repo>.worktrees/'), or inside it "
        "('companion-worktrees/', excluded from its status) when the repository is the root itself, "
        "so JupyterLab can open their files.",
    ).tag(config=True)

    allowed_roots = List(
        Unicode(),
        default_value=[],
        help="Extra folders (besides the server's root_dir) in which sessions may run.",
    ).tag(config=True)

    default_backend = Unicode("claude", help="Backend used when a create request names none.").tag(config=True)

    default_sandbox = Unicode("local", help="Sandbox used when a create request names none.").tag(config=True)

    agents_bypass_without_sandbox = Bool(
        False,
        help="Let an agent (which runs unattended) use the bypassPermissions mode outside a sandbox. "
        "Off: such an agent must name a sandbox other than 'local'.",
    ).tag(config=True)

    idle_timeout = Float(
        24 * 3600.0,
        help="Seconds a session's CLI may stay idle with no client subscribed before it is stopped "
        "(it restarts with resume on the next prompt).",
    ).tag(config=True)

    hang_timeout = Float(
        90.0,
        help="Seconds a CLI may stay silent during a turn (not counting pending permissions) before "
        "it is treated as hung and stopped.",
    ).tag(config=True)

    relaunch_delays = List(
        Float(),
        default_value=[3.0, 6.0, 12.0],
        help="Backoff (seconds) between automatic relaunches of a crashed CLI; its length is the budget.",
    ).tag(config=True)

    pr_poll_interval = Float(
        60.0,
        help="Seconds between two pull-request status polls per session (through the 'gh' CLI when it is "
        "installed and logged in); 0 disables PR status.",
    ).tag(config=True)

    watchdog_interval = Float(10.0, help="Seconds between two idle/hang checks.").tag(config=True)

    cli_env = Dict(
        value_trait=Unicode(),
        default_value={},
        help="Extra environment variables for every agent CLI (on top of the server's environment).",
    ).tag(config=True)

    cli_env_strip = List(
        Unicode(),
        default_value=list(SERVER_CREDENTIALS),
        help="Variables of the server's environment that agent CLIs do not inherit (the server's own "
        "credentials: with them an agent could drive this API and approve its own permission requests). "
        "cli_env, env profiles and a session's env can still set them.",
    ).tag(config=True)

    disabled_plugins = List(
        Unicode(), default_value=[], help="Names of entry-point plugins not to load."
    ).tag(config=True)

    load_entry_points = Bool(
        True, help="Load plugins from the 'jupyter_companion' entry-point group."
    ).tag(config=True)

    def initialize_settings(self) -> None:
        """Build the store, the plugin manager and the orchestrator."""
        from .services import build_services

        services = build_services(self)
        self.store = services.store
        self.plugins = services.plugins
        self.orchestrator = services.orchestrator
        self.settings.update({"companion_orchestrator": self.orchestrator, "companion_app": self})
        if self.serverapp is not None:
            self.orchestrator.activity.settings = self.serverapp.web_app.settings

    def initialize_handlers(self) -> None:
        """Register REST and WebSocket routes (and those of plugins)."""
        from .handlers.agents import agents_handlers
        from .handlers.git import git_handlers
        from .handlers.recordings import recordings_handlers
        from .handlers.rest import fallback_handlers, rest_handlers
        from .handlers.sandboxes import sandbox_handlers
        from .handlers.ws import ws_handlers
        from .plugin_routes import plugin_routes

        routes: list[Any] = [*rest_handlers(), *ws_handlers(), *git_handlers(self.orchestrator.session_folder),
                             *sandbox_handlers(), *agents_handlers(), *recordings_handlers()]
        routes.extend(plugin_routes(self.plugins, self))
        routes.extend(fallback_handlers())  # last: a JSON 404 for any other companion path
        self.handlers.extend(routes)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Restore sessions as soon as the event loop runs."""
        await self.orchestrator.ensure_active()
        if self.demo_recordings:
            from .recordings.demo import ensure_demo_sessions

            await ensure_demo_sessions(self.orchestrator, list(self.demo_recordings), self.demo_folder,
                                       self.demo_speed)
        try:
            await self.plugins.call_async("server_started", app=self)
        except ApiError as exc:  # a refusal means nothing here
            self.log.warning("a plugin's server_started answered %s", exc.message)

    async def stop_extension(self) -> None:
        """Tell plugins, stop every CLI and flush the store."""
        try:
            await self.plugins.call_async("server_stopping", app=self)
        except ApiError as exc:  # a refusal means nothing here
            self.log.warning("a plugin's server_stopping answered %s", exc.message)
        await self.orchestrator.stop()
        self.store.close()
