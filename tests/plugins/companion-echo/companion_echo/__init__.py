"""A tiny third-party plugin distribution for jupyter-companion's tests."""
