"""Suggestions as diagnostics: an Information hint where a pattern recalls strongly for the unit being edited, a
Warning where code matches an earlier failure or anti-pattern, and (with discovery) a Hint on code repeated in
several places. Computed off the event loop once edits pause (the latest text wins; no backlog builds up)."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from scms.errors import ScmsError
from scms.lsp import documents
from scms.lsp.guard import isolated
from scms.lsp.server import ScmsServer, server
from scms.memory import Hint, Memory

DEBOUNCE_S = 0.6  # after the last keystroke; a save or an open is looked at at once
SEVERITY = {"failure": types.DiagnosticSeverity.Warning, "recalled": types.DiagnosticSeverity.Information,
            "shape": types.DiagnosticSeverity.Hint}
CODES = {"failure": "scms.failure", "recalled": "scms.recalled", "shape": "scms.shape"}


class Suggestions:
    """Per open document: the hints shown, the lines edited since they were computed, the pending analysis."""

    def __init__(self) -> None:
        self.shown: dict[str, list[Hint]] = {}
        self.edited: dict[str, set[int]] = {}  # lines edited (or to look at again) since the last analysis
        self.whole: set[str] = set()  # documents to look at whole (opened, saved) at the next analysis
        self.pending: dict[str, asyncio.Task] = {}

    def schedule(self, ls: ScmsServer, uri: str, lines: set[int] | None, delay: float = DEBOUNCE_S) -> None:
        """Look at these lines again after `delay` (None: the whole document), with those still waiting."""
        if uri.startswith("file:") and "/.scms/" in uri:
            return  # pattern files get their own diagnostics (conflicts)
        self.edited[uri] = self.edited.get(uri, set()) | (lines or set())
        if lines is None:
            self.whole.add(uri)
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self._analyse(ls, uri, delay))

    def forget(self, ls: ScmsServer, uri: str) -> None:
        if ls.memory is not None and uri.startswith("file:"):
            ls.memory.document_closed(documents.path_of(uri))
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.edited.pop(uri, None)
        self.whole.discard(uri)
        if self.shown.pop(uri, None):
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def refresh(self, ls: ScmsServer) -> None:
        """After a command changed the memory: the documents showing hints look again at those units."""
        for uri, hints in list(self.shown.items()):
            if hints:
                self.schedule(ls, uri, {h.unit.evidence.start_line - 1 for h in hints}, delay=0)

    @isolated("suggestions")
    async def _analyse(self, ls: ScmsServer, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await ls.ready.wait()  # a document opened while the memory opens is looked at once it is open
        edited = self.edited.pop(uri, set())
        whole = uri in self.whole
        self.whole.discard(uri)
        self.pending.pop(uri, None)
        memory = ls.memory
        if memory is None:
            return
        try:
            path, text = documents.text_of(ls, memory, uri)
        except ScmsError:
            return
        lines = sorted(edited)
        others = await asyncio.to_thread(memory.document_changed, path, text)  # discovery follows the text
        fresh = await asyncio.to_thread(memory.hints, path, text, lines, whole)
        if ls.memory is not memory or uri not in ls.workspace.text_documents:
            return
        # a look at the whole document (an open, a save) recomputes failures and shapes everywhere, and keeps
        # the patterns suggested where the user edited while that code stays as it was
        kept = await asyncio.to_thread(_still_true, memory, path, text, self.shown.get(uri, []), set(lines))
        kept = [h for h in kept if h.kind != "shape" and (not whole or h.kind == "recalled")
                and (h.kind != "recalled" or memory.settings.suggestions.recalled)]
        hints = _strongest(fresh + kept, memory.settings.suggestions.max_hints)
        self.shown[uri] = hints
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=[diagnostic(h) for h in hints]))
        self.shapes_changed(ls, [other.as_uri() for other in others if other.as_uri() != uri])

    def shapes_changed(self, ls: ScmsServer, uris: list[str] | None = None) -> None:
        """Open documents whose repeated-shape hints may have changed look again (all of them after a scan)."""
        for other in uris if uris is not None else list(ls.workspace.text_documents):
            if other in ls.workspace.text_documents and other not in self.pending:
                self.schedule(ls, other, {h.unit.evidence.start_line - 1 for h in self.shown.get(other, [])},
                              delay=0)


def _still_true(memory: Memory, path: Any, text: str, hints: list[Hint], looked_at: set[int]) -> list[Hint]:
    """Earlier hints on units not looked at again, while their unit is unchanged there."""
    kept = []
    for hint in hints:
        start = hint.unit.evidence.start_line - 1
        if start in looked_at:
            continue
        unit = memory.context_at(path, text, start)
        if unit is not None and unit.evidence.content_hash == hint.unit.evidence.content_hash:
            kept.append(hint)
    return kept


def _strongest(hints: list[Hint], limit: int) -> list[Hint]:
    best: dict[tuple[int, str, str], Hint] = {}
    for hint in sorted(hints, key=lambda h: (h.kind != "failure", -h.score)):
        key = (hint.unit.evidence.start_line, hint.kind, hint.pattern.id if hint.pattern else str(hint.data))
        best.setdefault(key, hint)
    return list(best.values())[:limit]


def unit_range(hint: Hint) -> dict[str, Any]:
    return {"start": {"line": hint.unit.evidence.start_line - 1, "character": 0},
            "end": {"line": hint.unit.evidence.end_line, "character": 0}}


def diagnostic(hint: Hint) -> types.Diagnostic:
    """On the unit's first line (not the whole unit: a hint must not paint a function)."""
    first = hint.unit.evidence.start_line - 1
    data = {"kind": hint.kind, "range": unit_range(hint), **hint.data}
    if hint.pattern is not None:
        data.update(patternId=hint.pattern.id, title=hint.pattern.title)
    elsewhere = [types.DiagnosticRelatedInformation(  # the editor lists them as links under the hint
        location=types.Location(uri=path.as_uri(), range=types.Range(start=types.Position(line=start - 1, character=0),
                                                                    end=types.Position(line=end, character=0))),
        message="the same code here") for path, start, end in hint.elsewhere]
    return types.Diagnostic(
        range=types.Range(start=types.Position(line=first, character=0),
                          end=types.Position(line=first + 1, character=0)),
        message=hint.message, severity=SEVERITY[hint.kind], source="SCMS", code=CODES[hint.kind], data=data,
        related_information=elsewhere or None)


suggestions = Suggestions()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@isolated("textDocument/didOpen")
def did_open(ls: ScmsServer, params: types.DidOpenTextDocumentParams) -> None:
    suggestions.schedule(ls, params.text_document.uri, None, delay=0)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
@isolated("textDocument/didSave")
def did_save(ls: ScmsServer, params: types.DidSaveTextDocumentParams) -> None:
    suggestions.schedule(ls, params.text_document.uri, None, delay=0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@isolated("textDocument/didClose")
def did_close(ls: ScmsServer, params: types.DidCloseTextDocumentParams) -> None:
    suggestions.forget(ls, params.text_document.uri)
