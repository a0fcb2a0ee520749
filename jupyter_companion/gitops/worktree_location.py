"""Where a session's worktree goes: inside the server root, beside its repository.

JupyterLab can only open, browse and link files under the server root, and it hides dot-folders,
so by default a repository ``<root>/.../proj`` gets its worktrees in ``proj.worktrees/`` next to
it. A repository that *is* the server root has no "next to it" inside the root: its worktrees go
in ``companion-worktrees/`` inside it, which is added to the repository's ``info/exclude`` so
they never show in its status. A configured ``worktrees_dir`` (``c.CompanionApp.worktrees_dir``)
is used as is, one folder per repository below it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .paths import is_within
from .runner import run_git

#: The folder inside a repository that holds its worktrees when it has no room beside it.
INSIDE_FOLDER = "companion-worktrees"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    """``text`` as a safe file or folder name (letters, digits, ``._-``)."""
    return _SLUG.sub("-", text).strip("-.") or "x"


def worktree_parent(main_root: Path, root: Path, configured: str | os.PathLike[str] | None) -> Path:
    """The folder that holds the worktrees of the repository at ``main_root`` (its main working
    tree), for sessions under the server root ``root``. Creates nothing."""
    if configured:
        return Path(configured).expanduser().resolve() / slug(main_root.name)
    main_root, root = main_root.resolve(), root.resolve()
    if main_root != root and is_within(main_root.parent, root):
        return main_root.parent / f"{main_root.name}.worktrees"
    return main_root / INSIDE_FOLDER


def keep_out_of_status(main_root: Path, parent: Path) -> None:
    """When ``parent`` lies inside the repository, list it in the repository's ``info/exclude``
    (once), so ``git status`` and the Changes view of the main working tree never show it."""
    main_root = main_root.resolve()
    if not is_within(parent, main_root) or parent == main_root:
        return
    pattern = "/" + parent.relative_to(main_root).as_posix() + "/"
    common = run_git(["rev-parse", "--git-common-dir"], main_root).stdout.strip()
    exclude = (main_root / common).resolve() / "info" / "exclude"
    existing = exclude.read_text(encoding="utf-8", errors="replace") if exclude.is_file() else ""
    if pattern in existing.splitlines():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a", encoding="utf-8") as out:
        if existing and not existing.endswith("\n"):
            out.write("\n")
        out.write(f"# worktrees of jupyter-companion sessions\n{pattern}\n")
