"""Lexical recall: an inverted index of pattern subwords (as integer term ids), scored by IDF-weighted cosine.

SQLite FTS5 with bm25 ranking took about 5 ms per hover query at 1k patterns here (an OR of ~30 terms
matches most rows); counting shared terms over numpy posting arrays takes a fraction of a millisecond.
Terms are ids into one vocabulary and rows are int32 arrays, so 100k patterns take tens of megabytes,
and the whole index is saved to one file so that a restart does not rebuild it (`lexical_snapshot`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from scms.text import NAME_MARK, names, subwords

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
NOT_A_TERM = -1
MAX_OTHERS = 50_000  # term sets of accepted contexts kept looked up (`similarities_to`)


def is_distinctive(word: str) -> bool:
    return len(word) >= 3 and word not in STOPWORDS and not word.isdigit()


def query_terms(text: str, limit: int = 32) -> list[str]:
    """The context's distinctive subwords, most frequent first, then up to as many of its whole names."""
    counts = Counter(w for w in subwords(text) if is_distinctive(w))
    return [word for word, _ in counts.most_common(limit)] + names(text)[:limit]


def shown(terms: list[str]) -> list[str]:
    """Terms as a person reads them: whole names unmarked, and a subword left out where a name shows it."""
    whole = [t[len(NAME_MARK):] for t in terms if t.startswith(NAME_MARK)]
    inside = {w for name in whole for w in subwords(name)}
    return whole + [t for t in terms if not t.startswith(NAME_MARK) and t not in inside]


@dataclass(frozen=True)
class Hit:
    pattern_id: str
    similarity: float


