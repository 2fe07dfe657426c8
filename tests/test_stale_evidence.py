"""Stale evidence: when the code a pattern cites changes or goes, the card, the listing and the export say so, and
the pattern can be re-anchored (moved code by its hash, changed code by similarity) or forgotten."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import COPYFILEOBJ_LINES, remember_lines
from lsp_support import command, hover, open_document, poll, serve
from scms.errors import InvalidState
from scms.memory import Memory


def _insert_lines_on_top(path: Path, count: int) -> None:
    path.write_text("# a comment added on top\n" * count + path.read_text())


def test_moved_code_is_stale_until_reanchored_by_its_hash(memory: Memory, workspace: Path):
    pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks").id)
    assert memory.describe(pattern)["stale"] == []
    _insert_lines_on_top(workspace / "src" / "shutil.py", 3)
    [stale] = memory.describe(memory.get(pattern.id))["stale"]
    assert (stale["file"], stale["start_line"]) == ("src/shutil.py", COPYFILEOBJ_LINES[0])
    memory.export(["workspace_rules"])
    rules = (workspace / "WORKSPACE_RULES.md").read_text()
    assert f"lines {COPYFILEOBJ_LINES[0]}-{COPYFILEOBJ_LINES[1]} (stale: this code has changed or gone since)" in rules

    moved = memory.reanchor(pattern.id)
    [evidence] = moved.evidence
    assert (evidence.start_line, evidence.end_line) == (COPYFILEOBJ_LINES[0] + 3, COPYFILEOBJ_LINES[1] + 3)
    assert evidence.content_hash == pattern.evidence[0].content_hash and moved.snippet == pattern.snippet
    assert memory.describe(moved)["stale"] == []
    file_text = (workspace / memory.describe(moved)["file"]).read_text()
    assert f"start_line: {COPYFILEOBJ_LINES[0] + 3}" in file_text  # the validated file follows
    assert memory.reanchor(pattern.id) is not None and len(memory.get(pattern.id).evidence) == 1  # no-op now


def test_changed_code_is_reanchored_by_similarity_and_its_snippet_follows(memory: Memory, workspace: Path):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks")
    shutil = workspace / "src" / "shutil.py"
    shutil.write_text(shutil.read_text().replace("buf = fsrc_read(length)", "buf = fsrc_read(length or 1)", 1))
    assert len(memory.describe(memory.get(pattern.id))["stale"]) == 1
    moved = memory.reanchor(pattern.id)
    assert "buf = fsrc_read(length or 1)" in moved.snippet
    assert moved.evidence[0].content_hash != pattern.evidence[0].content_hash
    assert memory.describe(moved)["stale"] == []


def test_code_that_is_gone_cannot_be_reanchored_and_nothing_changes(memory: Memory, workspace: Path):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks")
    (workspace / "src" / "shutil.py").unlink()
    assert memory.describe(memory.get(pattern.id))["stale"][0]["file"] == "src/shutil.py"
    with pytest.raises(InvalidState, match="nowhere to be found any more; forget it instead"):
        memory.reanchor(pattern.id)
    assert memory.get(pattern.id).evidence == pattern.evidence
    assert memory.forget(pattern.id).tier.value == "archive"


async def test_the_card_says_stale_and_offers_reanchor(workspace: Path):
    memory = Memory.open(workspace)
    try:
        pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks")
    finally:
        memory.close()
    _insert_lines_on_top(workspace / "src" / "shutil.py", 2)
    async with serve(workspace) as client:
        uri = open_document(client, workspace / "src" / "shutil.py")
        card = await poll(lambda: hover(client, uri, COPYFILEOBJ_LINES[0] + 2 + 4), lambda h: h is not None)
        assert "Stale:" in card.contents.value and "scms.reanchor" in card.contents.value
        listed = await command(client, "scms.list", {})
        assert listed[0]["stale"][0]["start_line"] == COPYFILEOBJ_LINES[0]
        moved = await command(client, "scms.reanchor", {"patternId": pattern.id})
        assert moved["stale"] == [] and moved["evidence"][0]["start_line"] == COPYFILEOBJ_LINES[0] + 2
        card = await hover(client, uri, COPYFILEOBJ_LINES[0] + 2 + 4)
        assert card is not None and "Stale:" not in card.contents.value
