"""Tailscale Funnel for this Jupyter server's port: status, on, off, kept across restarts.

A funnel makes the server reachable from the whole internet, so it is refused while the server
has no authentication (no token and no password), and a server that listens only on a Unix socket
or on an address that 127.0.0.1 does not reach is said to be unreachable through it.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable

from .cli import TailscaleCli, TailscaleError

log = logging.getLogger("jupyter_companion_tailscale")

#: Where the funnel's state is kept (the core's settings table, outside declared settings).
STATE_KEY = "tailscale_funnel"
_LOOPBACK_REACHABLE = ("", "0.0.0.0", "::", "127.0.0.1", "localhost", "::1")

#: What each kind of tailscale failure means for the person at the panel.
ADVICE = {
    "missing": None,
    "not_running": "tailscaled is not running: start it (sudo systemctl start tailscaled)",
    "operator": "this user may not change Tailscale's serve config: run "
                "'sudo tailscale set --operator=$USER' once, then try again",
    "funnel_not_allowed": "Funnel is not enabled for this tailnet or node: allow it in the tailnet's "
                          "policy (nodeAttrs 'funnel', see https://tailscale.com/s/no-funnel)",
    "timeout": None,
    "failed": None,
}


class TailscaleFunnel(Configurable):
    """``c.TailscaleFunnel``: which binary runs the funnel and what happens on stop."""

    binary = Unicode("tailscale", help="The tailscale command (a name on PATH or a full path).").tag(config=True)
    timeout = Float(15.0, help="Seconds a tailscale command may take.").tag(config=True)
    cleanup_on_stop = Bool(False, help="Turn the funnel off when the server stops.").tag(config=True)
    restore_on_start = Bool(True, help="Turn the funnel back on at start when it was on when the server "
                                       "stopped.").tag(config=True)


class Funnel:
    """The funnel of one server (``app``: the companion extension app)."""

    def __init__(self, app: Any):
        self._app = weakref.ref(app)  # kept by the server, not by this funnel
        self.config = TailscaleFunnel(config=app.config)
        self.cli = TailscaleCli(self.config.binary, self.config.timeout)

    # -- facts about this server -----------------------------------------------------------

    @property
    def app(self) -> Any:
        """The companion extension app this funnel belongs to."""
        app = self._app()
        if app is None:
            raise RuntimeError("the server of this funnel is gone")
        return app

    @property
    def server(self) -> Any:
        """The Jupyter server application."""
        return self.app.serverapp

    @property
    def port(self) -> int:
        """The TCP port the funnel proxies to."""
        return int(self.server.port)

    def refusal(self) -> str | None:
        """Why this server must not be put on the internet, if it must not."""
        provider = getattr(self.server, "identity_provider", None)
        if provider is not None and not provider.auth_enabled:
            return ("this Jupyter server has no authentication (an empty token and no password): "
                    "a funnel would give anyone on the internet this server. Set a token or a password first")
        return None

    def reach_warning(self) -> str | None:
        """Why the funnel might not reach the server, if it might not."""
        if getattr(self.server, "sock", ""):
            return "the server listens on a Unix socket only; a funnel proxies to a TCP port on 127.0.0.1"
        ip = str(getattr(self.server, "ip", "") or "")
        if ip not in _LOOPBACK_REACHABLE:
            return f"the server listens on {ip} only; the funnel proxies to 127.0.0.1:{self.port}, which may not reach it"
        return None

    def _state(self) -> dict[str, Any]:
        stored = self.app.orchestrator.settings.stored(STATE_KEY)
        return stored if isinstance(stored, dict) else {}

    def _keep(self, **state: Any) -> None:
        self.app.orchestrator.settings.put_stored(STATE_KEY, {**self._state(), **state})

    # -- status ----------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """``{available, reason?, backend_state?, dns_name?, funnel: {enabled, url?}, warning?,
        needs_operator?}``; tailscale's problems are in the answer, never an error."""
        answer: dict[str, Any] = {"available": False, "funnel": {"enabled": False}, "port": self.port}
        warning = self.reach_warning()
        if warning:
            answer["warning"] = warning
        try:
            status = await self.cli.json("status", "--json")
        except TailscaleError as exc:
            answer["reason"] = ADVICE.get(exc.kind) or exc.message
            return answer
        state = str(status.get("BackendState") or "")
        answer["backend_state"] = state
        answer["version"] = status.get("Version")
        if state != "Running":
            answer["reason"] = ("Tailscale is logged out: run 'tailscale up' (or log in from the Tailscale app)"
                                if state == "NeedsLogin" else f"Tailscale is not running (state {state or 'unknown'})")
            return answer
        dns = str((status.get("Self") or {}).get("DNSName") or "").rstrip(".")
        answer.update(available=True, dns_name=dns)
        try:
            serve = await self.cli.json("funnel", "status", "--json")
        except TailscaleError as exc:
            answer["funnel"]["error"] = ADVICE.get(exc.kind) or exc.message
            answer["needs_operator"] = exc.kind == "operator"
            return answer
        if self._funnels_our_port(serve, dns):
            answer["funnel"] = {"enabled": True, "url": self.public_url(dns)}
        return answer

    def public_url(self, dns: str) -> str:
        """The address people open: the node's HTTPS name and the server's base URL."""
        base = str(getattr(self.server, "base_url", "/") or "/")
        return f"https://{dns}{base if base.startswith('/') else '/' + base}"

    def _funnels_our_port(self, serve: Any, dns: str) -> bool:
        """Whether the serve config funnels 443 of this node to our port."""
        if not isinstance(serve, dict):
            return False
        allowed = serve.get("AllowFunnel") or {}
        targets = (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}", f"localhost:{self.port}",
                   f"127.0.0.1:{self.port}", str(self.port))
        for host, web in (serve.get("Web") or {}).items():
            if not allowed.get(host) or (dns and not host.startswith(dns)):
                continue
            for handler in ((web or {}).get("Handlers") or {}).values():
                proxy = str((handler or {}).get("Proxy") or "").rstrip("/")
                if proxy in targets:
                    return True
        return False

    # -- on / off --------------------------------------------------------------------------

    async def set_enabled(self, enabled: bool) -> dict[str, Any]:
        """Turn the funnel on or off for this server's port; answers the status (with ``error``
        and ``needs_operator`` when tailscale refused)."""
        if enabled:
            refusal = self.refusal()
            if refusal:
                return {**await self.status(), "error": refusal}
        before = await self.status()
        if not before["available"]:
            return {**before, "error": before.get("reason")}
        if before["funnel"]["enabled"] == enabled:
            self._keep(enabled=enabled, port=self.port, url=before["funnel"].get("url"))
            return before
        try:
            if enabled:
                await self.cli.checked("funnel", "--bg", str(self.port))
            else:
                await self.cli.checked("funnel", str(self.port), "off")
        except TailscaleError as exc:
            return {**before, "error": ADVICE.get(exc.kind) or exc.message, "needs_operator": exc.kind == "operator"}
        after = await self.status()
        self._keep(enabled=enabled, port=self.port, url=after["funnel"].get("url"))
        log.info("tailscale funnel %s for port %s", "on" if enabled else "off", self.port)
        return after

    async def restore(self) -> None:
        """At start: a funnel that was on when the server stopped is turned on again."""
        state = self._state()
        if state.get("enabled") and self.config.restore_on_start:
            answer = await self.set_enabled(True)
            if answer.get("error"):
                log.warning("tailscale funnel not restored: %s", answer["error"])

    async def cleanup(self) -> None:
        """At stop, when configured (``cleanup_on_stop``): turn the funnel off; it then stays off
        at the next start."""
        if self.config.cleanup_on_stop and self._state().get("enabled"):
            answer = await self.set_enabled(False)
            if answer.get("error"):
                log.warning("tailscale funnel not turned off: %s", answer["error"])
