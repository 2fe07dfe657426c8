"""Hovers never wait for background work: no lock a hover takes is held across an IVF (re)training, an
embedding batch, a save of the vector index or of the memory model, or a background thread's read; and the
work done off the lock still ends where it would have (a retrained index with every later change in it, a
saved index that never claims a change still queued).

The embedding model is a stand-in (vectors from a hash of the text), so that the tests can hold any step
of the background work for as long as they like."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from scms.config import Settings
from scms.recall import engine as engine_module
from scms.recall import ranking, vectors
from scms.recall.engine import RecallEngine
from scms.recall.vectors import VectorIndex
from scms.store import lifecycle
from scms.store.source import code_range
from scms.store.workspace import Workspace

DIM = 32
SETTINGS = Settings.model_validate({"learning": {"enabled": False}})
QUICK = 10.0  # seconds: a hover still waiting then is waiting for the blocked background step, which never ends by itself


class StandInEmbedder:
    """What the engine needs of `scms.recall.embeddings.Embedder`, without a model."""

    name = "stand-in"
    dim = DIM

    def __init__(self, model_path: str = "", threads: int = 1) -> None:
        self.gate: Callable[[], None] = lambda: None  # a test makes encoding wait here

    def load(self) -> None:
        pass

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        self.gate()
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).standard_normal(DIM)
                for t in texts]
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), DIM)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def source(count: int) -> str:
    return "\n\n".join(f"def handler_{i}(request_{i}, timeout_{i}):\n    return dispatch_{i}(request_{i}, "
                       f"retries={i}, backoff_{i % 7}=timeout_{i})" for i in range(count)) + "\n"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(engine_module, "Embedder", StandInEmbedder)
    (tmp_path / "src").mkdir()
    workspace = Workspace.open(tmp_path, SETTINGS)
    yield workspace
    workspace.close()


def remember(ws: Workspace, first: int, count: int) -> list[str]:
    """Remember functions first..first+count-1 of a generated module; their ids."""
    path = ws.root / "src" / f"mod_{first}.py"
    text = source(first + count)
    path.write_text(text)
    ids = []
    for i in range(first, first + count):
        code = code_range(ws.root, path, text, 3 * i + 1, 3 * i + 2)
        ids.append(lifecycle.remember(ws, code, title=f"Handler {i}").id)
    return ids


def ready_engine(ws: Workspace) -> RecallEngine:
    engine = RecallEngine(ws)
    engine.warm_up()
    engine.start_model("", 1)
    assert engine.state == "ready", engine.problem
    return engine


def hover(ws: Workspace, engine: RecallEngine, text: str = "def handler_3(request_3, timeout_3): dispatch_3"):
    """What `Memory.recall` does for a hover: follow the store, then rank under the engine's lock."""
    with ws.db.read() as conn:
        engine.refresh(conn)
        with engine.lock:
            return ranking.recall(conn, engine, text, settings=ws.settings, now=ws.clock(), limit=2)


def finishes(work: Callable[[], object], within: float = QUICK) -> bool:
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(within)


