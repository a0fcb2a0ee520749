"""What plugins declare for the JupyterLab panel (``register_ui``), checked before it is served.

A contribution is plain data that the panel renders with its own components (see
:func:`jupyter_companion.hookspecs.register_ui`). Each is checked for its kind's required keys and
for relative URLs under ``companion/api/``; one that fails is dropped and its plugin reported, so a
careless plugin never breaks the panel.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .plugins import PluginManager

#: Required keys of each kind.
REQUIRED: dict[str, tuple[str, ...]] = {
    "page": ("id", "label"),
    "create_field": ("name", "label", "search"),
    "session_field": ("field", "text"),
    "archive_choice": ("field", "name", "label", "options"),
}
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: A relative API path (``linear/issues``): no scheme, no ``..``, no leading slash.
_API_PATH = re.compile(r"[a-z0-9][a-z0-9_/-]{0,199}")
#: The largest contribution served (JSON characters).
MAX_SIZE = 20_000


def _urls(contribution: dict[str, Any]) -> list[Any]:
    """Every URL a contribution makes the panel call."""
    found = []
    for key in ("status", "toggle", "search", "create"):
        part = contribution.get(key)
        if isinstance(part, dict) and "url" in part:
            found.append(part["url"])
    create = contribution.get("create")
    if isinstance(create, dict):
        found.extend(f["options_url"] for f in create.get("fields") or [] if isinstance(f, dict) and "options_url" in f)
    return found


def check(contribution: Any) -> str | None:
    """What is wrong with one contribution, or None when it can be served."""
    if not isinstance(contribution, dict):
        return f"a UI contribution must be a dict, not {type(contribution).__name__}"
    kind = contribution.get("kind")
    if kind not in REQUIRED:
        return f"unknown UI contribution kind {str(kind)[:40]!r} (known: {', '.join(REQUIRED)})"
    missing = [key for key in REQUIRED[kind] if not contribution.get(key)]
    if missing:
        return f"the {kind} contribution lacks {', '.join(missing)}"
    for key in ("name", "id"):
        if key in contribution and not (isinstance(contribution[key], str) and _NAME.fullmatch(contribution[key])):
            return f"the {kind} contribution's {key} must be 1-64 of a-z 0-9 _ starting with a letter"
    for url in _urls(contribution):
        if not (isinstance(url, str) and _API_PATH.fullmatch(url) and ".." not in url):
            return f"the {kind} contribution's url {str(url)[:80]!r} is not a path under companion/api/"
    try:
        size = len(json.dumps(contribution))
    except (TypeError, ValueError):
        return f"the {kind} contribution is not JSON"
    if size > MAX_SIZE:
        return f"the {kind} contribution is larger than {MAX_SIZE} characters"
    return None


def collect(plugins: PluginManager, app: Any) -> list[dict[str, Any]]:
    """Every plugin's usable contributions, each with its ``plugin`` name."""
    served: list[dict[str, Any]] = []
    for name, returned in plugins.call_each_named("register_ui", app=app):
        for contribution in returned if isinstance(returned, (list, tuple)) else [returned]:
            problem = check(contribution)
            if problem:
                plugins.mark_failed(name, problem)
                continue
            served.append({**contribution, "plugin": name})
    return served
