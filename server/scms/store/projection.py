"""Events and their projection: append an event and fold it into the pattern rows, or replay them all."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from scms.model import Event, EventType, Evidence, Pattern, Status, Tier
from scms.text import index_terms

CONTENT_FIELDS = ("title", "body", "snippet", "kind", "languages", "tags")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def apply(pattern: Pattern | None, event: Event) -> Pattern | None:
    """The pure fold: the pattern after this event. Lifecycle checks make every event valid here."""
    ts, payload = event.ts, event.payload
    kind = event.type
    if kind is EventType.REMEMBERED:
        return Pattern.model_validate(
            {**payload["pattern"], "created": ts, "updated": ts, "decay_anchor": ts}
        )
    if kind is EventType.FILE_SYNCED and pattern is None:
        fields = payload["fields"]
        return Pattern.model_validate(
            {
                **fields,
                "id": event.pattern_id,
                "tier": Tier.VALIDATED,
                "status": Status.VALIDATED,
                "created": fields.get("created") or ts,
                "promoted": fields.get("promoted") or ts,
                "updated": ts,
                "decay_anchor": ts,
            }
        )
    if kind is EventType.IMPORTED:
        return pattern if pattern is not None else _imported(payload, ts)
    if pattern is None:
        return None
    p = pattern.model_copy(deep=True)
    p.updated = ts
    if kind is EventType.ACCEPTED:
        p.accepted_uses += 1
        p.last_accepted = ts
        p.decay_anchor = ts
        _add_evidence(p, payload.get("evidence"))
    elif kind is EventType.REJECTED:
        p.rejected_uses += 1
        context = payload.get("context_hash")
        if context and context not in p.rejected_contexts:
            p.rejected_contexts.append(context)
    elif kind is EventType.PROMOTED:
        p.tier = Tier.VALIDATED
        p.status = Status.VALIDATED if payload.get("auto") else Status.PROMOTED
        p.promoted = ts
    elif kind is EventType.DEMOTED:
        p.tier, p.status, p.promoted = Tier.SESSION, Status.CANDIDATE, None
        p.decay_anchor = ts
    elif kind in (EventType.FORGOTTEN, EventType.DECAYED, EventType.FILE_REMOVED, EventType.PURGED):
        p.tier, p.status = Tier.ARCHIVE, Status.ARCHIVED
    elif kind is EventType.RESTORED:
        p.tier, p.status, p.promoted = Tier.SESSION, Status.CANDIDATE, None
        p.decay_anchor = ts
    elif kind is EventType.REANCHORED:
        p.evidence = [Evidence.model_validate(e) for e in payload["evidence"]]
        if payload.get("snippet") is not None:
            p.snippet = payload["snippet"]
    elif kind is EventType.UPDATED:
        p = Pattern.model_validate({**p.model_dump(), **{k: v for k, v in payload["fields"].items()
                                                         if k in CONTENT_FIELDS}})
    elif kind is EventType.FILE_SYNCED:
        fields = payload["fields"]
        p = Pattern.model_validate({**p.model_dump(), **{k: fields[k] for k in CONTENT_FIELDS if k in fields}})
        if p.tier is not Tier.VALIDATED:
            p.tier, p.status = Tier.VALIDATED, Status.VALIDATED
            p.promoted = ts
            p.accepted_uses = max(p.accepted_uses, int(fields.get("accepted_uses", 0)))
    return p


def _imported(payload: dict[str, Any], ts: datetime) -> Pattern:
    """A pattern from an import: its tier, counts and dates as the source gave them; decay counts from the
    import (as from a restore), so an old but live memory is not archived by the next sweep."""
    created = payload.get("created") or ts
    return Pattern.model_validate({
        **payload["pattern"], "tier": payload["tier"], "status": payload["status"],
        "accepted_uses": payload.get("accepted_uses", 0), "last_accepted": payload.get("last_accepted"),
        "promoted": payload.get("promoted") or (ts if payload["tier"] == Tier.VALIDATED.value else None),
        "created": created, "updated": ts, "decay_anchor": ts,
    })


MAX_EVIDENCE = 50  # places kept per pattern; the others are counted (`more_evidence`)


def _add_evidence(p: Pattern, raw: dict[str, Any] | None) -> None:
    """One more place the pattern was used. Past MAX_EVIDENCE places, the kept set stays the most informative:
    a place in a file not cited yet replaces one of the most-cited file's later places; another place in a
    cited file is only counted. The first place (the code it was remembered from) always stays."""
    if raw is None:
        return
    evidence = Evidence.model_validate(raw)
    if evidence in p.evidence:
        return
    if len(p.evidence) < MAX_EVIDENCE:
        p.evidence.append(evidence)
        return
    by_file = Counter(e.file for e in p.evidence)
    if evidence.file in by_file:
        p.more_evidence += 1
        return
    crowded = max(by_file, key=lambda file: (by_file[file], file))
    drop = max(i for i, e in enumerate(p.evidence) if e.file == crowded and i > 0)
    del p.evidence[drop]
    p.evidence.append(evidence)
    p.more_evidence += 1


def append(conn: sqlite3.Connection, type_: EventType, pattern_id: str, payload: dict[str, Any],
           ts: datetime) -> tuple[Event, Pattern | None]:
    """Append one event inside the caller's transaction and update its pattern's projection."""
    blob = json.dumps(payload, sort_keys=True, default=str)
    cursor = conn.execute(
        "INSERT INTO events (ts, type, pattern_id, payload) VALUES (?, ?, ?, ?)",
        (ts.isoformat(), type_.value, pattern_id, blob),
    )
    event = Event(id=cursor.lastrowid, ts=ts, type=type_, pattern_id=pattern_id, payload=json.loads(blob))
    pattern = apply(load(conn, pattern_id), event)
    if pattern is not None:
        save(conn, pattern, event.id)
    return event, pattern


def load(conn: sqlite3.Connection, pattern_id: str) -> Pattern | None:
    row = conn.execute("SELECT data FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
    return Pattern.model_validate_json(row[0]) if row else None


def terms_of(pattern: Pattern) -> str:
    """The lexical terms the store keeps for a pattern (its `terms` column)."""
    return index_terms(pattern.title, pattern.body, pattern.snippet, " ".join(pattern.tags))


def refresh_terms(conn: sqlite3.Connection) -> None:
    """Recompute every pattern's terms from its row (a migration, when what the terms hold changes)."""
    rows = conn.execute("SELECT id, data FROM patterns").fetchall()
    conn.executemany("UPDATE patterns SET terms = ? WHERE id = ?",
                     [(terms_of(Pattern.model_validate_json(data)), pattern_id) for pattern_id, data in rows])


