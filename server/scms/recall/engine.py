"""The recall engine: code contexts, the lexical index, and (once its model has loaded) embeddings and faiss.

Until the model is ready recall is lexical and says so. Embedding never happens on the hover path:
contexts and patterns are queued and embedded by a background worker, and a hover only looks up.

Hovers never wait for background work. Two locks: `lock`, the readers' lock, which a hover holds while it
reads the indexes and which changes take only for quick steps (a few rows, or swapping in what was built);
and the vector index's writer lock, which the embedding worker holds across its slow work (reading texts,
embedding a batch, (re)training an IVF index on a copy) and saving holds while it writes the files. Every
change to the vector index is made by the worker, so a refresh on the hover path only queues them.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scms.background import background_priority, release_freed_memory
from scms.recall import lexical_snapshot
from scms.recall.embeddings import Embedder, ModelError
from scms.recall.lexical import LexicalIndex
from scms.recall.syntax import Context, Syntax
from scms.store import queries
from scms.store.source import language_of
from scms.store.workspace import Workspace
from scms.text import content_hash

log = logging.getLogger("scms")
CONTEXT_CACHE = 4096
SAVE_LEXICAL_AFTER = 1000  # events followed since the last snapshot that make a fresh one worth writing at start
BATCH = 16  # measured: batches of 32 left the server ~250 MB larger (freed memory glibc kept)

# A job for the worker: ("context", content hash, code, "") or ("pattern", pattern id, its text if known
# else "", "tier\tevent"); a pattern job applies whatever the pattern's newest wanted state is.
Job = tuple[str, str, str, str]


class RecallEngine:
    """Owns everything recall needs in memory; safe to call from the server's loop and worker threads."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lexical = LexicalIndex()
        self.syntax = Syntax()
        self.embedder: Embedder | None = None
        self.vectors = None  # VectorIndex once the model is ready (faiss is imported with it)
        self.state = "lexical"  # lexical -> loading -> ready | failed
        self.problem = ""
        self.notices: list[str] = []
        self.on_change: Callable[[str], None] = lambda reason: None
        self._lock = threading.RLock()  # the readers' lock (see the module's doc)
        self._writing = threading.RLock()  # the vector index's writer lock: never taken on the hover path
        self._saving_lexical = threading.Lock()
        self._wanted: dict[str, tuple[str, int]] = {}  # pattern id -> (tier, event) the vector index must follow
        self._indexed: dict[str, tuple[str, str]] = {}  # pattern id -> (tier, content hash) of its vector
        self._contexts: OrderedDict[str, np.ndarray] = OrderedDict()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._queued: set[str] = set()
        self._indexed_event = 0
        self._lexical_saved = 0
        self._vector_event = 0  # the last event whose changes to the vector index are applied or wanted
        self._seen: dict[int, tuple[sqlite3.Connection, int]] = {}  # id(conn) -> (conn, its data_version)
        self._dirty = False
        self._closing = False
        self._worker: threading.Thread | None = None

    # contexts

    @property
    def lock(self) -> threading.RLock:
        """The readers' lock: recall holds it while it reads the indexes; changes hold it only for quick steps."""
        return self._lock

    def context(self, path: Path, text: str, line: int) -> Context | None:
        return self.syntax.context(str(path), text, line, language_of(path.name))

    # following the store

    def refresh(self, conn: sqlite3.Connection) -> None:
        """Follow every committed change (ours, the CLI's, another window's) into the indexes. Quick: the rows
        are read without the lock, the lexical index changes under it, and the vector index's changes are
        queued for the worker."""
        version = queries.data_version(conn)
        seen = self._seen.get(id(conn))
        if seen is not None and seen[0] is conn and seen[1] == version:
            return
        vectors_live = self.state == "ready"
        since = min(self._indexed_event, self._vector_event) if vectors_live else self._indexed_event
        rows = queries.changed_patterns(conn, since)
        fresh = None
        if rows and self._indexed_event == 0 and self.lexical.empty:  # a bulk load (seconds at 100k): unlocked
            fresh = LexicalIndex()
            fresh.add_many([(row.id, row.terms) for row in rows if row.tier != "archive"])
            fresh.precompute()
        with self._lock:
            if rows:
                if fresh is not None and self._indexed_event == 0 and self.lexical.empty:
                    self.lexical = fresh
                else:
                    for row in rows:
                        if row.last_event > self._indexed_event:
                            if row.tier == "archive":
                                self.lexical.remove(row.id)
                            else:
                                self.lexical.upsert(row.id, row.terms)
                vectors_live = vectors_live and self.state == "ready"
                if vectors_live:
                    changed = [row for row in rows if row.last_event > self._vector_event]
                    removed = self._remove_now([row.id for row in changed if row.tier == "archive"])
                    for row in changed:
                        if row.id not in removed:
                            self._want(row.id, row.tier, row.last_event)
                newest = max(row.last_event for row in rows)
                self._indexed_event = max(self._indexed_event, newest)
                if vectors_live:
                    self._vector_event = max(self._vector_event, newest)
            self._seen[id(conn)] = (conn, version)

    def _remove_now(self, pattern_ids: list[str]) -> set[str]:
        """Take archived patterns out of the vector index at once (under the lock) if no writer is at work,
        as a removal is quick; those it took out. Otherwise the worker removes them after its batch."""
        if not pattern_ids or not self._writing.acquire(blocking=False):
            return set()
        try:
            for pattern_id in pattern_ids:
                self._wanted.pop(pattern_id, None)  # an add still queued for it must not bring it back
                self._indexed.pop(pattern_id, None)
            present = [pattern_id for pattern_id in pattern_ids if pattern_id in self.vectors]  # type: ignore
            if present:
                self.vectors.remove_many(present)  # type: ignore[union-attr]
                self._dirty = True
            return set(pattern_ids)
        finally:
            self._writing.release()

    def _want(self, pattern_id: str, tier: str, event: int, text: str = "") -> None:
        """Queue the vector index's following of a pattern (under the lock); only its newest state is applied."""
        if tier == "archive" and pattern_id not in self._wanted and pattern_id not in self.vectors:  # type: ignore
            return
        self._wanted[pattern_id] = (tier, event)
        self._queue(("pattern", pattern_id, text, f"{tier}\t{event}"))

    # the model

    def start_model(self, model_path: str, threads: int, report: Callable[[str, int], None] = lambda m, p: None) -> None:
        """Load the model, then the vector index (rebuilt if corrupt), then embed what is missing. Slow: a thread."""
        with self._lock:
            if self.state in ("loading", "ready"):
                return
            self.state = "loading"
        try:
            embedder = Embedder(model_path, threads)
            report("loading the embedding model", 10)
            embedder.load()
        except ModelError as err:
            with self._lock:
                self.state, self.problem = "failed", str(err)
            log.warning("recall stays lexical: %s", err)
            self.on_change("recall")
            return
        report("loading the vector index", 50)
        vectors, newest, missing = self._build_vectors(embedder)
        release_freed_memory()  # a rebuild's temporary copies
        with self._writing, self._lock:
            self.embedder, self.vectors = embedder, vectors
            self._vector_event = newest
            self._indexed.clear()
            self._seen.clear()  # let the next refresh catch up with changes made meanwhile
            self.state = "ready"
            for pattern_id, tier, event, text in missing:
                self._want(pattern_id, tier, event, text)
        self._worker = threading.Thread(target=self._work, name="scms-embeddings", daemon=True)
        self._worker.start()
        report("embedding patterns", 70)
        with self.ws.db.read() as conn:
            self.refresh(conn)
        self._jobs.join()
        self.save()
        log.info("embedding recall ready: %s, %d patterns indexed", embedder.name, len(vectors))
        self.on_change("recall")

    def _build_vectors(self, embedder: Embedder) -> tuple[object, int, list[tuple[str, str, int, str]]]:
        from scms.recall.vector_loading import load_vectors  # imports faiss: only once the model is there

        index, newest, missing, self._dirty = load_vectors(self.ws, embedder, self.notices)
        return index, newest, missing

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
            try:
                if not self._closing:
                    self._embed_batch(batch)
            except Exception:  # one bad batch must not stop recall
                log.exception("embedding a batch of %d failed", len(batch))
            finally:
                for job in batch:
                    self._queued.discard(f"{job[0]}:{job[1]}:{job[3]}")
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
            size = 4 * self.embedder.dim
            vectors = {key: np.frombuffer(blob, dtype=np.float32) for key, blob in cached.items() if len(blob) == size}
            missing = {key: text for key, text in contexts.items() if key not in vectors}
            for pattern_id, key in keys.items():
                if key not in vectors:
                    missing.setdefault(key, texts[pattern_id])
            if missing:
                encoded = self.embedder.encode(list(missing.values()), batch_size=BATCH)
                vectors.update(zip(missing, encoded))
                self._store(list(missing), encoded)
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
        blob = queries.cached_embedding(conn, self.embedder.name, key)  # type: ignore[union-attr]
        return np.frombuffer(blob, dtype=np.float32) if blob is not None else None

    def _remember_context(self, key: str, vector: np.ndarray) -> None:
        self._contexts[key] = vector
        self._contexts.move_to_end(key)
        while len(self._contexts) > CONTEXT_CACHE:
            self._contexts.popitem(last=False)

    # contexts' vectors

    def context_vector(self, conn: sqlite3.Connection, text: str) -> np.ndarray | None:
        """The cached vector of a context; otherwise it is queued for the background worker (hovers never
        embed; commands embed first with `embed_context`)."""
        if self.state != "ready":
            return None
        key = content_hash(text)
        with self._lock:
            vector = self._contexts.get(key)
        if vector is None:
            vector = self._cached(conn, key)
            with self._lock:
                if vector is not None:
                    self._remember_context(key, vector)
                else:
                    self._queue(("context", key, text, ""))
        return vector

    def embed_context(self, text: str) -> np.ndarray | None:
        """This context's vector, embedded now unless it is known (commands, never hovers), holding no lock
        while the model runs; None until the model is ready."""
        if self.state != "ready":
            return None
        key = content_hash(text)
        with self._lock:
            vector = self._contexts.get(key)
        if vector is None:
            with self.ws.db.read() as conn:
                vector = self._cached(conn, key)
        if vector is None:
            vector = self.embedder.encode([text])[0]  # type: ignore[union-attr]
        with self._lock:
            self._remember_context(key, vector)
        return vector

    def prepare(self, texts: list[str]) -> None:
        """Queue contexts for embedding ahead of hovers (after an edit, or when a document opens)."""
        if self.state != "ready":
            return
        with self._lock:
            for text in texts:
                key = content_hash(text)
                if key not in self._contexts:
                    self._queue(("context", key, text, ""))

    @property
    def pending(self) -> int:
        """Units and patterns waiting to be embedded (or being embedded now)."""
        return self._jobs.unfinished_tasks

    def warm_up(self) -> None:
        """Load the lexical index (saved, else built from the store) now: a first hover would otherwise pay.
        Loaded and built without the lock; hovers meanwhile answer from what is there."""
        folder = self.ws.scms_dir / "index"
        with self.ws.db.read() as conn:
            if not self._indexed_event and self.lexical.empty:
                try:
                    saved = lexical_snapshot.load(folder, conn)
                except ValueError as err:
                    saved = None
                    log.info("the saved lexical index is rebuilt: %s", err)
                if saved is not None:
                    saved[0].precompute()
                    with self._lock:
                        if not self._indexed_event and self.lexical.empty:
                            self.lexical, self._indexed_event = saved
                            self._lexical_saved = self._indexed_event
            self.refresh(conn)
        with self._lock:
            self.lexical.precompute()
        if self._indexed_event - self._lexical_saved > SAVE_LEXICAL_AFTER:
            self.save_lexical()

    def save_lexical(self) -> None:
        """Snapshot the lexical index if it has followed events since its last snapshot: its rows are copied
        under the lock (containers only), the file is written outside it."""
        with self._saving_lexical:
            with self._lock:
                if self._indexed_event == self._lexical_saved:
                    return
                watermark = self._indexed_event
                rows = self.lexical.rows_copy()
            with self.ws.db.read() as conn:
                stamp = queries.event_stamp(conn, watermark)
            lexical_snapshot.save(rows.live_rows(), self.ws.scms_dir / "index", watermark, stamp)
            self._lexical_saved = watermark

    def wait_idle(self) -> None:
        if self.state == "ready":
            self._jobs.join()

    def save(self) -> None:
        """Write the vector index if it changed. It holds the writer lock, so that the index stays as it is
        while it is written, and not the readers': hovers go on meanwhile."""
        with self._writing:
            with self._lock:
                if self.vectors is None or not self._dirty or self.embedder is None:
                    return
                # the saved index follows every event up to the watermark: a pattern it holds whose newer state
                # is still queued keeps it below that state's event, so that the next start catches up with it
                stale = [event - 1 for pattern_id, (_, event) in self._wanted.items() if pattern_id in self.vectors]
                watermark = min([self._vector_event, *stale])
                self._dirty = False
            try:
                with self.ws.db.read() as conn:
                    stamp = queries.event_stamp(conn, watermark)
                self.vectors.save(self.ws.scms_dir / "index" / self.embedder.name, watermark, stamp)
            except BaseException:
                self._dirty = True
                raise

    def close(self) -> None:
        self._closing = True
        stuck = False
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=10)
            stuck = self._worker.is_alive()
        try:
            if stuck:  # it holds the writer lock: the next start catches up from the last saved index
                log.warning("the embedding worker did not stop; the vector index is not saved")
            else:
                self.save()
            self.save_lexical()
        except OSError as err:
            log.warning("could not save the recall indexes: %s", err)
