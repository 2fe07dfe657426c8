"""Ranking recalled patterns: embedding and lexical similarity, what was learned from accepted uses
(exemplars and the memory model), tier prior and retention, fused into one score with the reasons."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from scms.config import Settings
from scms.model import Pattern, Tier
from scms.recall.lexical import query_terms

# relevance = EMBEDDING * cosine + (1 - EMBEDDING) * term-set similarity, when the context has a vector
EMBEDDING = 0.2  # chosen on the dev half of the quality benchmark (MRR 0.474 at 0.2, 0.473 at 0.3, 0.449 at 0.5)
WEIGHTS = {"relevance": 0.75, "tier": 0.15, "retention": 0.10}
MODES = ("fused", "lexical", "embeddings")
MODEL = 0.25  # weight of the memory model's shift, chosen by the continual-learning benchmark
LEARNED = 0.5  # weight of the learned gain inside fused relevance, chosen by benchmarks/learning_fused.py


class Learned(Protocol):
    """What was learned from accepted uses (scms.learn.service.ModelService)."""

    def exemplar_hits(self, vector: np.ndarray, limit: int) -> dict[str, float]: ...

    def shift(self, vector: np.ndarray, candidates: dict[str, np.ndarray]) -> dict[str, float]: ...


@dataclass
class Recalled:
    pattern: Pattern
    score: float
    similarity: float
    shared: list[str]
    reasons: list[str] = field(default_factory=list)
    embedding: float | None = None
    lexical: float = 0.0
    learned: float = 0.0


def recall(conn: sqlite3.Connection, engine, text: str, *, settings: Settings, now: datetime, limit: int,
           context_hash: str | None = None, mode: str = "fused",
           learned: Learned | None = None, threshold: float | None = None) -> list[Recalled]:
    """Patterns relevant to this code, best first; none below the threshold, none rejected in this context."""
    from scms.store import queries
    from scms.store.retention import retention

    terms = query_terms(text)
    pool = max(limit * 4, 20)
    lexical_hits = {h.pattern_id: h for h in engine.lexical.search(terms, 1e-9, pool)} if mode != "embeddings" else {}
    vector = engine.context_vector(conn, text) if mode != "lexical" else None
    cosines = dict(engine.vectors.search(vector, pool)) if vector is not None else {}
    exemplars = learned.exemplar_hits(vector, pool) if learned and vector is not None else {}
    minimum = settings.recall.min_similarity if threshold is None else threshold
    candidates: dict[str, tuple[float, float | None]] = {}
    stored: dict[str, np.ndarray] = {}  # candidates' vectors: those faiss did not score, or all for the model
    closest = [p for p in exemplars if p in engine.vectors][:limit]  # archived patterns' exemplars do not count
    pooled = set(lexical_hits) | set(cosines) | set(closest)
    if vector is not None:
        stored = engine.vectors.vectors_of([p for p in pooled if learned or p not in cosines])
    for pattern_id in pooled:
        hit = lexical_hits.get(pattern_id)
        lexical = hit.similarity if hit else engine.lexical.similarity(terms, pattern_id)
        cosine = cosines.get(pattern_id)
        if cosine is None and pattern_id in stored:
            cosine = float(stored[pattern_id] @ vector)
        candidates[pattern_id] = (lexical, cosine)
    shifts = learned.shift(vector, stored) if learned and vector is not None else {}
    scored = []
    for pattern_id, (lexical, cosine) in candidates.items():
        if mode == "embeddings":
            relevance = cosine or 0.0
        elif cosine is not None:
            relevance = EMBEDDING * cosine + (1 - EMBEDDING) * lexical
        else:
            relevance = lexical
        gain = _learned_gain(cosine, exemplars.get(pattern_id), shifts.get(pattern_id))
        gain *= LEARNED if mode == "fused" else 1.0
        relevance += gain
        if relevance >= minimum:
            scored.append((relevance, pattern_id, lexical, cosine, gain))
    # the tier and retention can lift a pattern by at most 0.25 of score: only the most relevant few need loading
    scored.sort(reverse=True)
    found: list[Recalled] = []
    loaded: dict[str, Pattern] = {}
    asked = 0  # patterns of `scored` loaded so far: `limit` of them first, then twice as many each time
    for position, (relevance, pattern_id, lexical, cosine, gain) in enumerate(scored):
        if len(found) >= limit and found and relevance * WEIGHTS["relevance"] + 0.25 < min(r.score for r in found):
            break
        if position >= asked:
            more = max(limit, asked)
            loaded.update(queries.patterns_by_id(conn, [hit[1] for hit in scored[asked:asked + more]]))
            asked += more
        pattern = loaded.get(pattern_id)
        if pattern is None:
            continue
        if pattern.tier is Tier.ARCHIVE or (context_hash and context_hash in pattern.rejected_contexts):
            continue
        kept = retention(pattern, now, settings.retention).score
        tier_prior = 1.0 if pattern.tier is Tier.VALIDATED else 0.5
        score = (WEIGHTS["relevance"] * relevance + WEIGHTS["tier"] * tier_prior
                 + WEIGHTS["retention"] * min(1.0, kept))
        shared = engine.lexical.shared(terms, pattern_id)
        found.append(Recalled(pattern, round(score, 4), round(relevance, 4), shared,
                              _reasons(pattern, lexical, cosine, shared, exemplars.get(pattern_id),
                                       shifts.get(pattern_id)),
                              None if cosine is None else round(cosine, 4), round(lexical, 4), round(gain, 4)))
    found.sort(key=lambda r: r.score, reverse=True)
    return found[:limit]


def _learned_gain(cosine: float | None, exemplar: float | None, shift: float | None) -> float:
    """What accepted uses add: how much closer an accepted context is than the pattern itself, and the
    memory model's shift of the pattern's cosine (both in cosine units, added to relevance)."""
    gain = max(0.0, exemplar - (cosine or 0.0)) if exemplar is not None else 0.0
    return gain + MODEL * (shift or 0.0)


def _reasons(pattern: Pattern, lexical: float, cosine: float | None, shared: list[str],
             exemplar: float | None, shift: float | None) -> list[str]:
    reasons = []
    if cosine is not None:
        reasons.append(f"similar in meaning (embedding cosine {cosine:.2f})")
    if shared:
        listed = ", ".join(f"`{t}`" for t in shared[:8]) + (" …" if len(shared) > 8 else "")
        reasons.append(f"shares {_count(len(shared), 'term')} with this code ({listed}); similarity {lexical:.2f}")
    if exemplar is not None and exemplar > (cosine or 0.0):
        reasons.append(f"like code where it was accepted before (cosine {exemplar:.2f})")
    if shift is not None and abs(MODEL * shift) >= 0.01:
        reasons.append(f"memory model learned from accepts and rejects ({MODEL * shift:+.2f})")
    if pattern.tier is Tier.VALIDATED:
        reasons.append(f"validated by the team ({_count(pattern.accepted_uses, 'accepted use')})")
    elif pattern.accepted_uses:
        reasons.append(f"candidate with {_count(pattern.accepted_uses, 'accepted use')}")
    else:
        reasons.append("new candidate, not used yet")
    return reasons


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
