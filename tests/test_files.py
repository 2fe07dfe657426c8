"""The validated tier on disk: format round trip, atomic writes, hand-written files, git-style changes."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings, strategies as st

from conftest import COPYFILEOBJ_LINES, remember_lines, store_snapshot
from scms.memory import Memory
from scms.model import Evidence, Kind, Pattern, Status, Tier
from scms.store import files

STAMP = datetime(2026, 11, 1, tzinfo=timezone.utc)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r") | st.just("\n"), max_size=200)


def _pattern(**kw) -> Pattern:
    base = dict(id="abc123", title="Retry with backoff", created=STAMP, updated=STAMP, decay_anchor=STAMP,
                tier=Tier.VALIDATED, status=Status.PROMOTED, promoted=STAMP)
    return Pattern(**{**base, **kw})


@settings(max_examples=200, deadline=None)
@given(
    title=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60)
    .map(lambda t: " ".join(t.split())).filter(bool),
    body=text.map(lambda t: t.strip("\n")),
    snippet=text.map(lambda t: t.rstrip("\n")),
    tags=st.lists(st.text("abcdefgh-_", min_size=1, max_size=8), max_size=4),
    kind=st.sampled_from(list(Kind)),
)
@example(title="0", body=" ", snippet="", tags=[], kind=Kind.PATTERN)  # a blank note is no note
def test_render_then_parse_gives_back_every_field(tmp_path_factory, title, body, snippet, tags, kind):
    pattern = _pattern(title=title, body=body, snippet=snippet, tags=tags, kind=kind, languages=["python"],
                       evidence=[Evidence(file="a.py", start_line=1, end_line=2, content_hash="ff", commit="c0")])
    parsed = files.parse(files.render(pattern), Path("x.md")).fields
    for name in ("id", "title", "body", "snippet", "languages", "tags", "accepted_uses"):
        assert parsed[name] == getattr(pattern, name), name
    assert parsed["kind"] == kind.value
    assert parsed["evidence"] == [e.model_dump(mode="json") for e in pattern.evidence]
    assert parsed["created"] == STAMP.isoformat() and parsed["promoted"] == STAMP.isoformat()


def test_a_snippet_holding_fences_survives(tmp_path):
    snippet = "doc = '''\n```python\nx = 1\n```\n'''"
    parsed = files.parse(files.render(_pattern(snippet=snippet)), Path("x.md")).fields
    assert parsed["snippet"] == snippet


def test_atomic_write_leaves_the_old_file_whole_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "p.md"
    files.atomic_write(target, "old content\n")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        files.atomic_write(target, "new content that never lands\n")
    assert target.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.md"]  # no temp file left behind


def test_renaming_a_pattern_replaces_its_file(tmp_path):
    first = files.write(tmp_path, _pattern(title="Old name"))
    second = files.write(tmp_path, _pattern(title="New name"))
    assert not first.exists() and second.exists()
    assert [p.name for p in tmp_path.glob("*.md")] == ["new-name-abc123.md"]


HAND_WRITTEN = """\
---
title: Always close sockets with a context manager
kind: convention
languages: python
tags: [net, resources]
---

# Sockets

Use `with socket.create_connection(...) as sock:` so errors never leak descriptors.

