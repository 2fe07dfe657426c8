"""Idiom recall and learning on code nobody here wrote: SCMS through its facade, phase by phase, beside mem0.

The data is `benchmarks.idiom_corpus`: idiom clusters of twelve projects from PyPI and npm, each with one member
remembered as the pattern, some accepted and the rest held out, among 1,320 distractors. One store holds every
project's patterns (built once under build/bench-cache/idioms/, with the embeddings of every text). Each held-out
member is recalled (top 10, `Memory.recall(text, wait=True, mode=…)`) before any accept, then after each of
five phases, in a fixed order, whose clusters' members are accepted (`Memory.accept(pattern_id, code_range)`,
learned by the server's own background worker). The parts are measured on the same memory at each point by
setting the ranking's module constants (`MODEL = 0`: exemplars only) or hiding the exemplars (model only).
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks import idiom_corpus
from benchmarks.idiom_corpus import CACHE, PHASES, Corpus, Unit
from scms.config import Settings
from scms.errors import ScmsError
from scms.memory import Memory
from scms.recall import ranking
from scms.store.source import CodeRange, code_range
from scms.text import content_hash, pattern_text

LIMIT = 10  # results asked for; a pattern not among them counts as a miss
MODEL = "all-MiniLM-L6-v2"
VECTORS = CACHE / "idioms" / "scms-vectors.npz"
SEED = 5
# One fixed moment for every event and every recall: retention then depends on accepted uses only, not on how old
# the cached store is (candidates' retention decays by the day).
CLOCK = datetime(2026, 1, 1, tzinfo=timezone.utc)
TEMPLATE = 3  # the prepared store's format: a new number rebuilds it (3: terms with whole names)
# Systems measured through the facade (ranks per measurement point: before any accept, then after each phase).
FUSED, EXEMPLARS, LAYER, EMBEDDINGS, LEXICAL = ("SCMS (fused, exemplars + model)", "SCMS exemplars only (model off)",
                                                "SCMS model only (exemplars off)", "SCMS embeddings mode",
                                                "SCMS lexical mode")


@dataclass
class Query:
    split: str
    project: str
    idiom: str
    phase: int
    unit: Unit
    text: str
    wanted: str  # the pattern id that should come first


@dataclass
class Bench:
    corpus: Corpus
    template: Path
    patterns: list[tuple[str, str, Unit]]  # (pattern id, the text it is embedded from, its unit), in store order
    queries: list[Query]
    accepts: list[list[tuple[str, Unit, str]]]  # per phase, in order: (pattern id, unit, its code)
    seconds: float


def key(unit: Unit) -> str:
    return f"{unit.file}:{unit.start}-{unit.end}"


class Sources:
    """The units' code as the store takes it (a checked range of the file, dedented)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, str] = {}

    def code(self, unit: Unit) -> CodeRange:
        text = self._texts.get(unit.file)
        if text is None:
            text = self._texts[unit.file] = idiom_corpus.read(self.root, unit)
        return code_range(self.root, self.root / unit.file, text, unit.start, unit.end, commit=False)


def embed(texts: list[str], log=print) -> dict[str, np.ndarray]:
    """all-MiniLM-L6-v2 vectors of these texts by SCMS's own embedder, cached by content hash between runs."""
    cached: dict[str, np.ndarray] = {}
    if VECTORS.exists():
        with np.load(VECTORS) as data:
            cached = dict(zip(data["keys"].tolist(), data["vectors"]))
    missing = list({content_hash(t): t for t in texts if content_hash(t) not in cached}.values())
    if missing:
        from scms.recall.embeddings import Embedder

        embedder = Embedder("", threads=2)
        embedder.load()
        started = time.perf_counter()
        log(f"  embedding {len(missing):,} texts (SCMS's embedder, cached for later runs)")
        for start in range(0, len(missing), 256):
            batch = missing[start:start + 256]
            cached.update(zip([content_hash(t) for t in batch], embedder.encode(batch, batch_size=32)))
        log(f"  {len(missing) / (time.perf_counter() - started):.0f} texts/s")
        VECTORS.parent.mkdir(parents=True, exist_ok=True)
        np.savez(VECTORS, keys=np.array(list(cached)), vectors=np.stack(list(cached.values())))
    return cached


def prepare(log=print) -> Bench:
    """The corpus, and a template workspace holding its patterns with every embedding (built once)."""
    started = time.perf_counter()
    corpus = idiom_corpus.build(log)
    template = CACHE / "idioms" / f"ws-{TEMPLATE}-{idiom_corpus.digest(corpus)}"
    manifest = template / "patterns.json"
    if not manifest.exists():
        _build_template(corpus, template, log)
    stored = json.loads(manifest.read_text())
    by_key = {k: (pid, text) for k, pid, text in stored}
    units = {key(u): u for c in corpus.clusters for u in [c.pattern]} | {key(u): u for u in corpus.distractors}
    patterns = [(pid, text, units[k]) for k, pid, text in stored]
    sources = Sources(template)
    queries, accepts = [], [[] for _ in range(PHASES)]
    for cluster in corpus.clusters:
        if key(cluster.pattern) not in by_key:
            continue  # refused by the store (a secret-looking string): the cluster is left out
        wanted = by_key[key(cluster.pattern)][0]
        for unit in cluster.held_out:
            queries.append(Query(cluster.split, cluster.project, cluster.idiom, cluster.phase, unit,
                                 sources.code(unit).text, wanted))
        accepts[cluster.phase] += [(wanted, unit, sources.code(unit).text) for unit in cluster.accepted]
    return Bench(corpus, template, patterns, queries, accepts, time.perf_counter() - started)


