"""The recall engine: code contexts, the lexical index, and (once its model has loaded) embeddings and faiss.

Until the model is ready recall is lexical and says so. Embedding never happens on the hover path:
contexts and patterns are queued and embedded by a background worker, and a hover only looks up.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scms.recall import lexical_snapshot
from scms.recall.embeddings import Embedder, ModelError
from scms.recall.lexical import LexicalIndex
from scms.recall.syntax import Context, Syntax
from scms.store.source import language_of
from scms.store.text import content_hash
from scms.store.workspace import Workspace

log = logging.getLogger("scms")
CONTEXT_CACHE = 4096
BACKGROUND_NICE = 10  # the embedding, model-loading and learning threads yield the CPU to hovers
SAVE_LEXICAL_AFTER = 1000  # events followed since the last snapshot that make a fresh one worth writing at start
BATCH = 16  # measured: batches of 32 left the server ~250 MB larger (freed memory glibc kept)


def pattern_text(title: str, body: str, snippet: str) -> str:
    return "\n".join(part for part in (title, body, snippet) if part)


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
        self._lock = threading.RLock()
        self._saving_lexical = threading.Lock()
        self._wanted: dict[str, tuple[str, str]] = {}  # pattern id -> (content hash, tier) its queued job must match
        self._contexts: OrderedDict[str, np.ndarray] = OrderedDict()
        self._jobs: queue.Queue[tuple[str, str, str, str] | None] = queue.Queue()
        self._queued: set[str] = set()
        self._indexed_event = 0
        self._lexical_saved = 0
        self._vector_event = 0
        self._data_version: int | None = None
        self._dirty = False
        self._closing = False
        self._worker: threading.Thread | None = None

    # contexts

    @property
    def lock(self) -> threading.RLock:
        """Held while the indexes change; recall holds it while it reads them."""
        return self._lock

    def context(self, path: Path, text: str, line: int) -> Context | None:
        return self.syntax.context(str(path), text, line, language_of(path.name))

    # following the store

    def refresh(self, conn: sqlite3.Connection) -> None:
        """Follow every committed change (ours, the CLI's, another window's) into the indexes."""
        with self._lock:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version:
                return
            self._data_version = version
            vectors_live = self.state == "ready"
            since = min(self._indexed_event, self._vector_event) if vectors_live else self._indexed_event
            texts = ("json_extract(data, '$.title'), json_extract(data, '$.body'), json_extract(data, '$.snippet')"
                     if vectors_live else "NULL, NULL, NULL")
            rows = conn.execute(f"SELECT id, tier, terms, last_event, {texts} FROM patterns WHERE last_event > ?",
                                (since,)).fetchall()
            if not rows:
                return
            if self._indexed_event == 0 and self.lexical.empty:
                self.lexical.add_many([(row[0], row[2]) for row in rows if row[1] != "archive"])
            else:
                for pattern_id, tier, terms, last_event, *_ in rows:
                    if last_event > self._indexed_event:
                        if tier == "archive":
                            self.lexical.remove(pattern_id)
                        else:
                            self.lexical.upsert(pattern_id, terms)
            if vectors_live:
                for pattern_id, tier, _terms, last_event, title, body, snippet in rows:
                    if last_event > self._vector_event:
                        if tier == "archive":
                            self._wanted.pop(pattern_id, None)
                            self.vectors.remove(pattern_id)  # type: ignore[union-attr]
                            self._dirty = True
                        else:
                            self._index_pattern(conn, pattern_id, tier, pattern_text(title, body, snippet))
            newest = max(row[3] for row in rows)
            self._indexed_event = max(self._indexed_event, newest)
            if vectors_live:
                self._vector_event = max(self._vector_event, newest)

    def _index_pattern(self, conn: sqlite3.Connection, pattern_id: str, tier: str, text: str) -> None:
        key = content_hash(text)
        vector = self._cached(conn, key)
        if vector is not None:
            self._wanted.pop(pattern_id, None)
            self.vectors.add(pattern_id, tier, vector)  # type: ignore[union-attr]
            self._dirty = True
        else:
            self._want(("pattern", key, text, f"{pattern_id}\t{tier}"))

    def _want(self, job: tuple[str, str, str, str]) -> None:
        """Queue a pattern's embedding; only the newest text and tier asked for a pattern is indexed."""
        pattern_id, tier = job[3].split("\t")
        self._wanted[pattern_id] = (job[1], tier)
        self._queue(job)

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
        with self._lock:
            self.embedder, self.vectors = embedder, vectors
            self._vector_event = newest
            self._data_version = None  # let the next refresh catch up with changes made meanwhile
            self.state = "ready"
        self._worker = threading.Thread(target=self._work, name="scms-embeddings", daemon=True)
        self._worker.start()
        report("embedding patterns", 70)
        with self._lock:
            for job in missing:
                self._want(job)
        with self.ws.db.read() as conn:
            self.refresh(conn)
        self._jobs.join()
        self.save()
        log.info("embedding recall ready: %s, %d patterns indexed", embedder.name, len(vectors))
        self.on_change("recall")

    def _build_vectors(self, embedder: Embedder) -> tuple[object, int, list[tuple[str, str, str, str]]]:
        from scms.recall.vector_loading import load_vectors

        index, newest, missing, self._dirty = load_vectors(self.ws, embedder, self.notices)
        return index, newest, missing

    def _queue(self, job: tuple[str, str, str, str]) -> None:
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

    def _embed_batch(self, batch: list[tuple[str, str, str, str]]) -> None:
        assert self.embedder is not None
        vectors = self.embedder.encode([job[2] for job in batch], batch_size=BATCH)
        self._store([job[1] for job in batch], vectors)
        with self._lock:
            for (kind, key, _text, extra), vector in zip(batch, vectors):
                if kind == "context":
                    self._remember_context(key, vector)
                else:
                    pattern_id, tier = extra.split("\t")
                    if self._wanted.get(pattern_id) == (key, tier):  # not archived, edited or moved meanwhile
                        del self._wanted[pattern_id]
                        self.vectors.add(pattern_id, tier, vector)  # type: ignore[union-attr]
                        self._dirty = True

    def _store(self, keys: list[str], vectors: np.ndarray) -> None:
        with self.ws.db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings (content_hash, model, vector) VALUES (?, ?, ?)",
                             [(key, self.embedder.name, vector.astype(np.float32).tobytes())  # type: ignore[union-attr]
                              for key, vector in zip(keys, vectors)])

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
        row = conn.execute("SELECT vector FROM embeddings WHERE content_hash = ? AND model = ?",
                           (key, self.embedder.name)).fetchone()  # type: ignore[union-attr]
        return np.frombuffer(row[0], dtype=np.float32) if row else None

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
                if vector is not None:
                    self._remember_context(key, vector)
        if vector is None:
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
        """Load the lexical index (saved, else built from the store) now: a first hover would otherwise pay."""
        folder = self.ws.scms_dir / "index"
        with self.ws.db.read() as conn, self._lock:
            if not self._indexed_event and self.lexical.empty:
                try:
                    saved = lexical_snapshot.load(folder, conn)
                except ValueError as err:
                    saved = None
                    log.info("the saved lexical index is rebuilt: %s", err)
                if saved is not None:
                    self.lexical, self._indexed_event = saved
                    self._lexical_saved = self._indexed_event
            self.refresh(conn)
            self.lexical.precompute()
        if self._indexed_event - self._lexical_saved > SAVE_LEXICAL_AFTER:
            self.save_lexical()

    def save_lexical(self) -> None:
        """Snapshot the lexical index if it has followed events since its last snapshot."""
        with self._saving_lexical:
            with self.ws.db.read() as conn, self._lock:
                if self._indexed_event == self._lexical_saved:
                    return
                watermark = self._indexed_event
                ids, terms, lengths, words = self.lexical.live_rows()
                live = (ids, terms, lengths, list(words))
                stamp = lexical_snapshot.event_stamp(conn, watermark)
            lexical_snapshot.save(live, self.ws.scms_dir / "index", watermark, stamp)  # hovers go on meanwhile
            self._lexical_saved = watermark

    def wait_idle(self) -> None:
        if self.state == "ready":
            self._jobs.join()

    def save(self) -> None:
        with self.ws.db.read() as conn, self._lock:  # the order every reader takes them in
            if self.vectors is None or not self._dirty or self.embedder is None:
                return
            stamp = lexical_snapshot.event_stamp(conn, self._vector_event)
            self.vectors.save(self.ws.scms_dir / "index" / self.embedder.name, self._vector_event, stamp)
            self._dirty = False

    def close(self) -> None:
        self._closing = True
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=10)
        try:
            self.save()
            self.save_lexical()
        except OSError as err:
            log.warning("could not save the recall indexes: %s", err)


def background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: threads are scheduled on their own), so that on a busy
    machine the thread answering hovers runs first; a no-op where that is not possible."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):
        pass


def release_freed_memory() -> None:
    """Hand memory freed by torch back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