```python
with socket.create_connection((host, port), timeout=5) as sock:
    sock.sendall(payload)
```
"""


def test_hand_written_files_load_into_the_validated_tier(workspace, clock):
    patterns_dir = workspace / ".scms" / "patterns"
    patterns_dir.mkdir(parents=True)
    (patterns_dir / "close-sockets.md").write_text(HAND_WRITTEN)
    (patterns_dir / "minimal.md").write_text("---\nid: tiny\n---\nJust a note.\n")
    memory = Memory.open(workspace, clock=clock)
    try:
        by_title = {p.title: p for p in memory.list(Tier.VALIDATED)}
        sockets = by_title["Always close sockets with a context manager"]
        assert sockets.kind is Kind.CONVENTION and sockets.languages == ["python"] and sockets.tags == ["net", "resources"]
        assert sockets.snippet.startswith("with socket.create_connection")
        assert sockets.body.startswith("# Sockets")
        tiny = memory.get("tiny")
        assert tiny.title == "minimal" and tiny.body == "Just a note." and tiny.snippet == ""
        assert sorted(memory._last_sync.imported) == sorted([sockets.id, "tiny"])
    finally:
        memory.close()
    again = Memory.open(workspace, clock=clock)  # the derived id is stable: nothing new on the next open
    try:
        assert not again._last_sync.changed and len(again.list()) == 2
    finally:
        again.close()


@pytest.mark.parametrize(
    "content, problem",
    [
        ("no front matter here\n", "no YAML front matter"),
        ("---\ntitle: x\n", "not closed"),
        ("---\ntitle: [unclosed\n---\n", "invalid YAML"),
        ("---\n- a list\n---\n", "must be a mapping"),
        ("---\nkind: recipe\n---\n", "recipe"),
        ("---\nid: ../../etc/passwd\n---\n", "may hold only letters"),
        ("---\naccepted_uses: -3\n---\n", "must not be negative"),
        ("---\nevidence: [{file: a.py}]\n---\n", "start_line"),
        ("---\ntags: {a: 1}\n---\n", "'tags' must be a list"),
        ("---\ncreated: not a date\n---\n", "datetime"),
        ("---\ncreated: 2026-13-01\n---\n", "month must be in 1..12"),
        ("---\naccepted_uses: .inf\n---\n", "accepted_uses must be a whole number, got inf"),
        ("---\nevidence: 5\n---\n", "'evidence' must be a list"),
    ],
)
def test_a_malformed_file_is_skipped_with_a_warning_and_the_others_load(workspace, clock, content, problem):
    patterns_dir = workspace / ".scms" / "patterns"
    patterns_dir.mkdir(parents=True)
    (patterns_dir / "close-sockets.md").write_text(HAND_WRITTEN)
    (patterns_dir / "bad.md").write_text(content)
    memory = Memory.open(workspace, clock=clock)
    try:
        [warning] = memory.problems
        assert warning.startswith("bad.md") and problem in warning and warning.endswith("skipped")
        assert [p.title for p in memory.list()] == ["Always close sockets with a context manager"]
        assert memory.status()["warnings"] == [warning]
        promoted = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).id)
        assert memory.get(promoted.id).tier is Tier.VALIDATED
        assert sorted(p.name for p in patterns_dir.glob("*.md")) == sorted(
            ["bad.md", "close-sockets.md", files.file_name(promoted)])
    finally:
        memory.close()


def test_files_changed_or_removed_on_disk_are_followed(memory: Memory, clock):
    pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Chunked copy").id)
    [path] = memory.patterns_dir.glob("*.md")
    path.write_text(path.read_text().replace("title: Chunked copy", "title: Copy in 64 KiB chunks"))
    report = memory.sync_files()
    assert report.updated == [pattern.id] and memory.get(pattern.id).title == "Copy in 64 KiB chunks"
    assert not memory.sync_files().changed
    path.unlink()
    assert memory.sync_files().removed == [pattern.id]
    assert memory.get(pattern.id).tier is Tier.ARCHIVE
    files.write(memory.patterns_dir, pattern)  # e.g. `git checkout` brings it back
    assert memory.sync_files().imported == [pattern.id]
    assert memory.get(pattern.id).tier is Tier.VALIDATED


def test_a_fresh_clone_gets_the_team_patterns_from_files(memory: Memory, tmp_path, clock):
    pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).id)
    clone = tmp_path / "clone"
    (clone / ".scms" / "patterns").mkdir(parents=True)
    for path in memory.patterns_dir.glob("*.md"):
        (clone / ".scms" / "patterns" / path.name).write_text(path.read_text())
    other = Memory.open(clone, clock=clock)
    try:
        copy = other.get(pattern.id)
        for name in ("title", "body", "snippet", "kind", "languages", "tags", "evidence", "created", "promoted",
                     "accepted_uses"):
            assert getattr(copy, name) == getattr(pattern, name), name
        assert copy.tier is Tier.VALIDATED
    finally:
        other.close()


def test_gitignore_keeps_local_state_out_of_git(memory: Memory):
    ignore = (memory.root / ".scms" / ".gitignore").read_text().splitlines()
    assert {"scms.db", "scms.db-*", "model/"} <= set(ignore) and "patterns/" not in ignore
    before = store_snapshot(memory.root)
    assert before[0] == []
