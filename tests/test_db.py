"""The SQLite file itself: WAL mode, the append-only event log, migrations from an older schema."""

from __future__ import annotations

import os
import sqlite3

import pytest

from conftest import COPYFILEOBJ_LINES, remember_lines
from scms.memory import Memory
from scms.store import db


def _connect(memory: Memory) -> sqlite3.Connection:
    return sqlite3.connect(memory.store_path, isolation_level=None)


def test_the_store_is_in_wal_mode_with_full_sync(memory: Memory):
    conn = _connect(memory)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert memory._ws.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'accepted'", "DELETE FROM events",
                                       "UPDATE events SET payload = '{}' WHERE id = 1"])
def test_events_refuse_update_and_delete(memory: Memory, statement):
    remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    conn = _connect(memory)
    try:
        before = conn.execute("SELECT * FROM events").fetchall()
        with pytest.raises(sqlite3.IntegrityError, match="events are append-only"):
            conn.execute(statement)
        assert conn.execute("SELECT * FROM events").fetchall() == before
    finally:
        conn.close()


def test_a_store_of_the_previous_schema_is_migrated_and_keeps_its_events(workspace, clock):
    memory = Memory.open(workspace, clock=clock)
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    memory.close()
    conn = sqlite3.connect(workspace / ".scms" / "scms.db", isolation_level=None)
    conn.execute("DROP TABLE pending_files")
    conn.execute("UPDATE patterns SET terms = 'copy fsrc fdst'")  # as schema 3 kept them: subwords only
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    again = Memory.open(workspace, clock=clock)
    try:
        assert again._ws.db.version == db.SCHEMA_VERSION == 4
        assert again.get(pattern.id) == pattern
        with again._ws.db.read() as read:
            terms = read.execute("SELECT terms FROM patterns").fetchone()[0].split()
        assert "=copyfileobj" in terms and "fsrc" in terms  # migration 4: whole names beside the subwords
        promoted = again.promote(pattern.id)
        assert len(list(again._ws.patterns_dir.glob(f"*-{promoted.id}.md"))) == 1
    finally:
        again.close()


def test_a_write_lock_held_elsewhere_is_waited_for_then_a_clear_busy(workspace, monkeypatch):
    from scms.errors import StoreBusy
    from conftest import store_snapshot

    monkeypatch.setattr(db, "BUSY_MS", 100)  # SQLite's wait per attempt: short, so the test is too
    memory = Memory.open(workspace)
    try:
        pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
        other = _connect(memory)  # another process's writer, holding the lock
        other.execute("BEGIN IMMEDIATE")
        before = store_snapshot(workspace)
        try:
            with pytest.raises(StoreBusy, match=r"is busy: another process .* try again"):
                memory.accept(pattern.id)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store_snapshot(workspace) == before
        assert memory.accept(pattern.id).accepted_uses == 1  # the lock gone, the same call works
    finally:
        memory.close()


def test_a_read_only_store_is_read_as_it_is_and_writes_say_why(workspace, monkeypatch):
    """A workspace SCMS cannot write (a read-only checkout or mount; as root only a read-only file system stops
    writes, so the check is made to say so here): recall and listing work, each write is one clear refusal."""
    from scms.errors import StoreError

    memory = Memory.open(workspace)
    try:
        pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks").id)
    finally:
        memory.close()
    scms_dir = str(workspace / ".scms")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path).startswith(scms_dir) and mode == os.W_OK
                        else real_access(path, mode))
    before = (workspace / ".scms" / "scms.db").read_bytes()
    memory = Memory.open(workspace)
    try:
        assert [p.id for p in memory.list()] == [pattern.id]
        assert memory.recall(pattern.snippet)[0].pattern.id == pattern.id
        assert any("is read-only" in warning for warning in memory.problems)
        with pytest.raises(StoreError, match="is read-only: SCMS shows and recalls the patterns"):
            memory.accept(pattern.id)
    finally:
        memory.close()
    assert (workspace / ".scms" / "scms.db").read_bytes() == before
