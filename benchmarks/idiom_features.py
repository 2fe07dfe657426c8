"""The idiom study's inputs: dense features of every (query, pattern) and (accepted context, pattern) pair, read
from the open memory before any accept (the vectors faiss holds, the lexical index's similarities, the memory
model's initial weights), and the signals the study adds: called APIs and identifiers as IDF-weighted sets, and
accepted contexts' own terms (for exemplars that are full keys), and how much of a hub each pattern and accepted
context is (its mean relevance to its nearest patterns)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from scms.recall import ranking
from scms.recall.lexical import LexicalIndex, query_terms
from scms.text import NAME_MARK, names

HUB = 10  # neighbours a hub score averages over (as CSLS, cross-domain similarity local scaling, takes them)


@dataclass
class Features:
    ids: list[str]  # pattern ids, in the store's order
    P: np.ndarray  # pattern vectors [patterns, d]
    Q: np.ndarray  # query vectors [queries, d]
    C: np.ndarray  # accepted contexts' vectors [accepts, d], in accept order
    wanted: np.ndarray  # pattern index each query should find
    target: np.ndarray  # pattern index of each accept
    phase: np.ndarray  # phase of each accept
    project_q: np.ndarray  # project of each query
    project_c: np.ndarray  # project of each accept
    lex: dict[str, np.ndarray]  # "Q": [queries, patterns], "C": [accepts, patterns], "QC", "CC": against contexts
    calls: dict[str, np.ndarray]  # the same four, for called names
    idents: dict[str, np.ndarray]  # the same four, for identifiers
    layer: object  # the memory layer as it was before any accept
    background: object
    hub_p: np.ndarray  # each pattern's mean relevance to its HUB nearest other patterns
    hub_c: np.ndarray  # each accepted context's mean relevance to its HUB nearest patterns


def extract(memory, bench) -> Features:
    engine, learning = memory._engine, memory._learning
    ids = [pid for pid, _, _ in bench.patterns]
    index = {pid: i for i, pid in enumerate(ids)}
    with engine.lock:
        stored = engine.vectors.vectors_of(ids)
    P = np.stack([stored[pid] for pid in ids]).astype(np.float32)
    accepts = [a for phase in bench.accepts for a in phase]
    Q = np.stack([engine.embed_context(q.text) for q in bench.queries]).astype(np.float32)
    C = np.stack([engine.embed_context(code) for _, _, code in accepts]).astype(np.float32)
    query_texts, context_texts = [q.text for q in bench.queries], [code for _, _, code in accepts]
    lex = {"Q": _lexical(engine.lexical, query_texts, ids), "C": _lexical(engine.lexical, context_texts, ids)}
    # exemplars' lexical match, as ranking scores it: the context's query terms against the pattern index's IDFs
    context_terms = [tuple(query_terms(t)) for t in context_texts]
    lex["QC"] = _against(engine.lexical, query_texts, context_terms)
    lex["CC"] = _against(engine.lexical, context_texts, context_terms)
    pattern_units = [unit for _, _, unit in bench.patterns]
    calls = _sets([set(u.calls) for u in pattern_units], [set(q.unit.calls) for q in bench.queries],
                  [set(u.calls) for _, u, _ in accepts])
    idents = _sets([_identifiers(t) for _, t, _ in bench.patterns], [_identifiers(t) for t in query_texts],
                   [_identifiers(t) for t in context_texts])
    pattern_lex = _lexical(engine.lexical, [text for _, text, _ in bench.patterns], ids)
    pattern_rel = _relevance(P @ P.T, pattern_lex)
    np.fill_diagonal(pattern_rel, -np.inf)
    return Features(ids, P, Q, C, np.array([index[q.wanted] for q in bench.queries]),
                    np.array([index[pid] for pid, _, _ in accepts]),
                    np.array([p for p, phase in enumerate(bench.accepts) for _ in phase]),
                    np.array([q.project for q in bench.queries]), np.array([u.project for _, u, _ in accepts]),
                    lex, calls, idents, copy.deepcopy(learning.learner.layer), learning.learner.background,
                    _hubness(pattern_rel), _hubness(_relevance(C @ P.T, lex["C"])))


def _relevance(cosines: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    return ranking.EMBEDDING * cosines + (1 - ranking.EMBEDDING) * lexical


def _hubness(relevance: np.ndarray) -> np.ndarray:
    """Each row's mean relevance to its HUB most relevant columns."""
    return np.sort(relevance, axis=1)[:, -HUB:].mean(axis=1).astype(np.float32)


def _lexical(index: LexicalIndex, texts: list[str], keys: list[str]) -> np.ndarray:
    """The index's IDF-weighted cosine of each text's query terms with each key's row (0 where nothing is shared)."""
    position = {k: i for i, k in enumerate(keys)}
    out = np.zeros((len(texts), len(keys)), dtype=np.float32)
    for row, text in enumerate(texts):
        for hit in index.search(query_terms(text), 1e-9, len(index)):
            column = position.get(hit.pattern_id)
            if column is not None:
                out[row, column] = hit.similarity
    return out


def _against(index: LexicalIndex, texts: list[str], others: list[tuple[str, ...]]) -> np.ndarray:
    """`index.similarities_to` of each text's query terms with each term set, as ranking scores exemplars."""
    return np.stack([index.similarities_to(query_terms(text), others) for text in texts]).astype(np.float32)


def _identifiers(code: str) -> set[str]:
    return {name[len(NAME_MARK):] for name in names(code)}


def _sets(patterns: list[set[str]], queries: list[set[str]], contexts: list[set[str]]) -> dict[str, np.ndarray]:
    """IDF-weighted cosine of sets (IDF over the patterns), as the four dense matrices."""
    vocabulary: dict[str, int] = {}
    for group in (patterns, queries, contexts):
        for items in group:
            for item in items:
                vocabulary.setdefault(item, len(vocabulary))
    df = np.zeros(len(vocabulary))
    for items in patterns:
        for item in items:
            df[vocabulary[item]] += 1
    idf = np.log((len(patterns) + 1) / (df + 1)) + 1

    def matrix(group: list[set[str]]) -> sparse.csr_matrix:
        rows = [i for i, items in enumerate(group) for _ in items]
        cols = [vocabulary[item] for items in group for item in items]
        m = sparse.csr_matrix((idf[cols], (rows, cols)), shape=(len(group), len(vocabulary)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sparse.diags(1 / np.maximum(norms, 1e-9)) @ m

    p, q, c = matrix(patterns), matrix(queries), matrix(contexts)
    dense = lambda a, b: np.asarray((a @ b.T).todense(), dtype=np.float32)  # noqa: E731
    return {"Q": dense(q, p), "C": dense(c, p), "QC": dense(q, c), "CC": dense(c, c)}

