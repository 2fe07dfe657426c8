"""Retention and decay: the score's factors, the decay sweep, and reads that never refresh a pattern."""

from __future__ import annotations

import pytest

from conftest import COPYFILEOBJ_LINES, WRAP_LINES, line_of, remember_lines, store_snapshot
from scms.config import RetentionSettings, Settings
from scms.memory import Memory
from scms.model import Kind, Tier
from scms.store.retention import retention


def test_score_is_base_times_surprise_times_confidence_times_decay(memory: Memory, clock):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, kind=Kind.FAILURE)
    memory.accept(pattern.id)
    memory.accept(pattern.id)
    memory.reject(pattern.id)
    clock.advance(days=3)
    r = retention(memory.get(pattern.id), clock.now, RetentionSettings())
    assert (r.base, r.surprise, r.decay_rate) == (0.6, 1.5, 0.95)
    assert r.confidence == pytest.approx(3 / 5)
    assert r.days == pytest.approx(3.0)
    assert r.score == pytest.approx(0.6 * 1.5 * 0.6 * 0.95**3)


def test_validated_patterns_never_decay(memory: Memory, clock):
    pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).id)
    before = retention(pattern, clock.now, RetentionSettings()).score
    clock.advance(days=3650)
    assert retention(memory.get(pattern.id), clock.now, RetentionSettings()).score == before
    assert memory.decay() == []
    assert memory.get(pattern.id).tier is Tier.VALIDATED


def test_decay_sweep_archives_only_what_fell_below_the_threshold(memory: Memory, clock):
    idle = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    used = remember_lines(memory, "textwrap.py", *WRAP_LINES)
    # a new candidate scores 0.6 * 0.5 = 0.3; at 0.95/day it falls below 0.1 after ln(1/3)/ln(0.95) = 21.4 days
    clock.advance(days=21)
    memory.accept(used.id)
    assert memory.decay() == []
    clock.advance(days=0.5)
    archived = memory.decay()
    assert [p.id for p in archived] == [idle.id]
    assert memory.get(idle.id).tier is Tier.ARCHIVE
    assert memory.get(used.id).tier is Tier.SESSION


def test_archive_threshold_is_a_setting(workspace, clock):
    memory = Memory.open(workspace, Settings(retention=RetentionSettings(archive_below=0.29)), clock)
    try:
        pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
        clock.advance(days=1)  # 0.3 * 0.95 = 0.285
        assert [p.id for p in memory.decay()] == [pattern.id]
    finally:
        memory.close()


def test_reading_never_refreshes(memory: Memory, clock):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    before = store_snapshot(memory.root)
    clock.advance(days=10)
    source = memory.root / "src" / "shutil.py"
    loop = line_of(source, "def copyfileobj(") + 7  # its `while True:`
    for _ in range(3):
        memory.get(pattern.id)
        memory.list()
        memory.describe(memory.get(pattern.id))
        memory.status()
        [recalled] = memory.recall(pattern.snippet)
        assert recalled.pattern.id == pattern.id
        context = memory.context_at(source, source.read_text(), loop)
        assert [r.pattern.id for r in memory.recall(context.text, context_hash=context.evidence.content_hash)] == [
            pattern.id]
    assert memory.get(pattern.id) == pattern
    assert store_snapshot(memory.root) == before
    assert retention(memory.get(pattern.id), clock.now, RetentionSettings()).days == pytest.approx(10)
