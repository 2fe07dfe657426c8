"""A store that cannot be used is moved aside, never silently replaced: an empty `scms.db`, one that is not a
database, or one marked damaged when a query found it malformed. A new store is made, the validated files
rebuild what they hold, and the user is told once what was recovered, what the kept copy holds and how to
put it back."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from scms.errors import StoreBusy, StoreError
from scms.store.db import MARK, Database, is_damage

def open_store(path: Path) -> tuple[Database, list[str]]:
    """The workspace's database, and what the user must hear about it (a store moved aside and why)."""
    why = _damage(path)
    if why is None:
        try:
            return Database(path), []
        except StoreBusy:
            raise
        except StoreError as err:
            if not is_damage(err.__cause__):
                raise
            why = f"it cannot be read ({err.__cause__})"
    kept, counts = _move_aside(path)
    database = Database(path)
    (path.parent / MARK).unlink(missing_ok=True)
    held = f" It held {counts}; those are lost from the new store" if counts else \
        " What it held (candidates, the archive, the event log) is lost from the new store"
    return database, [
        f".scms/scms.db was moved aside because {why}: it is kept as .scms/{kept.name}. A new store was made; "
        f"the validated patterns in .scms/patterns/ are read back into it.{held} unless you restore the copy: "
        f"stop SCMS (close the editor and any `scms mcp`), then rename .scms/{kept.name} to .scms/scms.db"]


def _damage(path: Path) -> str | None:
    """Why the store at `path` must be moved aside before it is opened (None: open it)."""
    if not path.exists():
        return None
    if path.stat().st_size == 0 and not _has_wal(path):
        return "it is empty (0 bytes)"
    if (path.parent / MARK).exists():
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
            try:
                result = conn.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.DatabaseError as err:
            if not is_damage(err):
                return None
            result = str(err)
        if result != "ok":
            return f"it is damaged ({result})"
        (path.parent / MARK).unlink(missing_ok=True)  # checked: sound after all
    return None


def _has_wal(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def _move_aside(path: Path) -> tuple[Path, str]:
    """Rename the store (and its WAL files) to `scms.db.damaged-<time>`; what it held, if it can still say."""
    counts = _counts(path)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(kept.with_name(kept.name + suffix))
    return kept, counts


def _counts(path: Path) -> str:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        try:
            tiers = dict(conn.execute("SELECT tier, COUNT(*) FROM patterns GROUP BY tier").fetchall())
            events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return ""
    return (f"{tiers.get('session', 0)} session candidates, {tiers.get('archive', 0)} archived patterns and "
            f"{events} events")
