"""SQLite persistence: sessions, events, idempotency keys, settings, worktrees, agents, runs, prompts.

All SQL lives here. Writes go through one writer thread that batches whatever is queued into a
single transaction, so the event loop never waits for the disk; a caller that needs to know its
write is durable (before telling a client about an event) passes ``on_commit``, which runs on the
event loop after the commit. Reads run in worker threads with their own connections.

The database uses WAL with ``synchronous=NORMAL``: a committed transaction survives a crash of the
server process (kill -9); only an operating-system crash could lose the last commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("jupyter_companion.store")

#: Versioned schema migrations; ``PRAGMA user_version`` holds how many have run.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE events (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE client_msgs (
        session_id TEXT NOT NULL,
        client_msg_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (session_id, client_msg_id)
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE worktrees (
        session_id TEXT PRIMARY KEY,
        repo_root TEXT NOT NULL,
        path TEXT NOT NULL,
        branch TEXT,
        temp_branch TEXT,
        created_at REAL NOT NULL
    );
    """,
    """
    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        status TEXT NOT NULL,
        trigger TEXT NOT NULL,
        started_at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX runs_by_agent ON runs (agent_id, started_at);
    CREATE INDEX runs_by_start ON runs (started_at);
    CREATE TABLE prompts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL
    );
    """,
]

_BATCH_LIMIT = 2000
#: Writes between two WAL checkpoints.
_CHECKPOINT_EVERY = 2000


@dataclass
class _Write:
    sql: str
    params: tuple[Any, ...] | list[tuple[Any, ...]]
    many: bool = False
    on_commit: Callable[[], None] | None = None


