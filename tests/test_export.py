"""A session exported as a notebook or Markdown (jupyter_companion/export.py and the export routes)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_companion.export import export_filename, to_markdown, to_notebook, transcript_cells

pytestmark = pytest.mark.timeout(60)

SESSION = {"id": "s1", "name": "Fix the parser", "backend": "claude", "model": "sonnet", "cwd": "/w",
           "git": {"branch": "main"}, "cost_usd": 0.0123}


def assistant(*blocks: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "assistant", "message": {"id": "m", "content": list(blocks)}}
    if parent:
        event["parent_tool_use_id"] = parent
    return event


EVENTS = [
    {"type": "phase", "phase": "ready"},
    {"type": "user_message", "content": "list files\nand fix it", "images": [{"media_type": "image/png", "data": "x"}]},
    assistant({"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Looking."},
              {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls", "description": "List"}}),
    {"type": "tool_result", "tool_use_id": "t1", "content": "a.py\nb.py", "is_error": False},
    assistant({"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "false"}}),
    {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "exit 1"}], "is_error": True},
    assistant({"type": "tool_use", "id": "t3", "name": "Edit",
               "input": {"file_path": "a.py", "old_string": "x = 1\n", "new_string": "x = 2\n"}}),
    assistant({"type": "tool_use", "id": "t4", "name": "Write", "input": {"file_path": "n.md", "content": "```\nhi\n```"}}),
    assistant({"type": "tool_use", "id": "t5", "name": "Read", "input": {"file_path": "b.py"}}),
    assistant({"type": "tool_use", "id": "t6", "name": "Bash", "input": {"command": "secret subagent"}}, parent="t9"),
    {"type": "error", "message": "The CLI exited"},
    assistant({"type": "text", "text": "Done **now**."}),
]


def test_cells_follow_the_conversation() -> None:
    cells = transcript_cells(SESSION, EVENTS)
    kinds = [c["kind"] for c in cells]
    assert kinds == ["markdown", "markdown", "markdown", "command", "command", "markdown", "markdown", "markdown",
                     "markdown", "markdown"]
    assert cells[0]["text"].startswith("# Fix the parser") and "$0.0123" in cells[0]["text"]
    assert cells[1]["text"] == "**You:**\n\n> list files\n> and fix it\n>\n> *(1 image(s) attached)*"
    assert cells[3] == {"kind": "command", "command": "ls", "output": "a.py\nb.py", "failed": False, "description": "List"}
    assert cells[4]["failed"] is True and cells[4]["output"] == "exit 1"
    assert "-x = 1\n+x = 2" in cells[5]["text"]
    assert "````\n```\nhi\n```\n````" in cells[6]["text"]  # a longer fence around content that has one
    assert cells[7]["text"] == "*Read*: `b.py`"
    assert all("secret subagent" not in json.dumps(c) for c in cells)


def test_notebook_is_valid_and_keeps_outputs_unexecuted() -> None:
    notebook = nbformat.from_dict(to_notebook(SESSION, EVENTS))
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["# List\n%%bash\nls", "%%bash\nfalse"]
    assert code[0].outputs[0] == {"output_type": "stream", "name": "stdout", "text": "a.py\nb.py"}
    assert code[1].outputs[0]["name"] == "stderr" and all(c.execution_count is None for c in code)
    assert notebook.metadata["companion"] == {"session_id": "s1", "backend": "claude"}


def test_markdown_and_file_names() -> None:
    text = to_markdown(SESSION, EVENTS)
    assert "*Ran* List\n\n```bash\nls\n```\n\n```\na.py\nb.py\n```" in text and text.endswith("Done **now**.\n")
    assert export_filename("Fix the parser!", ".ipynb") == "Fix-the-parser-transcript.ipynb"
    assert export_filename("../../etc", ".md") == "etc-transcript.md"
    assert export_filename("", ".md") == "session-transcript.md"


async def test_routes_download_and_save(api: Any, connect: Any, jp_fetch: Any, workdir: Path) -> None:
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "name": "demo run"})
    assert status == 201
    stream = await connect(session["id"])
    await stream.send({"type": "user_message", "content": "touch exported.txt"})
    request = await stream.until_type("permission_request")
    await stream.send({"type": "permission_response", "request_id": request["request_id"], "behavior": "allow"})
    await stream.until_type("result")

    response = await jp_fetch("companion", "api", "sessions", session["id"], "export")
    assert response.headers["Content-Type"] == "application/x-ipynb+json"
    assert 'filename="demo-run-transcript.ipynb"' in response.headers["Content-Disposition"]
    notebook = nbformat.reads(response.body.decode(), as_version=4)
    nbformat.validate(notebook)
    assert any(c.cell_type == "code" and c.source.endswith("touch exported.txt") for c in notebook.cells)
    response = await jp_fetch("companion", "api", "sessions", session["id"], "export", params={"format": "markdown"})
    assert response.headers["Content-Type"].startswith("text/markdown") and b"> touch exported.txt" in response.body

    status, saved = await api("POST", "sessions", session["id"], "export", body={"format": "ipynb"})
    assert status == 201 and saved["path"] == "project/demo-run-transcript.ipynb"
    assert nbformat.read(str(workdir / "demo-run-transcript.ipynb"), as_version=4).cells
    status, again = await api("POST", "sessions", session["id"], "export", body={"format": "markdown"})
    status, third = await api("POST", "sessions", session["id"], "export", body={"format": "markdown"})
    assert (again["path"], third["path"]) == ("project/demo-run-transcript.md", "project/demo-run-transcript-1.md")

    for body in ({"format": "pdf"}, {"format": ["ipynb"]}, [1]):
        status, error = await api("POST", "sessions", session["id"], "export", body=body)
        assert status == 400 and "error" in error
    status, error = await api("GET", "sessions", session["id"], "export", params={"format": "docx"})
    assert status == 400 and "format" in error["error"]
    status, error = await api("GET", "sessions", "nope", "export")
    assert status == 404


async def test_save_refuses_a_folder_that_became_a_link_out_of_the_root(api: Any, jp_root_dir: Path,
                                                                        tmp_path: Path) -> None:
    (jp_root_dir / "moving").mkdir()
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "moving"})
    assert status == 201
    outside = tmp_path / "outside"
    outside.mkdir()
    (jp_root_dir / "moving").rename(jp_root_dir / "moved")
    (jp_root_dir / "moving").symlink_to(outside)
    status, error = await api("POST", "sessions", session["id"], "export", body={"format": "markdown"})
    assert status == 403 and "outside" in error["error"]
    assert list(outside.iterdir()) == []


async def test_a_name_in_any_script_downloads(api: Any, jp_fetch: Any, workdir: Path) -> None:
    name = "日本語 naïve ✓"
    status, session = await api("POST", "sessions", body={"backend": "claude", "cwd": "project", "name": name})
    assert status == 201
    response = await jp_fetch("companion", "api", "sessions", session["id"], "export", params={"format": "markdown"})
    header = response.headers["Content-Disposition"]
    assert header.isascii() and header.startswith('attachment; filename="')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert urllib.parse.unquote(encoded) == "日本語-naïve-transcript.md"
    status, saved = await api("POST", "sessions", session["id"], "export", body={"format": "markdown"})
    assert status == 201 and saved["path"] == "project/日本語-naïve-transcript.md"
