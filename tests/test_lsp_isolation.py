"""Failure isolation over the wire: a feature that fails unexpectedly answers "nothing here" (hover, code actions)
or a clear error (commands), logs its traceback to the client's output, and every other feature goes on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError

from conftest import line_of
from lsp_support import command, hover, lsp_range, open_document, serve


def _garble_projection(root: Path, pattern_id: str) -> None:
    """A projection row no pattern model can read: the kind of fault no handler expects."""
    conn = sqlite3.connect(root / ".scms" / "scms.db")
    with conn:
        conn.execute("UPDATE patterns SET data = '{\"id\": 1' WHERE id = ?", (pattern_id,))
    conn.close()


async def test_a_failing_hover_answers_nothing_and_the_other_features_go_on(workspace: Path):
    shutil_py = workspace / "src" / "shutil.py"
    start = line_of(shutil_py, "def copyfileobj(")
    async with serve(workspace) as client:
        uri = open_document(client, shutil_py)
        made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(start, start + 12),
                                                       "title": "Copy in chunks"})
        assert await hover(client, uri, start + 3) is not None  # recalled before the fault
        _garble_projection(workspace, made["id"])

        assert await hover(client, uri, start + 3) is None
        here = types.Position(line=start + 3, character=4)
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=here, end=here),
            context=types.CodeActionContext(diagnostics=[])))
        assert actions is None
        with pytest.raises(JsonRpcInternalError, match=r"scms\.list failed: .*traceback is in the SCMS output"):
            await command(client, "scms.list", {})

        status = await command(client, "scms.status", {})  # the rest still answers, and still writes
        assert status["tiers"]["session"] == 1
        textwrap_py = workspace / "src" / "textwrap.py"
        dedent = line_of(textwrap_py, "def dedent(")
        other = await command(client, "scms.remember", {"uri": open_document(client, textwrap_py),
                                                        "range": lsp_range(dedent, dedent + 10)})
        assert other["tier"] == "session"
        logged = "\n".join(m.message for m in client.log_messages)
        assert "SCMS: hover failed" in logged and "SCMS: code actions failed" in logged
        assert "Traceback (most recent call last)" in logged and "ValidationError" in logged
