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
    hinted = _for_suggestions(params.text_document.uri, params.context.diagnostics)
    general = await asyncio.to_thread(_actions, ls, memory, params.text_document.uri, params.range,
                                      {a.command.arguments[0].get("patternId") for a in hinted if a.command})
    return hinted + general or None


def _for_suggestions(uri: str, diagnostics: list[types.Diagnostic]) -> list[types.CodeAction]:
    """The quick fixes of SCMS's own diagnostics at the cursor (suggestions.py): accept or reject a recalled
    pattern here, say an earlier failure does not apply here, save repeated code as a pattern or dismiss it."""
    actions = []
    for d in diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        if d.source == "SCMS" and data.get("kind") == "shape" and isinstance(data.get("shape"), str):
            title = str(data.get("title") or "")
            actions.append(_action("SCMS: Save as pattern…", types.CodeActionKind.QuickFix, "scms.saveShape",
                                   {"shape": data["shape"], "title": title}, d, preferred=True))
            actions.append(_action("SCMS: Dismiss (never suggest this code again)", types.CodeActionKind.QuickFix,
                                   "scms.dismissShape", {"shape": data["shape"]}, d))
            continue
        if d.source != "SCMS" or "patternId" not in data or "range" not in data:
            continue
        use = {"patternId": data["patternId"], "uri": uri, "range": data["range"]}
        title = data.get("title", data["patternId"])
        if data.get("kind") == "recalled":
            actions.append(_action(f"SCMS: Accept “{title}” here", types.CodeActionKind.QuickFix, "scms.accept",
                                   use, d, preferred=True))
            actions.append(_action(f"SCMS: Reject “{title}” here", types.CodeActionKind.QuickFix, "scms.reject",
                                   use, d))
        elif data.get("kind") == "failure":
            actions.append(_action(f"SCMS: “{title}” does not apply here", types.CodeActionKind.QuickFix,
                                   "scms.reject", {**use, "reason": "does not apply here"}, d))
    return actions


def _actions(ls: ScmsServer, memory: Memory, uri: str, rng: types.Range, covered: set[str]) -> list[types.CodeAction]:
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
        actions.append(_action("SCMS: Remember selection as a failure (symptom, cause, fix)",
                               types.CodeActionKind.RefactorExtract, "scms.remember",
                               {"uri": uri, "range": selection, "kind": "failure"}))
    found = recalled_at(memory, path, text, rng.start.line)
    if found:
        context, recalled = found
        for item in recalled:
            p = item.pattern
            if p.id in covered:
                continue
            use = {"patternId": p.id, "uri": uri, "range": unit_range(context)}
            if all(e.content_hash != context.evidence.content_hash for e in p.evidence):  # not its own evidence
                actions.append(_action(f"SCMS: Accept “{p.title}”", types.CodeActionKind.QuickFix, "scms.accept",
                                       use))
                actions.append(_action(f"SCMS: Reject “{p.title}” here", types.CodeActionKind.QuickFix,
                                       "scms.reject", use))
            if p.tier is Tier.SESSION:
                actions.append(_action(f"SCMS: Promote “{p.title}”", types.CodeActionKind.QuickFix,
                                       "scms.promote", {"patternId": p.id}))
    return actions


def _action(title: str, kind: str, command: str, argument: dict[str, Any],
            diagnostic: types.Diagnostic | None = None, preferred: bool = False) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind, diagnostics=[diagnostic] if diagnostic else None,
                            is_preferred=preferred or None,
                            command=types.Command(title=title, command=command, arguments=[argument]))
