"""How soon an accept shows in the next hover, while hovers keep coming: `Memory.accept` as the server makes it,
with another thread recalling known contexts every few milliseconds (what hovers ask), and the time until the
learner has caught up (`scms.status`'s `model.queue` back to 0) and the accepted code's recall shows the accept.

    .venv/bin/python -m benchmarks visible   (writes its section of docs/benchmarks.md)
"""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.corpus import functions, inside, link_stdlib
from benchmarks.report import quantiles
from scms.memory import Memory

GAP_S = 0.004  # between two hovers
POLL_S = 0.002
ACCEPTS = 100


def run(accepts: int = ACCEPTS) -> dict:
    """Milliseconds from each accept's answer until the learner's queue is empty, and until the accepted code's
    recall ranks the pattern first with the accept among its reasons; hover latencies idle and meanwhile."""
    corpus = list(functions(min_lines=4, max_lines=40))[: accepts * 3]
    random.Random(3).shuffle(corpus)
    with tempfile.TemporaryDirectory(prefix="scms-visible-") as tmp:
        memory = Memory.open(Path(tmp))
        link_stdlib(memory.root)
        try:
            code = [memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end) for f in corpus]
            patterns = [memory.remember(c).id for c in code[:accepts]]
            contexts, load = code[accepts:2 * accepts], [c.text for c in code[2 * accepts:]]
            memory.start_model()
            memory._engine.prepare([c.text for c in contexts] + load)
            memory.wait_idle()
            idle = _hovers(memory, load, 400)
            busy: list[float] = []
            stop = threading.Event()
            worker = threading.Thread(target=lambda: busy.extend(_hovers(memory, load, 10 ** 9, stop)), daemon=True)
            worker.start()
            drained, shown, missing = [], [], 0
            for pattern_id, context in zip(patterns, contexts):
                memory.accept(pattern_id, context)
                answered = time.perf_counter()
                while memory.status()["model"]["queue"]:
                    time.sleep(POLL_S)
                drained.append((time.perf_counter() - answered) * 1000)
                if _reflects(memory, context.text, pattern_id):
                    shown.append((time.perf_counter() - answered) * 1000)
                else:
                    missing += 1
            stop.set()
            worker.join()
        finally:
            memory.close()
    return {"accepts": accepts, "drained": drained, "shown": shown, "missing": missing, "idle": idle, "busy": busy}


def _hovers(memory: Memory, texts: list[str], count: int, stop: threading.Event | None = None) -> list[float]:
    times = []
    for i in range(count):
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        memory.recall(texts[i % len(texts)], limit=3)
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(GAP_S)
    return times


def _reflects(memory: Memory, text: str, pattern_id: str) -> bool:
    """The accepted code's recall (no waiting, as a hover) ranks the pattern first and says it was accepted here."""
    found = memory.recall(text, limit=3)
    return bool(found) and found[0].pattern.id == pattern_id and any(
        r.startswith("like code where it was accepted before") for r in found[0].reasons)


def section(r: dict) -> str:
    drained, shown = r["drained"], r["shown"]
    idle, busy = r["idle"], r["busy"]
    within = sum(ms <= 1000 for ms in drained) / len(drained)
    return f"""## Learning visible at once: an accept in the next hover, under a hover load

Measured by `python -m benchmarks visible`: {r['accepts']} accepts of standard-library patterns, one at a time,
through `Memory.accept` as the server makes them (the context already embedded, as a hover leaves it), while
another thread recalls known contexts every {GAP_S * 1000:.0f} ms. After each accept's answer the status is
polled until the learner's queue (`scms.status` → `model.queue`) is empty, then the accepted code is recalled
as a hover would (no waiting).

| | p50 (ms) | p95 (ms) | max (ms) |
| --- | ---: | ---: | ---: |
| accept answered → learner's queue empty | {statistics.median(drained):.1f} | {quantiles(drained)[1]:.1f} | {max(drained):.1f} |
| accept answered → its recall shows the accept | {statistics.median(shown) if shown else float('nan'):.1f} | {quantiles(shown)[1] if shown else float('nan'):.1f} | {max(shown) if shown else float('nan'):.1f} |
| hover (recall of a known context), idle | {statistics.median(idle):.2f} | {quantiles(idle)[1]:.2f} | {max(idle):.2f} |
| hover meanwhile | {statistics.median(busy):.2f} | {quantiles(busy)[1]:.2f} | {max(busy):.2f} |

The queue was empty within 1 s after {within:.0%} of the accepts (goal: all); the accepted code's own recall
ranked the pattern first with *like code where it was accepted before* after {len(shown)} of {r['accepts']}
accepts ({r['missing']} did not: another pattern stayed first there).
"""
