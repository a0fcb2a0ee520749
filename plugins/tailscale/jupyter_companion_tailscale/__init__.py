"""Tailscale Funnel for jupyter-companion (the ``tailscale`` plugin of the ``jupyter_companion``
entry points)."""

__version__ = "0.1.0"
