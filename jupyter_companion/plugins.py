"""The plugin manager: builtins and third parties loaded through one entry-point group.

Every plugin is isolated: one that fails to import or whose hook raises is logged, recorded as
failed (``GET companion/api/plugins``) and skipped; the server keeps running.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from . import hookspecs
from .errors import ApiError

log = logging.getLogger("jupyter_companion.plugins")

#: A hook implementation that raises this many times in a row is no longer called.
MAX_CONSECUTIVE_FAILURES = 20
#: Distinct failures remembered per plugin.
MAX_ERRORS = 10


@dataclass
class PluginStatus:
    """What ``GET companion/api/plugins`` reports about one plugin."""

    name: str
    version: str | None = None
    dist: str | None = None
    ok: bool = True
    error: str | None = None
    #: Every distinct failure so far, oldest first (at most :data:`MAX_ERRORS`).
    errors: list[str] = field(default_factory=list)

    def failed(self, message: str) -> None:
        """Record a failure: ``error`` is the latest, ``errors`` keeps the distinct ones."""
        self.ok = False
        self.error = message
        if message not in self.errors:
            self.errors = [*self.errors, message][-MAX_ERRORS:]
    hooks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        data: dict[str, Any] = {"name": self.name, "ok": self.ok, "hooks": self.hooks}
        if self.version:
            data["version"] = self.version
        if self.dist:
            data["distribution"] = self.dist
        if self.error:
            data["error"] = self.error
            data["errors"] = list(self.errors)
        return data


class PluginManager:
    """Wraps pluggy's manager with failure isolation and status reporting."""

    def __init__(self, disabled: list[str] | None = None):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.disabled = set(disabled or [])
        self.status: dict[str, PluginStatus] = {}
        self._reported: set[tuple[str, str]] = set()
        self._impl_cache: dict[str, list[Any]] = {}
        #: ``session_event`` implementations by the event type they want.
        self._event_impls: dict[str, list[Any]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._muted: set[tuple[str, str]] = set()

    def load_entry_points(self) -> None:
        """Import and register every plugin of the ``jupyter_companion`` entry-point group."""
        found = entry_points(group=hookspecs.PROJECT_NAME)
        unknown = self.disabled - {ep.name for ep in found}
        if unknown:
            log.warning("disabled_plugins names no installed plugin: %s (installed: %s)",
                        ", ".join(sorted(unknown)), ", ".join(sorted(ep.name for ep in found)))
        for ep in found:
            if ep.name in self.disabled or ep.name in self.status:
                continue
            dist = getattr(ep, "dist", None)
            status = PluginStatus(
                name=ep.name,
                version=getattr(dist, "version", None),
                dist=getattr(getattr(dist, "metadata", None), "get", lambda _k: None)("Name") if dist else None,
            )
            self.status[ep.name] = status
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
                self._impl_cache.clear()
                self._event_impls.clear()
                status.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            except BaseException as exc:  # SystemExit at import time included
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(status, exc, "failed to load")

    def register(self, plugin: Any, name: str) -> None:
        """Register a plugin object directly (tests, embedding applications)."""
        status = PluginStatus(name=name)
        self.status[name] = status
        try:
            self.pm.register(plugin, name=name)
            self._impl_cache.clear()
            self._event_impls.clear()
            status.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        except Exception as exc:
            self._fail(status, exc, "failed to register")

    def _fail(self, status: PluginStatus, exc: BaseException, what: str) -> None:
        status.failed(f"{what}: {type(exc).__name__}: {exc}")
        if (status.name, what) in self._reported:
            log.debug("plugin %s %s again: %s", status.name, what, exc)
            return
        self._reported.add((status.name, what))
        log.error("plugin %s %s: %s\n%s", status.name, what, exc, "".join(traceback.format_exception(exc)))

    def _implementations(self, hook_name: str) -> list[Any]:
        impls = self._impl_cache.get(hook_name)
        if impls is None:
            caller = getattr(self.pm.hook, hook_name)
            impls = [i for i in reversed(caller.get_hookimpls()) if (i.plugin_name, hook_name) not in self._muted]
            self._impl_cache[hook_name] = impls
        return impls

    def _hook_failed(self, impl: Any, hook_name: str, exc: BaseException) -> None:
        status = self.status.setdefault(impl.plugin_name, PluginStatus(name=impl.plugin_name))
        self._fail(status, exc, f"raised in {hook_name}")
        key = (impl.plugin_name, hook_name)
        self._failures[key] = self._failures.get(key, 0) + 1
        if self._failures[key] >= MAX_CONSECUTIVE_FAILURES:
            self._muted.add(key)
            self._impl_cache.pop(hook_name, None)
            self._event_impls.clear()
            status.failed(f"{status.error} (hook disabled after {MAX_CONSECUTIVE_FAILURES} failures in a row)")
            log.error("plugin %s: %s disabled after %d failures in a row", impl.plugin_name, hook_name,
                      MAX_CONSECUTIVE_FAILURES)

    def call_each(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation of a hook, isolating failures; return non-None results."""
        return [result for _name, result in self.call_each_named(hook_name, **kwargs)]

    def call_each_named(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Like :meth:`call_each`, with the name of the plugin that returned each result.

        Anything a hook raises is isolated, ``SystemExit`` and other ``BaseException`` included
        (only ``KeyboardInterrupt`` goes through): a plugin never stops the server.
        """
        results = []
        for impl in self._implementations(hook_name):
            try:
                result = impl.function(*[kwargs[arg] for arg in impl.argnames])
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._hook_failed(impl, hook_name, exc)
                continue
            self._failures.pop((impl.plugin_name, hook_name), None)
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    async def call_async(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of a hook that may be a coroutine, awaiting each in turn.

        An :class:`~jupyter_companion.errors.ApiError` is the plugin's answer to the request (a
        refusal) and goes through to the caller; anything else is isolated like :meth:`call_each`.
        """
        for impl in self._implementations(hook_name):
            try:
                result = impl.function(*[kwargs[arg] for arg in impl.argnames])
                if inspect.isawaitable(result):
                    await result
            except ApiError:
                raise
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
                    raise
                self._hook_failed(impl, hook_name, exc)
                continue
            self._failures.pop((impl.plugin_name, hook_name), None)

    def mark_failed(self, plugin_name: str, message: str) -> None:
        """Report a plugin as failed (e.g. a hook returned something unusable); logged once."""
        status = self.status.setdefault(plugin_name, PluginStatus(name=plugin_name))
        status.failed(message)
        if (plugin_name, message) not in self._reported:
            self._reported.add((plugin_name, message))
            log.error("plugin %s: %s", plugin_name, message)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook; failures are logged and reported, never raised."""
        if self._implementations(hook_name):
            self.call_each(hook_name, **kwargs)

    def notify_event(self, session: Any, event: dict[str, Any]) -> None:
        """``session_event`` for one event, only to the implementations that want its type (an
        implementation may list them in an ``event_types`` attribute; without it, every type)."""
        kind = event["type"]
        impls = self._event_impls.get(kind)
        if impls is None:
            impls = self._event_impls[kind] = [
                i for i in self._implementations("session_event")
                if getattr(i.function, "event_types", None) is None or kind in i.function.event_types]
        for impl in impls:
            try:
                impl.function(*[{"session": session, "event": event}[a] for a in impl.argnames])
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._hook_failed(impl, "session_event", exc)
                self._event_impls.clear()
                continue
            if self._failures:
                self._failures.pop((impl.plugin_name, "session_event"), None)

    def first_result(self, hook_name: str, **kwargs: Any) -> Any:
        """The first non-None answer of a ``firstresult`` hook (failures isolated), or None."""
        for _name, result in self.call_each_named(hook_name, **kwargs):
            return result
        return None

    def decide_permission(self, session: Any, request: dict[str, Any]) -> dict[str, Any] | None:
        """First non-None decision of the ``permission_request`` hook, if any."""
        for impl in self._implementations("permission_request"):
            try:
                decision = impl.function(*[{"session": session, "request": request}[a] for a in impl.argnames])
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._hook_failed(impl, "permission_request", exc)
                continue
            if isinstance(decision, dict):
                return decision
            if decision is not None:
                log.warning("plugin %s returned a non-dict permission decision; ignored", impl.plugin_name)
        return None

    def report(self) -> list[dict[str, Any]]:
        """Every known plugin's status, for the API."""
        return [s.to_json() for s in self.status.values()]
