"""Base class of every REST handler: Jupyter auth, JSON bodies, JSON errors, no stack traces."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async
from tornado import web

from ..errors import ApiError
from ..events import CommandError, has_lone_surrogate

if TYPE_CHECKING:
    from ..sessions.orchestrator import Orchestrator

log = logging.getLogger("jupyter_companion.handlers")
T = TypeVar("T")

#: The authorization resource of every companion route.
AUTH_RESOURCE = "companion"
#: The action that runs code: starting a CLI, prompting it, answering its permission requests,
#: changing its permission mode (as Jupyter requires for kernels and terminals).
EXECUTE = "execute"
#: Jupyter's actions, each allowing more than the one before.
ACTIONS = ("read", "write", EXECUTE)
#: What a user is told when an action is refused (``action`` is the one they lack).
REFUSED = ("Not authorized to {action} on '{resource}'. Watch-only (read) access lets you list sessions and "
           "follow their events; starting, prompting, approving, renaming or archiving needs 'write' or "
           "'execute' (this needs '{action}'). Under JupyterHub the server's owner grants it with the scope "
           "custom:jupyter_server:{action}:* (see docs/deployment.md).")
_JUPYTER_REFUSAL = re.compile(r"^User is not authorized to (\w+) on resource: (\w+)\.$")
#: Largest JSON body accepted (images included).
MAX_BODY_BYTES = 64 * 1024 * 1024


class CompanionAPIHandler(ExtensionHandlerMixin, APIHandler):
    """Thin REST handler over the services; subclasses decorate methods with
    ``@web.authenticated`` and ``@authorized``."""

    auth_resource = AUTH_RESOURCE

    def initialize(self, name: str = "jupyter_companion", **kwargs: Any) -> None:
        """Bind to the extension."""
        super().initialize(name=name, **kwargs)

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """Jupyter's own checks, no cross-site GET, then make sure the sessions are restored."""
        await super().prepare(*args, **kwargs)
        refuse_cross_site_get(self)
        await self.orch.ensure_active()

    async def require(self, action: str) -> None:
        """Refuse (403) a user who may not ``action`` on ``companion``, beyond the method's own check."""
        allowed = await ensure_async(self.authorizer.is_authorized(self, self.current_user, action, AUTH_RESOURCE))
        if not allowed:
            raise web.HTTPError(403, f"User is not authorized to {action} on resource: {AUTH_RESOURCE}.")

    async def access(self) -> dict[str, bool]:
        """What this user may do on ``companion``: ``{read, write, execute}`` (a watch-only user:
        read alone). Clients show or hide their controls by it."""
        return {action: bool(await ensure_async(self.authorizer.is_authorized(
            self, self.current_user, action, AUTH_RESOURCE))) for action in ACTIONS}

    @property
    def orch(self) -> Orchestrator:
        """The orchestrator of this server."""
        return self.settings["companion_orchestrator"]

    def json_body(self, required: bool = True) -> Any:
        """The request's JSON body, or ApiError 400/413."""
        body = self.request.body or b""
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"request body too large (limit {MAX_BODY_BYTES // (1024 * 1024)} MB)")
        if not body:  # no body at all; whitespace alone is not JSON (400 below)
            if required:
                raise ApiError(400, "a JSON body is required")
            return {}
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"invalid JSON body: {exc}") from exc
        except RecursionError as exc:  # nesting deeper than the interpreter's recursion limit
            raise ApiError(400, "invalid JSON body: nested too deeply") from exc
        if has_lone_surrogate(data):
            raise ApiError(400, "invalid JSON body: a string holds an unpaired surrogate (\\ud800-\\udfff)")
        return data

    def command_body(self, parse: Callable[[dict[str, Any]], T], required: bool = True) -> T:
        """The JSON body (an object) validated by ``parse``; a ``CommandError`` is a 400."""
        body = self.json_body(required=required)
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        try:
            return parse(body)
        except CommandError as exc:
            raise ApiError(400, str(exc)) from exc

    def send_json(self, data: Any, status: int = 200) -> None:
        """Answer with JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error is ``{error: message}``; never a stack trace."""
        write_json_error(self, status_code, kwargs.get("exc_info"))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """ApiErrors are expected outcomes: log them quietly."""
        if isinstance(value, ApiError):
            log.info("%s %s -> %s: %s", self.request.method, self.request.path, value.status, value.message)
            return
        super().log_exception(typ, value, tb)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiError):
            if self._finished:
                return
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def refuse_cross_site_get(handler: Any) -> None:
    """403 for a cookie-authenticated GET whose Referer is missing or from another site.

    Jupyter checks XSRF on writes only; some companion GETs have effects (a backend's model
    listing starts its CLI, git routes run git, ``pr`` calls GitHub), so a page elsewhere must not
    trigger them with the user's cookie. Token-authenticated clients are not concerned
    (Jupyter's own ``check_referer``, as for ``/files/``).
    """
    if handler.request.method in ("GET", "HEAD") and handler.current_user and not handler.check_referer():
        raise web.HTTPError(403, "cross-site request refused: open it from the Jupyter page itself")


def write_json_error(handler: Any, status_code: int, exc_info: Any) -> None:
    """Finish ``handler`` with ``{error: message}``: the message of an :class:`ApiError` (or of any
    error carrying ``status`` and ``message``, like a ``GitError``), the reason of an HTTPError,
    or a generic text for a bug (logged with its traceback, never sent)."""
    exc = exc_info[1] if exc_info else None
    body: dict[str, Any]
    if isinstance(exc, ApiError):
        handler.set_status(exc.status)
        body = exc.to_json()
    elif isinstance(getattr(exc, "status", None), int) and isinstance(getattr(exc, "message", None), str):
        handler.set_status(exc.status)  # type: ignore[union-attr]
        body = {"error": exc.message}  # type: ignore[union-attr]
    elif isinstance(exc, web.HTTPError):
        refusal = _JUPYTER_REFUSAL.match(exc.log_message or "") if status_code == 403 else None
        if refusal:  # Jupyter's @authorized (and require()) refusal, said so that a user can act on it
            body = {"error": REFUSED.format(action=refusal.group(1), resource=refusal.group(2))}
        else:
            body = {"error": exc.log_message or _phrase(status_code)}
    else:
        if exc is not None:
            log.error("unexpected error in %s %s", handler.request.method, handler.request.path, exc_info=exc_info)
        body = {"error": "internal error; see the server log"}
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps(body))


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "request failed"
