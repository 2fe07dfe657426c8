"""Lexical recall units: the code context at a position, the inverted index, and ranking with reasons."""

from __future__ import annotations

import pytest

from conftest import COPYFILEOBJ_LINES, STDLIB, line_of, remember_lines
from scms.memory import Memory
from scms.recall.context import enclosing_unit
import math

from scms.recall.lexical import LexicalIndex, query_terms

SHUTIL = STDLIB / "shutil.py"


def test_the_unit_is_the_enclosing_definition_in_python():
    lines = SHUTIL.read_text().splitlines()
    start = line_of(SHUTIL, "def copyfileobj(")
    unit = enclosing_unit(lines, start + 6)
    assert unit.kind == "definition" and unit.start == start
    assert lines[unit.end].strip() == "fdst_write(buf)"
    assert enclosing_unit(lines, start) == unit  # on the def line itself


def test_methods_and_brace_languages():
    js = ["class Cache {", "  get(key) {", "    const hit = this.map.get(key);", "    return hit;", "  }", "}"]
    unit = enclosing_unit(js, 2)
    assert (unit.start, unit.end, unit.kind) == (1, 4, "definition")
    go = ["package main", "", "func retry(n int) error {", "\tfor i := 0; i < n; i++ {", "\t}", "\treturn nil",
          "}"]
    assert (enclosing_unit(go, 3).start, enclosing_unit(go, 3).end) == (2, 6)


def test_top_level_code_falls_back_to_a_stable_window():
    lines = [f"x{i} = {i}" for i in range(100)]
    unit = enclosing_unit(lines, 45)
    assert (unit.start, unit.end, unit.kind) == (40, 59, "window")
    assert enclosing_unit(lines, 41) == unit  # the same context anywhere in the block
    assert enclosing_unit(lines, 100) is None


def test_query_terms_drop_keywords_and_split_identifiers():
    terms = query_terms("def readChunkSize(self, fileObj):\n    return self.chunk_size")
    assert set(terms) == {"read", "chunk", "size", "file", "=readChunkSize", "=fileObj", "=chunk_size"}


def test_index_search_upsert_and_remove():
    index = LexicalIndex()
    index.upsert("a", "copy file buffer chunk read write")
    index.upsert("b", "parse json decoder scanner")
    hits = index.search(["copy", "buffer", "read", "socket"], min_similarity=0.1, limit=5)
    assert [h.pattern_id for h in hits] == ["a"]
    # by hand: N = 2 patterns; the pattern's 6 terms each occur once (idf = ln(3/2) + 1); "socket" is in no
    # pattern, so it leaves the query; cosine of the IDF-weighted binary vectors
    seen = math.log(3 / 2) + 1
    expected = 3 * seen**2 / (math.sqrt(3 * seen**2) * math.sqrt(6 * seen**2))
    assert hits[0].similarity == pytest.approx(expected)
    assert index.similarity(["copy", "buffer", "read", "socket"], "a") == pytest.approx(expected)
    assert index.shared(["copy", "buffer", "read", "socket", "copy"], "a") == ["copy", "buffer", "read"]
    index.upsert("a", "socket connect timeout")  # changed content replaces the old terms
    assert [index.shared(["copy", "socket"], h.pattern_id) for h in index.search(["copy", "socket"], 0.1, 5)] == [["socket"]]
    index.remove("a")
    assert index.search(["socket"], 0.0, 5) == [] and len(index) == 1


def test_index_compacts_after_many_removals():
    index = LexicalIndex()
    for i in range(3000):
        index.upsert(f"p{i}", f"common term{i}")
    for i in range(2000):
        index.remove(f"p{i}")
    index.upsert("new", "common fresh")
    assert len(index) == 1001
    assert {h.pattern_id for h in index.search(["fresh"], 0.1, 10)} == {"new"}
    assert len(index.search(["common"], 0.1, 5000)) == 1001


def test_recall_explains_and_follows_changes_from_other_connections(memory: Memory, workspace):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Chunked copy")
    context = (workspace / "src" / "tarfile.py").read_text()
    start = line_of(workspace / "src" / "tarfile.py", "def copyfileobj(")
    code = memory.context_at(workspace / "src" / "tarfile.py", context, start + 3)
    [hit] = memory.recall(code.text)
    assert hit.pattern.id == pattern.id and hit.reasons[0].startswith("shares ")
    assert "new candidate, not used yet" in hit.reasons
    other = Memory.open(workspace)  # e.g. the CLI in a terminal while the editor's server runs
    try:
        other.forget(pattern.id)
    finally:
        other.close()
    assert memory.recall(code.text) == []


def test_hints_recall_units_against_lessons_only_once_the_store_holds_one(memory, monkeypatch):
    from conftest import COPYFILEOBJ_LINES, remember_lines
    from scms.model import Kind

    looked: list[str] = []
    recall = memory.recall
    monkeypatch.setattr(memory, "recall", lambda text, **kw: looked.append(kw.get("mode", "fused")) or recall(text, **kw))
    shutil_py = memory.root / "src" / "shutil.py"
    text = shutil_py.read_text(encoding="utf-8")
    remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES)
    memory.hints(shutil_py, text)
    assert looked == []  # no failure or anti-pattern stored: no unit was recalled against lessons
    lesson = remember_lines(memory, "shutil.py", COPYFILEOBJ_LINES[0], COPYFILEOBJ_LINES[0] + 4,
                            title="Unbounded copy loop hung on a pipe", kind=Kind.FAILURE)
    hints = memory.hints(shutil_py, text)
    assert "lexical" in looked and lesson.id in {h.pattern.id for h in hints if h.kind == "failure"}
