"""The SQLite store: migrations, batching, ordering, permissions and kill -9 durability."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from jupyter_companion.store import MIGRATIONS, Store


def test_migrations_run_once_and_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "db" / "companion.db"
    store = Store(str(path))
    assert store.schema_version == len(MIGRATIONS)
    store.save_session({"id": "s1", "created_at": "2026-01-01T00:00:00Z", "archived": False, "name": "a"})
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Store(str(path))
    assert again.schema_version == len(MIGRATIONS)
    assert [r["name"] for r in again.load_sessions()] == ["a"]
    again.close()


def test_events_settings_ids_and_worktrees_round_trip(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    for seq in range(1, 11):
        store.append_event({"session_id": "s", "seq": seq, "type": "assistant", "n": seq})
    store.remember_client_msg("s", "m1")
    store.set_setting("theme", {"dark": True})
    store.save_worktree("s", "/repo", "/wt", "feature", "feature-wt-1")
    store.flush()
    assert [e["n"] for e in store.read_events("s", after=3, upto=6)] == [4, 5, 6]
    assert [e["n"] for e in store.read_events("s", after=8)] == [9, 10]
    assert len(store.read_events("s", limit=4)) == 4
    assert store.last_seq("s") == 10 and store.last_seq("other") == 0
    assert store.client_msg_ids("s") == ["m1"]
    assert store.get_settings() == {"theme": {"dark": True}}
    assert store.worktrees()[0]["temp_branch"] == "feature-wt-1"
    store.delete_session("s")
    store.flush()
    assert store.read_events("s") == [] and store.worktrees() == []
    store.close()


def test_commit_callbacks_run_on_the_loop_in_order(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        store = Store(str(tmp_path / "c.db"))
        store.bind_loop(asyncio.get_running_loop())
        seen: list[int] = []
        done = asyncio.Event()
        for seq in range(1, 501):
            store.append_event({"session_id": "s", "seq": seq, "type": "x"},
                               on_commit=lambda seq=seq: (seen.append(seq), seq == 500 and done.set()))
        await asyncio.wait_for(done.wait(), 10)
        store.close()
        return seen

    assert asyncio.run(scenario()) == list(range(1, 501))


def test_committed_events_survive_kill9(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    child = textwrap.dedent(f"""
        import asyncio, sys, time
        from jupyter_companion.store import Store

        async def main():
            store = Store({str(db)!r})
            store.bind_loop(asyncio.get_running_loop())
            def committed(seq):
                sys.stdout.write(f"{{seq}}\\n"); sys.stdout.flush()
            seq = 0
            while True:
                for _ in range(50):
                    seq += 1
                    store.append_event({{"session_id": "s", "seq": seq, "type": "x"}}, on_commit=lambda s=seq: committed(s))
                await asyncio.sleep(0.001)

        asyncio.run(main())
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    last = 0
    while last < 3000:
        line = proc.stdout.readline()
        assert line, "the writer process died"
        last = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(str(db))
    stored = [e["seq"] for e in store.read_events("s")]
    store.close()
    # everything a client could have been told about is there, in order, without holes
    assert stored[: last] == list(range(1, last + 1))


def test_restore_never_reuses_a_seq_whose_record_update_was_lost(tmp_path: Path) -> None:
    """Events committed in one batch, the session record's update lost in the next (a crash):
    the restored session continues after the highest stored seq."""
    import types

    from jupyter_companion.services import build_services

    db = tmp_path / "c.db"
    store = Store(str(db))
    store.save_session({"id": "s1", "name": "x", "backend": "claude", "cwd": str(tmp_path), "phase": "ready",
                        "archived": False, "created_at": "2026-01-01T00:00:00Z", "last_seq": 3})
    for seq in range(1, 6):
        store.append_event({"session_id": "s1", "seq": seq, "type": "assistant"})
    store.close()
    app = types.SimpleNamespace(
        db_path=str(db), state_dir=str(tmp_path / "state"), disabled_plugins=[], load_entry_points=False,
        serverapp=types.SimpleNamespace(root_dir=str(tmp_path)), allowed_roots=[], worktrees_dir="",
        default_backend="claude", default_sandbox="local", relaunch_delays=[1.0], idle_timeout=60.0,
        hang_timeout=60.0, watchdog_interval=60.0, cli_env={}, cli_env_strip=[], pr_poll_interval=0.0, config=None)

    async def scenario() -> list[int]:
        services = build_services(app)
        await services.orchestrator.ensure_active()
        await services.orchestrator.stop()
        services.store.close()
        reopened = Store(str(db))
        seqs = [e["seq"] for e in reopened.read_events("s1")]
        reopened.close()
        return seqs

    seqs = asyncio.run(scenario())
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 6  # the restore's phase event got seq 6
