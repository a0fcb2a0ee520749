"""The plugin module of ``jupyter-companion-tailscale`` (entry point ``tailscale`` of the
``jupyter_companion`` group), written only against :mod:`jupyter_companion.hookspecs`."""

from __future__ import annotations

from typing import Any

from jupyter_companion.hookspecs import hookimpl

from .handlers import funnel_of, routes


@hookimpl
def register_routes(app: Any) -> list[tuple[str, Any]]:
    """``companion/api/tailscale/status`` and ``companion/api/tailscale/funnel``."""
    return routes()


@hookimpl
async def server_started(app: Any) -> None:
    """A funnel that was on when the server stopped comes back on."""
    await funnel_of(app).restore()


@hookimpl
async def server_stopping(app: Any) -> None:
    """With ``c.TailscaleFunnel.cleanup_on_stop``, the funnel goes off with the server."""
    await funnel_of(app).cleanup()


@hookimpl
def register_ui(app: Any) -> list[dict[str, Any]]:
    """The Tailscale entry of the Integrations page: status, the funnel switch, the public URL
    with a copy button and a QR code."""
    return [{
        "kind": "page", "id": "tailscale", "label": "Tailscale",
        "description": "Reach this Jupyter server from anywhere over HTTPS with Tailscale Funnel. "
                       "Anyone with the address reaches the login page: keep a strong token or password.",
        "status": {"url": "tailscale/status",
                   "fields": [{"key": "backend_state", "label": "Tailscale", "format": "state"},
                              {"key": "dns_name", "label": "Machine"},
                              {"key": "funnel.url", "label": "Public address", "format": "qr"},
                              {"key": "reason", "label": "Problem"},
                              {"key": "funnel.error", "label": "Funnel"},
                              {"key": "warning", "label": "Warning"}]},
        "toggle": {"key": "funnel.enabled", "url": "tailscale/funnel", "body_key": "enabled",
                   "label_on": "Turn Funnel off", "label_off": "Turn Funnel on"},
    }]
