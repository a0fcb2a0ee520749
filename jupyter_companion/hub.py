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

The server's owner may always do everything. A visitor whose token carries no
``custom:jupyter_server:`` scope at all gets what JupyterHub gives (everything), unless
``c.CompanionHubAuthorizer.grant_all_without_custom_scopes = False``.
"""

from __future__ import annotations

import os
from typing import Any

from jupyterhub.singleuser.extension import JupyterHubAuthorizer
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


def has_custom_scopes(hub_user: dict[str, Any]) -> bool:
    """True when the visitor's token carries any ``custom:jupyter_server:`` scope."""
    return any(str(scope).startswith(SCOPE_PREFIX) for scope in hub_user.get("scopes") or ())


class CompanionHubAuthorizer(JupyterHubAuthorizer):
    """Allow an action when the hub granted it: the owner always; a visitor by their scopes."""

    grant_all_without_custom_scopes = Bool(
        True,
        help="A visitor whose token has no custom:jupyter_server: scope may do everything (JupyterHub's "
        "default for a shared server). False: such a visitor is refused everything.",
    ).tag(config=True)

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Whether ``user`` may ``action`` on ``resource`` of this server."""
        if not super().is_authorized(handler, user, action, resource):
            return False
        hub_user: dict[str, Any] = getattr(user, "hub_user", None) or {}
        owner = os.environ.get("JUPYTERHUB_USER", "")
        if hub_user.get("kind", "user") == "user" and hub_user.get("name") == owner:
            return True
        if not has_custom_scopes(hub_user):
            return bool(self.grant_all_without_custom_scopes)
        wanted = required_scopes(action, resource, owner, os.environ.get("JUPYTERHUB_SERVER_NAME", ""))
        allowed = bool(self.hub_auth.check_scopes(wanted, hub_user))
        if not allowed:
            self.log.info("%s may not %s on %s (scopes: %s)", hub_user.get("name"), action, resource,
                          sorted(s for s in hub_user.get("scopes") or () if str(s).startswith(SCOPE_PREFIX)))
        return allowed
