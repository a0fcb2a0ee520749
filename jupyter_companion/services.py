"""Building the services of the extension from its configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .plugins import PluginManager
from .recordings.recorder import RecorderConfig
from .sessions.orchestrator import Orchestrator, OrchestratorConfig
from .sessions.supervisor import SupervisorPolicy
from .settings import SettingsService
from .store import Store


@dataclass
class Services:
    """The long-lived objects of one server."""

    store: Store
    plugins: PluginManager
    orchestrator: Orchestrator


def build_services(app: Any) -> Services:
    """Create store, plugins (builtins through entry points) and orchestrator for ``app``."""
    store = Store(app.db_path)
    plugins = PluginManager(disabled=list(app.disabled_plugins))
    if app.load_entry_points:
        plugins.load_entry_points()
    root_dir = getattr(app.serverapp, "root_dir", None) or os.getcwd()
    config = OrchestratorConfig(
        root_dir=os.path.expanduser(root_dir),
        state_root=app.state_dir,
        allowed_roots=[os.path.expanduser(p) for p in app.allowed_roots],
        worktrees_dir=app.worktrees_dir,
        default_backend=app.default_backend,
        default_sandbox=app.default_sandbox,
        agents_bypass_without_sandbox=bool(getattr(app, "agents_bypass_without_sandbox", False)),
        pr_poll_interval=app.pr_poll_interval,
        policy=SupervisorPolicy(
            relaunch_delays=tuple(app.relaunch_delays),
            idle_timeout=app.idle_timeout,
            hang_timeout=app.hang_timeout,
            check_interval=app.watchdog_interval,
        ),
        env=dict(app.cli_env),
        strip_env=list(app.cli_env_strip),
        recorder=RecorderConfig(
            folder=getattr(app, "recordings_dir", "") or os.path.join(os.path.dirname(os.path.abspath(app.db_path)),
                                                                      "recordings"),
            enabled=bool(getattr(app, "record", True)),
            max_lines=int(getattr(app, "recordings_max_lines", 1_000_000)),
            max_lines_per_file=int(getattr(app, "recordings_max_lines_per_file", 200_000)),
            max_age_days=float(getattr(app, "recordings_max_age_days", 30.0)),
        ),
    )
    schema: dict[str, Any] = {}
    for fragment in plugins.call_each("register_settings", app=app):
        if isinstance(fragment, dict):
            schema.update(fragment)
    orchestrator = Orchestrator(store, plugins, config, SettingsService(store, schema))
    os.makedirs(config.state_root, mode=0o700, exist_ok=True)
    os.chmod(config.state_root, 0o700)  # also when it already existed with looser permissions
    plugins.call_each("register_backends", register=orchestrator.register_backend, app=app)
    plugins.call_each("register_sandboxes", register=orchestrator.register_sandbox, app=app)
    plugins.call_each("register_triggers", register=orchestrator.agents.register_trigger, app=app)
    return Services(store, plugins, orchestrator)
