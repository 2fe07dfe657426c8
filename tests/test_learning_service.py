"""The memory model inside a workspace's memory: it learns from accepts in the background, lifts the pattern
in similar code, saves itself, replays what it missed, starts fresh from a damaged file, and can be off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from conftest import line_of
from scms.config import Settings
from scms.learn import persist
from scms.memory import Memory

SMALL = {"learning": {"backgroundContexts": 16}}


@pytest.fixture
def root(workspace: Path) -> Path:
    return workspace


def open_ready(root: Path, **overrides) -> Memory:
    memory = Memory.open(root, Settings.model_validate({**SMALL, **overrides}))
    memory.start_model()
    assert memory.recall_state == "embeddings", memory._engine.problem
    return memory


def unit(memory: Memory, file: str, needle: str):
    path = memory.root / "src" / file
    return memory.context_at(path, path.read_text(), line_of(path, needle) + 1)


@pytest.fixture
def learned(root: Path):
    """A memory of each test's own with its model running, holding shutil.copyfileobj and textwrap.dedent."""
    memory = open_ready(root)
    path = root / "src/shutil.py"
    start = line_of(path, "def copyfileobj(") + 1
    pattern = memory.remember(memory.code_from_file(path, start, start + 10), title="Copy file objects in chunks")
    memory.remember(memory.code_from_file(root / "src/textwrap.py", line_of(root / "src/textwrap.py", "def dedent(")
                                          + 1, line_of(root / "src/textwrap.py", "def dedent(") + 12),
                    title="Dedent text")
    memory._engine.wait_idle()
    yield memory, pattern
    memory.close()


def accept_in_two_copy_loops(memory: Memory, pattern) -> None:
    """The pattern accepted in two functions of tarfile that copy in blocks, and learned."""
    for needle in ("def copyfileobj(", "def _block("):
        memory.accept(pattern.id, unit(memory, "tarfile.py", needle))
    memory._learning.wait_idle()


@pytest.fixture
def accepted_twice(learned):
    accept_in_two_copy_loops(*learned)
    return learned


@pytest.fixture
def taught(accepted_twice):
    """Accepted twice, then rejected in one of those functions: three events learned, two exemplars kept."""
    memory, pattern = accepted_twice
    memory.reject(pattern.id, unit(memory, "tarfile.py", "def _block("))
    memory._learning.wait_idle()
    return memory, pattern


def test_accepts_are_learned_in_the_background_and_kept_as_exemplars(learned):
    memory, pattern = learned
    assert memory.status()["model"]["state"] == "ready"
    accept_in_two_copy_loops(memory, pattern)
    model = memory.status()["model"]
    assert model["events"] == 2 and model["exemplars"] == 2 and model["updateP95Ms"] is not None


def test_code_like_an_accepted_context_recalls_the_pattern_and_says_why(accepted_twice):
    memory, pattern = accepted_twice
    context = unit(memory, "tarfile.py", "def copyfileobj(")
    [top, *_] = memory.recall(context.text, wait=True, threshold=0.0)
    assert top.pattern.id == pattern.id and top.learned > 0
    assert any(r.startswith("like code where it was accepted before") for r in top.reasons)
    without = memory._learning
    try:
        memory._learning = None
        [plain, *_] = [r for r in memory.recall(context.text, wait=True, threshold=0.0) if r.pattern.id == pattern.id]
    finally:
        memory._learning = without
    assert top.similarity > plain.similarity


def test_a_reject_is_learned_as_a_negative_example(accepted_twice):
    memory, pattern = accepted_twice
    context = unit(memory, "tarfile.py", "def _block(")
    vector = memory._engine.embed_context(context.text)
    accepted = memory._engine.embed_context(unit(memory, "tarfile.py", "def copyfileobj(").text)
    target = {pattern.id: memory._engine.vectors.vector(pattern.id)}
    before = memory._learning.shift(vector, target)[pattern.id]
    assert memory._learning.shift(accepted, target)[pattern.id] > 0
    memory.reject(pattern.id, context)
    memory._learning.wait_idle()
    assert memory.status()["model"]["events"] == 3 and memory.status()["model"]["exemplars"] == 2
    assert memory._learning.shift(vector, target)[pattern.id] < before
    assert memory._learning.shift(accepted, target)[pattern.id] > 0  # the reject did not undo the other accept


def test_the_model_is_saved_and_reloaded_without_learning_twice(root: Path, taught):
    memory, pattern = taught
    memory._learning.save()
    path = root / ".scms/model" / persist.FILE
    assert path.exists()
    again = open_ready(root)
    try:
        again._learning.wait_idle()
        assert again.status()["model"]["events"] == 3 and again.status()["model"]["exemplars"] == 2
        assert again.notices == []
    finally:
        again.close()


