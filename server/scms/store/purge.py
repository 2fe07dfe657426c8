"""Purging a pattern remembered by mistake (a secret in it): its title, note, snippet, reasons and evidence are
taken out of every event that holds them and replaced by hashes, a `purged` event records it, and the store
file is rewritten so that no copy of the text is left in `.scms/` (freed pages zeroed, the WAL truncated,
the file vacuumed). The event log is otherwise append-only; this is its one sanctioned rewrite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scms.errors import InvalidState
from scms.model import EventType, Pattern, Tier
from scms.store import files, projection
from scms.store.lifecycle import pattern_in
from scms.store.workspace import Workspace
from scms.text import content_hash

PURGED_TITLE = "(purged)"
TEXTS = ("title", "body", "snippet", "reason", "note", "text", "source")
GUARD = ("CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events "
         "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END")


def purge(ws: Workspace, pattern_id: str) -> tuple[Pattern, str, bool]:
    """Scrub the pattern's text from the store; the pattern (archived, its text gone), its old title (so that
    the caller can scrub the other copies: session reports, rule files) and whether no old page is left."""
    with ws.db.write() as conn:
        pattern = pattern_in(conn, pattern_id)
        if pattern.title == PURGED_TITLE:
            raise InvalidState(f"pattern {pattern_id} is already purged")
        conn.execute("PRAGMA secure_delete = ON")  # pages freed from now on are zeroed
        conn.execute("DROP TRIGGER events_append_only_update")
        try:
            for event_id, payload in conn.execute("SELECT id, payload FROM events WHERE pattern_id = ?",
                                                  (pattern.id,)).fetchall():
                conn.execute("UPDATE events SET payload = ? WHERE id = ?",
                             (json.dumps(_scrubbed(json.loads(payload)), sort_keys=True), event_id))
        finally:
            conn.execute(GUARD)
        projection.append(conn, EventType.PURGED, pattern.id,
                          {"was": pattern.tier.value, "title_hash": content_hash(pattern.title)}, ws.clock())
        projection.rebuild(conn)
    if pattern.tier is Tier.VALIDATED:
        files.remove(ws.patterns_dir, pattern.id)
    clean = _rewrite(ws)
    with ws.db.read() as conn:
        after = projection.load(conn, pattern.id)
    assert after is not None
    return after, pattern.title, clean


def _scrubbed(value: Any, key: str = "") -> Any:
    """The payload with every text field replaced by its hash, titles and tags by '(purged)', and the files of
    its evidence by '(purged)' (their content hashes stay: `rebuild` still works)."""
    if isinstance(value, dict):
        out = {k: _scrubbed(v, k) for k, v in value.items()}
        if "content_hash" in out and "file" in out:
            out["file"] = "(purged)"
        return out
    if isinstance(value, list):
        return [_scrubbed(v, key) for v in value]
    if isinstance(value, str) and key in ("title", "tags"):
        return PURGED_TITLE
    if isinstance(value, str) and key in TEXTS and value:
        return f"(purged {content_hash(value)})"
    return value


def _rewrite(ws: Workspace) -> bool:
    """No old page of the store left anywhere: the file vacuumed, the WAL checkpointed and truncated. False
    when another process (an editor window, `scms mcp`) still reads an old snapshot: its WAL pages go when it
    next checkpoints."""
    conn = ws.db.conn
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("VACUUM")
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return not busy


def texts_of(ws: Workspace, pattern_id: str) -> list[str]:
    """Every text the pattern's events hold (title, note, snippet, tags, reasons), longest first: what the
    other copies (session reports) must lose too."""
    found: set[str] = set()

    def collect(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k)
        elif isinstance(value, list):
            for v in value:
                collect(v, key)
        elif isinstance(value, str) and key in (*TEXTS, "tags") and len(value.strip()) >= 4:
            found.add(value)

    with ws.db.read() as conn:
        for event in projection.events(conn, pattern_id):
            collect(event.payload)
    return sorted(found, key=len, reverse=True)


def scrub_file(path: Path, pattern_id: str, texts: list[str]) -> bool:
    """A local report SCMS wrote, without the pattern: its lines naming it replaced, its texts removed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    named = f"(`{pattern_id}`)"
    lines = [f"- **{PURGED_TITLE}** {named}" if named in line else line for line in text.split("\n")]
    cleaned = "\n".join(lines)
    for old in texts:
        cleaned = cleaned.replace(old, PURGED_TITLE)
    if cleaned == text:
        return False
    from scms.atomic import atomic_write

    atomic_write(path, cleaned)
    return True