def blocked(monkeypatch, owner, name: str) -> tuple[threading.Event, threading.Event]:
    """Make `owner.name` wait, once entered, until released: (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    real = getattr(owner, name)

    def waiting(*args, **kwargs):
        entered.set()
        assert release.wait(30), "never released"
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)
    return entered, release


def test_a_retraining_ivf_index_does_not_hold_up_hovers(ws: Workspace, monkeypatch):
    monkeypatch.setattr(vectors, "APPROXIMATE_ABOVE", 50)
    remember(ws, 0, 40)
    engine = ready_engine(ws)
    try:
        entered, release = blocked(monkeypatch, vectors.faiss.IndexIVFFlat, "train")
        try:
            new = remember(ws, 40, 20)  # the session tier passes 50: the worker builds an IVF index
            assert finishes(lambda: hover(ws, engine))  # this hover's refresh queues the new patterns
            assert entered.wait(30), "the worker never trained an IVF index"
            forgotten = new[0]
            lifecycle.forget(ws, forgotten)  # a change while the index trains
            assert finishes(lambda: hover(ws, engine)), "a hover waited for the IVF training"
        finally:
            release.set()
        engine.wait_idle()
        tier = engine.vectors.tiers["session"]
        assert tier._kind() == "ivf"
        assert forgotten not in engine.vectors and len(engine.vectors) == 59
        assert set(tier.stored_keys().tolist()) == {vectors.numeric_id(p) for p, _ in engine.vectors.items()}
    finally:
        engine.close()


def test_an_embedding_batch_does_not_hold_up_hovers(ws: Workspace):
    remember(ws, 0, 5)
    engine = ready_engine(ws)
    entered, release = threading.Event(), threading.Event()

    def gate() -> None:
        entered.set()
        assert release.wait(30)

    try:
        engine.embedder.gate = gate
        remember(ws, 5, 3)
        try:
            assert finishes(lambda: hover(ws, engine))
            assert entered.wait(30)
            assert finishes(lambda: hover(ws, engine)), "a hover waited for an embedding batch"
        finally:
            release.set()
        engine.wait_idle()
        assert len(engine.vectors) == 8
    finally:
        engine.close()


def test_saving_the_vector_index_does_not_hold_up_hovers(ws: Workspace, monkeypatch):
    remember(ws, 0, 5)
    engine = ready_engine(ws)
    try:
        entered, release = blocked(monkeypatch, vectors, "atomic_write")
        engine._dirty = True
        saving = threading.Thread(target=engine.save, daemon=True)
        saving.start()
        try:
            assert entered.wait(30)
            remember(ws, 5, 1)
            assert finishes(lambda: hover(ws, engine)), "a hover waited for the index to be written"
        finally:
            release.set()
        saving.join(30)
        engine.wait_idle()
        assert len(engine.vectors) == 6
    finally:
        engine.close()


def test_saving_the_memory_model_does_not_hold_up_its_readers(ws: Workspace, monkeypatch):
    from scms.learn import persist
    from scms.learn.service import ModelService

    remember(ws, 0, 3)
    engine = ready_engine(ws)
    service = ModelService(ws.scms_dir / "model", engine)
    try:
        service.start(Settings.model_validate({"learning": {"backgroundContexts": 16}}).learning)
        assert service.ready
        service.learner.events = 1  # as after an accept: `shift` then reads the model (under the readers' lock)
        entered, release = blocked(monkeypatch, persist, "snapshot")  # the copy of tens of megabytes
        saving = threading.Thread(target=service.save, daemon=True)
        saving.start()
        vector = engine.embedder.encode(["def handler(request): dispatch(request)"])[0]
        try:
            assert entered.wait(30)
            assert finishes(lambda: (service.exemplar_hits(vector, 5), service.shift(vector, {"p": vector})))
            assert set(service.shift(vector, {"p": vector})) == {"p"}  # the model was read, not skipped
        finally:
            release.set()
        saving.join(30)
        assert (ws.scms_dir / "model" / persist.FILE).exists()
    finally:
        service.close()
        engine.close()


def test_a_background_read_does_not_hold_up_a_hovers_read(ws: Workspace):
    entered, release = threading.Event(), threading.Event()

    def long_read() -> None:
        with ws.db.read():
            entered.set()
            release.wait(30)

    reader = threading.Thread(target=long_read, daemon=True)
    reader.start()
    try:
        assert entered.wait(30)

        def read() -> None:
            with ws.db.read() as conn:
                conn.execute("SELECT COUNT(*) FROM patterns").fetchone()

        assert finishes(read), "a read waited for another thread's read"
    finally:
        release.set()
        reader.join(30)


def test_a_saved_index_never_claims_a_change_still_queued(ws: Workspace, monkeypatch):
    """A pattern promoted while its move is still queued: the index saved then says it follows the store only
    up to before the promotion, so that the next start moves the pattern to the validated tier."""
    [pattern_id] = remember(ws, 0, 1)
    first = ready_engine(ws)
    try:
        monkeypatch.setattr(first, "_embed_batch", lambda batch: None)  # the worker drops what it is given
        lifecycle.promote(ws, pattern_id)
        hover(ws, first)
        first.wait_idle()
        assert dict(first.vectors.items())[pattern_id] == "session"
        first._dirty = True
    finally:
        first.close()  # saves the index
    monkeypatch.undo()
    monkeypatch.setattr(engine_module, "Embedder", StandInEmbedder)
    again = ready_engine(ws)
    try:
        assert not again.notices
        assert dict(again.vectors.items())[pattern_id] == "validated"
    finally:
        again.close()


def test_a_staged_change_builds_off_the_index_and_commits_whole(monkeypatch):
    monkeypatch.setattr(vectors, "APPROXIMATE_ABOVE", 50)
    rng = np.random.default_rng(1)
    v = rng.standard_normal((120, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    index = VectorIndex(DIM)
    index.add_many([f"p{i}" for i in range(40)], "session", v[:40])
    index.add("p40", "validated", v[40])
    staged = index.stage(["p0", "p1"], [(f"p{i}", "session", v[i]) for i in range(41, 80)]
                         + [("p5", "validated", v[5]), ("p40", "session", v[40])])
    assert "session" in staged.built  # 38 + 39 + 1 > 50: an IVF index, trained on the copy
    assert index.tiers["session"]._kind() == "flat" and len(index) == 41  # untouched until the commit
    index.commit(staged)
    tiers = dict(index.items())
    assert index.tiers["session"]._kind() == "ivf" and "p0" not in index and "p1" not in index
    assert tiers["p5"] == "validated" and tiers["p40"] == "session" and len(index) == 78
    assert index.search(v[60], 1)[0][0] == "p60" and index.search(v[5], 1)[0][0] == "p5"
    for tier, tier_index in index.tiers.items():
        assert set(tier_index.stored_keys().tolist()) == {vectors.numeric_id(p) for p, t in tiers.items() if t == tier}


def test_a_batch_that_fails_is_tried_again_a_few_times(ws: Workspace):
    engine = ready_engine(ws)
    try:
        failures = [2]

        def hiccup() -> None:
            if failures[0]:
                failures[0] -= 1
                raise RuntimeError("the model hiccuped")

        engine.embedder.gate = hiccup  # type: ignore[attr-defined]
        ids = remember(ws, 0, 3)
        with ws.db.read() as conn:
            engine.refresh(conn)
        engine.wait_idle()
        assert failures[0] == 0 and all(pattern_id in engine.vectors for pattern_id in ids)

        def broken() -> None:
            raise RuntimeError("the model is gone")

        engine.embedder.gate = broken  # type: ignore[attr-defined]
        [lost] = remember(ws, 3, 1)
        with ws.db.read() as conn:
            engine.refresh(conn)
        engine.wait_idle()  # returns: a pattern that keeps failing is given up on (until the next start)
        assert lost not in engine.vectors and len(engine.vectors) == 3
    finally:
        engine.close()
