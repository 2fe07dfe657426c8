"""The lexical index in bulk: loading every stored pattern at once, and its snapshot across restarts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from conftest import COPYFILEOBJ_LINES, STDLIB, line_of, remember_lines
from scms.memory import Memory
from scms.recall import lexical_snapshot
from scms.recall.lexical import LexicalIndex, query_terms, shown
from scms.text import index_terms


def stdlib_rows(count: int) -> list[tuple[str, str]]:
    """(id, terms) of the standard library's modules, cut into chunks, as the store keeps pattern terms."""
    rows = []
    for path in sorted(STDLIB.glob("*.py"))[:40]:
        text = path.read_text(encoding="utf-8", errors="replace")
        rows += [(f"{path.stem}:{i}", index_terms(text[i:i + 1200])) for i in range(0, len(text), 1200)]
    return rows[:count]


def ranking(index: LexicalIndex, query: list[str]) -> list[tuple[str, float]]:
    return [(hit.pattern_id, round(hit.similarity, 9)) for hit in index.search(query, 1e-9, 15)]


def test_a_bulk_load_ranks_exactly_as_one_upsert_at_a_time():
    rows = stdlib_rows(600)
    one_by_one, bulk = LexicalIndex(), LexicalIndex()
    for pattern_id, terms in rows:
        one_by_one.upsert(pattern_id, terms)
    bulk.add_many(rows)
    queries = [query_terms(terms) for _, terms in random.Random(2).sample(rows, 25)]
    for query in queries:
        assert ranking(bulk, query) == ranking(one_by_one, query)
    assert ranking(bulk, queries[0])  # the queries find something
    # after changes, both still agree
    for index in (one_by_one, bulk):
        index.remove(rows[0][0])
        index.upsert(rows[1][0], "socket connect timeout")
    for query in queries + [["socket", "timeout"]]:
        assert ranking(bulk, query) == ranking(one_by_one, query)


def test_the_snapshot_round_trips_and_refuses_what_does_not_fit(tmp_path, memory: Memory):
    rows = stdlib_rows(300)
    index = LexicalIndex()
    index.add_many(rows)
    index.remove(rows[3][0])
    with memory._ws.db.read() as conn:
        watermark = conn.execute("SELECT MAX(id) FROM events").fetchone()[0] or 0
        stamp = lexical_snapshot.event_stamp(conn, watermark)
        lexical_snapshot.save(index.live_rows(), tmp_path, watermark, stamp)
        loaded, at = lexical_snapshot.load(tmp_path, conn)
        assert at == watermark and len(loaded) == 299 and not loaded.has(rows[3][0])
        for _, terms in rows[:20]:
            assert ranking(loaded, query_terms(terms)) == ranking(index, query_terms(terms))
        lexical_snapshot.save(index.live_rows(), tmp_path, watermark, "another store's event")
        assert lexical_snapshot.load(tmp_path, conn) is None
        (tmp_path / lexical_snapshot.FILE).write_bytes(b"PK\x03\x04 broken")
        with pytest.raises(ValueError, match="unreadable"):
            lexical_snapshot.load(tmp_path, conn)
        ids, flat, lengths, words = index.live_rows()
        lexical_snapshot.save((ids, flat, lengths, words[:5]), tmp_path, watermark, stamp)
        with pytest.raises(ValueError, match="inconsistent"):
            lexical_snapshot.load(tmp_path, conn)


def test_a_restart_loads_the_saved_index_and_catches_up(workspace, memory: Memory):
    chunked = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Chunked copy")
    memory._engine.warm_up()
    memory.close()  # saves the snapshot
    snapshot = workspace / ".scms" / "index" / lexical_snapshot.FILE
    assert snapshot.exists()
    other = Memory.open(workspace)  # e.g. the CLI while no editor runs
    try:
        path = workspace / "src" / "functools.py"
        start = line_of(path, "def total_ordering(") + 1
        newer = other.remember(other.code_from_file(path, start, start + 12), title="Total ordering")
        other.forget(chunked.id)
    finally:
        other.close()
    again = Memory.open(workspace)
    try:
        loads = []
        original = lexical_snapshot.load
        lexical_snapshot.load = lambda *a: loads.append(1) or original(*a)
        try:
            again._engine.warm_up()
        finally:
            lexical_snapshot.load = original
        assert loads and again._engine.lexical.has(newer.id) and not again._engine.lexical.has(chunked.id)
        hits = again.recall((path.read_text()).split("def total_ordering(")[1][:600])
        assert hits and hits[0].pattern.id == newer.id
    finally:
        again.close()
    damaged = np.frombuffer(snapshot.read_bytes(), dtype=np.uint8)[:100].tobytes()
    snapshot.write_bytes(damaged)
    third = Memory.open(workspace)
    try:
        third._engine.warm_up()  # rebuilt from the store, not a crash
        assert third._engine.lexical.has(newer.id) and len(third._engine.lexical) == 1
    finally:
        third.close()


def test_whole_names_are_terms_beside_their_subwords():
    code = "def copyfileobj(fsrc, fdst, length=0):\n    buf = fsrc.read(length)\n    fdst.write(buf)\n"
    terms = query_terms(code)
    assert {"copyfileobj", "fsrc", "fdst"} <= set(terms)  # subwords
    assert {"=copyfileobj", "=fsrc", "=fdst", "=buf"} <= set(terms) and "=def" not in terms  # names, no keywords
    assert set(index_terms(code).split()) >= {"=copyfileobj", "=write"}
    index = LexicalIndex()
    index.add_many([("same names", index_terms("chunk = fsrc.read(length)\nfdst.write(chunk)")),
                    ("same subwords", index_terms("src_read = 1\nfdst_write = fsrc_length\n"))])
    [first, second] = index.search(query_terms(code), 1e-9, 5)
    assert first.pattern_id == "same names" and first.similarity > second.similarity
    assert shown(["=read_text", "read", "text", "path"]) == ["read_text", "path"]


def test_an_accepted_contexts_terms_are_scored_with_the_patterns_idf():
    index = LexicalIndex()
    index.add_many(stdlib_rows(200))
    query = query_terms("def copyfileobj(fsrc, fdst):\n    buf = fsrc.read(16)\n    fdst.write(buf)\n")
    same = tuple(query)
    one = lambda terms, other: float(index.similarities_to(terms, [other])[0])  # noqa: E731
    assert one(query, same) == pytest.approx(1.0)  # as the same code stored as a pattern
    assert one(query, ("zzz_unheard_of",)) == 0.0
    assert one(query, ()) == 0.0 and one([], same) == 0.0
    partly = one(query, tuple(query[: len(query) // 2]))
    assert 0.0 < partly < one(query, same)
    others = [same, (), ("zzz_unheard_of",), tuple(query[: len(query) // 2])]
    assert index.similarities_to(query, others).tolist() == pytest.approx([1.0, 0.0, 0.0, partly])
