"""Linear for jupyter-companion (the ``linear`` plugin of the ``jupyter_companion`` entry points)."""

__version__ = "0.1.0"
