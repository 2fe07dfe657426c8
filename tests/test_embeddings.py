"""Embedding recall with the real model: background loading, lexical fallback, incremental faiss updates,
fused ranking with its reasons, and a missing or broken model or index."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import line_of
from scms.config import RecallSettings, Settings
from scms.memory import Memory
from scms.model import Tier
from scms.recall import ranking


EMBEDDINGS_ONLY = Settings.model_validate({"learning": {"enabled": False}})  # learning: test_learning_service.py


@pytest.fixture
def root(workspace: Path) -> Path:
    """A workspace of each test's own whose store holds shutil.copyfileobj."""
    memory = Memory.open(workspace, EMBEDDINGS_ONLY)
    try:
        path = workspace / "src/shutil.py"
        start = line_of(path, "def copyfileobj(") + 1
        memory.remember(memory.code_from_file(path, start, start + 10), title="Copy file objects in chunks")
    finally:
        memory.close()
    return workspace


@pytest.fixture
def unloaded(root: Path):
    """A memory on that workspace, its model not loaded yet."""
    mem = Memory.open(root, EMBEDDINGS_ONLY)
    yield mem
    mem.close()


@pytest.fixture
def memory(unloaded: Memory) -> Memory:
    """That memory with its model loaded (in this process the model is read from disk once, then reused)."""
    unloaded.start_model()
    assert unloaded.recall_state == "embeddings", unloaded._engine.problem
    return unloaded


def embedded_in_the_background(memory: Memory, text: str) -> None:
    """A hover there queues the context; the background worker embeds it and caches it by content hash."""
    memory.recall(text)
    memory._engine.wait_idle()


def tar_context(memory: Memory, root: Path):
    path = root / "src/tarfile.py"
    return memory.context_at(path, path.read_text(), line_of(path, "blocks, remainder = divmod("))


def test_before_the_model_is_ready_recall_is_lexical_and_says_so(unloaded: Memory, root: Path):
    assert unloaded.recall_state == "lexical" and unloaded.status()["recall"] == "lexical"
    [hit] = unloaded.recall(tar_context(unloaded, root).text, wait=True)
    assert hit.embedding is None and not any("meaning" in r for r in hit.reasons)


def test_the_model_loads_in_the_background_and_indexes_the_patterns(unloaded: Memory, root: Path):
    steps = []
    unloaded.start_model(lambda message, percent: steps.append(message))
    assert unloaded.recall_state == "embeddings", unloaded._engine.problem
    assert steps == ["loading the embedding model", "loading the vector index", "embedding patterns"]
    assert len(unloaded._engine.vectors) == 1
    assert (root / ".scms/index/all-MiniLM-L6-v2/session.faiss").exists()


def test_fused_recall_explains_meaning_and_terms(memory: Memory, root: Path):
    context = tar_context(memory, root)
    first = memory.recall(context.text)  # a hover: never embeds on the request path
    assert first and first[0].embedding is None
    memory._engine.wait_idle()  # the queued context is embedded in the background
    [hit] = memory.recall(context.text)
    assert hit.embedding is not None and hit.embedding > 0.5
    assert hit.reasons[0].startswith("similar in meaning (embedding cosine")
    assert hit.reasons[1].startswith("shares ")
    weight = ranking.EMBEDDING
    assert hit.similarity == pytest.approx(weight * hit.embedding + (1 - weight) * hit.lexical, abs=1e-3)


def test_contexts_with_few_shared_words_are_found_by_meaning(memory: Memory, root: Path):
    for file, needle in (("textwrap.py", "def indent("), ("functools.py", "def update_wrapper("),
                         ("json/decoder.py", "def py_scanstring(")):
        start = line_of(root / "src" / file, needle) + 1
        memory.remember(memory.code_from_file(root / "src" / file, start, start + 12))
    memory.recall("refresh")
    memory._engine.wait_idle()
    text = ("def pump(source, sink, size=65536):\n    while True:\n        block = source.read(size)\n"
            "        if not block:\n            break\n        sink.write(block)\n")
    [best, *others] = memory.recall(text, mode="embeddings", wait=True, threshold=0.0)
    assert best.pattern.title == "Copy file objects in chunks" and len(best.shared) <= 2
    assert all(best.embedding > other.embedding for other in others)


