"""The continual-learning benchmark end to end: tune each method on dev patterns, run all systems on one
stream, and turn the runs into the figures and plots of docs/benchmarks.md."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from benchmarks import continual, validation_stream
from benchmarks.continual import Embeddings, Exemplars, Figures, Model, Run
from benchmarks.learners import Variant
from scms.learn.memory_layer import Shape

SPARSE_LR = (8.0, 24.0, 48.0, 96.0, 192.0)
DENSE_LR = (1.0, 3.0, 10.0, 30.0)
LORA_LR = (1.0, 3.0, 8.0, 24.0)
LORA_VALUES = 0.02  # with value rows at zero the projections' adapters get no gradient at all
WEIGHTS = (0.25, 0.5, 1.0)
SLOW_EVERY = 8


@dataclass
class Row:
    name: str
    setting: str
    run: Run
    test: Figures


def _dev_score(run: Run, dev: np.ndarray) -> float:
    f = continual.figures(run, dev)
    return f.acquisition + f.final


def _best(stream, dev, name: str, makers: dict[str, callable], log) -> tuple[str, Run]:
    runs = {}
    for setting, make in makers.items():
        started = time.perf_counter()
        runs[setting] = continual.run(stream, name, make(stream))
        log(f"{name} [{setting}]: dev score {_dev_score(runs[setting], dev):.3f} "
            f"({time.perf_counter() - started:.0f} s)")
    setting = max(runs, key=lambda s: _dev_score(runs[s], dev))
    return setting, runs[setting]


def run(patterns: int = 520, log=print) -> dict:
    started = time.perf_counter()
    torch.set_num_threads(1)  # as the server runs it (scms.recall.torchThreads)
    stream = validation_stream.build(patterns)
    dev, test = continual.masks(stream)
    rule = Variant()
    chosen: list[tuple[str, str, Run]] = []
    for name, system in (("embeddings only", Embeddings), ("exemplars only", Exemplars)):
        chosen.append((name, "", continual.run(stream, name, system(stream))))
    sparse_lr, sparse = _best(stream, dev, "sparse TF-IDF alone", {
        f"lr {lr:g}": (lambda lr: lambda s: Model(s, replace(rule, lr=lr), exemplars=False))(lr)
        for lr in SPARSE_LR}, log)
    setting, combined = _best(stream, dev, "exemplars + sparse model", {
        f"weight {w:g}, lr {x:g}": (lambda w, x: lambda s: Model(s, replace(rule, lr=x), exemplars=True,
                                                                weight=w))(w, x)
        for w in WEIGHTS for x in SPARSE_LR}, log)
    w, lr = (float(part.split()[1]) for part in setting.split(", "))
    slow = continual.run(stream, "+ slow level", Model(stream, replace(rule, lr=lr, slow_every=SLOW_EVERY),
                                                       exemplars=True, weight=w))
    alone_lr = float(sparse_lr.split()[1])
    counts = continual.run(stream, "raw counts", Model(stream, replace(rule, lr=alone_lr, method="counts"),
                                                       exemplars=False))
    dense_lr, dense = _best(stream, dev, "dense finetuning", {
        f"lr {x:g}": (lambda x: lambda s: Model(s, replace(rule, lr=x, method="dense"), exemplars=False))(x)
        for x in DENSE_LR}, log)
    lora_lr, lora = _best(stream, dev, "LoRA", {
        f"lr {x:g}, values N(0, {LORA_VALUES:g})": (lambda x: lambda s: Model(
            s, replace(rule, lr=x, method="lora"), exemplars=False, shape=Shape(value_init=LORA_VALUES)))(x)
        for x in LORA_LR}, log)
    chosen += [("exemplars + sparse model", setting, combined),
               (f"exemplars + sparse model + slow level (C={SLOW_EVERY})", setting, slow),
               ("sparse TF-IDF alone", sparse_lr, sparse), ("sparse raw counts alone", sparse_lr, counts),
               ("dense finetuning alone", dense_lr, dense), ("LoRA on the projections alone", lora_lr, lora)]
    rows = [Row(name, setting, r, continual.figures(r, test)) for name, setting, r in chosen]
    baseline = rows[0].run.correct[-1]
    low = _low_resemblance(stream) & test
    extras = {row.name: _beyond(row.run.correct[-1], baseline, test, low) for row in rows}
    return {"stream": stream, "rows": rows, "extras": extras, "low_count": int(low.sum()),
            "test_count": int(test.sum()), "seconds": time.perf_counter() - started}


def _low_resemblance(stream) -> np.ndarray:
    """Held-out contexts whose terms resemble their pattern's least (below the median term similarity)."""
    similarity = np.array([h[2] for h in stream.held_out])
    return similarity < np.median(similarity)


def _beyond(hits: np.ndarray, baseline: np.ndarray, test: np.ndarray, low: np.ndarray) -> dict[str, float]:
    misses = test & ~baseline
    return {"fixed": float((hits & misses).sum() / max(1, misses.sum())),
            "broken": float((~hits & baseline & test).sum() / max(1, (baseline & test).sum())),
            "low_r1": float(hits[low].mean())}


def service_latency(accepts: int = 200) -> dict[str, float]:
    """Accept → update applied, through the workspace memory as the server runs it: the accept is committed,
    the background learner finds the context's cached embedding (a hover embedded it), updates the model
    and keeps the exemplar. Milliseconds, measured one accept at a time."""
    import tempfile
    from pathlib import Path

    from benchmarks.corpus import functions, inside, link_stdlib
    from scms.memory import Memory

    corpus = [f for f in functions(min_lines=4, max_lines=40)][: accepts * 2]
    with tempfile.TemporaryDirectory(prefix="scms-learning-") as tmp:
        memory = Memory.open(Path(tmp))
        link_stdlib(memory.root)
        try:
            patterns = [memory.remember(memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end)).id
                        for f in corpus[:accepts]]
            contexts = [memory.code_from_text(inside(memory.root, f), f.text, f.start, f.end) for f in corpus[accepts:]]
            memory.start_model()
            memory._engine.prepare([c.text for c in contexts])
            memory._engine.wait_idle()
            times = []
            for pattern_id, code in zip(patterns, contexts):
                started = time.perf_counter()
                memory.accept(pattern_id, code)
                memory._learning.wait_idle()
                times.append((time.perf_counter() - started) * 1000)
            learned = memory.status()["model"]
        finally:
            memory.close()
    times.sort()
    return {"p50": times[len(times) // 2], "p95": times[int(0.95 * (len(times) - 1))], "count": len(times),
            "learned": learned["events"], "update_p95": learned["updateP95Ms"]}
