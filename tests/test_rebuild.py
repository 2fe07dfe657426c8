"""`rebuild` recomputes exactly the live state from the event log, whatever sequence of events led there."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import SOURCES, STDLIB, Clock
from scms.errors import ScmsError
from scms.memory import Memory

OPERATIONS = ["accept", "accept_in_context", "reject", "reject_in_context", "promote", "demote", "forget",
              "restore", "promote_eligible", "decay", "advance", "edit_file", "delete_file", "remember"]

steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 5), st.integers(1, 400)), min_size=1, max_size=40
)


def _projection(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id, tier, status, data, terms, last_event FROM patterns ORDER BY id").fetchall()
    finally:
        conn.close()


def _run(memory: Memory, clock: Clock, op: str, which: int, line: int) -> None:
    ids = [p.id for p in memory.list()]
    target = ids[which % len(ids)] if ids else "none"
    source = memory.root / SOURCES[which % len(SOURCES)]
    context = lambda: memory.code_from_file(source, line, line + 3)  # noqa: E731
    if op == "remember" or not ids:
        memory.remember(context())
    elif op in ("accept", "reject"):
        getattr(memory, op)(target)
    elif op == "accept_in_context":
        memory.accept(target, context())
    elif op == "reject_in_context":
        memory.reject(target, context(), reason="not here")
    elif op in ("promote", "demote", "forget", "restore"):
        getattr(memory, op)(target)
    elif op in ("promote_eligible", "decay"):
        getattr(memory, op)()
    elif op == "advance":
        clock.advance(days=line / 20)
    elif op in ("edit_file", "delete_file"):
        files = sorted(memory.patterns_dir.glob("*.md"))
        if files:
            path = files[which % len(files)]
            if op == "delete_file":
                path.unlink()
            else:
                path.write_text(path.read_text().replace("\ntags: []", f"\ntags: [edited{line}]"))
            memory.sync_files()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_rebuild_reproduces_the_live_projection_exactly(sequence):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in SOURCES:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(STDLIB / name, root / name)
        clock = Clock()
        memory = Memory.open(root, clock=clock)
        try:
            for op, which, line in sequence:
                try:
                    _run(memory, clock, op, which, line)
                except ScmsError:
                    pass  # refused transitions and out-of-range lines change nothing, by other tests
            live = _projection(memory.store_path)
            assert memory.rebuild() == len(live)
            assert _projection(memory.store_path) == live
        finally:
            memory.close()
