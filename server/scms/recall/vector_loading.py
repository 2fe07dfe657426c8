"""Loading the vector index when the embedding model is ready: the saved one if it belongs to this store, else
rebuilt from the embeddings cached in the database; and the patterns still to embed."""

from __future__ import annotations

import numpy as np

from scms.recall.embeddings import Embedder
from scms.recall.vector_checks import decoded
from scms.recall.vectors import VectorIndex
from scms.store import queries
from scms.store.workspace import Workspace
from scms.text import content_hash

Missing = tuple[str, str, int, str]  # pattern id, tier, its last event, the text to embed


def load_vectors(ws: Workspace, embedder: Embedder,
                 notices: list[str]) -> tuple[VectorIndex, int, list[Missing], bool]:
    """The index as of the last event it includes, the patterns it lacks, and whether it differs from the
    saved one. Read on this thread's own connection, so that hovers never wait for it."""
    folder = ws.scms_dir / "index" / embedder.name
    with ws.db.read() as conn:
        newest = queries.newest_pattern_event(conn)
        try:
            saved = VectorIndex.load(folder, embedder.dim)
        except ValueError as err:
            saved = None
            notices.append(f"the vector index was unreadable ({err}); it is rebuilt from the patterns")
        trusted = saved is not None and saved[2] == queries.event_stamp(conn, saved[1])
        if trusted:
            index, newest = saved[0], saved[1]  # the next refresh catches up with every later change
        else:
            index = VectorIndex(embedder.dim)
        rows = [row for row in queries.live_patterns(conn, newest)  # all for a rebuild; else those still queued
                if row[0] not in index]
        texts = queries.pattern_texts(conn, [pattern_id for pattern_id, _, _ in rows])
        hashes = {pattern_id: content_hash(text) for pattern_id, text in texts.items()}
        known = queries.cached_embeddings(conn, embedder.name, set(hashes.values()))
    by_tier: dict[str, list[str]] = {}
    missing: list[Missing] = []
    usable = {key: vector for key, blob in known.items() if (vector := decoded(blob, embedder.dim)) is not None}
    for pattern_id, tier, event in rows:
        if hashes[pattern_id] in usable:
            by_tier.setdefault(tier, []).append(pattern_id)
        else:  # not cached, or its cached vector is damaged: embedded again
            missing.append((pattern_id, tier, event, texts[pattern_id]))
    for tier, ids in by_tier.items():
        index.add_many(ids, tier, np.stack([usable[hashes[pattern_id]] for pattern_id in ids]))
    return index, newest, missing, bool(by_tier) or not trusted