class Store:
    """The embedded SQLite store."""

    def __init__(self, path: str):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: queue.SimpleQueue[_Write | None | threading.Event] = queue.SimpleQueue()
        self._local = threading.local()
        self._closed = False
        if not os.path.exists(path):
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = self._connect()
        self._migrate(conn)
        conn.close()
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
        self._since_checkpoint = 0
        self._checkpoint_due = threading.Event()
        self._closed_writer = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="companion-store", daemon=True)
        self._writer.start()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="companion-checkpoint", daemon=True)
        self._checkpointer.start()

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for index in range(version, len(MIGRATIONS)):
            try:
                conn.executescript(
                    f"BEGIN IMMEDIATE;{MIGRATIONS[index]};PRAGMA user_version = {index + 1};COMMIT;"
                )
            except Exception:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            log.info("store migrated to schema version %d", index + 1)

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        return int(self._reader().execute("PRAGMA user_version").fetchone()[0])

    # -- the writer thread -----------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit callbacks run on this loop."""
        self._loop = loop

    def _write_loop(self) -> None:
        conn = self._connect()
        # checkpoints (which fsync the database file) run in their own thread, so a commit never
        # waits for one; see _checkpoint_loop
        conn.execute("PRAGMA wal_autocheckpoint=0")
        while True:
            item = self._queue.get()
            batch: list[_Write | None | threading.Event] = [item]
            while len(batch) < _BATCH_LIMIT:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            writes = [w for w in batch if isinstance(w, _Write)]
            if writes:
                self._commit(conn, writes)
                self._since_checkpoint += len(writes)
                if self._since_checkpoint >= _CHECKPOINT_EVERY:
                    self._since_checkpoint = 0
                    self._checkpoint_due.set()
            for w in batch:
                if isinstance(w, threading.Event):
                    w.set()
            if any(w is None for w in batch):
                break
        conn.close()
        self._closed_writer.set()
        self._checkpoint_due.set()

    def _checkpoint_loop(self) -> None:
        conn = self._connect()
        while not self._closed_writer.is_set():
            self._checkpoint_due.wait()
            self._checkpoint_due.clear()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                log.warning("WAL checkpoint failed", exc_info=True)
        conn.close()

    def _commit(self, conn: sqlite3.Connection, writes: list[_Write]) -> None:
        try:
            conn.execute("BEGIN")
            for w in writes:
                self._run(conn, w)
            conn.execute("COMMIT")
        except Exception:
            log.exception("store batch failed; retrying its writes one by one")
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            for w in writes:
                try:
                    self._run(conn, w)
                except Exception:
                    log.exception("store write failed: %.200s", w.sql)
        callbacks = [w.on_commit for w in writes if w.on_commit is not None]
        if callbacks and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(_run_callbacks, callbacks)

    @staticmethod
    def _run(conn: sqlite3.Connection, w: _Write) -> None:
        if w.many:
            conn.executemany(w.sql, w.params)
        else:
            conn.execute(w.sql, w.params)

    def _enqueue(self, write: _Write) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        self._queue.put(write)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything queued so far is committed (not for the event loop)."""
        if self._closed:
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    async def aflush(self) -> None:
        """Wait (without blocking the loop) until everything queued so far is committed."""
        await asyncio.to_thread(self.flush)

    def close(self) -> None:
        """Commit what is queued and stop the writer."""
        if self._closed:
            return
        self._queue.put(None)
        self._writer.join(30)
        self._checkpointer.join(30)
        self._closed = True
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- sessions --------------------------------------------------------------------------

    def save_session(self, record: dict[str, Any]) -> None:
        """Insert or replace a session record (queued)."""
        self._enqueue(
            _Write(
                "INSERT INTO sessions (id, data, archived, created_at, updated_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET data=excluded.data, archived=excluded.archived, "
                "updated_at=excluded.updated_at",
                (
                    record["id"],
                    json.dumps(record, separators=(",", ":")),
                    1 if record.get("archived") else 0,
                    record["created_at"],
                    time.time(),
                ),
            )
        )

    def delete_session(self, session_id: str) -> None:
        """Forget a session and everything it stored (queued)."""
        for table in ("sessions", "events", "client_msgs", "worktrees"):
            column = "id" if table == "sessions" else "session_id"
            self._enqueue(_Write(f"DELETE FROM {table} WHERE {column} = ?", (session_id,)))

    def load_sessions(self) -> list[dict[str, Any]]:
        """Every stored session record, oldest first (blocking: call at start-up or in a thread)."""
        rows = self._reader().execute("SELECT data FROM sessions ORDER BY created_at").fetchall()
        records = []
        for (data,) in rows:
            try:
                records.append(json.loads(data))
            except ValueError:
                log.warning("skipping a corrupt session record")
        return records

    # -- events ----------------------------------------------------------------------------

    def append_event(self, event: dict[str, Any], on_commit: Callable[[], None] | None = None) -> None:
        """Store one event with its seq (queued); ``on_commit`` runs on the loop once durable."""
        self._enqueue(
            _Write(
                "INSERT OR REPLACE INTO events (session_id, seq, type, data) VALUES (?,?,?,?)",
                (event["session_id"], event["seq"], event["type"], json.dumps(event, separators=(",", ":"))),
                on_commit=on_commit,
            )
        )

    def read_events(self, session_id: str, after: int = 0, upto: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored events with ``after < seq <= upto`` in order (blocking)."""
        sql = "SELECT data FROM events WHERE session_id = ? AND seq > ?"
        params: list[Any] = [session_id, after]
        if upto is not None:
            sql += " AND seq <= ?"
            params.append(upto)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [json.loads(data) for (data,) in self._reader().execute(sql, params)]

    def read_events_raw(self, session_id: str, after: int = 0, upto: int | None = None) -> list[str]:
        """Like :meth:`read_events` but the stored JSON text, ready to send (blocking)."""
        sql = "SELECT data FROM events WHERE session_id = ? AND seq > ?"
        params: list[Any] = [session_id, after]
        if upto is not None:
            sql += " AND seq <= ?"
            params.append(upto)
        return [data for (data,) in self._reader().execute(sql + " ORDER BY seq", params)]

    def last_seq(self, session_id: str) -> int:
        """The highest stored seq of a session, 0 when none (blocking)."""
        row = self._reader().execute("SELECT MAX(seq) FROM events WHERE session_id = ?", (session_id,)).fetchone()
        return int(row[0] or 0)

    def last_seqs(self) -> dict[str, int]:
        """The highest stored seq of every session (blocking)."""
        return dict(self._reader().execute("SELECT session_id, MAX(seq) FROM events GROUP BY session_id"))

    # -- idempotency -----------------------------------------------------------------------

    def remember_client_msg(self, session_id: str, client_msg_id: str) -> None:
        """Record a client message id as processed (queued)."""
        self._enqueue(
            _Write(
                "INSERT OR IGNORE INTO client_msgs (session_id, client_msg_id, created_at) VALUES (?,?,?)",
                (session_id, client_msg_id, time.time()),
            )
        )

    def client_msg_ids(self, session_id: str, limit: int = 5000) -> list[str]:
        """The most recent processed client message ids of a session (blocking)."""
        rows = self._reader().execute(
            "SELECT client_msg_id FROM client_msgs WHERE session_id = ? ORDER BY created_at DESC LIMIT ?",
            (session_id, limit),
        )
        return [r[0] for r in rows]

    # -- settings --------------------------------------------------------------------------

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting (queued)."""
        self._enqueue(_Write("INSERT OR REPLACE INTO settings (key, value) VALUES (?,?)", (key, json.dumps(value))))

    def get_settings(self) -> dict[str, Any]:
        """Every stored setting (blocking)."""
        return {k: json.loads(v) for k, v in self._reader().execute("SELECT key, value FROM settings")}

    # -- worktrees -------------------------------------------------------------------------

    def save_worktree(self, session_id: str, repo_root: str, path: str, branch: str | None, temp_branch: str | None) -> None:
        """Record the worktree a session owns (queued)."""
        self._enqueue(
            _Write(
                "INSERT OR REPLACE INTO worktrees (session_id, repo_root, path, branch, temp_branch, created_at) "
                "VALUES (?,?,?,?,?,?)",
                (session_id, repo_root, path, branch, temp_branch, time.time()),
            )
        )

    def forget_worktree(self, session_id: str) -> None:
        """Drop a session's worktree record (queued)."""
        self._enqueue(_Write("DELETE FROM worktrees WHERE session_id = ?", (session_id,)))

    def worktrees(self) -> list[dict[str, Any]]:
        """Every tracked worktree (blocking)."""
        cur = self._reader().execute(
            "SELECT session_id, repo_root, path, branch, temp_branch, created_at FROM worktrees"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    # -- agents, runs, saved prompts ----------------------------------------------------------

    def save_agent(self, record: dict[str, Any], secret: str, on_commit: Callable[[], None] | None = None) -> None:
        """Insert or replace an agent definition and its webhook secret (queued)."""
        self._enqueue(_Write(
            "INSERT INTO agents (id, data, secret, created_at) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "data=excluded.data, secret=excluded.secret",
            (record["id"], json.dumps(record, separators=(",", ":")), secret, record["created_at"]), on_commit=on_commit))

    def delete_agent(self, agent_id: str) -> None:
        """Drop an agent (its runs stay, as history) (queued)."""
        self._enqueue(_Write("DELETE FROM agents WHERE id = ?", (agent_id,)))

    def load_agents(self) -> list[tuple[dict[str, Any], str]]:
        """Every agent with its secret, oldest first (blocking)."""
        rows = self._reader().execute("SELECT data, secret FROM agents ORDER BY created_at, id")
        return [(json.loads(data), secret) for data, secret in rows]

    def save_run(self, run: dict[str, Any], on_commit: Callable[[], None] | None = None) -> None:
        """Insert or replace a run record (queued)."""
        self._enqueue(_Write(
            "INSERT OR REPLACE INTO runs (id, agent_id, status, trigger, started_at, data) VALUES (?,?,?,?,?,?)",
            (run["id"], run["agent_id"], run["status"], run["trigger"], run["started_at"],
             json.dumps(run, separators=(",", ":"))), on_commit=on_commit))

    def runs(self, filters: dict[str, str], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Runs matching ``filters`` (``agent_id``, ``status``, ``trigger``), newest first, and
        how many match in all (blocking)."""
        clauses = [f"{column} = ?" for column in ("agent_id", "status", "trigger") if filters.get(column)]
        values = [filters[column] for column in ("agent_id", "status", "trigger") if filters.get(column)]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        reader = self._reader()
        total = int(reader.execute(f"SELECT COUNT(*) FROM runs{where}", values).fetchone()[0])  # noqa: S608
        rows = reader.execute(
            f"SELECT data FROM runs{where} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",  # noqa: S608
            [*values, limit, offset])
        return [json.loads(data) for (data,) in rows], total

    def runs_with_status(self, status: str) -> list[dict[str, Any]]:
        """Every run in one status (blocking)."""
        rows = self._reader().execute("SELECT data FROM runs WHERE status = ?", (status,))
        return [json.loads(data) for (data,) in rows]

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run, or None (blocking)."""
        row = self._reader().execute("SELECT data FROM runs WHERE id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_prompt(self, prompt: dict[str, Any]) -> None:
        """Insert or replace a saved prompt (queued)."""
        self._enqueue(_Write("INSERT OR REPLACE INTO prompts (id, name, data) VALUES (?,?,?)",
                             (prompt["id"], prompt["name"], json.dumps(prompt, separators=(",", ":")))))

    def delete_prompt(self, prompt_id: str) -> None:
        """Drop a saved prompt (queued)."""
        self._enqueue(_Write("DELETE FROM prompts WHERE id = ?", (prompt_id,)))

    def load_prompts(self) -> list[dict[str, Any]]:
        """Every saved prompt, by name (blocking)."""
        return [json.loads(data) for (data,) in self._reader().execute("SELECT data FROM prompts ORDER BY name")]


def _run_callbacks(callbacks: Iterable[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("store commit callback failed")
