"""faiss indexes of pattern embeddings, one per tier, persisted under `.scms/index/<model>/`.

Exact inner-product search (flat) up to `APPROXIMATE_ABOVE` vectors, then an inverted-file index (IVF).
Measured here at one thread: flat search over 384-d vectors takes 1.4 ms at 10k, 2.9 ms at 20k and 13.5 ms
at 100k, too much of a 10–15 ms hover budget; IVF takes ~0.1 ms at 10k. On 5k real all-MiniLM-L6-v2
vectors of standard-library functions, IVF with 127 lists and 24 probed found 98 % of the exact top 10
and the same top 1 for all 500 queries. IVF can delete ids (HNSW cannot) and trains in seconds; it is
retrained whenever the tier has doubled since its last training.

faiss holds the only copy of the vectors (a pattern's vector is reconstructed from it by id), and the
indexes are saved in faiss' own format, so a restart neither copies nor retrains them.

Readers (hovers) and the one writer at a time share the index: faiss' searches and reconstructions are const
and safe side by side. A change goes in two steps, so that the readers' lock is never held across training:
`stage` does the slow part (a tier due for (re)training gets a new faiss index, built from a copy of its
contents) with only the writer's lock, and `commit` swaps it in and makes the small changes under the readers'.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from scms.atomic import atomic_write
from scms.recall.vector_checks import sound

faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead and contend with the editor
APPROXIMATE_ABOVE = 5_000
NPROBE = 24
FORMAT = 2  # 1 kept the vectors in .npz files and retrained on load


def numeric_id(pattern_id: str) -> int:
    return int.from_bytes(hashlib.sha1(pattern_id.encode()).digest()[:8], "big") & (2**63 - 1)


@dataclass
class Built:
    """A faiss index built for a tier, not yet in use."""

    index: faiss.Index
    kind: str  # "flat" | "ivf"
    trained_for: int
    keys: set[int]  # exactly those it holds


class TierIndex:
    """One tier's vectors: an ID-mapped flat index, or a trained IVF index once it is large."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._keys: set[int] = set()
        self._index: faiss.Index | None = None
        self._built_kind = ""
        self._trained_for = 0

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: int, vector: np.ndarray) -> None:
        self.remove(key)
        self._keys.add(key)
        row = vector.reshape(1, -1).astype(np.float32)
        if self._needs_rebuild():
            keys, data = self.contents()
            self._build(np.append(keys, key), np.vstack([data, row]))
        else:
            self._index.add_with_ids(row, np.array([key], dtype=np.int64))  # type: ignore[union-attr]

    def insert(self, key: int, vector: np.ndarray) -> None:
        """Add a key not in this tier to its current faiss index, whatever its size."""
        self._keys.add(key)
        self._index.add_with_ids(vector.reshape(1, -1).astype(np.float32),  # type: ignore[union-attr]
                                 np.array([key], dtype=np.int64))

    def add_many(self, keys: list[int], vectors: np.ndarray) -> None:
        """Bulk load: one build instead of one insertion per vector."""
        for key in keys:
            self.remove(key)
        old_keys, old_data = self.contents()
        self._keys.update(keys)
        self._build(np.append(old_keys, np.array(keys, dtype=np.int64)),
                    np.vstack([old_data, vectors.astype(np.float32)]))

    def remove(self, key: int) -> None:
        self.remove_many([key])

    def remove_many(self, keys: list[int]) -> None:
        """Remove these keys (those indexed here) in one faiss call: a flat index moves its rows once."""
        present = [key for key in keys if key in self._keys]
        if present:
            self._keys.difference_update(present)
            self._index.remove_ids(np.array(present, dtype=np.int64))  # type: ignore[union-attr]

    def keys(self) -> list[int]:
        return list(self._keys)

    def vector(self, key: int) -> np.ndarray | None:
        return self._index.reconstruct(key) if key in self._keys else None  # type: ignore[union-attr]

    def vectors(self, keys: list[int]) -> np.ndarray:
        """The vectors of these keys (all of them indexed here), in one call."""
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_batch(np.array(keys, dtype=np.int64))  # type: ignore[union-attr]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self._index is None or not self._keys:
            return []
        scores, keys = self._index.search(query.reshape(1, -1), min(k, len(self._keys)))
        return [(int(key), float(score)) for key, score in zip(keys[0], scores[0]) if key >= 0]

    def stored_keys(self) -> np.ndarray:
        """The keys faiss holds, read from the index itself."""
        if self._index is None:
            return np.zeros(0, dtype=np.int64)
        if self._built_kind == "flat":
            return faiss.vector_to_array(self._index.id_map)
        lists = self._index.invlists
        keys = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                for n in range(lists.nlist) if lists.list_size(n)]
        return np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Every key and its vector, read back from faiss."""
        keys = self.stored_keys()
        if not len(keys):
            return keys, np.zeros((0, self.dim), dtype=np.float32)
        return keys, self._index.reconstruct_batch(keys)  # type: ignore[union-attr]

    def _kind(self) -> str:
        return self._built_kind

    def _needs_rebuild(self) -> bool:
        return self.due(len(self._keys))

    def due(self, size: int) -> bool:
        """Whether this tier at `size` vectors needs a new faiss index: none yet, flat grown past
        APPROXIMATE_ABOVE (or IVF shrunk below it), or IVF grown to twice what it was trained for."""
        if self._index is None or self._built_kind != ("ivf" if size > APPROXIMATE_ABOVE else "flat"):
            return True
        return self._built_kind == "ivf" and size > 2 * self._trained_for

    def _build(self, keys: np.ndarray, data: np.ndarray) -> None:
        self.install(self.built(self.dim, keys, data))

    @staticmethod
    def built(dim: int, keys: np.ndarray, data: np.ndarray) -> "Built":
        """A new faiss index of these vectors (trained, when IVF: seconds at 100k). Touches no TierIndex."""
        if len(keys) > APPROXIMATE_ABOVE:
            lists = max(1, min(int(4 * math.sqrt(len(keys))), len(keys) // 39))  # faiss wants 39 points a list
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.train(data)
            index.nprobe = NPROBE
            index.set_direct_map_type(faiss.DirectMap.Hashtable)  # vectors by id, and removal by id
            kind, trained_for = "ivf", len(keys)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            kind, trained_for = "flat", 0
        if len(keys):
            index.add_with_ids(np.ascontiguousarray(data, dtype=np.float32), keys.astype(np.int64))
        return Built(index, kind, trained_for, set(keys.tolist()))

    def install(self, built: Built) -> None:
        """Use this newly built index (quick: under the readers' lock)."""
        self._index, self._built_kind, self._keys = built.index, built.kind, built.keys
        if built.kind == "ivf":
            self._trained_for = built.trained_for

    def serialized(self) -> np.ndarray:
        """The index in faiss' file format, as bytes in memory (a copy: the index may change afterwards)."""
        index = self._index if self._index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        return faiss.serialize_index(index)

    def save(self, path: Path) -> None:
        atomic_write(path, memoryview(self.serialized()))

    @classmethod
    def load(cls, path: Path, dim: int, keys: list[int]) -> "TierIndex":
        if path.is_symlink() or not path.is_file():
            raise ValueError(f"{path.name} is a link or not a plain file")
        try:
            index = faiss.read_index(str(path))
        except Exception as err:  # faiss raises RuntimeError with C++ details
            raise ValueError(f"{path.name} is corrupt ({type(err).__name__})") from err
        tier = cls(dim)
        if index.d != dim:
            raise ValueError(f"{path.name} does not fit the model (dimension {index.d}, not {dim})")
        if index.ntotal != len(keys):
            raise ValueError(f"{path.name} does not fit its id list ({index.ntotal} vectors, {len(keys)} ids)")
        if isinstance(index, faiss.IndexIVFFlat):
            index.nprobe = NPROBE
            tier._built_kind, tier._trained_for = "ivf", index.ntotal
        elif isinstance(index, faiss.IndexIDMap2):
            tier._built_kind = "flat"
        else:
            raise ValueError(f"{path.name} holds an index of another kind ({type(index).__name__})")
        tier._index, tier._keys = index, set(keys)
        if set(tier.stored_keys().tolist()) != tier._keys:  # files from two different saves
            raise ValueError(f"{path.name} holds other patterns than its id list")
        if not sound(tier.contents()[1]):  # a damaged file can hold any numbers: similarity 1.8e37 ranked first
            raise ValueError(f"{path.name} holds damaged vectors (not finite, or not of unit length)")
        return tier


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
        self.tiers[tier].add(self._register(pattern_id, tier), vector)

    def add_many(self, pattern_ids: list[str], tier: str, vectors: np.ndarray) -> None:
        for pattern_id in pattern_ids:
            self.remove(pattern_id)
        keys = [self._register(pattern_id, tier) for pattern_id in pattern_ids]
        if keys:
            self.tiers[tier].add_many(keys, vectors)

    def remove(self, pattern_id: str) -> None:
        tier = self._tier_of.pop(pattern_id, None)
        if tier is not None:
            key = self._key_of.pop(pattern_id)
            self._ids.pop(key, None)
            self.tiers[tier].remove(key)

    def remove_many(self, pattern_ids: list[str]) -> None:
        """Remove these patterns, a tier's in one faiss call."""
        self.commit(Staged(list(pattern_ids), []))

    def stage(self, removes: list[str], adds: list[tuple[str, str, np.ndarray]]) -> "Staged":
        """The slow part of removing these patterns and (re)adding these (id, tier, vector): a new faiss index
        for every tier the change makes due for one, built from a copy of its contents. It only reads the
        index, beside searches; the caller keeps other writers out until `commit`."""
        adds = list({pattern_id: (pattern_id, tier, np.asarray(vector, dtype=np.float32).reshape(-1))
                     for pattern_id, tier, vector in adds}.values())  # the last of several adds of one pattern
        leaving: dict[str, set[int]] = {tier: set() for tier in self.TIERS}
        arriving: dict[str, dict[int, np.ndarray]] = {tier: {} for tier in self.TIERS}
        for pattern_id in [*removes, *(pattern_id for pattern_id, _, _ in adds)]:
            if (tier := self._tier_of.get(pattern_id)) is not None:
                leaving[tier].add(self._key_of[pattern_id])
        for pattern_id, tier, vector in adds:
            if tier in self.tiers:
                arriving[tier][numeric_id(pattern_id)] = vector
        built: dict[str, Built] = {}
        for tier, index in self.tiers.items():
            size = len(index) - len(leaving[tier]) + len(arriving[tier])
            if (leaving[tier] or arriving[tier]) and index.due(size):
                keys, data = index.contents()
                keep = ~np.isin(keys, np.fromiter(leaving[tier], dtype=np.int64, count=len(leaving[tier])))
                new_keys = np.fromiter(arriving[tier], dtype=np.int64, count=len(arriving[tier]))
                keys = np.concatenate([keys[keep], new_keys])
                rows = [data[keep]] + ([np.stack(list(arriving[tier].values()))] if arriving[tier] else [])
                built[tier] = TierIndex.built(self.dim, keys, np.vstack(rows))
        return Staged(list(removes), adds, built)

    def commit(self, staged: "Staged") -> None:
        """Make a staged change (quick: the readers' lock); nothing else may have changed the index since."""
        leaving: dict[str, list[int]] = {tier: [] for tier in self.TIERS}
        for pattern_id in [*staged.removes, *(pattern_id for pattern_id, _, _ in staged.adds)]:
            tier = self._tier_of.pop(pattern_id, None)
            if tier is not None:
                key = self._key_of.pop(pattern_id)
                self._ids.pop(key, None)
                leaving[tier].append(key)
        for tier, keys in leaving.items():
            if tier not in staged.built:
                self.tiers[tier].remove_many(keys)
        for tier, built in staged.built.items():
            self.tiers[tier].install(built)
        for pattern_id, tier, vector in staged.adds:
            if tier in self.tiers:
                key = self._register(pattern_id, tier)
                if tier not in staged.built:
                    self.tiers[tier].insert(key, vector)  # not due for a rebuild: `stage` checked

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        hits = [(self._ids[key], score) for index in self.tiers.values() for key, score in index.search(query, k)]
        return sorted(hits, key=lambda hit: hit[1], reverse=True)[:k]

    def items(self) -> list[tuple[str, str]]:
        return list(self._tier_of.items())

    def vector(self, pattern_id: str) -> np.ndarray | None:
        tier = self._tier_of.get(pattern_id)
        return self.tiers[tier].vector(self._key_of[pattern_id]) if tier else None

    def vectors_of(self, pattern_ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors of those of these patterns that are indexed, read from faiss a tier at a time."""
        by_tier: dict[str, list[str]] = {}
        for pattern_id in pattern_ids:
            if (tier := self._tier_of.get(pattern_id)) is not None:
                by_tier.setdefault(tier, []).append(pattern_id)
        found: dict[str, np.ndarray] = {}
        for tier, ids in by_tier.items():
            found.update(zip(ids, self.tiers[tier].vectors([self._key_of[p] for p in ids])))
        return found

    def save(self, folder: Path, watermark: int, stamp: str = "") -> None:
        """One faiss file per tier, the pattern ids in it, and the last event (with its stamp) they include.
        Only reads the index (beside searches); the caller keeps writers out meanwhile."""
        folder.mkdir(parents=True, exist_ok=True)
        ids: dict[str, list[str]] = {}
        for tier, index in self.tiers.items():
            ids[tier] = [self._ids[key] for key in index.keys()]
            index.save(folder / f"{tier}.faiss")
        for old in ("session.npz", "validated.npz"):  # the first format's files
            (folder / old).unlink(missing_ok=True)
        atomic_write(folder / "watermark.json",
                     json.dumps({"format": FORMAT, "event": watermark, "stamp": stamp, "ids": ids}))

    @classmethod
    def load(cls, folder: Path, dim: int) -> tuple["VectorIndex", int, str] | None:
        """The saved index, the last event it includes and that event's stamp; None when there is none (or
        one of an older format). Raises ValueError when a file is corrupt or does not fit; the caller rebuilds."""
        try:
            meta = json.loads((folder / "watermark.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise ValueError(f"watermark.json is unreadable ({type(err).__name__})") from err
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        try:
            watermark, stamp, ids = int(meta["event"]), str(meta["stamp"]), meta["ids"]
            index = cls(dim)
            for tier in cls.TIERS:
                tier_ids = [str(pattern_id) for pattern_id in ids[tier]]
                keys = [index._register(pattern_id, tier) for pattern_id in tier_ids]
                index.tiers[tier] = TierIndex.load(folder / f"{tier}.faiss", dim, keys)
        except (KeyError, TypeError) as err:
            raise ValueError(f"watermark.json is incomplete ({type(err).__name__}: {err})") from err
        return index, watermark, stamp

    def _register(self, pattern_id: str, tier: str) -> int:
        key = numeric_id(pattern_id)
        self._ids[key] = pattern_id
        self._tier_of[pattern_id] = tier
        self._key_of[pattern_id] = key
        return key


@dataclass
class Staged:
    """A change of the index whose slow part is done (`VectorIndex.stage`), ready to `commit`."""

    removes: list[str]
    adds: list[tuple[str, str, np.ndarray]]
    built: dict[str, Built] = field(default_factory=dict)  # tier -> its new index