def _build_template(corpus: Corpus, template: Path, log) -> None:
    for stale in template.parent.glob("ws-*"):
        shutil.rmtree(stale)
    template.mkdir(parents=True)
    stored = [c.pattern for c in corpus.clusters] + corpus.distractors
    idiom_corpus.copy_sources(template, stored + [u for c in corpus.clusters for u in c.accepted + c.held_out])
    sources = Sources(template)
    random.Random(SEED).shuffle(stored)
    memory = Memory.open(template, Settings.model_validate({"recall": {"embeddings": False}}), lambda: CLOCK)
    rows, refused = [], 0
    try:
        for unit in stored:
            try:
                pattern = memory.remember(sources.code(unit))
            except ScmsError:
                refused += 1
                continue
            rows.append((key(unit), pattern.id, pattern_text(pattern.title, pattern.body, pattern.snippet)))
        contexts = [sources.code(u).text for c in corpus.clusters for u in c.accepted + c.held_out]
        log(f"  stored {len(rows):,} patterns ({refused} refused)")
        vectors = embed([text for _, _, text in rows] + contexts, log)
        with memory._ws.db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                             [(h, MODEL, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()])
    finally:
        memory.close()
    import torch

    torch.manual_seed(0)  # the memory model's initial weights, the same for every run
    memory = Memory.open(template, Settings.model_validate({"recall": {"torch_threads": 2}}), lambda: CLOCK)
    try:  # the vector index and a fresh memory model, saved in the template
        memory.start_model()
        memory.wait_idle()
    finally:
        memory.close()
    (template / "patterns.json").write_text(json.dumps(rows))


def rank(memory: Memory, text: str, wanted: str, mode: str = "fused") -> int:
    """1-based rank of the wanted pattern in the top LIMIT, 0 when it is not there."""
    for position, result in enumerate(memory.recall(text, mode=mode, threshold=-1.0, limit=LIMIT, wait=True), 1):
        if result.pattern.id == wanted:
            return position
    return 0


@contextmanager
def variant(memory: Memory, name: str):
    """The memory as it ranks for one of the systems (restored afterwards)."""
    model, hits = ranking.MODEL, memory._learning.exemplar_hits
    try:
        if name == EXEMPLARS:
            ranking.MODEL = 0.0
        elif name == LAYER:
            memory._learning.exemplar_hits = lambda vector, rows: []
        yield "embeddings" if name == EMBEDDINGS else "lexical" if name == LEXICAL else "fused"
    finally:
        ranking.MODEL = model
        memory._learning.exemplar_hits = hits


@contextmanager
def opened(bench: Bench):
    """A fresh copy of the template workspace, open, with its models started."""
    with tempfile.TemporaryDirectory(prefix="scms-idioms-") as tmp:
        root = Path(tmp) / "workspace"
        shutil.copytree(bench.template, root)
        memory = Memory.open(root, clock=lambda: CLOCK)
        try:
            memory.start_model()
            if memory._learning is None or not memory._learning.ready:
                raise SystemExit(f"the memory model did not start: {memory.notices}")
            yield memory
        finally:
            memory.close()


def run_scms(bench: Bench, log=print, extract=None) -> tuple[dict[str, np.ndarray], dict]:
    """Ranks per system: an array [measurement point, query] (0 = not in the top LIMIT). `extract(memory)` is
    called once the models are up, before any accept (the study's features)."""
    started = time.perf_counter()
    systems = (FUSED, EXEMPLARS, LAYER, EMBEDDINGS, LEXICAL)
    ranks = {name: np.zeros((PHASES + 1, len(bench.queries)), dtype=int) for name in systems}
    extra = {}
    with opened(bench) as memory:
        if extract is not None:
            extra = extract(memory)
        sources = Sources(memory.root)

        def measure(point: int, names) -> None:
            for name in names:
                with variant(memory, name) as mode:
                    ranks[name][point] = [rank(memory, q.text, q.wanted, mode) for q in bench.queries]

        measure(0, (FUSED, EMBEDDINGS, LEXICAL))
        for name in (EXEMPLARS, LAYER):
            ranks[name][0] = ranks[FUSED][0]  # nothing learned yet: the same ranking
        log(f"  SCMS before any accept: {time.perf_counter() - started:.0f} s")
        for phase, accepts in enumerate(bench.accepts):
            for pattern_id, unit, _ in accepts:
                memory.accept(pattern_id, sources.code(unit))
            memory.wait_idle()
            measure(phase + 1, systems)
            hits = {n: float((r[phase + 1] == 1).mean()) for n, r in ranks.items()}
            log(f"  SCMS after phase {phase + 1} ({len(accepts)} accepts): "
                + ", ".join(f"{n.split(' (')[0] if n == FUSED else n}: {v:.3f}" for n, v in hits.items())
                + f" ({time.perf_counter() - started:.0f} s)")
        extra["model"] = memory.status()["model"]
    extra["seconds"] = time.perf_counter() - started
    return ranks, extra