def test_a_damaged_model_file_means_a_fresh_model_that_relearns_from_the_store(root: Path, taught):
    memory, pattern = taught
    memory._learning.save()
    path = root / ".scms/model" / persist.FILE
    saved = path.read_bytes()
    path.write_bytes(saved[:1000])
    try:
        again = open_ready(root)
        try:
            again._learning.wait_idle()
            [notice] = again.notices
            assert "could not be read" in notice and persist.FILE in notice
            assert again.status()["model"]["events"] == 3 and again.status()["model"]["exemplars"] == 2
        finally:
            again.close()
        persist.load(path, "all-MiniLM-L6-v2")  # the fresh model was written whole
    finally:
        path.write_bytes(saved)


def test_a_model_from_a_replaced_store_is_not_trusted(root: Path, taught):
    memory, _ = taught
    memory._learning.save()
    path = root / ".scms/model" / persist.FILE
    saved = path.read_bytes()
    state = torch.load(path, weights_only=True)
    state["last_event"] = 10**6  # learned events this store never had: its database was restored or recreated
    torch.save(state, path)
    try:
        again = open_ready(root)
        try:
            again._learning.wait_idle()
            [notice] = again.notices
            assert "the store was replaced" in notice
            assert again.status()["model"]["events"] == 3 and again.status()["model"]["exemplars"] == 2
        finally:
            again.close()
    finally:
        path.write_bytes(saved)


def test_learning_can_be_turned_off(tmp_path: Path, root: Path):
    copy = tmp_path / "off"
    shutil.copytree(root / "src", copy / "src")
    memory = open_ready(copy, learning={"enabled": False})
    try:
        assert memory._learning is None and memory.status()["model"] == {"state": "off"}
        assert not (copy / ".scms/model").exists()
    finally:
        memory.close()


def test_accepts_made_while_the_model_was_not_running_are_learned_when_it_starts(tmp_path: Path, root: Path):
    copy = tmp_path / "later"
    shutil.copytree(root / "src", copy / "src")
    memory = Memory.open(copy, Settings.model_validate(SMALL))  # like the CLI: no model loaded
    try:
        start = line_of(copy / "src/shutil.py", "def copyfileobj(") + 1
        pattern = memory.remember(memory.code_from_file(copy / "src/shutil.py", start, start + 10))
        memory.accept(pattern.id, unit(memory, "tarfile.py", "def copyfileobj("))
    finally:
        memory.close()
    memory = open_ready(copy)
    try:
        memory._learning.wait_idle()
        model = memory.status()["model"]
        assert model["events"] == 1 and model["exemplars"] == 1
    finally:
        memory.close()


def test_ordinary_code_is_measured_once_per_machine(tmp_path: Path, monkeypatch):
    """The 256 standard-library functions the slot statistics come from are embedded once, then read from the
    user's cache folder: a second folder's memory model starts without embedding them again."""
    from conftest import stdlib_project
    from scms.learn import ordinary_code

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = open_ready(stdlib_project(tmp_path / "first"))
    first.close()
    [cached] = (tmp_path / "cache" / "scms").glob("ordinary-code-*.npy")

    def not_again(count: int) -> list[str]:
        raise AssertionError("the standard library was read and embedded again")

    monkeypatch.setattr(ordinary_code, "stdlib_functions", not_again)
    second = open_ready(stdlib_project(tmp_path / "second"))
    try:
        assert second.status()["model"]["state"] == "ready"
    finally:
        second.close()
    cached.write_bytes(b"not a numpy file")  # a damaged cache costs the embedding, nothing else
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    third = open_ready(stdlib_project(tmp_path / "third"))
    try:
        assert third.status()["model"]["state"] == "ready"
    finally:
        third.close()


def test_a_purge_drops_the_patterns_accepted_contexts_from_the_running_model_and_its_file(accepted_twice):
    memory, pattern = accepted_twice
    assert memory.status()["model"]["exemplars"] == 2
    memory.purge(pattern.id)
    assert memory.status()["model"]["exemplars"] == 0
    _, _, saved, _ = persist.load(memory._learning.path, memory._learning.engine.embedder.name)
    assert pattern.id not in saved.owners and not any(saved.terms)


def test_a_purge_made_by_another_process_is_followed_by_the_running_model(accepted_twice, root: Path):
    memory, pattern = accepted_twice
    other = Memory.open(root, Settings.model_validate({"recall": {"embeddings": False}}))  # as `scms purge` runs
    try:
        other.purge(pattern.id)
    finally:
        other.close()
    assert pattern.id in memory.follow_changes()
    memory._learning.wait_idle()
    assert memory.status()["model"]["exemplars"] == 0
    _, _, saved, _ = persist.load(memory._learning.path, memory._learning.engine.embedder.name)
    assert pattern.id not in saved.owners
