"""A workspace whose store or pattern files are damaged: the server starts, says what is wrong, and keeps running."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from conftest import damage_table, line_of
from lsp_support import LEXICAL, command, hover, lsp_range, open_document, serve
from scms.memory import Memory

GOOD = "---\nid: fine\ntitle: Fine\n---\n```python\nx = 1\n```\n"
OPTIONS = {**LEXICAL, "notifications": "always"}


async def test_malformed_pattern_files_are_skipped_and_the_commands_work(workspace: Path):
    root = workspace
    patterns = root / ".scms" / "patterns"
    patterns.mkdir(parents=True)
    (patterns / "bad-date.md").write_text("---\ncreated: 2026-13-01\n---\nA note.\n")
    (patterns / "bad-uses.md").write_text("---\naccepted_uses: .inf\n---\nA note.\n")
    (patterns / "fine.md").write_text(GOOD)
    async with serve(root, OPTIONS) as client:
        status = await command(client, "scms.status", {})
        assert status["tiers"]["validated"] == 1
        assert [w.split(":")[0] for w in status["warnings"]] == ["bad-date.md", "bad-uses.md"]
        popped = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert any("bad-date.md" in m and "month must be in 1..12" in m for m in popped), popped
        assert any("bad-uses.md" in m and "accepted_uses" in m for m in popped), popped
        shutil_path = root / "src" / "shutil.py"
        start_line = line_of(shutil_path, "def copyfileobj(")
        uri = open_document(client, shutil_path)
        made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(start_line, start_line + 10)})
        promoted = await command(client, "scms.promote", {"patternId": made["id"]})
        assert promoted["tier"] == "validated"
        assert len(list(patterns.glob(f"*-{made['id']}.md"))) == 1


def _newer_schema(db) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()


def _damaged(db) -> None:
    damage_table(db)


@pytest.mark.parametrize("damage, reason", [
    (_newer_schema, "scms.db was written by a newer SCMS (schema 99"),
])
async def test_a_store_that_cannot_be_opened_is_named_and_the_server_keeps_running(workspace: Path, damage, reason):
    root = workspace
    Memory.open(root).close()
    db = root / ".scms" / "scms.db"
    damage(db)
    before = db.read_bytes()
    async with serve(root, OPTIONS) as client:
        for _ in range(2):
            with pytest.raises(JsonRpcException) as caught:
                await command(client, "scms.status", {})
            assert caught.value.code == -32001
            assert caught.value.message.startswith("SCMS memory unavailable: ") and reason in caught.value.message
        uri = open_document(client, root / "src" / "shutil.py")
        assert await hover(client, uri, 10) is None
        errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and reason in errors[0]
    assert db.read_bytes() == before


async def test_a_damaged_store_is_moved_aside_and_the_user_told_once(workspace: Path):
    root = workspace
    Memory.open(root).close()
    db = root / ".scms" / "scms.db"
    _damaged(db)
    before = db.read_bytes()
    async with serve(root, OPTIONS) as client:
        status = await command(client, "scms.status", {})
        assert status["tiers"] == {"session": 0, "validated": 0, "archive": 0}
        popped = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert len([m for m in popped if "was moved aside because it is damaged" in m]) == 1, popped
    [kept] = list((root / ".scms").glob("scms.db.damaged-*[0-9]"))
    assert kept.read_bytes() == before  # kept as it was, to restore by hand
