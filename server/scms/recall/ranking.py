"""Ranking recalled patterns: lexical similarity, tier prior and retention fused, each with its reason."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from scms.config import Settings
from scms.model import Pattern, Tier
from scms.recall.lexical import LexicalIndex, query_terms
from scms.store.retention import retention

WEIGHTS = {"lexical": 0.75, "tier": 0.15, "retention": 0.10}


@dataclass
class Recalled:
    pattern: Pattern
    score: float
    similarity: float
    shared: list[str]
    reasons: list[str] = field(default_factory=list)


def recall(conn: sqlite3.Connection, index: LexicalIndex, text: str, *, settings: Settings, now: datetime,
           limit: int, context_hash: str | None = None) -> list[Recalled]:
    """Patterns relevant to this code, best first; nothing below the similarity threshold, nothing rejected here."""
    terms = query_terms(text)
    found: list[Recalled] = []
    for hit in index.search(terms, settings.recall.min_similarity, limit * 4):
        row = conn.execute("SELECT data FROM patterns WHERE id = ?", (hit.pattern_id,)).fetchone()
        if row is None:
            continue
        pattern = Pattern.model_validate_json(row[0])
        if pattern.tier is Tier.ARCHIVE or (context_hash and context_hash in pattern.rejected_contexts):
            continue
        kept = retention(pattern, now, settings.retention).score
        tier_prior = 1.0 if pattern.tier is Tier.VALIDATED else 0.5
        score = (WEIGHTS["lexical"] * hit.similarity + WEIGHTS["tier"] * tier_prior
                 + WEIGHTS["retention"] * min(1.0, kept))
        found.append(Recalled(pattern, round(score, 4), round(hit.similarity, 4), hit.shared,
                              _reasons(pattern, hit.similarity, hit.shared)))
    found.sort(key=lambda r: r.score, reverse=True)
    return found[:limit]


def _reasons(pattern: Pattern, sim: float, shared: list[str]) -> list[str]:
    listed = ", ".join(f"`{t}`" for t in shared[:8]) + (" …" if len(shared) > 8 else "")
    reasons = [f"shares {len(shared)} terms with this code ({listed}); similarity {sim:.2f}"]
    if pattern.tier is Tier.VALIDATED:
        reasons.append(f"validated by the team ({pattern.accepted_uses} accepted uses)")
    elif pattern.accepted_uses:
        reasons.append(f"candidate with {pattern.accepted_uses} accepted uses")
    else:
        reasons.append("new candidate, not used yet")
    return reasons
