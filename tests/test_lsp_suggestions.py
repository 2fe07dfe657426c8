"""Suggestions the server makes by itself, as diagnostics over LSP: a pattern that recalls strongly for the unit
being edited (never on its own evidence), accepted from its quick fix in two places until it is eligible, and a
warning where code matches an earlier failure, naming its fix."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import COPYFILEOBJ_LINES, line_of
from lsp_support import command, lsp_range, open_document, progress, serve, wait_for


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

        # a save (VS Code in a browser saves by itself) looks at the whole file: the suggestion stays
        before = client.diagnostics.get(uri)
        client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        await wait_for(lambda: client.diagnostics.get(uri) is not before, timeout=30)  # published again
        assert [d.message for d in _scms(client, uri)] == [hint.message]

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


async def test_a_save_right_after_an_edit_still_suggests_there(workspace: Path):
    """An editor that saves by itself can save before the edit's pause is over: the edit is looked at all the same."""
    shutil, tar = workspace / "src" / "shutil.py", workspace / "src" / "tarfile.py"
    async with serve(workspace) as client:
        own = open_document(client, shutil)
        await command(client, "scms.remember", {"uri": own, "title": "Copy file objects in chunks",
                                                "range": lsp_range(COPYFILEOBJ_LINES[0] - 1, COPYFILEOBJ_LINES[1] - 1)})
        uri = open_document(client, tar)
        tar_copy = line_of(tar, "def copyfileobj(")
        _edit(client, uri, tar_copy + 3, 2)
        client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        await wait_for(lambda: _scms(client, uri), timeout=30)
        assert [(d.code, d.range.start.line) for d in _scms(client, uri)] == [("scms.recalled", tar_copy)]


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


async def _shape_hint(client: LanguageClient, uri: str) -> types.Diagnostic:
    await wait_for(lambda: any(d.code == "scms.shape" for d in _scms(client, uri)), timeout=60)
    [hint] = [d for d in _scms(client, uri) if d.code == "scms.shape"]
    return hint


async def test_repeated_code_is_suggested_and_a_dismissed_shape_never_again(workspace: Path):
    functools = workspace / "src" / "functools.py"  # total_ordering's four `_gt_from_lt`-like functions
    lines = functools.read_text().splitlines()
    async with serve(workspace) as client:
        uri = open_document(client, functools)
        hint = await _shape_hint(client, uri)
        assert hint.severity == types.DiagnosticSeverity.Hint
        assert lines[hint.range.start.line].startswith("def _") and "_from_" in lines[hint.range.start.line]
        assert hint.message == "SCMS: code like this repeats in 4 places in this file: save it as a pattern?"
        others = hint.related_information or []
        assert [o.location.uri for o in others] == [uri] * 3 and all(o.message == "the same code here" for o in others)
        starts = {o.location.range.start.line for o in others}
        assert hint.range.start.line not in starts and all(lines[n].startswith("def _") for n in starts)
        save, dismiss = await _fixes(client, uri, hint)
        assert (save.title, dismiss.title) == ("SCMS: Save as pattern…", "SCMS: Dismiss (never suggest this code again)")
        assert await command(client, dismiss.command.command, *dismiss.command.arguments) == {"dismissed": True}
        await wait_for(lambda: not any(d.code == "scms.shape" for d in _scms(client, uri)), timeout=30)
    dismissed = (workspace / ".scms" / "discovery" / "dismissed.txt").read_text()
    assert hint.data["shape"] in dismissed
    async with serve(workspace) as client:  # a new session, a new scan: still never suggested
        uri = open_document(client, functools)
        status = await command(client, "scms.status", {})
        await wait_for(lambda: progress_ended(client, "SCMS: looking for repeated code"), timeout=60)
        await command(client, "scms.list", {})
        assert status and not any(d.code == "scms.shape" for d in _scms(client, uri))


async def test_saving_a_discovered_shape_makes_a_candidate_citing_every_place(workspace: Path):
    functools = workspace / "src" / "functools.py"
    async with serve(workspace) as client:
        uri = open_document(client, functools)
        hint = await _shape_hint(client, uri)
        save, _ = await _fixes(client, uri, hint)
        saved = await command(client, save.command.command, {**save.command.arguments[0],
                                                             "title": "Derive a comparison from another",
                                                             "note": "As total_ordering does."})
        assert (saved["title"], saved["tier"], saved["body"]) == ("Derive a comparison from another", "session",
                                                                  "As total_ordering does.")
        assert len(saved["evidence"]) == 4 and {e["file"] for e in saved["evidence"]} == {"src/functools.py"}
        first = saved["snippet"].split("\n", 1)[0]
        assert first.startswith("def _") and "_from_" in first
        await wait_for(lambda: not any(d.code == "scms.shape" for d in _scms(client, uri)), timeout=30)


def progress_ended(client: LanguageClient, title: str) -> bool:
    reports = progress(client, title)
    return bool(reports) and isinstance(reports[-1], types.WorkDoneProgressEnd)
