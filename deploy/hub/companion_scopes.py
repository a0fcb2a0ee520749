"""JupyterHub side of jupyter-companion's watch-only sharing (docs/deployment.md).

Load it from ``jupyterhub_config.py`` with ``load_subconfig("companion_scopes.py")`` (Zero to
JupyterHub: paste it into ``hub.extraConfig``). It

- defines JupyterHub's documented scopes for Jupyter Server's actions,
  ``custom:jupyter_server:<read|write|execute>:*`` (execute implies write, write implies read);
- gives every user ``execute`` on their own servers, and the right to share them;
- lets a browser's token for a user's server carry that server's action scopes;
- lets each server's own token read the server's shares (what a teammate was given).

The single-user servers then run ``jupyter_companion.hub.CompanionHubAuthorizer``.
"""

c = get_config()  # noqa: F821 - provided by JupyterHub's config loader

ACTIONS = ("read", "write", "execute")

c.JupyterHub.custom_scopes = {
    "custom:jupyter_server:read:*": {
        "description": "Watch the server: list agent sessions and follow them live, read files.",
    },
    "custom:jupyter_server:write:*": {
        "description": "Change files and tidy agent sessions (rename, stop, archive); run nothing.",
        "subscopes": ["custom:jupyter_server:read:*"],
    },
    "custom:jupyter_server:execute:*": {
        "description": "Run code on the server: kernels, terminals, coding agents.",
        "subscopes": ["custom:jupyter_server:write:*"],
    },
}

# JupyterHub's default 'user' role, plus execute on one's own servers and sharing them by name
c.JupyterHub.load_roles.append({
    "name": "user",
    "scopes": ["self", "shares!user", "read:users:name", "custom:jupyter_server:execute:*!user"],
})


class ServerActionScopes(list):  # type: ignore[type-arg]
    """``Spawner.oauth_client_allowed_scopes`` per server: ``!server`` alone would name the visiting
    user's own server. JupyterHub allows a callable here but also writes the value into the
    server's environment as JSON, so this callable is a list (of the unfiltered names) too."""

    def __call__(self, spawner):  # noqa: ANN001, ANN204 - JupyterHub's callable signature
        return [f"{scope}!server={spawner.user.name}/{spawner.name}" for scope in self]


c.Spawner.oauth_client_allowed_scopes = ServerActionScopes(f"custom:jupyter_server:{a}:*" for a in ACTIONS)
# the server's own token: JupyterHub's defaults, and reading the server's shares
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "read:shares!user"]
