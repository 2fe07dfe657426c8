"""faiss indexes of pattern embeddings, one per tier, persisted under `.scms/index/`.

Exact inner-product search (flat) up to `APPROXIMATE_ABOVE` vectors, then an inverted-file index (IVF).
Measured here at one thread: flat search over 384-d vectors takes 1.4 ms at 10k, 2.9 ms at 20k and 13.5 ms
at 100k, too much of a 10–15 ms hover budget; IVF takes ~0.1 ms at 10k. On 5k real all-MiniLM-L6-v2
vectors of standard-library functions, IVF with 127 lists and 24 probed found 98 % of the exact top 10
and the same top 1 for all 500 queries. IVF can delete ids (HNSW cannot) and trains in seconds; it is
retrained whenever the tier has doubled since its last training.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import faiss
import numpy as np

faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead and contend with the editor
APPROXIMATE_ABOVE = 5_000
NPROBE = 24


def numeric_id(pattern_id: str) -> int:
    return int.from_bytes(hashlib.sha1(pattern_id.encode()).digest()[:8], "big") & (2**63 - 1)


class TierIndex:
    """One tier's vectors: an ID-mapped flat index, or a trained IVF index once it is large."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.vectors: dict[int, np.ndarray] = {}  # kept to retrain, and to score candidates found lexically
        self._index: faiss.Index | None = None
        self._built_kind = ""
        self._trained_for = 0

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def approximate(self) -> bool:
        return len(self.vectors) > APPROXIMATE_ABOVE

    def add(self, key: int, vector: np.ndarray) -> None:
        if key in self.vectors:
            self.remove(key)
        self.vectors[key] = vector
        if self._needs_rebuild():
            self._rebuild()
        else:
            self._index.add_with_ids(vector.reshape(1, -1), np.array([key], dtype=np.int64))  # type: ignore

    def add_many(self, keys: list[int], vectors: np.ndarray) -> None:
        """Bulk load: one rebuild instead of one insertion per vector."""
        for key, vector in zip(keys, vectors):
            self.vectors[key] = vector
        self._rebuild()

    def remove(self, key: int) -> None:
        if self.vectors.pop(key, None) is not None and self._index is not None:
            self._index.remove_ids(np.array([key], dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self._index is None or not self.vectors:
            return []
        scores, keys = self._index.search(query.reshape(1, -1), min(k, len(self.vectors)))
        return [(int(key), float(score)) for key, score in zip(keys[0], scores[0]) if key >= 0]

    def _kind(self) -> str:
        return self._built_kind

    def _needs_rebuild(self) -> bool:
        if self._index is None or self._built_kind != ("ivf" if self.approximate else "flat"):
            return True
        return self._built_kind == "ivf" and len(self.vectors) > 2 * self._trained_for

    def _rebuild(self) -> None:
        keys = np.fromiter(self.vectors.keys(), dtype=np.int64, count=len(self.vectors))
        data = np.stack(list(self.vectors.values())) if self.vectors else np.zeros((0, self.dim), np.float32)
        if self.approximate:
            lists = max(1, min(int(4 * math.sqrt(len(keys))), len(keys) // 39))  # faiss wants 39 points a list
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.train(data)
            index.nprobe = NPROBE
            self._trained_for = len(keys)
            self._built_kind = "ivf"
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self._built_kind = "flat"
        if len(keys):
            index.add_with_ids(data, keys)
        self._index = index


class VectorIndex:
    """Pattern id -> vector, per tier (session, validated); archived patterns are not indexed."""

    TIERS = ("session", "validated")

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.tiers = {tier: TierIndex(dim) for tier in self.TIERS}
        self._ids: dict[int, str] = {}
        self._tier_of: dict[str, str] = {}
        self._key_of: dict[str, int] = {}  # numeric_id hashes: kept, as hovers look vectors up by the hundred

    def __len__(self) -> int:
        return len(self._tier_of)

    def __contains__(self, pattern_id: str) -> bool:
        return pattern_id in self._tier_of

    def add(self, pattern_id: str, tier: str, vector: np.ndarray) -> None:
        self.remove(pattern_id)
        if tier not in self.tiers:
            return
        key = numeric_id(pattern_id)
        self._ids[key] = pattern_id
        self._tier_of[pattern_id] = tier
        self._key_of[pattern_id] = key
        self.tiers[tier].add(key, vector.astype(np.float32))

    def remove(self, pattern_id: str) -> None:
        tier = self._tier_of.pop(pattern_id, None)
        if tier is not None:
            self.tiers[tier].remove(self._key_of.pop(pattern_id))

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        hits = [(self._ids[key], score) for index in self.tiers.values() for key, score in index.search(query, k)]
        return sorted(hits, key=lambda hit: hit[1], reverse=True)[:k]

    def save(self, folder: Path, watermark: int) -> None:
        """One .npz per tier (ids and vectors), rebuilt into faiss on load, and the last event they include."""
        folder.mkdir(parents=True, exist_ok=True)
        for tier, index in self.tiers.items():
            keys = np.fromiter(index.vectors.keys(), dtype=np.int64, count=len(index.vectors))
            vectors = np.stack(list(index.vectors.values())) if index.vectors else np.zeros((0, self.dim), np.float32)
            ids = np.array([self._ids[int(k)] for k in keys], dtype=object)
            tmp = folder / f".{tier}.tmp.npz"
            np.savez(tmp, keys=keys, vectors=vectors, ids=ids.astype(str))
            tmp.replace(folder / f"{tier}.npz")
        (folder / ".watermark.tmp").write_text(json.dumps({"event": watermark}))
        (folder / ".watermark.tmp").replace(folder / "watermark.json")

    @classmethod
    def load(cls, folder: Path, dim: int) -> tuple["VectorIndex", int]:
        """The saved index and the last event it includes. Raises ValueError when a file is missing, corrupt
        or of another dimension; the caller rebuilds."""
        try:
            watermark = int(json.loads((folder / "watermark.json").read_text())["event"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"watermark.json is missing or corrupt ({type(err).__name__})") from err
        index = cls(dim)
        for tier in cls.TIERS:
            path = folder / f"{tier}.npz"
            if not path.exists():
                continue
            try:
                with np.load(path, allow_pickle=False) as data:
                    vectors, ids = data["vectors"], data["ids"]
            except Exception as err:
                raise ValueError(f"{path.name} is corrupt ({type(err).__name__})") from err
            if vectors.ndim != 2 or (len(vectors) and vectors.shape[1] != dim) or len(ids) != len(vectors):
                raise ValueError(f"{path.name} does not fit the model (dimension or length)")
            index.add_many([str(i) for i in ids], tier, vectors.astype(np.float32))
        return index, watermark

    def add_many(self, pattern_ids: list[str], tier: str, vectors: np.ndarray) -> None:
        keys = []
        for pattern_id in pattern_ids:
            self.remove(pattern_id)
            key = numeric_id(pattern_id)
            self._ids[key] = pattern_id
            self._tier_of[pattern_id] = tier
            self._key_of[pattern_id] = key
            keys.append(key)
        if keys:
            self.tiers[tier].add_many(keys, vectors)

    def items(self) -> list[tuple[str, str]]:
        return list(self._tier_of.items())

    def vector(self, pattern_id: str) -> np.ndarray | None:
        tier = self._tier_of.get(pattern_id)
        return self.tiers[tier].vectors.get(self._key_of[pattern_id]) if tier else None
