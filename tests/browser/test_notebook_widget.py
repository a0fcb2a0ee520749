"""Real-browser test of the ``%companion`` ipywidgets chat: a real ``jupyter lab`` with the
extension, a real IPython kernel, Debian chromium driven by Playwright and the real Claude Code CLI
talking to a scripted Messages API server on 127.0.0.1. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from .labserver import TOKEN, run_lab

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WAIT = 60_000  # ms: generous Playwright waits for a 2-core CI machine (not timing assertions)
KERNEL_STUCK = 20_000  # ms without the first cell starting: the frontend's kernel link is stuck
SESSION_NAME = "widget-test"
#: Hostile agent output: raw HTML in a reply, a backtick-laden file name in a tool's code span.
PWN_HTML = '<img src=x onerror="window.__pwned=1">'
PWN_FILE = "notes`<img src=x onerror=window.__pwned=1>`.txt"


def _reserved_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_notebook(path: Path) -> None:
    """The notebook the user runs: load the magics, create a Claude session (shows the chat widget)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_companion"),
        nbformat.v4.new_code_cell(f"%companion new --backend claude --name {SESSION_NAME}"),
    ]
    nbformat.write(nb, str(path))


#: The kernel is idle: JupyterLab's status bar; Notebook 7's toolbar indicator.
LAB_KERNEL_IDLE = ".jp-StatusBar-TextItem:text-matches('Python 3 .*\\| Idle')"
NOTEBOOK7_KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"


