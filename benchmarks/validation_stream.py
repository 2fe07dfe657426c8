"""A stream of validations from real code: standard-library functions as patterns, their callers as contexts.

Each pattern is a function defined once in the standard library and called from at least three others.
Its callers are split: all but one are accepted in order (the stream), the last is held out to test
whether the memory recalls the pattern for a context it has never seen. Other functions join the store
as distractors nobody accepts. Texts are embedded once by the real model and cached under build/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.corpus import Function
from benchmarks.lsp_latency import real_embeddings
from benchmarks.recall_quality import _source, build_cases
from scms.text import pattern_text
from scms.recall.lexical import LexicalIndex, query_terms
from scms.text import content_hash, index_terms


@dataclass
class Stream:
    patterns: np.ndarray  # (n, dim): the stream's patterns first, then the distractors
    names: list[str]
    events: list[tuple[np.ndarray, int]]  # (context vector, pattern index), in stream order
    held_out: list[tuple[np.ndarray, int, float]]  # (context vector, pattern index, lexical similarity)
    background: np.ndarray  # ordinary code contexts for the slot statistics, disjoint from all of the above
    order: list[int]  # position in the stream at which each pattern was first accepted


def _pattern_text(f: Function) -> str:
    return pattern_text(f"{f.path.stem}.{f.name}", "", _source(f))


def build(patterns: int = 520, distractors: int = 1000, background: int = 256, max_accepts: int = 4,
          seed: int = 13) -> Stream:
    cases, others = build_cases(patterns, seed, min_callers=3, contexts=max_accepts + 1)
    rng = np.random.default_rng(seed)
    others = [others[i] for i in rng.permutation(len(others))]
    used = {id(ctx) for case in cases for ctx in case.contexts}
    others = [f for f in others if id(f) not in used]
    pool = [_pattern_text(f) for f in others[:distractors]]
    ground = [_source(f) for f in others[distractors:distractors + background]]
    texts = ([_pattern_text(c.pattern) for c in cases] + pool + ground
             + [_source(ctx) for case in cases for ctx in case.contexts])
    vectors, _ = real_embeddings(texts)
    vec = lambda text: vectors[content_hash(text)]  # noqa: E731
    lexical = LexicalIndex()
    for i, case in enumerate(cases):
        lexical.upsert(str(i), set(index_terms(_pattern_text(case.pattern)).split()))
    events, held_out, order = [], [], []
    for i, case in enumerate(cases):
        order.append(len(events))
        *accepted, last = case.contexts
        events += [(vec(_source(ctx)), i) for ctx in accepted]
        text = _source(last)
        held_out.append((vec(text), i, lexical.similarity(query_terms(text), str(i))))
    return Stream(np.stack([vec(_pattern_text(c.pattern)) for c in cases] + [vec(t) for t in pool]),
                  [f"{c.pattern.path.stem}.{c.pattern.name}" for c in cases] + [t.split("\n", 1)[0] for t in pool],
                  events, held_out, np.stack([vec(t) for t in ground]), order)
