"""Recall quality on real code: standard-library functions as patterns, the functions that call them as contexts.

A pattern is a function that is defined once in the standard library and called from at least two other
functions; its contexts are those callers, so an evaluation context is never the pattern's own evidence.
Another `distractors` functions join the store as patterns nobody asks for. Each context is recalled
against all patterns; we report recall@1, recall@5 and MRR for lexical only, embeddings only and fused.
The fused weight is chosen on a dev half of the patterns and reported on the other half.
"""

from __future__ import annotations

import ast
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import Function, functions, inside, link_stdlib
from scms.memory import Memory
from scms.recall import ranking

WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass
class Case:
    pattern: Function
    contexts: list[Function]


def _source(f: Function) -> str:
    return "\n".join(f.text.splitlines()[f.start - 1:f.end])


def build_cases(targets: int, seed: int, min_callers: int = 2,
                contexts: int = 3) -> tuple[list[Case], list[Function]]:
    """Patterns called from at least `min_callers` other functions, with up to `contexts` of those callers."""
    corpus = list(functions(min_lines=3, max_lines=80))
    by_name: dict[str, list[Function]] = defaultdict(list)
    for f in corpus:
        by_name[f.name].append(f)
    unique = {name: fs[0] for name, fs in by_name.items() if len(fs) == 1 and len(name) >= 6}
    callers: dict[str, list[Function]] = defaultdict(list)
    for f in corpus:
        try:
            tree = ast.parse(_source(f).strip("\n"))
        except SyntaxError:
            try:
                import textwrap

                tree = ast.parse(textwrap.dedent(_source(f)))
            except SyntaxError:
                continue
        called = {n.func.id if isinstance(n.func, ast.Name) else n.func.attr
                  for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))}
        for name in called & unique.keys():
            if unique[name] is not f:
                callers[name].append(f)
    eligible = sorted(name for name, fs in callers.items() if len(fs) >= min_callers)
    rng = random.Random(seed)
    chosen = rng.sample(eligible, min(targets, len(eligible)))
    cases = [Case(unique[name], rng.sample(callers[name], min(contexts, len(callers[name])))) for name in chosen]
    used = {id(c.pattern) for c in cases}
    others = [f for f in corpus if id(f) not in used]
    return cases, others


def _rank(memory: Memory, text: str, wanted: str, mode: str) -> int | None:
    results = memory.recall(text, mode=mode, threshold=-1.0, limit=10, wait=True)
    for position, result in enumerate(results, 1):
        if result.pattern.id == wanted:
            return position
    return None


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "recall@1": sum(1 for r in ranks if r == 1) / n,
        "recall@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


def run(targets: int = 300, distractors: int = 1000, seed: int = 11) -> dict:
    started = time.perf_counter()
    default_weight = ranking.EMBEDDING
    cases, others = build_cases(targets, seed)
    random.Random(seed).shuffle(others)
    with tempfile.TemporaryDirectory(prefix="scms-quality-") as tmp:
        memory = Memory.open(Path(tmp))
        link_stdlib(memory.root)
        try:
            ids: list[str] = []
            for case in cases:
                f = case.pattern
                pattern = memory.remember(memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end),
                                          title=f"{f.path.stem}.{f.name}")
                ids.append(pattern.id)
            for f in others[:distractors]:
                memory.remember(memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end), title=f"{f.path.stem}.{f.name}")
            memory.start_model()
            if memory._engine.state != "ready":
                raise SystemExit(f"the embedding model did not load: {memory._engine.problem}")
            queries = [(_source(ctx), ids[i], i) for i, case in enumerate(cases) for ctx in case.contexts]
            memory._engine.prepare([q[0] for q in queries])
            memory._engine.wait_idle()
            dev = [q for q in queries if q[2] % 2 == 0]
            test = [q for q in queries if q[2] % 2 == 1]
            tuning = {}
            for weight in WEIGHTS:
                ranking.EMBEDDING = weight
                tuning[weight] = _metrics([_rank(memory, text, wanted, "fused") for text, wanted, _ in dev])["mrr"]
            best = max(tuning, key=tuning.get)
            ranking.EMBEDDING = best
            results = {mode: _metrics([_rank(memory, text, wanted, mode) for text, wanted, _ in test])
                       for mode in ("lexical", "embeddings", "fused")}
        finally:
            ranking.EMBEDDING = default_weight
            memory.close()
    return {"patterns": len(cases) + min(distractors, len(others)), "targets": len(cases),
            "dev_queries": len(dev), "test_queries": len(test), "tuning": tuning, "weight": best,
            "results": results, "seconds": time.perf_counter() - started}
