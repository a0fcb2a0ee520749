"""Routes that plugins add through ``register_routes``: checked, then guarded.

What a plugin returns is validated entry by entry: a route that is not ``(pattern, handler
class[, kwargs])`` with a compiling pattern is dropped and the plugin reported failed, so a careless
plugin can never keep the extension from loading. Every handler is served behind the same rules as
the core's routes, whatever decorators the plugin forgot: it must be a Jupyter handler, and a
request reaches it only authenticated, authorized on its ``auth_resource`` (``companion`` by
default; ``read`` for GET/HEAD/OPTIONS, ``write`` otherwise) and, for a GET with the browser's
cookie, from a same-site page. A handler that authenticates requests
itself (a webhook checking an HMAC signature) says so with ``companion_public = True``.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import web

from .handlers.base import AUTH_RESOURCE, refuse_cross_site_get

if TYPE_CHECKING:
    from .plugins import PluginManager

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def guarded(handler: type[web.RequestHandler]) -> type[web.RequestHandler]:
    """``handler`` behind Jupyter authentication and authorization (see the module docstring)."""
    if getattr(handler, "companion_public", False):
        return handler
    if not issubclass(handler, JupyterHandler):
        raise TypeError(f"{handler.__name__} is not a Jupyter handler (subclass CompanionAPIHandler)")
    base: Any = handler

    class Guarded(base):
        async def prepare(self, *args: Any, **kwargs: Any) -> None:
            result = super().prepare(*args, **kwargs)
            if inspect.isawaitable(result):
                await result
            if self._finished:  # Jupyter already answered (a redirect to the login page)
                return
            if not self.current_user:
                raise web.HTTPError(403, "authentication required")
            refuse_cross_site_get(self)
            action = "read" if self.request.method in _READ_METHODS else "write"
            resource = getattr(self, "auth_resource", None) or AUTH_RESOURCE
            if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, action, resource)):
                raise web.HTTPError(403, f"User is not authorized to {action} on resource: {resource}.")

    Guarded.__name__ = handler.__name__
    Guarded.__qualname__ = handler.__qualname__
    Guarded.__doc__ = handler.__doc__
    return Guarded


def _checked(entry: Any) -> tuple[Any, ...]:
    """One route entry, validated and guarded (ValueError/TypeError when unusable)."""
    if not isinstance(entry, (tuple, list)) or len(entry) not in (2, 3):
        raise ValueError(f"a route must be (pattern, handler class[, kwargs]), not {entry!r:.80}")
    pattern, handler, *rest = entry
    if not isinstance(pattern, str):
        raise ValueError(f"a route pattern must be a string, not {pattern!r:.80}")
    re.compile(pattern)
    if not (isinstance(handler, type) and issubclass(handler, web.RequestHandler)):
        raise TypeError(f"the handler of {pattern} is not a tornado RequestHandler class")
    if rest and not isinstance(rest[0], dict):
        raise ValueError(f"the kwargs of {pattern} must be a dict")
    return (pattern, guarded(handler), *rest)


def plugin_routes(plugins: PluginManager, app: Any) -> list[tuple[Any, ...]]:
    """Every usable route of every plugin's ``register_routes``, each guarded."""
    routes: list[tuple[Any, ...]] = []
    for name, returned in plugins.call_each_named("register_routes", app=app):
        entries = returned if isinstance(returned, (list, tuple)) else [returned]
        for entry in entries:
            try:
                routes.append(_checked(entry))
            except (ValueError, TypeError, re.error) as exc:
                plugins.mark_failed(name, f"register_routes returned an unusable route: {exc}")
    return routes
