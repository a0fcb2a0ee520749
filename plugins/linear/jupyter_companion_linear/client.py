"""A small asynchronous client of Linear's GraphQL API (httpx), with a short TTL cache.

Errors become :class:`LinearError` with the status this extension answers and a message a person
can act on: a refused key (400), Linear's rate limit (429, with when to try again), a timeout
(504), an unreachable or failing Linear (502). A rate limit that resets within a couple of seconds
is waited out once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import httpx
from cachetools import TTLCache

#: Linear's public GraphQL endpoint.
DEFAULT_URL = "https://api.linear.app/graphql"
#: How long a rate limit may be waited out before the request is refused instead (seconds).
MAX_RATE_LIMIT_WAIT = 2.0


class LinearError(Exception):
    """A Linear call that failed: ``status`` (for our answer) and a message safe to show."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _error_code(errors: list[Any]) -> str | None:
    for error in errors:
        if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
            code = error["extensions"].get("code")
            if isinstance(code, str):
                return code
    return None


def _error_message(errors: list[Any]) -> str:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extensions: dict[str, Any] = first["extensions"] if isinstance(first.get("extensions"), dict) else {}
    message = extensions.get("userPresentableMessage") or first.get("message") or "unknown error"
    return str(message)[:300]


def _reset_in(headers: httpx.Headers) -> float | None:
    """Seconds until Linear's request budget refills (``X-RateLimit-Requests-Reset``, epoch ms)."""
    reset = headers.get("x-ratelimit-requests-reset")
    try:
        return max(0.0, int(reset) / 1000 - time.time()) if reset else None
    except ValueError:
        return None


def fingerprint(api_key: str, url: str) -> str:
    """What tells one key and endpoint from another (the key itself is never kept in clear here)."""
    return hashlib.sha256(f"{api_key}\0{url or DEFAULT_URL}".encode()).hexdigest()


class LinearClient:
    """One API key's client; ``execute`` answers the ``data`` of a GraphQL response."""

    def __init__(self, api_key: str, url: str = DEFAULT_URL, timeout: float = 10.0, cache_ttl: float = 30.0):
        self.url = url or DEFAULT_URL
        self._http = httpx.AsyncClient(
            timeout=timeout,
            headers={"Authorization": api_key, "Content-Type": "application/json",
                     "User-Agent": "jupyter-companion-linear"},
        )
        self._cache: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=256, ttl=cache_ttl)
        self.fingerprint = fingerprint(api_key, self.url)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def execute(self, document: str, variables: dict[str, Any] | None = None, cached: bool = False) -> dict[str, Any]:
        """Run a query or mutation; ``cached`` answers a repeat from the TTL cache (mutations
        empty the cache: what they change may be cached)."""
        key = json.dumps([document, variables], sort_keys=True)
        if cached and key in self._cache:
            return self._cache[key]
        data = await self._send(document, variables or {}, retry_rate_limit=True)
        if cached:
            self._cache[key] = data
        elif document.lstrip().startswith("mutation"):
            self._cache.clear()
        return data

    async def _send(self, document: str, variables: dict[str, Any], retry_rate_limit: bool) -> dict[str, Any]:
        try:
            response = await self._http.post(self.url, json={"query": document, "variables": variables})
        except httpx.TimeoutException as exc:
            raise LinearError(504, "Linear did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise LinearError(502, f"Linear could not be reached: {type(exc).__name__}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        errors = payload.get("errors") if isinstance(payload, dict) else None
        errors = errors if isinstance(errors, list) else []
        code = _error_code(errors)
        if response.status_code == 429 or code == "RATELIMITED":
            wait = _reset_in(response.headers)
            if retry_rate_limit and wait is not None and wait <= MAX_RATE_LIMIT_WAIT:
                await asyncio.sleep(wait)
                return await self._send(document, variables, retry_rate_limit=False)
            after = f"; try again in {int(wait) + 1} s" if wait is not None else "; try again later"
            raise LinearError(429, f"Linear's rate limit is reached{after}", "RATELIMITED")
        if response.status_code in (401, 403) or code in ("AUTHENTICATION_ERROR", "FORBIDDEN"):
            raise LinearError(400, f"Linear refused the API key: {_error_message(errors)}", code)
        if errors:
            raw = str(errors[0].get("message") if isinstance(errors[0], dict) else "").lower()
            status = 404 if "not found" in raw or "could not find" in _error_message(errors).lower() else 502
            raise LinearError(status, f"Linear answered: {_error_message(errors)}", code)
        if response.status_code >= 400 or not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise LinearError(502, f"Linear answered HTTP {response.status_code}")
        return payload["data"]
