"""The store's narrow read queries for the layers above it (recall, learning, the facade), so that SQL stays
in `store/`: what changed since an event, pattern texts and patterns by id, the event log's accepts and
rejects, counts; and the cache of embeddings by content hash and model. Each takes the connection of a
`Database.read()` (or, to write, the `Database`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from scms.model import Event, EventType, Pattern
from scms.text import pattern_text

CHUNK = 500  # values per `IN (…)`: well below SQLite's limit on bound parameters


class Changed(NamedTuple):
    """A pattern as of its last event, as the indexes follow it."""

    id: str
    tier: str
    terms: str
    last_event: int


class Judged(NamedTuple):
    """An accept or reject from the event log."""

    event_id: int
    type: str  # 'accepted' | 'rejected'
    pattern_id: str
    payload: dict[str, Any]


# following the store

def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits (comparable only between calls on the same connection)."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def changed_patterns(conn: sqlite3.Connection, since: int) -> list[Changed]:
    """Every pattern whose last event is after `since` (archived ones included)."""
    return [Changed(*row) for row in conn.execute(
        "SELECT id, tier, terms, last_event FROM patterns WHERE last_event > ?", (since,))]


def live_patterns(conn: sqlite3.Connection, until: int) -> list[tuple[str, str, int]]:
    """(id, tier, last event) of every pattern not archived whose last event is `until` or earlier."""
    return conn.execute("SELECT id, tier, last_event FROM patterns WHERE tier != 'archive' AND last_event <= ?",
                        (until,)).fetchall()


def newest_pattern_event(conn: sqlite3.Connection) -> int:
    """The last event any pattern reflects (0 for an empty store)."""
    return int(conn.execute("SELECT COALESCE(MAX(last_event), 0) FROM patterns").fetchone()[0])


def last_event_of(conn: sqlite3.Connection, pattern_id: str) -> int | None:
    """The last event of this pattern; None when there is no such pattern."""
    row = conn.execute("SELECT last_event FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
    return int(row[0]) if row else None


def pattern_texts(conn: sqlite3.Connection, pattern_ids: list[str]) -> dict[str, str]:
    """The text each of these patterns is embedded from (`scms.text.pattern_text`); unknown ids are left out."""
    rows = _in_chunks(conn, "SELECT id, json_extract(data, '$.title'), json_extract(data, '$.body'), "
                            "json_extract(data, '$.snippet') FROM patterns WHERE id IN ({})", pattern_ids)
    return {pattern_id: pattern_text(title or "", body or "", snippet or "")
            for pattern_id, title, body, snippet in rows}


def patterns_by_id(conn: sqlite3.Connection, pattern_ids: list[str]) -> dict[str, Pattern]:
    """These patterns as stored, in one query per few hundred; unknown ids are left out."""
    rows = _in_chunks(conn, "SELECT id, data FROM patterns WHERE id IN ({})", list(dict.fromkeys(pattern_ids)))
    return {pattern_id: Pattern.model_validate_json(data) for pattern_id, data in rows}


# the event log

def events_after(conn: sqlite3.Connection, event_id: int) -> list[Event]:
    """Every event logged after `event_id`, oldest first."""
    return [Event(id=row[0], ts=datetime.fromisoformat(row[1]), type=EventType(row[2]), pattern_id=row[3],
                  payload=json.loads(row[4]))
            for row in conn.execute("SELECT id, ts, type, pattern_id, payload FROM events WHERE id > ? ORDER BY id",
                                    (event_id,))]


def newest_event(conn: sqlite3.Connection) -> int:
    """The id of the last event logged (0 for an empty log)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])


def event_stamp(conn: sqlite3.Connection, event_id: int) -> str:
    """What identifies event `event_id` of this store ('' for none): its time, type and pattern. A file saved
    with the stamp of its last event is trusted only while the store still has that event (a replaced store
    renumbers its events)."""
    row = conn.execute("SELECT ts || ' ' || type || ' ' || pattern_id FROM events WHERE id = ?",
                       (event_id,)).fetchone()
    return row[0] if row else ""


def judgements_after(conn: sqlite3.Connection, event_id: int) -> list[Judged]:
    """The accepts and rejects logged after `event_id`, oldest first."""
    rows = conn.execute("SELECT id, type, pattern_id, payload FROM events WHERE id > ? AND type IN "
                        "('accepted', 'rejected') ORDER BY id", (event_id,)).fetchall()
    return [Judged(event, kind, pattern_id, json.loads(payload or "{}")) for event, kind, pattern_id, payload in rows]


def lesson_changed_after(conn: sqlite3.Connection, event_id: int) -> bool:
    """Whether a failure or anti-pattern that is not archived was changed after `event_id` (0: whether any
    exists); by the patterns' last-event index, so a later look reads only what changed since."""
    return bool(conn.execute(
        "SELECT EXISTS (SELECT 1 FROM patterns WHERE last_event > ? AND tier != 'archive' "
        "AND json_extract(data, '$.kind') IN ('failure', 'anti_pattern'))", (event_id,)).fetchone()[0])


def purged_after(conn: sqlite3.Connection, event_id: int) -> list[tuple[int, str]]:
    """(event id, pattern id) of the purges logged after `event_id`, oldest first."""
    return conn.execute("SELECT id, pattern_id FROM events WHERE id > ? AND type = 'purged' ORDER BY id",
                        (event_id,)).fetchall()


# counts

def judgements_count_after(conn: sqlite3.Connection, event_id: int) -> int:
    """How many accepts and rejects were logged after `event_id`."""
    return int(conn.execute("SELECT COUNT(*) FROM events WHERE id > ? AND type IN ('accepted', 'rejected')",
                            (event_id,)).fetchone()[0])


def tier_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Patterns per tier ('session', 'validated', 'archive'); tiers without patterns are left out."""
    return {tier: int(count) for tier, count in conn.execute("SELECT tier, COUNT(*) FROM patterns GROUP BY tier")}


def event_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


# the embedding cache (derived data: never part of the event log)

def cached_embedding(conn: sqlite3.Connection, model: str, key: str) -> bytes | None:
    """The embedding (raw float32 bytes) cached for this content hash and model."""
    row = conn.execute("SELECT vector FROM embeddings WHERE content_hash = ? AND model = ?", (key, model)).fetchone()
    return row[0] if row else None


def cached_embeddings(conn: sqlite3.Connection, model: str, keys: Iterable[str]) -> dict[str, bytes]:
    """The cached embeddings (raw float32 bytes) of those of these content hashes that have one."""
    return dict(_in_chunks(conn, "SELECT content_hash, vector FROM embeddings WHERE model = ? AND "
                                 "content_hash IN ({})", list(dict.fromkeys(keys)), (model,)))


def cache_embeddings(db, model: str, items: Iterable[tuple[str, bytes]]) -> None:
    """Cache these (content hash, raw float32 bytes) embeddings of `model`, in one write transaction of
    `db` (a `scms.store.db.Database`)."""
    rows = [(key, model, vector) for key, vector in items]
    if rows:
        with db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings (content_hash, model, vector) VALUES (?, ?, ?)", rows)


def _in_chunks(conn: sqlite3.Connection, sql: str, values: list[str], before: tuple = ()) -> list[tuple]:
    """The rows of `sql` with its `IN ({})` filled by these values, a few hundred at a time."""
    rows: list[tuple] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start:start + CHUNK]
        rows += conn.execute(sql.format(",".join("?" * len(chunk))), (*before, *chunk)).fetchall()
    return rows
