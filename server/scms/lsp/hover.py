"""Hover: a card for the patterns recalled for the code unit under the cursor, or nothing at all.

Recall runs in a worker thread, so a hover never holds up the server's other messages; it reads what the
indexes hold now and never waits for the embedding model (an unseen unit is embedded for the next hover).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from lsprotocol import types

from scms.errors import ScmsError
from scms.lsp import documents
from scms.lsp.card import card
from scms.lsp.guard import isolated
from scms.lsp.server import ScmsServer, server
from scms.memory import CodeRange, Memory, Recalled, lines_of


@server.feature(types.TEXT_DOCUMENT_HOVER)
@isolated("hover")
async def hover(ls: ScmsServer, params: types.HoverParams) -> types.Hover | None:
    memory = ls.memory
    if memory is None or memory.settings.recall.hover_limit == 0:
        return None
    found = await asyncio.to_thread(_card, ls, memory, params.text_document.uri, params.position)
    if found is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=found),
                       range=types.Range(start=params.position, end=params.position))


def _card(ls: ScmsServer, memory: Memory, uri: str, position: types.Position) -> str | None:
    try:
        path, text = documents.text_of(ls, memory, uri)
    except ScmsError:
        return None  # not a file, binary, huge, gone: nothing to recall, and nothing to complain about
    found = recalled_at(memory, path, text, position.line)
    if not found:
        return None
    context, recalled = found
    recalled = [replace(r, pattern=memory.checked(r.pattern)) for r in recalled]  # stale evidence, for its badge
    return card(recalled, uri, unit_range(context), context.evidence.content_hash)


def recalled_at(memory: Memory, path: Path, text: str, line: int,
                limit: int | None = None) -> tuple[CodeRange, list[Recalled]] | None:
    """The code unit around a 0-based line and the patterns recalled for it; None on a blank line."""
    lines = lines_of(text)
    if line >= len(lines) or not lines[line].strip():
        return None
    context = memory.context_at(path, text, line)
    if context is None:
        return None
    recalled = memory.recall(context.text, context_hash=context.evidence.content_hash,
                             limit=limit or memory.settings.recall.hover_limit)
    return (context, recalled) if recalled else None


def unit_range(context: CodeRange) -> dict:
    """The unit's whole lines as an LSP range (JSON), the context an accept or reject from here records."""
    return {"start": {"line": context.evidence.start_line - 1, "character": 0},
            "end": {"line": context.evidence.end_line, "character": 0}}
