"""Boundaries a cloned repository can cross: links out of the workspace (source files, `.scms/` and what SCMS
keeps in it, pattern files), `..` and absolute paths, files outside the workspace for recall and hovers, and
text that LSP and Python split into lines differently."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import COPYFILEOBJ_LINES, remember_lines
from lsp_support import command, hover, open_document, serve
from scms.errors import InvalidInput, StoreError
from scms.memory import Memory


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the workspace with a source file and an SQLite database of someone else's."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.py").write_text("def token():\n    return 'outside the workspace'\n")
    conn = sqlite3.connect(folder / "other.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    return folder


def test_a_source_file_linked_outside_is_not_remembered(memory: Memory, workspace: Path, outside: Path):
    (workspace / "src" / "linked.py").symlink_to(outside / "secret.py")
    with pytest.raises(InvalidInput, match="outside the workspace"):
        memory.code_from_file(workspace / "src" / "linked.py", 1, 2)
    with pytest.raises(InvalidInput, match="outside the workspace"):
        memory.code_from_file(workspace / "src" / ".." / ".." / "elsewhere" / "secret.py", 1, 2)
    with pytest.raises(InvalidInput, match="outside the workspace"):
        memory.workspace_file(outside / "secret.py")


@pytest.mark.parametrize("name, target", [
    (".scms", "folder"), (".scms/scms.db", "db"), (".scms/patterns", "folder"), (".scms/index", "folder"),
    (".scms/model", "folder"),
])
def test_links_in_the_store_are_refused_and_nothing_outside_is_touched(workspace: Path, outside: Path, name, target):
    if name != ".scms":
        Memory.open(workspace).close()
    link = workspace / name
    if link.is_dir():
        os.rename(link, workspace / f"{link.name}-kept")
    elif link.exists():
        link.unlink()
    link.symlink_to(outside / "other.db" if target == "db" else outside)
    before = sorted((p.name, p.stat().st_size) for p in outside.iterdir())
    with pytest.raises(StoreError, match="is a link"):
        Memory.open(workspace)
    assert sorted((p.name, p.stat().st_size) for p in outside.iterdir()) == before
    conn = sqlite3.connect(outside / "other.db")
    try:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]  # no SCMS tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    finally:
        conn.close()


def test_a_linked_or_huge_pattern_file_is_skipped_with_a_warning(workspace: Path, memory: Memory):
    pattern = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks").id)
    patterns = workspace / ".scms" / "patterns"
    (patterns / "zero.md").symlink_to("/dev/zero")  # read without bound, it would exhaust memory
    (patterns / "huge.md").write_text("x" * 1_000_001)
    report = memory.sync_files()
    assert any("zero.md: is a link" in w for w in report.warnings)
    assert any("huge.md: is larger than" in w for w in report.warnings)
    assert memory.get(pattern.id).tier.value == "validated"


async def test_recall_and_hovers_refuse_files_outside_the_workspace(workspace: Path, outside: Path):
    memory = Memory.open(workspace)
    try:
        remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks")
    finally:
        memory.close()
    copy = outside / "copy.py"
    copy.write_text((workspace / "src" / "shutil.py").read_text())
    (workspace / "src" / "alias.py").symlink_to(copy)
    async with serve(workspace) as client:
        for uri in (copy.as_uri(), (workspace / "src" / "alias.py").as_uri(), "file:///etc/passwd",
                    (workspace / "src" / ".." / ".." / "elsewhere" / "copy.py").as_uri()):
            with pytest.raises(Exception, match="outside the workspace"):
                await command(client, "scms.recall", {"uri": uri, "position": {"line": COPYFILEOBJ_LINES[0] + 2,
                                                                               "character": 4}})
            assert await hover(client, uri, COPYFILEOBJ_LINES[0] + 2) is None
        inside = open_document(client, workspace / "src" / "shutil.py")
        found = await command(client, "scms.recall", {"uri": inside, "position": {"line": COPYFILEOBJ_LINES[0] + 2,
                                                                                  "character": 4}})
        assert found and found[0]["pattern"]["title"] == "Copy in chunks"


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"])
async def test_lines_are_counted_as_lsp_counts_them(workspace: Path, separator: str):
    """Python's splitlines() also breaks on these; LSP (and the editor) does not: the remembered lines are the
    ones the user selected."""
    source = workspace / "src" / "odd.py"
    source.write_text(f"x = 1  # a{separator}b\ndef chosen():\n    return 2\n")
    async with serve(workspace) as client:
        uri = open_document(client, source)
        made = await command(client, "scms.remember", {"uri": uri, "range": {
            "start": {"line": 1, "character": 0}, "end": {"line": 3, "character": 0}}})
        assert made["snippet"] == "def chosen():\n    return 2"
        assert (made["evidence"][0]["start_line"], made["evidence"][0]["end_line"]) == (2, 3)


async def test_lone_surrogates_get_clean_answers(workspace: Path):
    async with serve(workspace) as client:
        uri = (workspace / "src" / "lone.py").as_uri()
        from lsprotocol import types

        text = "def f():\n    return '\ud800'\n"
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=text)))
        (workspace / "src" / "lone.py").write_text("placeholder\n")
        made = await command(client, "scms.remember", {"uri": uri, "title": "Odd \udfff title", "range": {
            "start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}})
        assert "\ufffd" in made["snippet"] and made["title"] == "Odd \ufffd title"
        assert await command(client, "scms.recall", {"text": "return '\udc00'"}) is not None
        await hover(client, uri, 1)
        accepted = await command(client, "scms.accept", {"patternId": made["id"], "uri": uri, "range": {
            "start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}})
        assert accepted["counted"] is False  # its own code
