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
from scms.recall.lexical import query_terms, shown

# relevance = EMBEDDING * cosine + (1 - EMBEDDING) * term-set similarity, when the context has a vector
EMBEDDING = 0.2  # chosen on the dev half of the quality benchmark (MRR 0.474 at 0.2, 0.473 at 0.3, 0.449 at 0.5)
WEIGHTS = {"relevance": 0.75, "tier": 0.15, "retention": 0.10}
MODES = ("fused", "lexical", "embeddings")
MODEL = 0.25  # weight of the memory model's shift, chosen by the continual-learning benchmark
LEARNED = 0.5  # weight of the memory model's shift inside fused relevance, chosen by benchmarks/learning_fused.py
SECOND = 0.25  # weight of a pattern's second-best key, chosen on the idiom benchmark's tune projects (0, 0.25, 0.5, 0.75, 1)
EXEMPLAR_ROWS = 8  # accepted contexts scored per candidate a recall pools


class Learned(Protocol):
    """What was learned from accepted uses (scms.learn.service.ModelService)."""

    def exemplar_hits(self, vector: np.ndarray, rows: int) -> list: ...  # scms.learn.exemplars.Near

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
    keys = _exemplar_keys(engine, learned, vector, terms, pool, mode)
    minimum = settings.recall.min_similarity if threshold is None else threshold
    candidates: dict[str, tuple[float, float | None]] = {}
    stored: dict[str, np.ndarray] = {}  # candidates' vectors: those faiss did not score, or all for the model
    closest = sorted(keys, key=lambda p: -max(keys[p]))[:limit]
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
            own = cosine or 0.0
        elif cosine is not None:
            own = EMBEDDING * cosine + (1 - EMBEDDING) * lexical
        else:
            own = lexical
        relevance = _with_exemplars(own, keys.get(pattern_id, []))
        gain = relevance - own + (LEARNED if mode == "fused" else 1.0) * MODEL * shifts.get(pattern_id, 0.0)
        relevance = own + gain
        if relevance >= minimum:
            scored.append((relevance, pattern_id, lexical, cosine, gain, own))
    # the tier and retention can lift a pattern by at most 0.25 of score: only the most relevant few need loading
    scored.sort(reverse=True)
    found: list[Recalled] = []
    loaded: dict[str, Pattern] = {}
    asked = 0  # patterns of `scored` loaded so far: `limit` of them first, then twice as many each time
    for position, (relevance, pattern_id, lexical, cosine, gain, own) in enumerate(scored):
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
        shared = shown(engine.lexical.shared(terms, pattern_id))
        found.append(Recalled(pattern, round(score, 4), round(relevance, 4), shared,
                              _reasons(pattern, lexical, cosine, own, shared, keys.get(pattern_id, []),
                                       shifts.get(pattern_id)),
                              None if cosine is None else round(cosine, 4), round(lexical, 4), round(gain, 4)))
    found.sort(key=lambda r: r.score, reverse=True)
    return found[:limit]


def _exemplar_keys(engine, learned: Learned | None, vector: np.ndarray | None, terms: list[str], pool: int,
                   mode: str) -> dict[str, list[float]]:
    """The relevance of each accepted context close to this one, by the pattern it was accepted for: scored as
    the pattern itself is (embedding and lexical; embedding alone in embeddings mode)."""
    if learned is None or vector is None:
        return {}
    near = [n for n in learned.exemplar_hits(vector, EXEMPLAR_ROWS * pool)
            if n.owner in engine.vectors]  # an archived pattern's accepted contexts do not count
    cosines = np.array([n.cosine for n in near])
    if mode == "embeddings":
        scores = cosines
    else:
        scores = EMBEDDING * cosines + (1 - EMBEDDING) * engine.lexical.similarities_to(terms, [n.terms for n in near])
    keys: dict[str, list[float]] = {}
    for n, score in zip(near, scores.tolist()):
        keys.setdefault(n.owner, []).append(score)
    return keys


def _with_exemplars(own: float, keys: list[float]) -> float:
    """A pattern's relevance once it has accepted contexts: its best key (itself or one of them) plus SECOND
    times the next best, so that several accepted places like this code count for more than one; never less
    than its own."""
    if not keys:
        return own
    first, second = sorted([own, *keys], reverse=True)[:2]
    return max(own, first + SECOND * second)


def _reasons(pattern: Pattern, lexical: float, cosine: float | None, own: float, shared: list[str],
             keys: list[float], shift: float | None) -> list[str]:
    reasons = []
    if cosine is not None:
        reasons.append(f"similar in meaning (embedding cosine {cosine:.2f})")
    if shared:
        listed = ", ".join(f"`{t}`" for t in shared[:8]) + (" …" if len(shared) > 8 else "")
        reasons.append(f"shares {_count(len(shared), 'term')} with this code ({listed}); similarity {lexical:.2f}")
    closer = [key for key in keys if key >= own]  # accepted places at least as like this code as the pattern is
    if closer:
        reasons.append(f"like code where it was accepted before ({_count(len(closer), 'place')} as close as the "
                       f"pattern or closer, best {max(closer):.2f})")
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
