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

from scms.background import release_freed_memory
from scms.recall import lexical_snapshot
from scms.recall.embedding_worker import EmbeddingWorker, Job
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


class RecallEngine(EmbeddingWorker):
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
        self._loading_lexical = threading.Lock()  # the first load of the lexical index
        self._wanted: dict[str, tuple[str, int]] = {}  # pattern id -> (tier, event) the vector index must follow
        self._indexed: dict[str, tuple[str, str]] = {}  # pattern id -> (tier, content hash) of its vector
        self._contexts: OrderedDict[str, np.ndarray] = OrderedDict()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._queued: set[str] = set()
        self._attempts: dict[str, int] = {}  # pattern id -> failed batches it was in, while it is retried
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
        if self._indexed_event == 0 and self.lexical.empty:
            self._load_lexical(conn)
        vectors_live = self.state == "ready"
        since = min(self._indexed_event, self._vector_event) if vectors_live else self._indexed_event
        rows = queries.changed_patterns(conn, since)
        with self._lock:
            if rows:
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
            vector = self.embedder.encode([text], urgent=True)[0]  # type: ignore[union-attr]
        with self._lock:
            self._remember_context(key, vector)
        return vector

    def prepare(self, texts: list[str]) -> None:
        """Queue contexts for embedding ahead of hovers (the unit just edited)."""
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
        """Load the lexical index (saved, else built from the store) now: a first hover would otherwise pay."""
        with self.ws.db.read() as conn:
            self._load_lexical(conn)
            self.refresh(conn)
        with self._lock:
            self.lexical.precompute()
        if self._indexed_event - self._lexical_saved > SAVE_LEXICAL_AFTER:
            self.save_lexical()

    def _load_lexical(self, conn: sqlite3.Connection) -> None:
        """The lexical index's first load, done once: its snapshot if it fits this store, else built from the
        store in bulk (seconds at 100k), without the readers' lock. A hover that comes meanwhile waits for this
        load instead of building a second index."""
        with self._loading_lexical:
            if self._indexed_event or not self.lexical.empty:
                return
            try:
                saved = lexical_snapshot.load(self.ws.scms_dir / "index", conn)
            except ValueError as err:
                saved = None
                log.info("the saved lexical index is rebuilt: %s", err)
            if saved is not None:
                index, event = saved
                snapshot = event  # the snapshot on disk already holds everything up to this event
            else:
                rows = queries.changed_patterns(conn, 0)
                index = LexicalIndex()
                index.add_many([(row.id, row.terms) for row in rows if row.tier != "archive"])
                event, snapshot = max((row.last_event for row in rows), default=0), 0
            index.precompute()
            with self._lock:
                self.lexical, self._indexed_event, self._lexical_saved = index, event, snapshot

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

    @property
    def closing(self) -> bool:
        return self._closing

    def stop_embedding(self) -> None:
        """From now on the worker drops what is queued (the next start embeds it), so that closing is quick."""
        self._closing = True

    def close(self) -> None:
        self._closing = True
        stuck = False
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=5)
            stuck = self._worker.is_alive()
        try:
            if stuck:  # it holds the writer lock: the next start catches up from the last saved index
                log.warning("the embedding worker did not stop; the vector index is not saved")
            else:
                self.save()
            self.save_lexical()
        except Exception as err:  # closing goes on: the next start rebuilds or catches up what was not saved
            log.warning("could not save the recall indexes: %s", err, exc_info=not isinstance(err, OSError))
