"""CompanionHubAuthorizer without a hub (the JupyterHub e2e tests drive it through a real one): the
owner, a visitor by token scopes, by a share asked of the hub, a share made a moment ago."""

from __future__ import annotations

from typing import Any

import pytest
from jupyterhub.services.auth import check_scopes

from jupyter_companion.hub import CompanionHubAuthorizer

ACCESS = "access:servers!server=ada/"


class FakeHubAuth:
    """What the authorizer uses of JupyterHub's HubOAuth."""

    oauth_scopes = {ACCESS}
    cache_max_age = 300
    api_url = "http://hub.invalid/hub/api"
    api_token = "server-token"

    def check_scopes(self, required: set[str], user: dict[str, Any]) -> set[str]:
        return check_scopes(required, set(user["scopes"]))


class User:
    def __init__(self, name: str, scopes: list[str], groups: list[str] | None = None) -> None:
        self.username = name
        self.hub_user = {"name": name, "kind": "user", "scopes": [ACCESS, *scopes], "groups": groups or []}


@pytest.fixture
def authorizer(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    monkeypatch.setenv("JUPYTERHUB_SERVER_NAME", "")
    monkeypatch.setattr(CompanionHubAuthorizer, "hub_auth", FakeHubAuth())
    auth = CompanionHubAuthorizer()
    auth.shares: list[dict[str, Any]] = []
    auth.fetches = 0

    async def fetch() -> list[dict[str, Any]]:
        auth.fetches += 1
        return list(auth.shares)

    auth._fetch_shares = fetch
    return auth


async def allowed(auth: Any, user: User) -> list[str]:
    return [a for a in ("read", "write", "execute") if await auth.is_authorized(None, user, a, "companion")]


async def test_owner_token_scopes_and_shares(authorizer: Any) -> None:
    assert await allowed(authorizer, User("ada", [])) == ["read", "write", "execute"]
    assert await allowed(authorizer, User("cy", ["custom:jupyter_server:read:*!server=ada/"])) == ["read"]
    assert await allowed(authorizer, User("cy", ["custom:jupyter_server:write:companion!user=ada"])) == [
        "read", "write"]
    # another server's grant is not this one's
    assert await allowed(authorizer, User("cy", ["custom:jupyter_server:execute:*!server=bob/"])) == []
    # a browser's token without custom scopes: the share's, asked of the hub
    authorizer.shares = [{"user": {"name": "bob"}, "group": None,
                          "scopes": [ACCESS, "custom:jupyter_server:read:*!server=ada/"]},
                         {"user": None, "group": {"name": "team"},
                          "scopes": [ACCESS, "custom:jupyter_server:write:*!server=ada/"]}]
    assert await allowed(authorizer, User("bob", [])) == ["read"]
    assert await allowed(authorizer, User("dee", [], groups=["team"])) == ["read", "write"]
    # a plain share (no custom scope), or an admin with access only: everything, as JupyterHub does
    assert await allowed(authorizer, User("admin", [])) == ["read", "write", "execute"]
    authorizer.grant_all_without_custom_scopes = False
    assert await allowed(authorizer, User("admin", [])) == []


async def test_a_share_made_a_moment_ago_is_never_taken_for_no_share(authorizer: Any) -> None:
    assert await allowed(authorizer, User("bob", [])) == ["read", "write", "execute"]  # nothing shared yet
    fetches = authorizer.fetches
    authorizer.shares = [{"user": {"name": "bob"}, "group": None,
                          "scopes": [ACCESS, "custom:jupyter_server:read:*!server=ada/"]}]
    authorizer._shares = (authorizer._shares[0] - 2.0, authorizer._shares[1])  # the list is 2 s old
    assert await allowed(authorizer, User("bob", [])) == ["read"]
    assert authorizer.fetches == fetches + 1
    # named in the cached list: not asked again until it is old
    assert await allowed(authorizer, User("bob", [])) == ["read"]
    assert authorizer.fetches == fetches + 1
