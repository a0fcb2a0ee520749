"""JupyterHub: Jupyter's actions (``read``, ``write``, ``execute``) taken from the hub's scopes.

In a JupyterHub single-user server, every request is authenticated by the hub; whoever reaches the
server (its owner, an admin, a teammate it was shared with) holds ``access:servers`` on it, and
JupyterHub's own authorizer then allows everything. :class:`CompanionHubAuthorizer` refines that
with the scope names JupyterHub documents for granular server permissions::

    custom:jupyter_server:<action>:<resource>      (resource ``*`` = every resource)

so that an owner can share the server *watch-only*: with ``custom:jupyter_server:read:*`` a
teammate lists the sessions and follows their events live, while starting, prompting, approving,
archiving (``write``/``execute``), like opening a terminal or running a kernel, is refused with a
403 that says why. ``execute`` implies ``write``, which implies ``read``.

Enable it in the single-user server's configuration (docs/deployment.md has the hub side)::

    c.ServerApp.authorizer_class = "jupyter_companion.hub.CompanionHubAuthorizer"

The server's owner may always do everything. A visitor's scopes are those of their token, or, when
it has none of these (a browser's token carries only the scopes of the visitor's roles), those of
the server's shares with them or their groups, asked of the hub. A visitor with no such scope at
all gets what JupyterHub gives (everything), unless
``c.CompanionHubAuthorizer.grant_all_without_custom_scopes = False``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import quote

from jupyter_server.utils import url_path_join
from jupyterhub.services.auth import check_scopes
from jupyterhub.singleuser.extension import JupyterHubAuthorizer
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Bool

#: Prefix of the scopes JupyterHub documents for Jupyter Server's actions.
SCOPE_PREFIX = "custom:jupyter_server:"
#: Each action and the actions whose scope also grants it.
IMPLIED_BY = {"read": ("read", "write", "execute"), "write": ("write", "execute"), "execute": ("execute",)}


def scope_filters(owner: str, server_name: str) -> list[str]:
    """The filters under which a scope names this server: none, its owner, or the server itself."""
    return ["", f"!user={owner}", f"!server={owner}/{server_name}"]


def required_scopes(action: str, resource: str, owner: str, server_name: str) -> set[str]:
    """Every scope that grants ``action`` on ``resource`` of this server (any one is enough)."""
    granting = IMPLIED_BY.get(action, (action,))
    return {
        f"{SCOPE_PREFIX}{held}:{target}{flt}"
        for held in granting
        for target in (resource, "*")
        for flt in scope_filters(owner, server_name)
    }


class CompanionHubAuthorizer(JupyterHubAuthorizer):
    """Allow an action when the hub granted it: the owner always; a visitor by their scopes."""

    grant_all_without_custom_scopes = Bool(
        True,
        help="A visitor with no custom:jupyter_server: scope (neither in their token nor in a share of "
        "this server) may do everything, JupyterHub's default for a shared server. False: such a "
        "visitor is refused everything.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: ``(fetched at, share items)`` of this server, as the hub listed them.
        self._shares: tuple[float, list[dict[str, Any]]] = (float("-inf"), [])

    async def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Whether ``user`` may ``action`` on ``resource`` of this server."""
        if not super().is_authorized(handler, user, action, resource):
            return False
        hub_user: dict[str, Any] = getattr(user, "hub_user", None) or {}
        owner = os.environ.get("JUPYTERHUB_USER", "")
        if hub_user.get("kind", "user") == "user" and hub_user.get("name") == owner:
            return True
        scopes = {str(s) for s in hub_user.get("scopes") or ()}
        if not any(s.startswith(SCOPE_PREFIX) for s in scopes):
            # a browser's token carries only the scopes of the visitor's roles, not those of a share
            # (JupyterHub 6): the share's own scopes are asked of the hub
            scopes |= await self.shared_scopes(hub_user)
        if not any(s.startswith(SCOPE_PREFIX) for s in scopes):
            return bool(self.grant_all_without_custom_scopes)
        wanted = required_scopes(action, resource, owner, os.environ.get("JUPYTERHUB_SERVER_NAME", ""))
        allowed = bool(check_scopes(wanted, scopes))
        if not allowed:
            self.log.info("%s may not %s on %s (scopes: %s)", hub_user.get("name"), action, resource,
                          sorted(s for s in scopes if s.startswith(SCOPE_PREFIX)))
        return allowed

    async def shared_scopes(self, hub_user: dict[str, Any]) -> set[str]:
        """The scopes of this server's shares with the visitor or one of their groups (the hub's
        ``GET shares/<owner>/<server>``, which needs ``read:shares!user`` in the server's token).
        The list is kept for ``HubAuth.cache_max_age`` seconds, but asked again (at most once a
        second) for a visitor it does not name, so that a share made a moment ago is never taken
        for no share at all (which would mean everything). Empty when the hub cannot say."""
        fetched_at, items = self._shares
        now = time.monotonic()
        found = self._match(items, hub_user)
        stale = now - fetched_at >= float(self.hub_auth.cache_max_age)
        if (found is None and now - fetched_at >= 1.0) or stale:
            items = await self._fetch_shares()
            self._shares = (time.monotonic(), items)
            found = self._match(items, hub_user)
        return found or set()

    @staticmethod
    def _match(items: list[dict[str, Any]], hub_user: dict[str, Any]) -> set[str] | None:
        """The scopes of the shares naming the visitor or their groups; None when none names them."""
        name, groups = hub_user.get("name"), set(hub_user.get("groups") or ())
        found: set[str] | None = None
        for share in items:
            with_user = (share.get("user") or {}).get("name")
            with_group = (share.get("group") or {}).get("name")
            if (with_user and with_user == name) or (with_group and with_group in groups):
                found = (found or set()) | {str(s) for s in share.get("scopes") or ()}
        return found

    async def _fetch_shares(self) -> list[dict[str, Any]]:
        owner = os.environ.get("JUPYTERHUB_USER", "")
        server_name = os.environ.get("JUPYTERHUB_SERVER_NAME", "")
        url = url_path_join(self.hub_auth.api_url, "shares", quote(owner, safe=""), quote(server_name, safe=""))
        request = HTTPRequest(url, headers={"Authorization": f"token {self.hub_auth.api_token}"}, request_timeout=10)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:
            self.log.warning("could not ask the hub for this server's shares: %s", exc)
            return []
        if response.code != 200:
            self.log.warning("the hub did not list this server's shares (HTTP %s); a server token needs "
                             "read:shares!user (c.Spawner.server_token_scopes)", response.code)
            return []
        try:
            return list(json.loads(response.body).get("items") or [])
        except (ValueError, AttributeError):
            return []
