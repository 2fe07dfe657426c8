"""The language server and `scms mcp` on one workspace at once: an agent's candidate reaches the editor without a
restart, and both write the same store with no lost update and no "database is locked"."""

from __future__ import annotations

import asyncio
import sqlite3

from conftest import COPY_LINES, COPYFILEOBJ_LINES
from lsp_support import command, hover, lsp_range, open_document, poll, serve, wait_for
from mcp_support import AGENT, agent, call

OPERATIONS = 1_000


async def test_an_agents_candidate_reaches_the_tree_and_the_hover_without_a_restart(workspace):
    shutil = workspace / "src" / "shutil.py"
    async with serve(workspace) as editor, agent(workspace) as client:
        assert await command(editor, "scms.list", {}) == []
        added = (await call(client, "add_candidate", {
            "title": "Copy file objects in chunks", "file": "src/shutil.py",
            "start_line": COPYFILEOBJ_LINES[0], "end_line": COPYFILEOBJ_LINES[1]}))["pattern"]

        await wait_for(lambda: any(added["id"] in change["patternIds"] for change in editor.changes), timeout=30)
        assert [p["id"] for p in await command(editor, "scms.list", {})] == [added["id"]]

        uri = open_document(editor, shutil)
        card = await poll(lambda: hover(editor, uri, COPYFILEOBJ_LINES[0] + 5), lambda h: h is not None)
        assert "Copy file objects in chunks" in card.contents.value
        assert f"proposed by {AGENT.replace('-', chr(92) + '-')} (agent)" in card.contents.value

        # and the other way: what the developer does, the agent sees at its next call
        await command(editor, "scms.accept", {"patternId": added["id"], "uri": uri,
                                              "range": lsp_range(COPY_LINES[0] - 1, COPY_LINES[1] - 1)})
        assert (await call(client, "get_pattern", {"pattern_id": added["id"]}))["accepted_uses"] == 1


async def test_both_servers_write_at_once_and_lose_nothing(workspace):
    async with serve(workspace) as editor, agent(workspace) as client:
        pattern = (await call(client, "add_candidate", {"title": "Shared", "code": "x = compute()\n"}))["pattern"]
        errors: list[str] = []

        async def editor_accepts() -> None:
            for _ in range(OPERATIONS):
                try:
                    await command(editor, "scms.accept", {"patternId": pattern["id"]})
                except Exception as err:  # counted, not raised: every failure is reported below
                    errors.append(f"editor: {err}")

        async def agent_uses() -> None:
            for number in range(OPERATIONS):
                outcome = "failed" if number % 10 == 9 else "worked"
                result = await client.call_tool("record_use", {"pattern_id": pattern["id"], "outcome": outcome})
                if result.is_error:
                    errors.append(f"agent: {result.content[0].text}")

        await asyncio.gather(editor_accepts(), agent_uses())
        assert errors == []
        final = await call(client, "get_pattern", {"pattern_id": pattern["id"]})
        seen_by_editor = next(p for p in await command(editor, "scms.list", {}) if p["id"] == pattern["id"])
    worked, failed = OPERATIONS - OPERATIONS // 10, OPERATIONS // 10
    assert (final["accepted_uses"], final["rejected_uses"]) == (OPERATIONS + worked, failed)
    assert seen_by_editor["accepted_uses"] == OPERATIONS + worked
    conn = sqlite3.connect(workspace / ".scms" / "scms.db")
    try:
        kinds = dict(conn.execute("SELECT type, COUNT(*) FROM events GROUP BY type").fetchall())
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert kinds == {"remembered": 1, "accepted": OPERATIONS + worked, "rejected": failed}