def test_a_recall_that_embeds_does_not_hold_up_hovers(memory: Memory, root: Path, monkeypatch):
    """`scms.recall` embeds an unseen context (wait=True); a hover meanwhile must not wait for that."""
    context = tar_context(memory, root)
    embedded_in_the_background(memory, context.text)  # so a hover there only looks up
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()
    encode = memory._engine.embedder.encode

    def held_encode(texts, **kwargs):
        entered.set()
        release.wait(60)  # held until the hover has answered: a hover that waited for it would take all of this
        finished.set()
        return encode(texts, **kwargs)

    monkeypatch.setattr(memory._engine.embedder, "encode", held_encode)
    command = threading.Thread(target=memory.recall, args=("def never_seen_before(): return 42",),
                               kwargs={"wait": True})
    command.start()
    try:
        assert entered.wait(60)
        hover = memory.recall(context.text)
        assert hover and not finished.is_set(), "the hover waited for another request's embedding"
    finally:
        release.set()
        command.join(60)


def test_the_index_follows_remember_promote_and_forget(memory: Memory, root: Path):
    path = root / "src/textwrap.py"
    start = line_of(path, "def dedent(")
    pattern = memory.remember(memory.code_from_file(path, start + 1, start + 20), title="Dedent text")
    memory.recall("refresh")
    memory._engine.wait_idle()
    assert dict(memory._engine.vectors.items())[pattern.id] == "session"
    memory.promote(pattern.id)
    memory.recall("refresh")
    memory._engine.wait_idle()
    assert dict(memory._engine.vectors.items())[pattern.id] == "validated"
    memory.forget(pattern.id)
    memory.recall("refresh")
    assert pattern.id not in memory._engine.vectors


def test_embeddings_are_cached_by_content_hash(memory: Memory, root: Path):
    embedded_in_the_background(memory, tar_context(memory, root).text)  # a context, besides the pattern
    with memory._ws.db.read() as conn:
        rows = conn.execute("SELECT COUNT(*), MIN(length(vector)) FROM embeddings").fetchone()
    assert rows[0] >= 2 and rows[1] == 384 * 4


def test_a_missing_model_folder_keeps_recall_lexical(root: Path, tmp_path: Path):
    settings = Settings(recall=RecallSettings(embedding_model_path=str(tmp_path / "nowhere")))
    memory = Memory.open(root, settings)
    try:
        memory.start_model()
        assert memory.recall_state == "lexical (model failed)"
        assert "does not exist" in memory._engine.problem
        assert memory.recall(tar_context(memory, root).text)  # lexical still answers
    finally:
        memory.close()


