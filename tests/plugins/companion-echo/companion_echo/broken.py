"""A plugin module that fails to import: the server must report it and keep running."""

raise ImportError("companion_echo.broken is broken on purpose")
