"""Hover latency while the background work is busy: `Memory.recall` for known contexts (what a hover asks),
idle and while the embedding worker embeds thousands of new patterns (remembered by another process, as
the CLI or another window would), retrains the IVF index, and while the indexes and the memory model save.

    .venv/bin/python -m benchmarks busy [--busy-patterns 10000]   (writes its section of docs/benchmarks.md)
    .venv/bin/python -m benchmarks.hover_busy [--patterns 10000] [--seconds 20]   (prints only)

The store is built once with `lsp_latency.build_store` (stdlib functions as patterns, their cached
embeddings random unit vectors: latency does not depend on what they mean) under build/bench-cache/ and
copied for each run; the contexts and new patterns are embedded by the real model. The hovers are made from
the calling thread, one every few milliseconds, as the server's event loop makes them. Another thread makes
the session tier's IVF index due for retraining every second, and one saves everything over and over.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import functions, inside
from benchmarks.lsp_latency import build_store
from scms.config import Settings
from scms.memory import Memory

CACHE = (Path(__file__).resolve().parent.parent / "build").resolve() / "bench-cache"
GAP_S = 0.004  # between two hovers
CONTEXTS = 200


def _corpus() -> list:
    corpus = list(functions(min_lines=3, max_lines=80))
    random.Random(1).shuffle(corpus)
    return corpus


def _template(corpus: list, count: int) -> Path:
    """A workspace holding `count` patterns with cached embeddings, built once."""
    root = CACHE / f"hover-busy-{count}"
    if (root / ".scms" / "scms.db").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = np.random.default_rng(5)
    pool = rng.normal(size=(256, 384)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    started = time.perf_counter()
    build_store(root, corpus, count, {f"pool{i}": v for i, v in enumerate(pool)})
    print(f"built a store of {count} patterns in {time.perf_counter() - started:.0f} s")
    return root


def _quantiles(latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=100)
    return (f"n={len(latencies):5d}  p50 {q[49]:6.2f}  p95 {q[94]:6.2f}  p99 {q[98]:6.2f}  "
            f"max {max(latencies):7.2f} ms")


class Hovers:
    def __init__(self, memory: Memory, contexts: list[tuple[str, str]]) -> None:
        self.memory, self.contexts = memory, contexts

    def run(self, until, minimum: int = 300, limit_s: float = 60.0) -> list[float]:
        """Hover round-robin over the contexts until `until()` (and at least `minimum` hovers)."""
        latencies: list[float] = []
        end = time.perf_counter() + limit_s
        i = 0
        while (len(latencies) < minimum or not until()) and time.perf_counter() < end:
            text, key = self.contexts[i % len(self.contexts)]
            i += 1
            t0 = time.perf_counter()
            self.memory.recall(text, context_hash=key, limit=2)
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(GAP_S)
        return latencies


def run(patterns: int = 10_000, new: int = 1500, seconds: float = 20.0) -> tuple[dict[str, list[float]], str]:
    """Hover latencies (ms) per phase, and a line on what the background did meanwhile."""
    corpus = _corpus()
    template = _template(corpus, patterns)
    with tempfile.TemporaryDirectory(prefix="scms-hover-busy-") as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(template, root, symlinks=True, ignore=shutil.ignore_patterns("index", "model"))
        memory = Memory.open(root, Settings())
        try:
            return _measure(memory, root, corpus, patterns, new, seconds)
        finally:
            memory.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=1500, help="patterns remembered while hovering")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    results, background = run(args.patterns, args.new, args.seconds)
    print(background)
    for phase, latencies in results.items():
        print(f"{phase:26s} {_quantiles(latencies)}")


def _measure(memory: Memory, root: Path, corpus: list, patterns: int, new: int,
             seconds: float) -> tuple[dict[str, list[float]], str]:
    started = time.perf_counter()
    _engine(memory).warm_up()
    memory.start_model()
    assert memory.recall_state == "embeddings", _engine(memory).problem
    deadline = time.perf_counter() + 300
    while (_learning(memory) is None or not _learning(memory).ready) and time.perf_counter() < deadline:
        time.sleep(0.1)
    print(f"models ready in {time.perf_counter() - started:.1f} s ({len(_engine(memory).vectors)} vectors); "
          f"load average {os.getloadavg()[0]:.2f}")
    rng = random.Random(11)
    known = rng.sample(corpus[:patterns], CONTEXTS)
    contexts = []
    for function in known:
        code = memory.code_from_text(inside(root, function), function.text, function.start, function.end)
        contexts.append((code.text, code.evidence.content_hash))
    _engine(memory).prepare([text for text, _ in contexts])
    _engine(memory).wait_idle()
    for text, key in contexts[:20]:  # a first accept: the memory model then takes part in ranking
        pattern = memory.recall(text, context_hash=key, limit=1)
        if pattern:
            memory.accept(pattern[0].pattern.id, memory.code_from_text(root / "x.py", text, 1, text.count("\n") + 1))
    if _learning(memory) is not None:
        _learning(memory).wait_idle()
    gc.callbacks.append(_watch_gc)
    hovers = Hovers(memory, contexts)
    hovers.run(lambda: True, minimum=200)  # warm-up
    results: dict[str, list[float]] = {}

    results["idle"] = hovers.run(_timer(seconds), minimum=500)

    # the embedding worker busy: new patterns (not embedded yet) remembered meanwhile by another process (the
    # CLI, another window), which the server follows
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    remembering = spawn.Process(target=_remember_elsewhere, args=(root, patterns, new, stop, False))
    remembering.start()
    while _engine(memory).pending == 0 and remembering.is_alive():
        memory.recall("refresh", limit=1)  # follow the store until the first new pattern is queued
        time.sleep(0.05)
    results["embedding"] = hovers.run(lambda: _engine(memory).pending == 0 and not remembering.is_alive(),
                                      limit_s=3 * seconds)
    remembering.join()
    _engine(memory).wait_idle()

    # IVF retrains: every second, the session tier's index is made due for retraining at its next insertion
    stop = spawn.Event()
    remembering = spawn.Process(target=_remember_elsewhere,
                                args=(root, patterns + new, new, stop, True))
    remembering.start()
    retraining = _background(lambda: _force_retrains(memory, stop))
    results["embedding + IVF retrains"] = hovers.run(_timer(seconds))
    stop.set()
    remembering.join()
    retraining.join()
    _engine(memory).wait_idle()

    # saving: the vector indexes, the lexical snapshot and the memory model, over and over
    stop = threading.Event()
    saving = _background(lambda: _save_all(memory, stop))
    results["saving"] = hovers.run(_timer(seconds))
    stop.set()
    saving.join()
    background = (f"load average {os.getloadavg()[0]:.2f}; {RETRAINS[0]} IVF retrains of the session tier "
                  f"({len(_engine(memory).vectors)} vectors); {len(GC_PAUSES)} full garbage collections, the "
                  f"longest {max(GC_PAUSES, default=0):.1f} ms")
    return results, background


def _engine(memory: Memory):
    """The facade's recall engine (a benchmark may look inside: it forces retrains and saves)."""
    return vars(memory).get("engine") or vars(memory)["_engine"]


