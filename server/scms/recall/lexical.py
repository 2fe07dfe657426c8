"""Lexical recall over the FTS5 index: distinctive subwords of the context, bm25 candidates, set similarity."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter

from scms.store.text import subwords

# Keywords and filler that every file shares; they say nothing about which pattern applies.
STOPWORDS = frozenset(
    """
    and any are args as assert async await break case catch char class const continue def default del do
    elif else enum err error except export extends false final finally for from func function get go if impl
    import in int interface is kwargs lambda let new nil none not null of or pass pub public private protected
    raise return self static str string struct super switch the this throw throws true try type typeof use
    val var void while with yield len value values result res obj item items key data
    """.split()
)


def query_terms(text: str, limit: int = 32) -> list[str]:
    """The context's distinctive subwords, most frequent first."""
    counts = Counter(w for w in subwords(text) if len(w) >= 3 and w not in STOPWORDS and not w.isdigit())
    return [word for word, _ in counts.most_common(limit)]


def candidates(conn: sqlite3.Connection, terms: list[str], limit: int = 40) -> list[tuple[str, set[str], float]]:
    """Patterns sharing any of the terms, best bm25 first, with their own term sets."""
    if not terms:
        return []
    match = "terms : (" + " OR ".join(f'"{t}"' for t in terms) + ")"
    rows = conn.execute(
        "SELECT id, terms, bm25(patterns_fts) FROM patterns_fts WHERE patterns_fts MATCH ? ORDER BY rank LIMIT ?",
        (match, limit),
    ).fetchall()
    return [(row[0], _distinctive(row[1]), -float(row[2])) for row in rows]


def _distinctive(terms: str) -> set[str]:
    return {t for t in terms.split() if len(t) >= 3 and t not in STOPWORDS and not t.isdigit()}


def similarity(context: set[str], pattern: set[str]) -> float:
    """Cosine similarity of the two term sets: 1 when identical, 0 when disjoint."""
    if not context or not pattern:
        return 0.0
    return len(context & pattern) / math.sqrt(len(context) * len(pattern))
