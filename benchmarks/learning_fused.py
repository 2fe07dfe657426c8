"""Learning inside fused recall, through the real memory: accept each pattern in two of its callers, then
recall it for a third caller never seen, with the learned gain at several weights and the model on or off.

Patterns are standard-library functions called from at least three others; 1,000 other functions are
distractors. Figures are for the odd-numbered patterns; the even-numbered ones choose the weight.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import inside, link_stdlib
from benchmarks.recall_quality import _metrics, _rank, _source, build_cases
from scms.memory import Memory
from scms.recall import ranking

WEIGHTS = (0.2, 0.5, 1.0)


def run(targets: int = 300, distractors: int = 1000, seed: int = 17) -> dict:
    started = time.perf_counter()
    cases, others = build_cases(targets, seed, min_callers=3, contexts=3)
    random.Random(seed).shuffle(others)
    defaults = ranking.LEARNED, ranking.MODEL
    with tempfile.TemporaryDirectory(prefix="scms-learning-fused-") as tmp:
        memory = Memory.open(Path(tmp))
        link_stdlib(memory.root)
        try:
            ids = [_remember(memory, c.pattern) for c in cases]
            for f in others[:distractors]:
                _remember(memory, f)
            memory.start_model()
            if memory._learning is None or not memory._learning.ready:
                raise SystemExit(f"the memory model did not start: {memory.notices}")
            held_out = [(_source(c.contexts[-1]), ids[i], i) for i, c in enumerate(cases)]
            memory._engine.prepare([q[0] for q in held_out])
            memory._engine.wait_idle()

            def measure(half: int) -> dict[str, float]:
                return _metrics([_rank(memory, text, wanted, "fused") for text, wanted, i in held_out if i % 2 == half])

            before = measure(1)
            for pattern_id, case in zip(ids, cases):
                for f in case.contexts[:-1]:
                    memory.accept(pattern_id, memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end))
            memory._learning.wait_idle()
            results, tuning = {}, {}
            for weight in WEIGHTS:
                ranking.LEARNED = weight
                tuning[weight] = measure(0)["mrr"]
                results[f"learned gain × {weight:g}"] = measure(1)
            ranking.MODEL = 0.0
            ranking.LEARNED = max(tuning, key=tuning.get)
            exemplars_only = measure(1)
        finally:
            ranking.LEARNED, ranking.MODEL = defaults
            memory.close()
    return {"targets": len(cases), "patterns": len(cases) + min(distractors, len(others)), "before": before,
            "results": results, "tuning": tuning, "best": max(tuning, key=tuning.get),
            "exemplars_only": exemplars_only, "accepts": sum(len(c.contexts) - 1 for c in cases),
            "seconds": time.perf_counter() - started}


def _remember(memory: Memory, f) -> str:
    return memory.remember(memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end), title=f"{f.path.stem}.{f.name}").id
