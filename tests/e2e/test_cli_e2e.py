"""End to end: the ``jupyter companion`` CLI against a real server, the REAL Claude Code CLI and a
scripted Messages API — new -> send (stops at a permission request: exit 4) -> approve -> logs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_notebook_e2e import (  # noqa: F401  (claude_bin_fixture provides `claude_bin`)
    CompanionServer,
    claude_bin_fixture,
    companion_server,
    script_model,
)
from tests.support.anthropic_server import ScriptedAnthropic, Stall, Text

pytestmark = pytest.mark.e2e


def run_cli(server: CompanionServer, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_companion.cli ARGS`` finding the server through the environment."""
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "jupyter_companion.cli", *args],
        cwd=cwd or server.root,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_cli_flow(tmp_path: Path, claude_bin: str) -> None:
    with ScriptedAnthropic() as srv:
        script_model(srv, "y")
        with companion_server(tmp_path, claude_bin, srv.base_url) as server:
            project = server.root / "project"
            project.mkdir()

            new = run_cli(server, "new", "-q", "--name", "cli-e2e", cwd=project)
            assert new.returncode == 0, new.stderr + server.log_tail()
            sid = new.stdout.strip()

            send = run_cli(server, "send", "cli-e2e", "Please create the file y")
            assert send.returncode == 4, send.stdout + send.stderr
            assert "Permission requested: Bash: touch y" in send.stdout
            assert f"jupyter companion approve {sid}" in send.stdout
            assert not (project / "y").exists()

            approve = run_cli(server, "approve", sid[:8])
            assert approve.returncode == 0, approve.stdout + approve.stderr
            assert "Created y for you." in approve.stdout and "✓ done" in approve.stdout
            assert (project / "y").exists()

            exported = run_cli(server, "export", "cli-e2e")
            assert exported.returncode == 0 and exported.stdout.strip() == "Saved project/cli-e2e-transcript.ipynb"
            notebook = json.loads((project / "cli-e2e-transcript.ipynb").read_text())
            assert any(c["source"].endswith("touch y") for c in notebook["cells"] if c["cell_type"] == "code")

            recorded = run_cli(server, "recording", "cli-e2e", "-o", str(tmp_path / "bug.jsonl"))
            assert recorded.returncode == 0 and "written to" in recorded.stderr, recorded.stderr
            header, *entries = [json.loads(line) for line in (tmp_path / "bug.jsonl").read_text().splitlines()]
            assert header["session_id"] == sid and header["backend"] == "claude"
            assert any(e.get("dir") == "in" and "Please create the file y" in e["raw"] for e in entries), entries[:3]
            listed_recordings = run_cli(server, "recording", "--list", sid)
            assert listed_recordings.returncode == 0 and header["id"] in listed_recordings.stdout
            assert run_cli(server, "recording", "no-such-session").returncode != 0

            logs = run_cli(server, "logs", sid)
            assert logs.returncode == 0
            assert "> Please create the file y" in logs.stdout and "→ Bash: touch y" in logs.stdout

            listed = run_cli(server, "--json", "list")
            sessions = json.loads(listed.stdout)["sessions"]
            assert [(s["id"], s["name"]) for s in sessions] == [(sid, "cli-e2e")]
            assert Path(sessions[0]["cwd"]).resolve() == project.resolve()

            hello = run_cli(server, "--json", "send", sid, "Say hi")
            lines = [json.loads(line) for line in hello.stdout.splitlines()]
            assert hello.returncode == 0
            assert lines[-1]["type"] == "turn_outcome" and lines[-1]["kind"] == "result"
            assert any(e.get("type") == "stream_delta" for e in lines)
            retried = run_cli(server, "retry", sid)  # the last message, sent again
            assert retried.returncode == 0, retried.stdout + retried.stderr
            assert "Hi from the scripted model!" in retried.stdout and "✓ done" in retried.stdout

            # a message sent while the agent answers waits for the end of that turn, and says so
            srv.on(r"think for long", [Text("Thinking it over"), Stall()])
            long_turn = run_cli(server, "send", "--no-wait", sid, "think for long")
            assert long_turn.returncode == 0 and long_turn.stdout.startswith("sent")
            waiting = run_cli(server, "send", "--no-wait", sid, "Say hi once more")
            assert waiting.returncode == 0, waiting.stderr
            assert waiting.stdout.startswith("queued: it goes when the agent finishes its current turn")
            assert run_cli(server, "interrupt", sid).returncode == 0
            for _ in range(300):  # readiness: the waiting message is answered after the stopped turn
                log_text = run_cli(server, "logs", sid).stdout
                if log_text.count("Hi from the scripted model!") >= 3:
                    break
                time.sleep(0.2)
            assert log_text.index("> think for long") < log_text.index("> Say hi once more"), log_text

            # the conversation is listed (from the CLI's own transcript) and continues in a new session
            found: list[dict[str, str]] = []
            for _ in range(100):  # the CLI writes its transcript shortly after a turn
                listed_conv = run_cli(server, "--json", "conversations", "--cwd", "project")
                assert listed_conv.returncode == 0, listed_conv.stderr
                found = json.loads(listed_conv.stdout)["conversations"]
                if found:
                    break
                time.sleep(0.2)
            assert found and found[0]["title"] == "Please create the file y" and found[0]["folder"] == "project"
            assert found[0]["id"] in run_cli(server, "conversations").stdout
            continued = run_cli(server, "new", "-q", "--resume", found[0]["id"], "--fork", "--name", "cli-continued",
                                cwd=project)
            assert continued.returncode == 0, continued.stderr + server.log_tail()
            run_cli(server, "kill", continued.stdout.strip())

            # through jupyter's subcommand discovery (the jupyter-companion console script)
            status = subprocess.run(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "jupyter", "companion", "status"],
                env=server.env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert status.returncode == 0, status.stderr
            assert "backend claude" in status.stdout and "available" in status.stdout

            archived = run_cli(server, "archive", sid)
            assert archived.returncode == 0
            assert [s["name"] for s in json.loads(run_cli(server, "--json", "list").stdout)["sessions"]] == ["cli-continued"]

            missing = run_cli(server, "kill", "no-such-session")
            assert missing.returncode == 1 and "no session" in missing.stderr


