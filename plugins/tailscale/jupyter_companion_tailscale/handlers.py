"""Routes under ``companion/api/tailscale/``: ``status`` and ``funnel``."""

from __future__ import annotations

import weakref
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_companion.errors import ApiError
from jupyter_companion.handlers.base import EXECUTE, CompanionAPIHandler

from .funnel import Funnel

#: The funnel of each server's companion app.
FUNNELS: weakref.WeakKeyDictionary[Any, Funnel] = weakref.WeakKeyDictionary()


def funnel_of(app: Any) -> Funnel:
    """The funnel of a server's companion app."""
    funnel = FUNNELS.get(app)
    if funnel is None:
        funnel = FUNNELS[app] = Funnel(app)
    return funnel


class TailscaleHandler(CompanionAPIHandler):
    """Base of the Tailscale routes."""

    @property
    def funnel(self) -> Funnel:
        """This server's funnel."""
        return funnel_of(self.settings["companion_app"])


class StatusHandler(TailscaleHandler):
    """``GET tailscale/status``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """``{available, reason?, backend_state?, dns_name?, funnel: {enabled, url?}, warning?}``."""
        self.send_json(await self.funnel.status())


class FunnelHandler(TailscaleHandler):
    """``POST tailscale/funnel`` ``{enabled}``: the same object as the status, with ``error`` (and
    ``needs_operator``) when it could not be done."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Turn the funnel on or off (opening the server to the internet needs ``execute``)."""
        await self.require(EXECUTE)
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            raise ApiError(400, "send {\"enabled\": true} or {\"enabled\": false}")
        self.send_json(await self.funnel.set_enabled(body["enabled"]))


def routes() -> list[tuple[str, type]]:
    """The plugin's route table."""
    return [(r"/companion/api/tailscale/status", StatusHandler), (r"/companion/api/tailscale/funnel", FunnelHandler)]