def test_a_broken_model_folder_is_reported(root: Path, tmp_path: Path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    memory = Memory.open(root, Settings(recall=RecallSettings(embedding_model_path=str(broken))))
    try:
        memory.start_model()
        assert memory._engine.state == "failed" and "cannot be loaded" in memory._engine.problem
    finally:
        memory.close()


def test_a_corrupt_index_is_rebuilt_and_the_user_told(memory: Memory, root: Path):
    memory._engine.save()
    index_file = root / ".scms/index/all-MiniLM-L6-v2/session.faiss"
    index_file.write_bytes(b"not an index")
    again = Memory.open(root, EMBEDDINGS_ONLY)
    try:
        again.start_model()
        assert again.recall_state == "embeddings"
        assert any("unreadable" in notice for notice in again._engine.notices)
        live = {p.id for p in again.list() if p.tier is not Tier.ARCHIVE}
        assert {pid for pid, _ in again._engine.vectors.items()} == live
    finally:
        again.close()


def test_a_saved_index_catches_up_with_changes_made_since(memory: Memory, root: Path):
    memory.recall("refresh")
    memory._engine.wait_idle()
    memory._engine.save()
    again = Memory.open(root, EMBEDDINGS_ONLY)
    try:
        path = root / "src/functools.py"
        start = line_of(path, "def total_ordering(") + 1
        newer = again.remember(again.code_from_file(path, start, start + 12), title="Total ordering")
        again.start_model()
        assert not again._engine.notices  # the saved index was used, not rebuilt
        assert dict(again._engine.vectors.items()).get(newer.id) == "session"
    finally:
        again.close()


def test_a_pattern_still_queued_when_the_server_closed_is_embedded_at_the_next_start(root: Path, monkeypatch):
    first = Memory.open(root, EMBEDDINGS_ONLY)
    try:
        first.start_model()
        monkeypatch.setattr(first._engine, "_embed_batch", lambda batch: None)  # as when closing skips the queue
        path = root / "src/textwrap.py"
        start = line_of(path, "def shorten(") + 1
        queued = first.remember(first.code_from_file(path, start, start + 14), title="Shorten text")
        first.recall("refresh")
        first._engine.wait_idle()
        assert queued.id not in first._engine.vectors
    finally:
        first.close()  # saves an index whose last event includes the pattern it lacks
    monkeypatch.undo()
    again = Memory.open(root, EMBEDDINGS_ONLY)
    try:
        again.start_model()
        again._engine.wait_idle()
        assert dict(again._engine.vectors.items()).get(queued.id) == "session"
    finally:
        again.close()


def _functions(path: Path) -> list[str]:
    import ast

    text = path.read_text()
    return [ast.get_source_segment(text, node) for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef)]


def test_an_explicit_recall_goes_before_the_background_embedding(memory: Memory, root: Path):
    """`scms.recall` / `search_patterns` embed their own context at once: a busy worker makes them wait for one
    text at most, not for its batch (before: ~500 ms behind a batch of 16, against ~35 ms idle)."""
    import time

    texts = _functions(root / "src/tarfile.py") + _functions(root / "src/http/cookiejar.py")
    queries, background = texts[:8], texts[8:]

    def timed(query: str) -> float:
        started = time.perf_counter()
        memory.recall(query, wait=True)
        return time.perf_counter() - started

    memory._engine.prepare(background)  # the worker now embeds ~150 functions
    busy = []
    for number, query in enumerate(queries[:4]):
        assert memory._engine.pending > 0, "the worker finished before the busy recalls"
        busy.append(timed(query + f"\n# busy {number}"))
    memory.wait_idle()
    idle = [timed(query + f"\n# idle {number}") for number, query in enumerate(queries[4:])]
    ratio = sorted(busy)[len(busy) // 2] / sorted(idle)[len(idle) // 2]
    assert ratio < 3, f"busy recalls took {ratio:.1f}× the idle ones ({busy} against {idle})"


def test_damaged_vectors_are_rebuilt_not_ranked(memory: Memory, root: Path):
    """An index file or a cached embedding holding any numbers (similarity 1.8e37 ranked junk first, once):
    what is loaded is checked (finite, unit length), and what fails is embedded again."""
    import faiss
    import numpy as np
    import sqlite3

    memory._engine.save()
    index_file = root / ".scms/index/all-MiniLM-L6-v2/session.faiss"
    saved = faiss.read_index(str(index_file))
    ids = faiss.vector_to_array(saved.id_map)
    damaged = faiss.IndexIDMap2(faiss.IndexFlatIP(saved.d))
    vectors = faiss.downcast_index(saved.index).reconstruct_n(0, saved.ntotal)
    damaged.add_with_ids(vectors * np.float32(1e18), ids)
    faiss.write_index(damaged, str(index_file))
    memory.close()
    conn = sqlite3.connect(root / ".scms" / "scms.db")
    conn.execute("UPDATE embeddings SET vector = ?", (np.full(384, 1e30, dtype=np.float32).tobytes(),))
    conn.commit()
    conn.close()
    again = Memory.open(root, EMBEDDINGS_ONLY)
    try:
        again.start_model()
        assert any("damaged vectors" in notice for notice in again._engine.notices)
        [best] = again.recall(again.list()[0].snippet, mode="embeddings", wait=True, limit=1)
        assert best.embedding is not None and best.embedding <= 1.0001
    finally:
        again.close()
