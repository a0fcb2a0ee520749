"""The ``fs/*`` side of an ACP client: text files an agent asks this client to read or write.

Every path is resolved (symlinks included) and must stay inside the session's folder; anything
else is refused before a byte is read or written. Files are read and written off the event loop.
"""

from __future__ import annotations

import asyncio
import os

#: Largest file an agent may read through the client.
MAX_READ_BYTES = 50 * 1024 * 1024
#: Largest text an agent may write through the client.
MAX_WRITE_CHARS = 50 * 1024 * 1024


class OutsideFolder(ValueError):
    """A path resolves outside the session's folder."""


class FileRefused(ValueError):
    """A file request that cannot be carried out (too large, a folder, unreadable)."""


class FileMissing(FileRefused):
    """The file to read does not exist."""


def confine(root: str, path: str) -> str:
    """``path`` (absolute, or relative to ``root``) resolved with its symlinks; OutsideFolder
    when it is not ``root`` or below it."""
    base = os.path.realpath(root)
    if not isinstance(path, str) or not path or "\x00" in path:
        raise OutsideFolder("an empty or invalid path")
    resolved = os.path.realpath(os.path.join(base, path))
    if resolved != base and not resolved.startswith(base.rstrip(os.sep) + os.sep):
        raise OutsideFolder(f"{path} is outside the session folder {root}")
    return resolved


def _read(path: str, line: int | None, limit: int | None) -> str:
    try:
        size = os.path.getsize(path)
    except FileNotFoundError as exc:
        raise FileMissing(f"{path} does not exist") from exc
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > MAX_READ_BYTES:
        raise FileRefused(f"{path} is {size} bytes; at most {MAX_READ_BYTES} can be read")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from exc
    if line is None and limit is None:
        return text
    lines = text.splitlines(keepends=True)
    start = max((line or 1) - 1, 0)
    end = start + limit if limit is not None else None
    return "".join(lines[start:end])


def _write(path: str, content: str) -> None:
    if len(content) > MAX_WRITE_CHARS:
        raise FileRefused(f"at most {MAX_WRITE_CHARS} characters can be written at once")
    if os.path.isdir(path):
        raise FileRefused(f"{path} is a folder")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(content)
    except OSError as exc:
        raise FileRefused(f"cannot write {path}: {exc.strerror or exc}") from exc


async def read_text(root: str, path: str, line: int | None = None, limit: int | None = None) -> str:
    """The text of a file inside ``root`` (from 1-based ``line``, at most ``limit`` lines)."""
    return await asyncio.to_thread(_read, confine(root, path), line, limit)


async def write_text(root: str, path: str, content: str) -> None:
    """Write a text file inside ``root`` (its missing parent folders inside ``root`` created)."""
    await asyncio.to_thread(_write, confine(root, path), content)
