"""After edits settle, the code unit being edited is queued for embedding, so the next hover there only looks up,
and the suggestions look at the lines edited (`suggestions.py`)."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from scms.errors import ScmsError
from scms.lsp import documents
from scms.lsp.guard import isolated
from scms.lsp.server import ScmsServer, server
from scms.lsp.suggestions import suggestions

EDIT_DEBOUNCE_S = 0.3


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@isolated("textDocument/didChange")
def did_change(ls: ScmsServer, params: types.DidChangeTextDocumentParams) -> None:
    if ls.memory is None or not params.content_changes:
        return
    uri = params.text_document.uri
    suggestions.schedule(ls, uri, _lines(params.content_changes))
    if ls.memory.recall_state != "embeddings":
        return
    change = params.content_changes[-1]
    line = change.range.start.line if isinstance(change, types.TextDocumentContentChangePartial) else 0
    previous = ls.pending_edits.pop(uri, None)
    if previous is not None:
        previous.cancel()
    ls.pending_edits[uri] = asyncio.ensure_future(_prepare_after_edit(ls, uri, line))


def _lines(changes: list[Any]) -> set[int] | None:
    """The 0-based lines these changes touch, as they are after them (None: the whole text was replaced)."""
    lines: set[int] = set()
    for change in changes:
        if not isinstance(change, types.TextDocumentContentChangePartial):
            return None
        start = change.range.start.line
        lines.update(range(start, start + change.text.count("\n") + 1))
    return lines


@isolated("preparing an edited unit")
async def _prepare_after_edit(ls: ScmsServer, uri: str, line: int) -> None:
    await asyncio.sleep(EDIT_DEBOUNCE_S)
    ls.pending_edits.pop(uri, None)
    memory = ls.memory
    if memory is None:
        return
    try:
        path, text = documents.text_of(ls, memory, uri)
    except ScmsError:
        return
    await asyncio.to_thread(memory.prepare, path, text, line)
