"""``LineProcess``, the stdio transport of every CLI: whatever a CLI prints on either pipe, it is
drained, its messages arrive and its exit is reported."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from jupyter_companion.backends.ndjson import STDERR_LINE_CHARS, LineProcess

pytestmark = pytest.mark.timeout(60)

#: Writes a long stderr line (far beyond asyncio's 64 KiB readline limit and a pipe buffer), then a
#: JSON line on stdout, then more stderr without a final newline, and exits 7.
CHATTY = r"""
import sys
sys.stderr.write("warning: " + "x" * 3_000_000 + "\n")
sys.stderr.write("second line\n")
sys.stderr.flush()
print('{"type": "hello"}', flush=True)
sys.stderr.write("é" * 5000)
sys.exit(7)
"""


async def run(script: str) -> tuple[list[dict[str, Any]], int | None, str, LineProcess]:
    messages: list[dict[str, Any]] = []
    exited: asyncio.Future[tuple[int | None, str]] = asyncio.get_running_loop().create_future()
    proc = LineProcess(
        [sys.executable, "-c", script], cwd=".", env={"PATH": "/usr/bin:/bin"},
        on_message=messages.append, on_exit=lambda code, tail: exited.set_result((code, tail)),
    )
    await proc.start()
    code, tail = await asyncio.wait_for(exited, 30)
    return messages, code, tail, proc


async def test_a_huge_stderr_line_neither_blocks_the_cli_nor_hides_its_exit() -> None:
    messages, code, tail, proc = await run(CHATTY)
    assert messages == [{"type": "hello"}]
    assert code == 7
    lines = list(proc.stderr_tail)
    assert lines[0] == "warning: " + "x" * (STDERR_LINE_CHARS - len("warning: "))
    assert lines[1] == "second line"
    assert lines[2] == "é" * STDERR_LINE_CHARS  # the unfinished last line, cut by characters
    assert tail.splitlines()[1] == "second line"


async def test_many_stderr_lines_keep_only_the_last() -> None:
    script = "import sys\nfor i in range(5000): sys.stderr.write(f'line {i}\\n')\nprint('{\"done\": 1}')\n"
    messages, code, _tail, proc = await run(script)
    assert messages == [{"done": 1}] and code == 0
    assert list(proc.stderr_tail)[-1] == "line 4999" and len(proc.stderr_tail) == 200
