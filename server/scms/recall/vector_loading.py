"""Loading the vector index when the embedding model is ready: the saved one if it belongs to this store, else
rebuilt from the embeddings cached in the database; and the patterns still to embed."""

from __future__ import annotations

import sqlite3

import numpy as np

from scms.recall import lexical_snapshot
from scms.recall.embeddings import Embedder
from scms.recall.engine import pattern_text
from scms.recall.vectors import VectorIndex
from scms.store.text import content_hash
from scms.store.workspace import Workspace

Job = tuple[str, str, str, str]


def load_vectors(ws: Workspace, embedder: Embedder, notices: list[str]) -> tuple[VectorIndex, int, list[Job], bool]:
    """The index as of the last event it includes, the jobs that embed what it lacks, and whether it differs
    from the saved one. Built on a connection of its own, so that hovers never wait for it."""
    folder = ws.scms_dir / "index" / embedder.name
    conn = sqlite3.connect(f"file:{ws.db.path}?mode=ro", uri=True, timeout=10.0)
    try:
        newest = conn.execute("SELECT COALESCE(MAX(last_event), 0) FROM patterns").fetchone()[0]
        try:
            saved = VectorIndex.load(folder, embedder.dim)
        except ValueError as err:
            saved = None
            notices.append(f"the vector index was unreadable ({err}); it is rebuilt from the patterns")
        trusted = saved is not None and saved[2] == lexical_snapshot.event_stamp(conn, saved[1])
        if trusted:
            index, newest = saved[0], saved[1]  # the next refresh catches up with every later change
        else:
            index = VectorIndex(embedder.dim)
        rows = [row for row in conn.execute(  # all of them for a rebuild; else those saved while still queued
            "SELECT id, tier FROM patterns WHERE tier != 'archive' AND last_event <= ?", (newest,))
            if row[0] not in index]
        texts = _pattern_texts(conn, [pattern_id for pattern_id, _ in rows])
        hashes = {pattern_id: content_hash(text) for pattern_id, text in texts.items()}
        known = _cached_vectors(conn, embedder.name, list(set(hashes.values())))
        by_tier: dict[str, list[str]] = {}
        missing: list[Job] = []
        for pattern_id, tier in rows:
            if len(known.get(hashes[pattern_id], b"")) == 4 * embedder.dim:
                by_tier.setdefault(tier, []).append(pattern_id)
            else:
                missing.append(("pattern", hashes[pattern_id], texts[pattern_id], f"{pattern_id}\t{tier}"))
        for tier, ids in by_tier.items():
            matrix = np.frombuffer(b"".join(known[hashes[pattern_id]] for pattern_id in ids), dtype=np.float32)
            index.add_many(ids, tier, matrix.reshape(len(ids), embedder.dim))
        return index, newest, missing, bool(by_tier) or not trusted
    finally:
        conn.close()


def _pattern_texts(conn: sqlite3.Connection, pattern_ids: list[str]) -> dict[str, str]:
    """The text each of these patterns is embedded from."""
    rows = _in_chunks(conn, "SELECT id, json_extract(data, '$.title'), json_extract(data, '$.body'), "
                            "json_extract(data, '$.snippet') FROM patterns WHERE id IN ({})", pattern_ids)
    return {pattern_id: pattern_text(title, body, snippet) for pattern_id, title, body, snippet in rows}


def _cached_vectors(conn: sqlite3.Connection, model: str, hashes: list[str]) -> dict[str, bytes]:
    """The cached embeddings (raw float32 bytes) of these content hashes."""
    return dict(_in_chunks(conn, "SELECT content_hash, vector FROM embeddings WHERE model = ? AND "
                                 "content_hash IN ({})", hashes, (model,)))


def _in_chunks(conn: sqlite3.Connection, sql: str, values: list[str], before: tuple = ()) -> list[tuple]:
    """The rows of `sql` with its `IN ({})` filled by these values, a few hundred at a time."""
    rows: list[tuple] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        rows += conn.execute(sql.format(",".join("?" * len(chunk))), (*before, *chunk)).fetchall()
    return rows