def open_notebook_and_run_all(browser: Any, url: str, kernel_idle: str = LAB_KERNEL_IDLE) -> tuple[Any, list[str]]:
    """Open the notebook, wait for its kernel, Run > Run All Cells; answer the page and its JS errors.

    JupyterLab's frontend now and then (about one run in seven here) leaves a freshly started
    kernel's connection at "Connecting" for good: the server has nudged the kernel and reports it
    idle, yet the queued execute requests are never sent. A user would reload the page; so does this
    helper, on a fresh page, when the first cell has not started within ``KERNEL_STUCK`` ms.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT)
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(f"{exc}\n{exc.stack}"))
        page.goto(url)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        page.wait_for_selector(kernel_idle)
        page.locator(".lm-MenuBar-item:has-text('Run')").first.click()
        page.locator(".lm-Menu-item:has-text('Run All Cells')").first.click()
        first_prompt = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").first
        try:
            page.wait_for_function(
                "el => /\\[\\d+\\]/.test(el.textContent)",
                arg=first_prompt.element_handle(),
                timeout=KERNEL_STUCK,
            )
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            print(f"the kernel connection of page {attempt + 1} is stuck; opening the notebook again")
            page.close(run_before_unload=False)
            continue
        return page, errors
    raise AssertionError("unreachable")


def test_chat_widget_prompt_and_permission(
    tmp_path: Path, browser: Any, artifacts: Path
) -> None:
    """``%companion new`` in a notebook shows the chat widget; its Send button streams a reply into
    the transcript; a Bash ``touch`` needs permission, the widget's Allow button grants it, the file
    appears and the follow-up text shows."""
    from tests.support.anthropic_server import ScriptedAnthropic, Text, ToolUse
    from tests.support.clis import claude_env, ensure_cli

    claude = ensure_cli("claude")
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "widget.ipynb")
    # The kernel (a child of the lab server) finds the server through these variables, so the port
    # is chosen here rather than inside run_lab.
    port = _reserved_port()

    with ScriptedAnthropic() as srv:
        srv.on(r"say hello", Text("Hello from the scripted model, via the widget.", chunks=4))
        srv.on(
            r"make a file",
            [
                Text("Creating the file.", chunks=2),
                ToolUse("Bash", {"command": "touch made-by-widget.txt", "description": "Create the file"}),
            ],
        )
        srv.on_tool_result(Text("Done: **made-by-widget.txt** exists now."), tool="Bash")
        srv.on(r"show some html", [Text(f"Here is markup: {PWN_HTML} as text.", chunks=2),
                                   ToolUse("Write", {"file_path": PWN_FILE, "content": "x"})])
        srv.on_tool_result(Text("Fine, not written."), tool="Write")
        env = claude_env(srv.base_url, home)
        env.update(
            JUPYTER_COMPANION_URL=f"http://127.0.0.1:{port}/",
            JUPYTER_COMPANION_TOKEN=TOKEN,
            JUPYTER_COMPANION_ROOT=str(root),
        )
        env.pop("JUPYTER_COMPANION_TEXT", None)
        config = {"ClaudeBackend": {"binary": claude}}
        with run_lab(tmp_path, env=env, config=config, port=port) as lab:
            page, errors = open_notebook_and_run_all(browser, lab.lab_url("lab/tree/widget.ipynb"))

            # The chat widget: header with the session name, transcript (an Output widget), the
            # input box, Send / Interrupt buttons and the phase line.
            cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1)
            chat = cell.locator(".widget-vbox:has(> .widget-output)").last
            chat.wait_for()
            header = chat.locator(".widget-html").first
            header.locator(f"b:text-is('{SESSION_NAME}')").wait_for()
            assert "claude" in header.inner_text()
            transcript = chat.locator(".widget-output")
            transcript.locator("text=No messages yet.").wait_for()
            textarea = chat.locator(".widget-textarea textarea")
            send = chat.locator("button.jupyter-button:has-text('Send')")
            assert send.is_visible()
            assert chat.locator("button.jupyter-button:has-text('Interrupt')").is_visible()
            status = chat.locator("> .widget-html").nth(1)  # header, status line, error line
            status.locator("small").wait_for()
            assert status.inner_text().strip().split(" · ")[0] in ("Starting", "Ready", "Working")
            page.screenshot(path=str(artifacts / "notebook-widget-created.png"))
            session = next(s for s in lab.api("GET", "sessions")["sessions"] if s.get("name") == SESSION_NAME)

            # A prompt typed in the widget and sent with its button: the reply streams into the transcript.
            textarea.fill("please say hello")
            send.click()
            transcript.locator("text=You: please say hello").wait_for()
            transcript.locator("text=Hello from the scripted model, via the widget.").wait_for()
            page.wait_for_function("el => el.value === ''", arg=textarea.element_handle())
            # The turn's result carries the cost: the status line shows phase and cost.
            status.locator("small:has-text('$')").wait_for()
            page.screenshot(path=str(artifacts / "notebook-widget-reply.png"))

            # A tool call that needs permission: Allow / Deny buttons, Allow runs it.
            textarea.fill("now make a file")
            send.click()
            allow = chat.locator("button.jupyter-button:has-text('Allow')")
            allow.wait_for()
            assert chat.locator("button.jupyter-button:has-text('Deny')").is_visible()
            assert "touch made-by-widget.txt" in chat.inner_text()
            status.locator("small:has-text('permission request(s) waiting')").wait_for()
            page.screenshot(path=str(artifacts / "notebook-widget-permission.png"))
            allow.click()
            allow.wait_for(state="detached")
            transcript.locator("text=allowed (user)").wait_for()
            transcript.locator("text=exists now.").wait_for()
            assert (root / "made-by-widget.txt").exists()
            page.wait_for_function(
                "el => !el.textContent.includes('waiting')",
                arg=status.element_handle(),
            )
            page.screenshot(path=str(artifacts / "notebook-widget-allowed.png"))

            # Hostile agent output is shown as text, never run: raw HTML in a reply, and a file name
            # whose backticks would close the code span of the tool summary.
            textarea.fill("please show some html")
            send.click()
            deny = chat.locator("button.jupyter-button:has-text('Deny')")
            deny.wait_for()
            transcript.get_by_text(f"Here is markup: {PWN_HTML} as text.").wait_for()
            transcript.get_by_text(f"Write: {PWN_FILE}").first.wait_for()
            assert PWN_FILE in chat.inner_text()
            assert transcript.locator("img").count() == 0
            page.screenshot(path=str(artifacts / "notebook-widget-hostile.png"))
            deny.click()
            transcript.locator("text=Fine, not written.").wait_for()
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert not (root / PWN_FILE).exists()

            stored = lab.api("GET", f"sessions/{session['id']}/events?after=0")["events"]
            prompts = [e["content"] for e in stored if e["type"] == "user_message"]
            assert prompts == ["please say hello", "now make a file", "please show some html"]
            assert [e["behavior"] for e in stored if e["type"] == "permission_resolved"] == ["allow", "deny"]
            assert [e.splitlines()[0] for e in errors] == []


def _notebook7_own_error(error: str) -> bool:
    """Notebook 7.6's shortcuts plugin throws this on every page load, with every third-party
    extension (ours, ipywidgets, pygments) disabled as well; it is not ours to fix or hide."""
    lines = error.splitlines()
    return (lines[0] == "Cannot read properties of undefined (reading 'schema')"
            and len(lines) > 2 and "/static/notebook/notebook_core." in lines[2])


def test_chat_widget_in_notebook_7(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """The same ``%companion`` chat widget in Notebook 7 (``jupyter notebook``), on the test plugin's
    in-process ``echo`` backend: it renders, a prompt sent with its button streams the answer, and a
    permission request is answered with its Allow button."""
    import nbformat

    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_companion"),
        nbformat.v4.new_code_cell("%companion new --backend echo --name nb7-widget"),
    ]
    nbformat.write(nb, str(root / "nb7.ipynb"))
    port = _reserved_port()
    env = dict(os.environ)
    env.update(JUPYTER_COMPANION_URL=f"http://127.0.0.1:{port}/", JUPYTER_COMPANION_TOKEN=TOKEN,
               JUPYTER_COMPANION_ROOT=str(root))
    env.pop("JUPYTER_COMPANION_TEXT", None)
    with run_lab(tmp_path, env=env, port=port, app="notebook") as lab:
        page, errors = open_notebook_and_run_all(browser, lab.lab_url("notebooks/nb7.ipynb"), NOTEBOOK7_KERNEL_IDLE)
        cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1)
        chat = cell.locator(".widget-vbox:has(> .widget-output)").last
        chat.wait_for()
        chat.locator(".widget-html b:text-is('nb7-widget')").wait_for()
        transcript = chat.locator(".widget-output")
        textarea = chat.locator(".widget-textarea textarea")
        send = chat.locator("button.jupyter-button:has-text('Send')")
        textarea.fill("hello notebook seven")
        send.click()
        transcript.locator("text=echo: hello notebook seven").wait_for()
        textarea.fill("ask Bash in notebook 7")
        send.click()
        allow = chat.locator("button.jupyter-button:has-text('Allow')")
        allow.wait_for()
        page.screenshot(path=str(artifacts / "notebook7-widget-permission.png"))
        allow.click()
        transcript.locator("text=echo: ask Bash in notebook 7 -> allow").wait_for()
        page.screenshot(path=str(artifacts / "notebook7-widget.png"))
        session = next(s for s in lab.api("GET", "sessions")["sessions"] if s.get("name") == "nb7-widget")
        assert session["cwd"] == str(root.resolve())  # the notebook's folder
        assert [e for e in errors if not _notebook7_own_error(e)] == []