def _learning(memory: Memory):
    fields = vars(memory)
    return fields.get("learning", fields.get("_learning"))


def _timer(seconds: float):
    end = time.perf_counter() + seconds
    return lambda: time.perf_counter() >= end


def _background(work) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _fresh(corpus: list, start: int, count: int) -> list[tuple[int, object]]:
    """`count` functions from `start` on (reused under new titles past the corpus' end): new patterns."""
    return [(n, corpus[n % len(corpus)]) for n in range(start, start + count)]


def _remember_elsewhere(root: Path, start: int, count: int, stop, paced: bool) -> None:
    """In a process of its own: remember `count` new patterns, as fast as it can or one every 10 ms."""
    memory = Memory.open(root, Settings.model_validate({"recall": {"embeddings": False},
                                                        "learning": {"enabled": False}}))
    try:
        for n, function in _fresh(_corpus(), start, count):
            if stop.is_set():
                return
            code = memory.code_from_text(inside(root, function), function.text, function.start, function.end)
            memory.remember(code, title=f"new {n} {function.path.stem}.{function.name}")
            if paced:
                time.sleep(0.01)
    finally:
        memory.close()


RETRAINS = [0]
GC_PAUSES: list[float] = []  # ms of each full collection (it stops every thread, the hover's too)
_gc_started = [0.0]


def _watch_gc(phase: str, info: dict) -> None:
    if info.get("generation") == 2:
        if phase == "start":
            _gc_started[0] = time.perf_counter()
        else:
            GC_PAUSES.append((time.perf_counter() - _gc_started[0]) * 1000)


def _force_retrains(memory: Memory, stop) -> None:
    while not stop.wait(1.0):
        tier = _engine(memory).vectors.tiers["session"]
        RETRAINS[0] += tier._trained_for > 1  # retrained since the last second
        tier._trained_for = 1  # due at its next insertion


def _save_all(memory: Memory, stop: threading.Event) -> None:
    while not stop.is_set():
        _engine(memory)._dirty = True
        _engine(memory).save()
        _engine(memory)._lexical_saved = -1  # a snapshot is due
        _engine(memory).save_lexical()
        if _learning(memory) is not None:
            _learning(memory)._dirty = True
            _learning(memory).save()
        stop.wait(0.2)


if __name__ == "__main__":
    main()