def test_cli_agents_and_prompts(tmp_path: Path, claude_bin: str) -> None:
    """``agents list|run|runs`` and ``prompts`` against a real server and the real Claude CLI."""
    from jupyter_companion.client import CompanionClient

    with ScriptedAnthropic() as srv:
        srv.on(r"Summarize", lambda req: Text(f"Summary of: {req.last_user_text}", chunks=2))
        with companion_server(tmp_path, claude_bin, srv.base_url) as server:
            (server.root / "project").mkdir()
            client = CompanionClient(server.url, server.token)
            agent = client.create_agent({"name": "Summarizer", "prompt": "Summarize {{input}}", "cwd": "project"})
            client._call("POST", "prompts", body={"name": "Review", "text": "Review the diff for bugs."})
            listed = run_cli(server, "agents", "list")
            assert listed.returncode == 0 and "Summarizer" in listed.stdout and agent["id"] in listed.stdout
            run = run_cli(server, "agents", "run", "Summarizer", "--input", "the changelog")
            assert run.returncode == 0, run.stdout + run.stderr
            assert "success" in run.stdout and "Summary of: Summarize the changelog" in run.stdout
            runs = run_cli(server, "--json", "agents", "runs", agent["id"][:6])
            found = json.loads(runs.stdout)
            assert found["total"] == 1 and found["runs"][0]["status"] == "success"
            assert found["runs"][0]["trigger"] == "manual"
            unknown = run_cli(server, "agents", "run", "nobody")
            assert unknown.returncode == 1 and "no agent 'nobody'" in unknown.stderr
            prompts = run_cli(server, "prompts")
            assert prompts.returncode == 0 and "Review the diff for bugs." in prompts.stdout
