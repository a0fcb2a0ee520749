"""The client side of Codex's JSON-RPC 2.0 over stdio: request ids, futures, timeouts, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .base import BackendError


class CodexRPCError(BackendError):
    """Codex answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: dict[str, Any]):
        self.method = method
        self.code = error.get("code")
        self.error_message = str(error.get("message") or error)
        super().__init__(f"Codex refused {method}: {self.error_message}")


class JsonRpc:
    """Outgoing JSON-RPC requests of one connection: ids, futures and timeouts."""

    def __init__(self, send: Callable[[dict[str, Any]], Any], timeout: float):
        self._send = send
        self.timeout = timeout
        self._next_id = 1
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}

    async def request(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        """Send a request and wait for its result (raises CodexRPCError / BackendError)."""
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        try:
            await self._send({"id": request_id, "method": method, "params": params})
            return await asyncio.wait_for(future, timeout or self.timeout)
        except asyncio.TimeoutError:
            raise BackendError(f"Codex did not answer {method} within {timeout or self.timeout:g}s") from None
        except ConnectionError as exc:
            raise BackendError(f"Codex is not running ({exc})") from exc
        finally:
            self._pending.pop(request_id, None)

    def resolve(self, message: dict[str, Any]) -> bool:
        """Complete the request a response belongs to; False when it is unknown."""
        entry = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if entry is None:
            return False
        method, future = entry
        if not future.done():
            if "error" in message:
                error = (
                    message["error"] if isinstance(message["error"], dict) else {"message": message["error"]}
                )
                future.set_exception(CodexRPCError(method, error))
            else:
                future.set_result(message.get("result"))
        return True

    def fail_all(self, reason: str) -> None:
        """Fail every outstanding request (the process is gone)."""
        for _method, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))
