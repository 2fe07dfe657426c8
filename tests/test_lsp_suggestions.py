"""Suggestions the server makes by itself, as diagnostics over LSP: a pattern that recalls strongly for the unit
being edited (never on its own evidence), accepted from its quick fix in two places until it is eligible, and a
warning where code matches an earlier failure, naming its fix."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import COPYFILEOBJ_LINES, line_of
from lsp_support import command, lsp_range, open_document, serve, wait_for


def _edit(client: LanguageClient, uri: str, line: int, version: int) -> None:
    """Type a space at the end of a 0-based line (and take it back: the text stays the same)."""
    for text, at in ((" ", 200), ("", 200)):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=line, character=at),
                                  end=types.Position(line=line, character=at if text else at + 1)), text=text)]))
        version += 1


def _scms(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, []) if d.source == "SCMS"]


async def _fixes(client: LanguageClient, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic])))
    return [a for a in actions or [] if isinstance(a, types.CodeAction) and a.diagnostics]


async def test_a_strongly_recalled_pattern_is_suggested_where_it_is_edited_and_accepted_from_there(workspace: Path):
    shutil, tar = workspace / "src" / "shutil.py", workspace / "src" / "tarfile.py"
    async with serve(workspace) as client:
        own = open_document(client, shutil)
        pattern = await command(client, "scms.remember", {"uri": own, "title": "Copy file objects in chunks",
                                                          "range": lsp_range(COPYFILEOBJ_LINES[0] - 1,
                                                                             COPYFILEOBJ_LINES[1] - 1)})
        _edit(client, own, COPYFILEOBJ_LINES[0] + 3, 2)  # its own code: never suggested there
        uri = open_document(client, tar)
        tar_copy = line_of(tar, "def copyfileobj(")
        _edit(client, uri, tar_copy + 3, 2)
        await wait_for(lambda: _scms(client, uri), timeout=30)
        [hint] = _scms(client, uri)
        assert hint.severity == types.DiagnosticSeverity.Information and hint.code == "scms.recalled"
        assert hint.range.start.line == tar_copy and "“Copy file objects in chunks”" in hint.message
        assert _scms(client, own) == []

        fixes = await _fixes(client, uri, hint)
        assert [f.title for f in fixes] == ["SCMS: Accept “Copy file objects in chunks” here",
                                           "SCMS: Reject “Copy file objects in chunks” here"]
        accepted = await command(client, fixes[0].command.command, *fixes[0].command.arguments)
        assert (accepted["counted"], accepted["accepted_uses"]) == (True, 1)
        await wait_for(lambda: _scms(client, uri) == [], timeout=30)  # now its evidence: no longer suggested

        again = await command(client, fixes[0].command.command, *fixes[0].command.arguments)
        assert (again["counted"], again["accepted_uses"], again["eligible"]) == (False, 1, False)
        copy = line_of(shutil, "def copy(")  # a second, different context
        second = await command(client, "scms.accept", {"patternId": pattern["id"], "uri": own,
                                                       "range": lsp_range(copy, copy + 16)})
        assert (second["counted"], second["accepted_uses"], second["eligible"]) == (True, 2, True)


async def test_code_matching_an_earlier_failure_gets_a_warning_with_its_fix(workspace: Path):
    shutil, tar = workspace / "src" / "shutil.py", workspace / "src" / "tarfile.py"
    async with serve(workspace) as client:
        own = open_document(client, shutil)
        await command(client, "scms.remember", {
            "uri": own, "range": lsp_range(COPYFILEOBJ_LINES[0] - 1, COPYFILEOBJ_LINES[1] - 1),
            "title": "Unbounded copy loop hung on a pipe", "kind": "failure",
            "note": "Symptom: the copy never ended on a named pipe.\nRoot cause: no size limit.\n"
                    "Fix: pass a length and stop at it."})
        uri = open_document(client, tar)  # opened: the whole document is looked at
        await wait_for(lambda: _scms(client, uri), timeout=30)
        tar_copy = line_of(tar, "def copyfileobj(")
        [warning] = [d for d in _scms(client, uri) if d.range.start.line == tar_copy]
        assert warning.severity == types.DiagnosticSeverity.Warning and warning.code == "scms.failure"
        assert warning.message == ("SCMS: this looks like an earlier failure: “Unbounded copy loop hung on a pipe”. "
                                   "Fix: pass a length and stop at it.")
        [fix] = await _fixes(client, uri, warning)
        assert fix.title == "SCMS: “Unbounded copy loop hung on a pipe” does not apply here"
        await command(client, fix.command.command, *fix.command.arguments)
        await wait_for(lambda: all(d.range.start.line != tar_copy for d in _scms(client, uri)),
                       timeout=30)  # rejected in this context: gone


async def test_hints_are_capped_per_document(workspace: Path):
    shutil, tar = workspace / "src" / "shutil.py", workspace / "src" / "tarfile.py"
    options = {"recall": {"embeddings": False}, "suggestions": {"maxHints": 0}}
    async with serve(workspace, options) as client:
        own = open_document(client, shutil)
        await command(client, "scms.remember", {"uri": own, "range": lsp_range(COPYFILEOBJ_LINES[0] - 1,
                                                                                 COPYFILEOBJ_LINES[1] - 1),
                                                "title": "A failure", "kind": "failure"})
        uri = open_document(client, tar)
        status = await command(client, "scms.status", {})  # a round trip after the open's analysis
        assert status["tiers"]["session"] == 1 and _scms(client, uri) == []
