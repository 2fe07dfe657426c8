"""The SQLite database: opening in WAL mode, versioned schema migrations, and write transactions."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scms.errors import StoreBusy, StoreError

def _terms_with_names(conn: sqlite3.Connection) -> None:
    from scms.store.projection import refresh_terms  # the projection knows what a pattern's terms are

    refresh_terms(conn)


MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 1: the event log and the pattern projection (with its lexical terms)
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        type TEXT NOT NULL,
        pattern_id TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX events_by_pattern ON events (pattern_id, id);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TABLE patterns (
        id TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        status TEXT NOT NULL,
        data TEXT NOT NULL,
        terms TEXT NOT NULL,
        last_event INTEGER NOT NULL
    );
    CREATE INDEX patterns_by_tier ON patterns (tier);
    CREATE INDEX patterns_by_last_event ON patterns (last_event);
    """,
    # 2: a cache of embeddings by content hash and model (derived data, never part of the event log)
    """
    CREATE TABLE embeddings (
        content_hash TEXT NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (content_hash, model)
    ) WITHOUT ROWID;
    """,
    # 3: patterns whose file still has to follow a committed event (written or removed at once, else on next open)
    """
    CREATE TABLE pending_files (pattern_id TEXT PRIMARY KEY) WITHOUT ROWID;
    """,
    # 4: the lexical terms also hold whole identifiers (`=read_text`): recomputed from each pattern's row
    _terms_with_names,
]
SCHEMA_VERSION = len(MIGRATIONS)
MARK = "scms.db.damaged"  # written beside the store when a query finds it malformed: the next open checks it
DAMAGE = ("malformed", "not a database", "file is encrypted", "disk image")
BUSY_MS = 5000  # SQLite's own wait for another process's write lock, per attempt
ATTEMPTS = 3  # attempts to take the write lock, with a growing pause between them, before "busy" is said


class Database:
    """`.scms/scms.db` for threads: one writer connection (IMMEDIATE transactions, under a lock) and a reader
    connection per thread, so that a background thread's long read never holds up the thread answering hovers
    (in WAL mode reads wait neither for each other nor for a writer's fsync)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        # a workspace SCMS cannot write (a read-only checkout or mount): its store is read as it is, and every
        # write says why it cannot be made
        self.read_only = path.exists() and not (os.access(path.parent, os.W_OK) and os.access(path, os.W_OK))
        self._target: str | Path = f"file:{path}?mode=ro&immutable=1" if self.read_only else path
        try:
            self._open(path)
        except StoreError as err:  # a read-only file system says so only when written (even to root)
            if self.read_only or not path.exists() or not _read_only_error(err.__cause__):
                raise
            for conn in [getattr(self, "conn", None), *(reader[0] for reader in self._readers)]:
                if conn is not None:
                    conn.close()
            self._readers, self._local = [], threading.local()
            self.read_only, self._target = True, f"file:{path}?mode=ro&immutable=1"
            self._open(path)

    def _open(self, path: Path) -> None:
        try:
            self.conn = sqlite3.connect(self._target, isolation_level=None, timeout=10.0, check_same_thread=False,
                                        uri=self.read_only)
            self._check_version()
            if not self.read_only:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            if self.read_only and self.version < SCHEMA_VERSION:
                raise StoreError(f"{path} was written by an older SCMS and its folder is read-only, so it cannot "
                                 "be brought up to date; make .scms/ writable")
            if not self.read_only:
                self._migrate()
            self._reader()  # the opening thread's, now: a store that cannot be read fails here
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise StoreBusy(f"the SCMS store {path} is busy: another process holds it (an editor window, scms "
                                "mcp or the scms command). Nothing was changed; try again in a moment") from err
            raise StoreError(f"{path} cannot be used as the SCMS store: {err}") from err
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{path} cannot be used as the SCMS store: {err}") from err

    def _check_version(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise StoreError(
                f"{self.path} was written by a newer SCMS (schema {version}; this version knows "
                f"up to {SCHEMA_VERSION}); upgrade scms to use it"
            )

    def _migrate(self) -> None:
        with self.write():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                migration = MIGRATIONS[number]
                if callable(migration):
                    migration(self.conn)
                else:
                    for statement in _statements(migration):
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its start (BEGIN IMMEDIATE)."""
        if self.read_only:
            raise StoreError(f"{self.path.parent} is read-only: SCMS shows and recalls the patterns stored there but "
                             "cannot change them. Make the folder writable to remember, accept or promote")
        with self._lock:
            self._begin()
            try:
                yield self.conn
            except BaseException as err:
                self.conn.execute("ROLLBACK")
                if is_damage(err):
                    raise mark_damaged(self.path, err) from err
                raise
            else:
                self.conn.execute("COMMIT")

    def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting out another process's write (the language server, `scms mcp`, the CLI):
        SQLite waits BUSY_MS each time, and a lock still held after ATTEMPTS is a clear StoreBusy."""
        for attempt in range(ATTEMPTS):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if attempt + 1 < ATTEMPTS:
                    time.sleep(0.05 * (2 ** attempt) * (1 + random.random()))
        raise StoreBusy(f"the SCMS store {self.path} is busy: another process (an editor window, scms mcp or "
                        f"the scms command) has held its write lock for over {ATTEMPTS * BUSY_MS // 1000} s. "
                        "Nothing was changed; try again in a moment (the store itself is fine)")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """This thread's read connection (query-only; its lock is only ever contended by `close`)."""
        conn, lock = self._reader()
        with lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            try:
                yield conn
            except sqlite3.DatabaseError as err:
                if is_damage(err):
                    raise mark_damaged(self.path, err) from err
                raise

    def _reader(self) -> tuple[sqlite3.Connection, threading.RLock]:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            with self._readers_lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                conn = sqlite3.connect(self._target, isolation_level=None, timeout=10.0, check_same_thread=False,
                                       uri=self.read_only)
                conn.execute("PRAGMA query_only = ON")
                conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
                reader = self._local.reader = (conn, threading.RLock())
                self._readers.append(reader)
        return reader

    def close(self) -> None:
        with self._lock:
            with self._readers_lock:
                self._closed = True
                readers, self._readers = self._readers, []
            for conn, lock in readers:
                with lock:
                    conn.close()
            self.conn.close()


def _read_only_error(err: BaseException | None) -> bool:
    return isinstance(err, sqlite3.OperationalError) and any(
        words in str(err) for words in ("readonly", "read-only", "unable to open database file"))


def is_damage(err: BaseException | None) -> bool:
    return isinstance(err, sqlite3.DatabaseError) and any(word in str(err) for word in DAMAGE)


def mark_damaged(path: Path, err: BaseException) -> StoreError:
    """Remember that a query found the store malformed (the next open checks it and moves it aside if so)."""
    try:
        (path.parent / MARK).write_text(f"{err}\n", encoding="utf-8")
    except OSError:
        pass
    return StoreError(f"the SCMS store {path} is damaged ({err}). Open it again (restart the server, or run "
                      "`scms status`): SCMS moves the damaged file aside, keeps it, and rebuilds the store from the "
                      "validated patterns")


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