def save(conn: sqlite3.Connection, pattern: Pattern, event_id: int) -> None:
    terms = terms_of(pattern)
    conn.execute(
        "INSERT INTO patterns (id, tier, status, data, terms, last_event) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, status = excluded.status, "
        "data = excluded.data, terms = excluded.terms, last_event = excluded.last_event",
        (pattern.id, pattern.tier.value, pattern.status.value, pattern.model_dump_json(), terms, event_id),
    )


def events(conn: sqlite3.Connection, pattern_id: str | None = None) -> list[Event]:
    query = "SELECT id, ts, type, pattern_id, payload FROM events"
    args: tuple[Any, ...] = ()
    if pattern_id is not None:
        query += " WHERE pattern_id = ?"
        args = (pattern_id,)
    return [
        Event(id=row[0], ts=datetime.fromisoformat(row[1]), type=EventType(row[2]), pattern_id=row[3],
              payload=json.loads(row[4]))
        for row in conn.execute(query + " ORDER BY id", args)
    ]


def rebuild(conn: sqlite3.Connection) -> int:
    """Recompute every projection from the event log inside the caller's transaction; returns the count."""
    state: dict[str, tuple[Pattern, int]] = {}
    for event in events(conn):
        current = state.get(event.pattern_id)
        pattern = apply(current[0] if current else None, event)
        if pattern is not None:
            state[event.pattern_id] = (pattern, event.id)
    conn.execute("DELETE FROM patterns")
    for pattern, last_event in state.values():
        save(conn, pattern, last_event)
    return len(state)