class LexicalIndex:
    """Pattern id -> distinctive term ids, with posting arrays per term; rows of removed patterns are masked."""

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}  # word -> term id, or NOT_A_TERM for words that are not distinctive
        self._words: list[str] = []
        self._df: list[int] = []  # live rows per term
        self._postings: list[np.ndarray] = []  # rows per term (dead rows included until compaction)
        self._pending: dict[int, list[int]] = {}  # rows added since the term's array was last built
        self._ids: list[str] = []
        self._rows: list[np.ndarray] = []
        self._row_of: dict[str, int] = {}
        self._alive = bytearray()
        self._row_norms: list[float] = []
        self._normed_at = 0  # the live row count when every norm was last recomputed with current IDFs
        self._norms_array: np.ndarray | None = None
        self._alive_array: np.ndarray | None = None
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None
        self._others: dict[tuple[str, ...], tuple[np.ndarray, float]] = {}  # see similarities_to
        self._others_at = -1

    def __len__(self) -> int:
        return len(self._row_of)

    @property
    def empty(self) -> bool:
        """No rows at all, not even removed ones: a bulk load may start."""
        return not self._ids

    def has(self, pattern_id: str) -> bool:
        return pattern_id in self._row_of

    def shared(self, terms: list[str], pattern_id: str) -> list[str]:
        """The query terms this pattern has, in the query's order."""
        row = self._row_of.get(pattern_id)
        if row is None:
            return []
        have = set(self._rows[row].tolist())
        return [w for w in dict.fromkeys(terms) if self._vocab.get(w, NOT_A_TERM) in have]

    def upsert(self, pattern_id: str, terms: str | set[str]) -> None:
        ids = self._term_ids(terms.split() if isinstance(terms, str) else terms)
        row = self._row_of.get(pattern_id)
        if row is not None and np.array_equal(np.sort(self._rows[row]), np.sort(ids)):
            return
        self.remove(pattern_id)
        self._append(pattern_id, ids)
        for term in ids.tolist():
            self._df[term] += 1
            self._pending.setdefault(term, []).append(len(self._ids) - 1)
        # a bulk load gets all its norms at once in _norms(); later rows get theirs now
        self._row_norms.append(self._norm(ids) if self._normed_at else 1.0)
        self._invalidate()
        if len(self._ids) > 1000 and len(self._row_of) < len(self._ids) // 2:
            self._compact()

    def add_many(self, rows: list[tuple[str, str]]) -> None:
        """Bulk load into an empty index: (pattern id, space-separated terms) pairs with distinct ids, as the
        store keeps them."""
        assert not self._ids, "add_many loads an empty index"
        for pattern_id, terms in rows:
            self._append(pattern_id, self._term_ids(terms.split()))
        self._build_postings(*self._flat())

    def remove(self, pattern_id: str) -> None:
        row = self._row_of.pop(pattern_id, None)
        if row is not None:
            self._alive[row] = 0
            for term in self._rows[row].tolist():
                self._df[term] -= 1
            self._invalidate()

    def precompute(self) -> None:
        """Compute the row norms now, so that the first search does not pay for them."""
        self._norms()

    def search(self, terms: list[str], min_similarity: float, limit: int) -> list[Hit]:
        """Patterns whose IDF-weighted term sets are at least `min_similarity` cosine-similar to the query's
        (the query restricted to terms some pattern has)."""
        wanted = list(dict.fromkeys(terms))
        query = self._known(wanted)
        if not query or not self._row_of:
            return []
        weights = [self._idf(self._df[t]) ** 2 for t in query]  # terms no pattern has cannot tell patterns apart
        postings = [self._posting(t) for t in query]
        rows = np.concatenate(postings)
        shared = np.repeat(weights, [len(p) for p in postings])
        dot = np.bincount(rows, weights=shared, minlength=len(self._ids))
        scores = dot / (math.sqrt(sum(weights)) * self._norms())
        scores[~self._alive_mask()] = 0.0
        self._last = (tuple(terms), scores)
        candidates = np.flatnonzero(scores >= max(min_similarity, 1e-9))
        if candidates.size > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit - 1)[:limit]]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [Hit(self._ids[row], float(scores[row])) for row in ordered.tolist()]

    def similarity(self, terms: list[str], pattern_id: str) -> float:
        """The same IDF-weighted cosine for one pattern (one found by its embedding, say)."""
        row = self._row_of.get(pattern_id)
        if row is not None and self._last is not None and self._last[0] == tuple(terms):
            return float(self._last[1][row])  # scored by the search just made for these terms
        query = self._known(list(dict.fromkeys(terms)))
        if row is None or not query:
            return 0.0
        weights = {t: self._idf(self._df[t]) ** 2 for t in query}
        dot = sum(weights[t] for t in set(self._rows[row].tolist()) & weights.keys())
        return dot / (math.sqrt(sum(weights.values())) * float(self._norms()[row]))

    def similarities_to(self, terms: list[str], others: list[tuple[str, ...]]) -> np.ndarray:
        """The same IDF-weighted cosine between the query and each term set no row holds (accepted contexts),
        both restricted to the terms some pattern has, as a search restricts the query. Each set's term ids and
        norm are kept until the row norms are next recomputed (the index grew or shrank by a tenth), so a hover
        looks them up only."""
        out = np.zeros(len(others))
        query = self._known(list(dict.fromkeys(terms)))
        if not query or not others:
            return out
        if self._others_at != self._normed_at or len(self._others) > MAX_OTHERS:
            self._others.clear()
            self._others_at = self._normed_at
        rows = [self._other(other) for other in others]
        weights = np.array([self._idf(self._df[t]) ** 2 for t in query])
        lookup = np.zeros(len(self._words))
        lookup[query] = weights
        lengths = [len(ids) for ids, _ in rows]
        if not any(lengths):
            return out
        flat = np.concatenate([ids for ids, _ in rows])
        dots = np.bincount(np.repeat(np.arange(len(rows)), lengths), weights=lookup[flat], minlength=len(rows))
        norms = np.array([norm for _, norm in rows])
        np.divide(dots, math.sqrt(weights.sum()) * norms, out=out, where=norms > 0)
        return out

    def _other(self, other: tuple[str, ...]) -> tuple[np.ndarray, float]:
        cached = self._others.get(other)
        if cached is None:
            ids = np.array(self._known(list(dict.fromkeys(other))), dtype=np.int64)
            cached = self._others[other] = (ids, self._norm(ids) if len(ids) else 0.0)
        return cached

    # snapshots (see scms.recall.lexical_snapshot)

    def live_rows(self) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
        """Live pattern ids, their term ids end to end with each row's length, and the vocabulary."""
        return _live_rows(self._ids, self._rows, self._row_of, self._words)

    def rows_copy(self) -> "RowsCopy":
        """A copy to take `live_rows` from later, while the index goes on changing: quick, as it copies only
        the containers (a row's array is never changed in place)."""
        return RowsCopy(list(self._ids), list(self._rows), dict(self._row_of), list(self._words))

    @classmethod
    def from_rows(cls, ids: list[str], flat: np.ndarray, lengths: np.ndarray, words: list[str]) -> "LexicalIndex":
        """An index of these rows (as `live_rows` gives them), built in bulk."""
        index = cls()
        index._words = words
        index._vocab = {word: term for term, word in enumerate(words)}
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        index._rows = [flat[a:b] for a, b in zip(starts, ends)]
        index._ids = list(ids)
        index._row_of = {pattern_id: row for row, pattern_id in enumerate(ids)}
        index._alive = bytearray(b"\x01" * len(ids))
        index._build_postings(flat, lengths)
        return index

    # internals

    def _idf(self, df: int) -> float:
        """Rarer terms weigh more: log((N + 1) / (df + 1)) + 1, with N and df counted over live rows."""
        return math.log((len(self._row_of) + 1) / (df + 1)) + 1.0

    def _term_ids(self, words) -> np.ndarray:
        vocab, ids = self._vocab, []
        for word in dict.fromkeys(words):
            term = vocab.get(word)
            if term is None:
                term = vocab[word] = len(self._words) if is_distinctive(word) else NOT_A_TERM
                if term != NOT_A_TERM:
                    self._words.append(word)
                    self._df.append(0)
                    self._postings.append(np.zeros(0, dtype=np.int32))
            if term != NOT_A_TERM:
                ids.append(term)
        return np.array(ids, dtype=np.int32)

    def _known(self, words: list[str]) -> list[int]:
        return [t for w in words if (t := self._vocab.get(w, NOT_A_TERM)) != NOT_A_TERM and self._df[t] > 0]

    def _append(self, pattern_id: str, ids: np.ndarray) -> None:
        self._row_of[pattern_id] = len(self._ids)
        self._ids.append(pattern_id)
        self._rows.append(ids)
        self._alive.append(1)

    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        """Every row's term ids end to end, and each row's length."""
        lengths = np.fromiter((len(r) for r in self._rows), dtype=np.int64, count=len(self._rows))
        return (np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=np.int32)), lengths

    def _build_postings(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        """Every term's posting array and document frequency at once, from the rows (bulk loads)."""
        owners = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        alive = np.repeat(self._alive_mask(), lengths)
        order = np.argsort(flat, kind="stable")
        ends = np.searchsorted(flat[order], np.arange(1, len(self._words) + 1)).tolist()
        ordered = owners[order]
        self._postings = [ordered[a:b] for a, b in zip([0, *ends[:-1]], ends)]
        self._df = np.bincount(flat[alive], minlength=len(self._words)).tolist()
        self._pending.clear()
        self._row_norms = [1.0] * len(lengths)
        self._normed_at = 0
        self._invalidate()

    def _posting(self, term: int) -> np.ndarray:
        added = self._pending.pop(term, None)
        if added:
            self._postings[term] = np.concatenate([self._postings[term], np.array(added, dtype=np.int32)])
        return self._postings[term]

    def _norm(self, ids: np.ndarray) -> float:
        return math.sqrt(sum(self._idf(self._df[t]) ** 2 for t in ids.tolist())) if len(ids) else 1.0

    def _norms(self) -> np.ndarray:
        """Each row's IDF-weighted norm. A new row gets its norm with the IDFs of its day; all are
        recomputed once the index has grown or shrunk by a tenth since the last time."""
        live = len(self._row_of)
        if live and not 0.9 * self._normed_at <= live <= 1.1 * self._normed_at:
            df = np.asarray(self._df, dtype=np.float64)
            squares_by_term = (np.log((live + 1) / (df + 1)) + 1.0) ** 2
            flat, lengths = self._flat()
            owners = np.repeat(np.arange(len(self._rows)), lengths)
            squares = np.bincount(owners, weights=squares_by_term[flat], minlength=len(self._rows))
            self._row_norms = np.where(squares > 0, np.sqrt(squares), 1.0).tolist()
            self._normed_at = live
            self._norms_array = None
        if self._norms_array is None or len(self._norms_array) != len(self._ids):
            self._norms_array = np.asarray(self._row_norms, dtype=np.float64)
        return self._norms_array

    def _alive_mask(self) -> np.ndarray:
        if self._alive_array is None:
            self._alive_array = np.frombuffer(bytes(self._alive), dtype=np.uint8).astype(bool)
        return self._alive_array

    def _invalidate(self) -> None:
        self._norms_array = self._alive_array = None
        self._last = None

    def _compact(self) -> None:
        ids, flat, lengths, words = self.live_rows()
        fresh = self.from_rows(ids, flat, lengths, words)
        self.__dict__.update(fresh.__dict__)


@dataclass(frozen=True)
class RowsCopy:
    """The rows of a LexicalIndex at one moment (`LexicalIndex.rows_copy`)."""

    ids: list[str]
    rows: list[np.ndarray]
    row_of: dict[str, int]
    words: list[str]

    def live_rows(self) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
        return _live_rows(self.ids, self.rows, self.row_of, self.words)


def _live_rows(ids: list[str], rows: list[np.ndarray], row_of: dict[str, int],
               words: list[str]) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """The live rows, with only the words they use (renumbered): a removed or purged pattern's words are not
    kept."""
    live = sorted(row_of.values())
    kept = [rows[r] for r in live]
    flat = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int32)
    used = np.unique(flat)
    renumber = np.zeros(len(words), dtype=np.int32)
    renumber[used] = np.arange(len(used), dtype=np.int32)
    return ([ids[r] for r in live], renumber[flat] if len(flat) else flat,
            np.array([len(r) for r in kept], dtype=np.int64), [words[t] for t in used.tolist()])