"""A backend whose CLI is not installed is reported unavailable, and creating a session on it is a clear 4xx."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def claude_binary() -> str:
    return "/nonexistent/bin/claude"


async def test_missing_cli_is_unavailable_with_a_reason(api: Any) -> None:
    _, data = await api("GET", "status")
    claude = next(b for b in data["backends"] if b["name"] == "claude")
    assert claude["available"] is False
    assert "not found" in claude["reason"] and "ClaudeBackend.binary" in claude["reason"]
    status, err = await api("POST", "sessions", body={"backend": "claude"})
    assert status == 400 and "not available" in err["error"]
    _, listing = await api("GET", "sessions", params={"archived": "all"})
    assert listing["sessions"] == []
