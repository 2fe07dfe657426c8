"""Code actions: "Remember selection as pattern" on any selection; accept, reject and promote for the patterns
recalled for the unit at the cursor (the same patterns its hover card shows)."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from scms.errors import ScmsError
from scms.lsp import documents
from scms.lsp.guard import isolated
from scms.lsp.hover import recalled_at, unit_range
from scms.lsp.server import ScmsServer, server
from scms.memory import Memory
from scms.model import Tier

KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorExtract]


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=KINDS))
@isolated("code actions")
async def code_actions(ls: ScmsServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    memory = ls.memory
    if memory is None:
        return None
    return await asyncio.to_thread(_actions, ls, memory, params.text_document.uri, params.range) or None


def _actions(ls: ScmsServer, memory: Memory, uri: str, rng: types.Range) -> list[types.CodeAction]:
    try:
        path, text = documents.text_of(ls, memory, uri)
    except ScmsError:
        return []
    actions: list[types.CodeAction] = []
    if rng.start != rng.end and rng.start.line < text.count("\n") + 1:
        selection = {"start": {"line": rng.start.line, "character": rng.start.character},
                     "end": {"line": rng.end.line, "character": rng.end.character}}
        actions.append(_action("SCMS: Remember selection as pattern", types.CodeActionKind.RefactorExtract,
                               "scms.remember", {"uri": uri, "range": selection}))
    found = recalled_at(memory, path, text, rng.start.line)
    if found:
        context, recalled = found
        for item in recalled:
            p = item.pattern
            use = {"patternId": p.id, "uri": uri, "range": unit_range(context)}
            actions.append(_action(f"SCMS: Accept “{p.title}”", types.CodeActionKind.QuickFix, "scms.accept", use))
            actions.append(_action(f"SCMS: Reject “{p.title}” here", types.CodeActionKind.QuickFix,
                                   "scms.reject", use))
            if p.tier is Tier.SESSION:
                actions.append(_action(f"SCMS: Promote “{p.title}”", types.CodeActionKind.QuickFix,
                                       "scms.promote", {"patternId": p.id}))
    return actions


def _action(title: str, kind: str, command: str, argument: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind,
                            command=types.Command(title=title, command=command, arguments=[argument]))
