"""jupyter-companion-docker: run each jupyter-companion session's agent CLI in its own Docker
container. Install it next to jupyter-companion; it registers the ``docker`` sandbox through the
``jupyter_companion`` entry-point group."""

__version__ = "0.1.0"
