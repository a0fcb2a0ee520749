"""Sandbox profile routes of API.md: ``companion/api/sandbox-profiles[/{name}]``."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import EXECUTE, CompanionAPIHandler


class SandboxProfilesHandler(CompanionAPIHandler):
    """``GET companion/api/sandbox-profiles``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Every profile (``env`` values masked)."""
        self.send_json({"profiles": self.orch.sandboxing.profiles.all()})


class SandboxProfileHandler(CompanionAPIHandler):
    """``PUT/DELETE companion/api/sandbox-profiles/{name}``."""

    @web.authenticated
    @authorized(EXECUTE)
    async def put(self, name: str) -> None:
        """Create or replace a profile (its init script runs code: ``execute``)."""
        self.send_json(self.orch.sandboxing.profiles.put(name, self.json_body()))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        """Remove a profile (409 while a live session runs in it)."""
        sandboxing = self.orch.sandboxing
        sandboxing.profiles.delete(name, lambda profile: sandboxing.users_of(profile, list(self.orch.sessions.values())))
        self.send_json({"ok": True})


def sandbox_handlers() -> list[tuple[str, type]]:
    """Route table (patterns relative to ``base_url``)."""
    api = r"/companion/api"
    return [
        (rf"{api}/sandbox-profiles", SandboxProfilesHandler),
        (rf"{api}/sandbox-profiles/(?P<name>[^/]{{1,64}})", SandboxProfileHandler),
    ]
