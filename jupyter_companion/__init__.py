"""jupyter-companion: coding-agent CLIs as long-lived sessions inside Jupyter."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Entry point of the Jupyter server extension."""
    from .app import CompanionApp

    return [{"module": "jupyter_companion", "app": CompanionApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension lives inside the package."""
    return [{"src": "labextension", "dest": "jupyter-companion"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_companion``: register the ``%companion`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
