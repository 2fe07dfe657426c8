"""The memory model at work in the server: it learns from accepts and rejects in a worker thread, off the
hover path, keeps accepted contexts as exemplars, saves itself atomically, and scores recall candidates."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scms.config import LearningSettings
from scms.learn import persist
from scms.learn.exemplars import Exemplars, Near
from scms.learn.learner import Learner, Rule
from scms.learn.memory_layer import MemoryLayer, Shape
from scms.learn.ordinary_code import ordinary_vectors
from scms.background import background_priority, release_freed_memory
from scms.learn.slots import Background, background
from scms.learn.view import View
from scms.errors import ScmsError
from scms.recall.lexical import query_terms
from scms.store import queries
from scms.store.source import read_range
from scms.text import content_hash

log = logging.getLogger("scms")
REPLAY = 2  # earlier exemplars of the same pattern replayed with each accept
SAVE_AFTER = 5.0  # seconds without updates before the model is written
VIEWS = 256  # the model's views of recent contexts, for repeated hovers
JOIN_S = 5.0  # how long closing waits for the event in hand (one SGD step takes milliseconds)
BACKGROUND_BATCH = 8  # background functions per batch: 256 functions give 32 batches to count slots over


@dataclass
class Job:
    event_id: int
    pattern_id: str
    text: str | None  # None: the context's vector is cached under `key`, or its code is read from `where`
    key: str
    positive: bool
    where: tuple[str, int, int] | None = None  # the accepted code's file and lines, from the event log


class ModelService:
    """One workspace's memory model; every public method is safe from any thread and never raises."""

    def __init__(self, model_dir: Path, engine) -> None:
        self.path = model_dir / persist.FILE
        self.engine = engine
        self.state = "off"  # off -> starting -> ready | failed
        self.notices: list[str] = []
        self.learner: Learner | None = None
        self.exemplars: Exemplars | None = None
        self.last_event = 0
        self.update_ms: list[float] = []
        self._lock = threading.RLock()  # readers' (hovers'): held by changes only for quick steps
        self._writing = threading.RLock()  # the model's writer lock: a change, or a save's copy; hovers never take it
        self._wake: queue.Queue[bool | None] = queue.Queue()  # None stops the worker
        self._texts: dict[int, str] = {}  # code of accepts and rejects made here, by event id
        self._worker: threading.Thread | None = None
        self._dirty = False
        self._views: dict[tuple[bytes, int], np.ndarray] = {}
        self._view: View | None = None
        self._version = 0
        self._closing = False
        self._purges_seen = 0  # the last event checked for purges (whose patterns' accepted contexts are dropped)

    # starting

    def start(self, settings: LearningSettings, report: Callable[[str, int], None] = lambda m, p: None) -> None:
        """Load the saved model (or create one), then learn every accept and reject it has not seen, in the
        order of the event log: those logged before (a crash, the CLI, another window) and those to come."""
        if self.state != "off" or self.engine.state != "ready":
            return
        self.state = "starting"
        try:
            loaded = self._load()
            if loaded is None:
                layer, ground = self._create(settings.background_contexts, report)
                release_freed_memory()  # the creation's temporary tensors
                exemplars, events, self.last_event, self._dirty = Exemplars(layer.shape.dim), 0, 0, True
            else:
                layer, ground, exemplars, meta = loaded
                events, self.last_event = meta["events"], meta["last_event"]
            if self._closing:
                self.state = "off"
                return
            learner = Learner(layer, ground, Rule(top_t=settings.top_slots, lr=settings.learning_rate))
            learner.events = events
            with self._lock:
                self.learner, self.exemplars, self._view = learner, exemplars, View(layer)
                self.state = "ready"
        except Exception as err:  # the model is an extra: recall works without it
            self.state = "failed"
            self.notices.append(f"the memory model could not start ({type(err).__name__}: {err}); "
                                "recall works without it")
            log.exception("memory model")
            return
        report("learning from accepts and rejects since the model was saved", 95)
        self._worker = threading.Thread(target=self._work, name="scms-learning", daemon=True)
        self._worker.start()
        self._wake.put(True)

    def _load(self):
        try:
            loaded = persist.load(self.path, self.engine.embedder.name)
            with self.engine.ws.db.read() as conn:
                newest = queries.newest_event(conn)
            if loaded[3]["last_event"] > newest:
                raise persist.ModelFileError(f"{self.path.name} has learned event {loaded[3]['last_event']}, "
                                             f"past this store's last ({newest}): the store was replaced")
            return loaded
        except FileNotFoundError:
            return None
        except persist.ModelFileError as err:
            self.notices.append(f"the memory model could not be read ({err}); a fresh one is created and "
                                "relearns from the accepts and rejects in the store")
            log.warning("%s", self.notices[-1])
            return None

    def _create(self, count: int, report: Callable[[str, int], None]) -> tuple[MemoryLayer, Background]:
        report(f"measuring the memory model's slots on {count} standard-library functions", 85)
        embedder = self.engine.embedder
        vectors = ordinary_vectors(embedder.encode, embedder.name, count)
        layer = MemoryLayer(Shape(dim=vectors.shape[1]))
        return layer, background(layer, vectors, BACKGROUND_BATCH)

    # learning

    def submit(self, event_id: int, pattern_id: str, text: str, positive: bool) -> None:
        """An accept (positive) or reject in this code, already committed to the log: learn it soon."""
        if self.state in ("starting", "ready"):
            with self._lock:
                self._texts[event_id] = text
            self._wake.put(True)

    def wake(self) -> None:
        """Learn what was logged since the last event learned (another process's accepts and rejects)."""
        if self.state == "ready":
            self._wake.put(True)

    def _work(self) -> None:
        background_priority()
        while True:
            try:
                token = self._wake.get(timeout=SAVE_AFTER)
            except queue.Empty:
                token = "save"
            try:
                if token is None:
                    return
                if token == "save":
                    self.save()
                    continue
                self._drop_purged()
                for job in self._unlearned():
                    if self._closing:
                        return
                    try:
                        self._apply(job)
                    except Exception:  # one bad event must not stop learning
                        log.exception("learning from event %d failed", job.event_id)
                        self.last_event = job.event_id
            except Exception:  # nor a database error or a failed save: the next wake tries again
                log.exception("the memory model's worker")
            finally:
                if token != "save":
                    self._wake.task_done()

    def _unlearned(self) -> list[Job]:
        """Accepts and rejects in a context logged after the last one learned, oldest first."""
        with self.engine.ws.db.read() as conn:
            rows = queries.judgements_after(conn, self.last_event)
        jobs = []
        for event_id, kind, pattern_id, data in rows:
            evidence = data.get("evidence") or {}
            key = evidence.get("content_hash") if kind == "accepted" else data.get("context_hash")
            with self._lock:
                text = self._texts.pop(event_id, None)
                for stale in [e for e in self._texts if e <= event_id]:
                    del self._texts[stale]  # events without a context, or learned from the log already
            if key:
                where = (evidence["file"], evidence["start_line"], evidence["end_line"]) if evidence else None
                jobs.append(Job(event_id, pattern_id, text, key, kind == "accepted", where))
        return jobs

    def _apply(self, job: Job) -> None:
        started = time.perf_counter()
        text = self._text_of(job) if job.positive else None  # an accept's words are kept beside its vector
        context = self._vector(job, text)
        target = self._pattern_vector(job.pattern_id)
        if context is None or target is None:
            if self._closing or self.engine.closing:  # not a lost cause: the next start learns it
                return
            log.info("event %d not learned: no embedding for its context or pattern", job.event_id)
            self.last_event = job.event_id
            return
        with self._writing:
            replay = self.exemplars.of(job.pattern_id, REPLAY) if job.positive else context[None, :][:0]
            self.learner.learn(np.vstack([context[None, :], replay]), target, positive=job.positive,
                               lock=self._lock)
            with self._lock:
                if job.positive:
                    self.exemplars.add(job.pattern_id, context, tuple(query_terms(text)) if text else ())
                self.last_event = job.event_id
                self._version += 1  # hovers' cached views of the old model are stale from here on
                self._dirty = True
        self.update_ms.append((time.perf_counter() - started) * 1000)
        del self.update_ms[:-1000]

    def _pattern_vector(self, pattern_id: str) -> np.ndarray | None:
        """The pattern's embedding; a pattern remembered a moment ago is indexed (and embedded) first."""
        engine = self.engine
        with engine.ws.db.read() as conn:
            engine.refresh(conn)
        with engine.lock:
            vector = engine.vectors.vector(pattern_id)
        if vector is None:
            engine.wait_idle()
            with engine.lock:
                vector = engine.vectors.vector(pattern_id)
        return vector

    def _vector(self, job: Job, text: str | None = None) -> np.ndarray | None:
        """The context's embedding: cached, or of its code (`text`, handed over, or read again), embedded now."""
        return self.engine.vector_of(job.key, lambda: text if text is not None else self._text_of(job))

    def _text_of(self, job: Job) -> str | None:
        return job.text if job.text is not None and content_hash(job.text) == job.key else self._code_of(job)

    def _code_of(self, job: Job) -> str | None:
        """An accept made while the model was not running (the CLI, learning off): its code, if unchanged."""
        if job.where is None:
            return None
        ws = self.engine.ws
        file, start, end = job.where
        try:
            code = read_range(ws.root, ws.root / file, start, end, ws.settings.max_file_bytes)
        except ScmsError:
            return None
        return code.text if code.evidence.content_hash == job.key else None

    def wait_idle(self) -> None:
        if self._worker is not None:
            self._wake.join()

    # scoring

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def exemplar_hits(self, vector: np.ndarray, rows: int) -> list[Near]:
        """The accepted contexts closest to this one (by embedding), closest first."""
        with self._lock:
            return self.exemplars.nearest(vector, rows) if self.exemplars is not None else []

    def shift(self, vector: np.ndarray, candidates: dict[str, np.ndarray]) -> dict[str, float]:
        """How much the model moves each candidate's cosine with this context: view(c)·e − c·e."""
        if not candidates or self.learner is None or self.learner.events == 0:
            return {}
        key = (vector.tobytes(), self._version)
        with self._lock:
            moved = self._views.get(key)
            if moved is None:  # hovers on one unit repeat: its view is kept until the model changes
                moved = self._view(vector) - vector
                self._views[key] = moved
                if len(self._views) > VIEWS:
                    self._views.pop(next(iter(self._views)))
        ids = list(candidates)
        return dict(zip(ids, (np.stack([candidates[i] for i in ids]) @ moved).tolist()))

    def forget(self, pattern_id: str) -> None:
        """Drop a purged pattern's accepted contexts (their terms hold its code's words) and save at once."""
        with self._writing, self._lock:
            if self.exemplars is not None and self.exemplars.drop(pattern_id):
                self._dirty = True
        self.save()

    def _drop_purged(self) -> None:
        """Forget the accepted contexts of patterns purged since the last look (by another process too)."""
        with self.engine.ws.db.read() as conn:
            purges = queries.purged_after(conn, self._purges_seen)
        for event_id, pattern_id in purges:
            self.forget(pattern_id)
            self._purges_seen = event_id

    # saving

    def save(self) -> None:
        """Write the model if it changed: copied with the writer lock held (tens of megabytes: milliseconds), so
        that no update lands meanwhile, but not the readers' (hovers read the model while it is copied), and
        written (seconds on a slow disk) with neither."""
        with self._writing:
            if not self._dirty or self.learner is None:
                return
            state = persist.snapshot(self.learner.layer, self.learner.background, self.exemplars,
                                     rule=self.learner.rule, embedding_model=self.engine.embedder.name,
                                     last_event=self.last_event, events=self.learner.events)
            self._dirty = False
        try:
            persist.write(self.path, state)
        except Exception as err:  # the next start relearns from the event log what was not saved
            self._dirty = True
            log.warning("could not save the memory model: %s", err, exc_info=not isinstance(err, OSError))

    def describe(self) -> dict:
        updates = sorted(self.update_ms)
        try:
            with self.engine.ws.db.read() as conn:
                behind = queries.judgements_count_after(conn, self.last_event)
        except Exception:  # a status line must not fail on a closing store
            behind = None
        return {"state": self.state, "events": self.learner.events if self.learner else 0, "queue": behind,
                "exemplars": len(self.exemplars) if self.exemplars else 0,
                "updateP95Ms": round(updates[int(0.95 * (len(updates) - 1))], 1) if updates else None,
                "file": str(self.path)}

    def close(self) -> None:
        """Stop learning (after the event in hand) and save; never while the worker might still write."""
        self._closing = True
        if self._worker is not None:
            self._wake.put(None)
            self._worker.join(timeout=JOIN_S)
            if self._worker.is_alive():
                log.warning("the memory model's worker did not stop; the next start relearns what it missed")
                return
        self.save()
