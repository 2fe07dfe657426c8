"""The recall engine's embedding worker: one background thread that embeds queued contexts and patterns in
batches and brings the vector index up to date with them, holding only the writer lock across the slow
steps (reading texts, embedding, (re)training an IVF index); a failed batch's patterns are tried again.

A part of `RecallEngine` (its base class), kept apart so that each file says one thing: it works on the
engine's queue, locks and indexes, which `engine.py` sets up.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
from collections.abc import Callable

import numpy as np

from scms.background import background_priority, release_freed_memory
from scms.errors import ScmsError
from scms.recall.vector_checks import decoded
from scms.store import queries
from scms.text import content_hash

log = logging.getLogger("scms")
RETRIES = 3  # batches a pattern may fail in (a locked store, a model error) before it waits for the next start
BATCH = 16  # measured: batches of 32 left the server ~250 MB larger (freed memory glibc kept)

# A job for the worker: ("context", content hash, code, "") or ("pattern", pattern id, its text if known
# else "", "tier\tevent"); a pattern job applies whatever the pattern's newest wanted state is.
Job = tuple[str, str, str, str]


class EmbeddingWorker:
    """The worker's half of RecallEngine (see the module docstring)."""

    def _queue(self, job: Job) -> None:
        token = f"{job[0]}:{job[1]}:{job[3]}"
        if token in self._queued:
            return
        self._queued.add(token)
        self._jobs.put(job)

    def _work(self) -> None:
        background_priority()
        while True:
            first = self._jobs.get()
            if first is None:
                self._jobs.task_done()
                return
            batch = [first]
            while len(batch) < BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)
                    self._jobs.task_done()
                    break
                batch.append(job)
            retry: list[Job] = []
            try:
                if not self._closing:
                    self._embed_batch(batch)
            except Exception:  # one bad batch must not stop recall; its patterns are tried again, a few times
                log.exception("embedding a batch of %d failed", len(batch))
                retry = [job for job in batch if job[0] == "pattern" and not self._closing
                         and self._attempts.get(job[1], 0) < RETRIES]
            finally:
                for job in batch:
                    self._queued.discard(f"{job[0]}:{job[1]}:{job[3]}")
                    if job not in retry:
                        self._attempts.pop(job[1], None)
                for job in retry:  # queued before this batch is marked done, so that waiting for idle waits for it
                    self._attempts[job[1]] = self._attempts.get(job[1], 0) + 1
                    self._queue(job)
                for _ in batch:
                    self._jobs.task_done()
                if self._jobs.empty():
                    release_freed_memory()

    def _embed_batch(self, batch: list[Job]) -> None:
        """Embed a batch of contexts and patterns and bring the vector index up to date with its patterns.
        The slow steps (reading, embedding, (re)training) hold only the writer lock; hovers wait at most for
        the few insertions and removals, or the swap of a retrained index."""
        assert self.embedder is not None and self.vectors is not None
        with self._writing:
            with self._lock:  # what each pattern of the batch should become now
                wanted = {job[1]: self._wanted.get(job[1]) for job in batch if job[0] == "pattern"}
            wanted = {pattern_id: state for pattern_id, state in wanted.items() if state is not None}
            given = {job[1]: job[2] for job in batch if job[0] == "pattern" and job[2] and job[1] in wanted
                     and job[3] == "{}\t{}".format(*wanted[job[1]])}  # a text handed over for that very state
            contexts = {job[1]: job[2] for job in batch if job[0] == "context"}
            live = [pattern_id for pattern_id, (tier, _) in wanted.items() if tier != "archive"]
            texts = {pattern_id: given[pattern_id] for pattern_id in live if pattern_id in given}
            with self.ws.db.read() as conn:
                texts.update(queries.pattern_texts(conn, [p for p in live if p not in texts]))
                keys = {pattern_id: content_hash(text) for pattern_id, text in texts.items()}
                cached = queries.cached_embeddings(conn, self.embedder.name, [*contexts, *keys.values()])
            vectors = {key: vector for key, blob in cached.items()
                       if (vector := decoded(blob, self.embedder.dim)) is not None}
            missing = {key: text for key, text in contexts.items() if key not in vectors}
            for pattern_id, key in keys.items():
                if key not in vectors:
                    missing.setdefault(key, texts[pattern_id])
            if missing:
                encoded = self.embedder.encode(list(missing.values()), batch_size=BATCH)
                vectors.update(zip(missing, encoded))
                try:
                    self._store(list(missing), encoded)
                except (sqlite3.Error, ScmsError) as err:  # only a cache (a read-only store too): indexed all the same
                    log.warning("could not cache %d embeddings (%s); they are embedded again when needed",
                                len(missing), err)
            removes = [pattern_id for pattern_id, (tier, _) in wanted.items() if tier == "archive"]
            adds = [(pattern_id, wanted[pattern_id][0], vectors[key]) for pattern_id, key in keys.items()
                    if self._indexed.get(pattern_id) != (wanted[pattern_id][0], key)
                    or pattern_id not in self.vectors]
            staged = self.vectors.stage(removes, adds) if removes or adds else None  # retrains here, if due
            with self._lock:
                for key in contexts:
                    self._remember_context(key, vectors[key])
                if staged is not None:
                    self.vectors.commit(staged)
                    self._dirty = True
                for pattern_id in removes:
                    self._indexed.pop(pattern_id, None)
                for pattern_id, tier, _ in adds:
                    self._indexed[pattern_id] = (tier, keys[pattern_id])
                for pattern_id, state in wanted.items():
                    if self._wanted.get(pattern_id) == state:  # not archived, edited or moved meanwhile
                        del self._wanted[pattern_id]

    def _store(self, keys: list[str], vectors: np.ndarray) -> None:
        queries.cache_embeddings(self.ws.db, self.embedder.name,  # type: ignore[union-attr]
                                 [(key, vector.astype(np.float32).tobytes()) for key, vector in zip(keys, vectors)])

    def vector_of(self, key: str, text: Callable[[], str | None]) -> np.ndarray | None:
        """The embedding cached under this content hash; else of `text()` (None: give up), embedded now and
        cached. Slow when it embeds: worker threads only."""
        with self.ws.db.read() as conn:
            vector = self._cached(conn, key)
        if vector is None and (code := text()) is not None:
            vector = self.embedder.encode([code])[0]  # type: ignore[union-attr]
            self._store([key], vector[None, :])
        return vector

    def _cached(self, conn: sqlite3.Connection, key: str) -> np.ndarray | None:
        return decoded(queries.cached_embedding(conn, self.embedder.name, key), self.embedder.dim)  # type: ignore
