"""The lifecycle as library functions: remember, accept, reject, promote(-eligible), demote, forget, restore."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import COPYFILEOBJ_LINES, COPY_LINES, WRAP_LINES, remember_lines, store_snapshot
from scms.config import Settings
from scms.errors import InvalidInput, InvalidState, NotFound, StoreError
from scms.memory import Memory
from scms.model import Kind, Status, Tier
from scms.store import files


def test_remember_makes_a_session_candidate_with_evidence(memory: Memory):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy file objects in chunks",
                             note="Loop over read(length) until empty.", tags=["io", "io", "copy"])
    assert pattern.tier is Tier.SESSION and pattern.status is Status.CANDIDATE
    assert pattern.snippet.startswith("def copyfileobj(fsrc, fdst, length=0):")
    assert pattern.languages == ["python"] and pattern.tags == ["copy", "io"]
    assert pattern.body == "Loop over read(length) until empty."
    [evidence] = pattern.evidence
    assert (evidence.file, evidence.start_line, evidence.end_line) == ("src/shutil.py", *COPYFILEOBJ_LINES)
    assert len(evidence.content_hash) == 16
    assert memory.get(pattern.id) == pattern


def test_default_title_names_what_the_code_defines_and_its_docstring(memory: Memory):
    pattern = remember_lines(memory, "textwrap.py", *WRAP_LINES)
    assert pattern.title == "wrap: Wrap a single paragraph of text, returning a list of wrapped lines"[:80]
    loop = remember_lines(memory, "shutil.py", COPYFILEOBJ_LINES[1] - 3, COPYFILEOBJ_LINES[1])
    assert loop.title == "while True"  # no definition: the first line of code


def test_accepts_count_and_add_their_context_as_evidence(memory: Memory, clock):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    clock.advance(hours=1)
    after = memory.accept(pattern.id, memory.code_from_file(memory.root / "src/shutil.py", *COPY_LINES))
    assert after.accepted_uses == 1 and after.last_accepted == clock.now and after.decay_anchor == clock.now
    assert [e.start_line for e in after.evidence] == [COPYFILEOBJ_LINES[0], COPY_LINES[0]]
    again = memory.accept(pattern.id)
    assert again.accepted_uses == 2 and len(again.evidence) == 2


def test_reject_records_the_context_it_was_rejected_in(memory: Memory):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    context = memory.code_from_file(memory.root / "src/textwrap.py", *WRAP_LINES)
    after = memory.reject(pattern.id, context, reason="not here")
    assert after.rejected_uses == 1
    assert after.rejected_contexts == [context.evidence.content_hash]
    assert after.decay_anchor == pattern.decay_anchor  # a rejection never refreshes


@pytest.mark.parametrize("threshold", [1, 2, 3])
def test_promote_eligible_respects_the_threshold(workspace, clock, threshold):
    memory = Memory.open(workspace, Settings(promotion_threshold=threshold), clock)
    try:
        first, last = COPYFILEOBJ_LINES
        patterns = [remember_lines(memory, "shutil.py", first + i, last) for i in range(4)]
        for uses, pattern in enumerate(patterns):
            for _ in range(uses):
                memory.accept(pattern.id)
        promoted = memory.promote_eligible()
        assert sorted(p.accepted_uses for p in promoted) == [u for u in range(4) if u >= threshold]
        assert all(p.tier is Tier.VALIDATED and p.status is Status.VALIDATED for p in promoted)
        assert len(list(memory.patterns_dir.glob("*.md"))) == len(promoted)
        assert memory.promote_eligible() == []
    finally:
        memory.close()


def test_more_rejections_than_accepts_block_promotion(memory: Memory):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    for _ in range(2):
        memory.accept(pattern.id)
        memory.reject(pattern.id)
    assert memory.promote_eligible() == []
    memory.accept(pattern.id)
    assert [p.id for p in memory.promote_eligible()] == [pattern.id]


def test_promote_demote_forget_restore_move_between_tiers(memory: Memory):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Chunked copy")
    promoted = memory.promote(pattern.id)
    assert promoted.tier is Tier.VALIDATED and promoted.status is Status.PROMOTED
    [file] = memory.patterns_dir.glob("*.md")
    assert file.name == f"chunked-copy-{pattern.id}.md"
    demoted = memory.demote(pattern.id)
    assert demoted.tier is Tier.SESSION and not list(memory.patterns_dir.glob("*.md"))
    memory.promote(pattern.id)
    forgotten = memory.forget(pattern.id)
    assert forgotten.tier is Tier.ARCHIVE and forgotten.status is Status.ARCHIVED
    assert not list(memory.patterns_dir.glob("*.md"))
    restored = memory.restore(pattern.id)
    assert restored.tier is Tier.SESSION and restored.status is Status.CANDIDATE


@pytest.mark.parametrize(
    "setup, operation, message",
    [
        ([], "demote", "only validated patterns are demoted"),
        ([], "restore", "only archived patterns are restored"),
        (["promote"], "promote", "only session patterns are promoted"),
        (["forget"], "forget", "already archived"),
        (["forget"], "accept", "restore it first"),
        (["forget"], "reject", "restore it first"),
        (["forget"], "promote", "only session patterns are promoted"),
    ],
)
def test_transitions_that_do_not_fit_the_tier_are_refused_and_change_nothing(memory, setup, operation, message):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    for step in setup:
        getattr(memory, step)(pattern.id)
    before = store_snapshot(memory.root)
    with pytest.raises(InvalidState, match=message):
        getattr(memory, operation)(pattern.id)
    assert store_snapshot(memory.root) == before


@pytest.mark.parametrize("operation", ["accept", "reject", "promote", "demote", "forget", "restore", "get"])
def test_unknown_ids_are_refused_by_name(memory: Memory, operation):
    remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    before = store_snapshot(memory.root)
    with pytest.raises(NotFound, match="no pattern with id 'deadbeef'"):
        getattr(memory, operation)("deadbeef")
    assert store_snapshot(memory.root) == before


@pytest.mark.parametrize(
    "start, end, message",
    [(0, 3, "not a valid range"), (10, 5, "not a valid range"), (1, 10**6, "outside shutil.py, which has")],
)
def test_ranges_outside_the_file_are_refused(memory: Memory, start, end, message):
    with pytest.raises(InvalidInput, match=message):
        memory.code_from_file(memory.root / "src/shutil.py", start, end)


def test_binary_non_utf8_missing_and_huge_files_are_refused(memory: Memory):
    (memory.root / "blob.bin").write_bytes(b"\x7fELF\x00\x00\x01binary")
    (memory.root / "latin1.py").write_bytes("name = 'Müller'\n".encode("latin-1"))
    (memory.root / "huge.py").write_text("x = 1\n" * 1_000_000)
    with pytest.raises(InvalidInput, match="looks binary"):
        memory.code_from_file(memory.root / "blob.bin", 1, 1)
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        memory.code_from_file(memory.root / "latin1.py", 1, 1)
    with pytest.raises(NotFound, match="no such file"):
        memory.code_from_file(memory.root / "missing.py", 1, 1)
    with pytest.raises(InvalidInput, match="too large"):
        memory.code_from_file(memory.root / "huge.py", 1, 1)


def test_kinds_are_kept(memory: Memory):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, kind=Kind.FAILURE)
    assert memory.get(pattern.id).kind is Kind.FAILURE


def test_evidence_records_the_checked_out_commit(workspace, clock):
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=workspace,
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "src")
    git("commit", "-qm", "sources")
    head = git("rev-parse", "HEAD")
    memory = Memory.open(workspace, clock=clock)
    try:
        assert remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).evidence[0].commit == head
        git("pack-refs", "--all")  # the branch now lives only in packed-refs
        assert remember_lines(memory, "textwrap.py", *WRAP_LINES).evidence[0].commit == head
    finally:
        memory.close()


def _no_space(*args, **kwargs):
    raise OSError(28, "No space left on device")


def _agree(memory: Memory) -> None:
    """Every validated pattern has exactly its file, rendered from the store, and no other file is there."""
    on_disk = {p.name: p.read_text() for p in memory.patterns_dir.glob("*.md")}
    expected = {files.file_name(p): files.render(p) for p in memory.list(Tier.VALIDATED)}
    assert on_disk == expected


def test_a_file_that_cannot_be_written_after_promote_is_written_on_the_next_open(workspace, clock, monkeypatch):
    memory = Memory.open(workspace, Settings(promotion_threshold=1), clock)
    try:
        starts = (COPYFILEOBJ_LINES[0], COPY_LINES[0])
        first, second = (remember_lines(memory, "shutil.py", start, start + 10) for start in starts)
        for pattern in (first, second):
            memory.accept(pattern.id)
        written = []
        real_write = files.atomic_write

        def second_write_fails(target, text):
            if written:
                _no_space()
            written.append(target)
            real_write(target, text)

        monkeypatch.setattr(files, "atomic_write", second_write_fails)
        with pytest.raises(StoreError, match=f"pattern {second.id} \\(No space left on device\\).*next opens"):
            memory.promote_eligible()
        assert {p.id for p in memory.list(Tier.VALIDATED)} == {first.id, second.id}
        assert [p.name for p in memory.patterns_dir.glob("*.md")] == [written[0].name]
        assert memory.sync_files().warnings == [
            f"the file of pattern {second.id} could not be updated (No space left on device); retried on the next open"]
        assert memory.get(second.id).tier is Tier.VALIDATED  # not archived for its missing file
    finally:
        memory.close()
    monkeypatch.undo()
    again = Memory.open(workspace, clock=clock)
    try:
        assert not again._last_sync.changed and not again._last_sync.warnings
        assert {p.id for p in again.list(Tier.VALIDATED)} == {first.id, second.id}
        _agree(again)
    finally:
        again.close()


@pytest.mark.parametrize("operation, tier", [("demote", Tier.SESSION), ("forget", Tier.ARCHIVE)])
def test_a_file_that_cannot_be_removed_is_removed_on_the_next_open(workspace, clock, monkeypatch, operation, tier):
    memory = Memory.open(workspace, clock=clock)
    try:
        pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).id)
        monkeypatch.setattr(files, "remove", _no_space)
        with pytest.raises(StoreError, match="could not be updated"):
            getattr(memory, operation)(pattern.id)
        assert memory.get(pattern.id).tier is tier
    finally:
        memory.close()
    monkeypatch.undo()
    again = Memory.open(workspace, clock=clock)
    try:
        assert again.get(pattern.id).tier is tier and not again._last_sync.changed
        assert not list(again._ws.patterns_dir.glob("*.md"))
    finally:
        again.close()


def test_an_event_that_fails_to_append_leaves_the_file_and_the_store_as_they_were(memory: Memory, monkeypatch):
    from scms.store import projection

    pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).id)
    before = store_snapshot(memory.root)

    def full_disk(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(projection, "append", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        memory.demote(pattern.id)
    monkeypatch.undo()
    assert store_snapshot(memory.root) == before
    assert not memory.sync_files().changed and memory.get(pattern.id).tier is Tier.VALIDATED


def test_evidence_stays_bounded_distinct_files_first(memory: Memory, workspace):
    """Each accept in a new context adds a place; past 50 the kept set favours files not cited yet and counts
    the rest, so a pattern accepted a thousand times does not grow without bound."""
    from scms.store.projection import MAX_EVIDENCE

    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    lines = (workspace / "src" / "tarfile.py").read_text().splitlines()
    distinct = {line.strip(): n + 1 for n, line in reversed(list(enumerate(lines))) if line.strip()}
    starts = sorted(distinct.values())[:MAX_EVIDENCE + 20]  # one-line contexts, each of its own text
    for start in starts:
        memory.accept(pattern.id, memory.code_from_file(workspace / "src/tarfile.py", start, start))
    after = memory.get(pattern.id)
    assert len(after.evidence) == MAX_EVIDENCE and after.more_evidence == len(starts) + 1 - MAX_EVIDENCE
    assert after.evidence[0] == pattern.evidence[0]  # the code it was remembered from stays
    textwrap = memory.accept(pattern.id, memory.code_from_file(workspace / "src/textwrap.py", 1, 1))
    assert "src/textwrap.py" in {e.file for e in textwrap.evidence} and len(textwrap.evidence) == MAX_EVIDENCE
    assert textwrap.accepted_uses == len(starts) + 1
