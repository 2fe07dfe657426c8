"""The real server over LSP with VS Code's capabilities: every command, hover cards, code actions, reloads."""

from __future__ import annotations

import json

from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from conftest import STDLIB, line_of
from lsp_support import command, hover, lsp_range, open_document, progress, server_client, snapshot, wait_for

COPYFILEOBJ = line_of(STDLIB / "shutil.py", "def copyfileobj(")
TAR_COPY = line_of(STDLIB / "tarfile.py", "def copyfileobj(")
DEDENT = line_of(STDLIB / "textwrap.py", "def dedent(")
COMMANDS = {"scms.remember", "scms.accept", "scms.reject", "scms.promote", "scms.promoteEligible", "scms.demote",
            "scms.forget", "scms.list", "scms.recall", "scms.export", "scms.import", "scms.closeSession", "scms.status", "scms.restore", "scms.update", "scms.reanchor", "scms.saveShape", "scms.dismissShape", "scms.purge"}


client = server_client()


@pytest.fixture
def shutil_py(workspace: Path) -> Path:
    return workspace / "src" / "shutil.py"


@pytest.fixture
def tarfile_py(workspace: Path) -> Path:
    return workspace / "src" / "tarfile.py"


@pytest.fixture
def textwrap_py(workspace: Path) -> Path:
    return workspace / "src" / "textwrap.py"


@pytest.fixture
async def pattern(client: LanguageClient, shutil_py: Path) -> dict:
    """shutil.copyfileobj remembered from its open buffer."""
    uri = open_document(client, shutil_py)
    return await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10),
                                                   "title": "Copy file objects in chunks", "tags": ["io"]})


async def accept_twice_and_promote(client: LanguageClient, pattern: dict, tarfile_py: Path) -> list:
    """Accepted in tarfile's copyfileobj, then once more without a context: eligible, and promoted."""
    use = {"patternId": pattern["id"], "uri": tarfile_py.as_uri(), "range": lsp_range(TAR_COPY, TAR_COPY + 20)}
    first = await command(client, "scms.accept", use)
    second = await command(client, "scms.accept", {"patternId": pattern["id"]})
    return [first, second, await command(client, "scms.promoteEligible", {})]


async def test_initialize_advertises_every_command_hover_and_code_actions(client: LanguageClient):
    caps = client.init_result.capabilities
    assert set(caps.execute_command_provider.commands) == COMMANDS
    assert caps.hover_provider and caps.code_action_provider


async def test_opening_the_memory_reports_progress_and_watches_pattern_files(client: LanguageClient):
    await wait_for(lambda: len(client.registrations) == 1)  # registered after the opening progress has ended
    opening = progress(client, "SCMS: opening the pattern memory")
    assert opening is not None
    assert isinstance(opening[-1], types.WorkDoneProgressEnd)
    [registration] = client.registrations
    assert registration.method == "workspace/didChangeWatchedFiles"
    assert registration.register_options["watchers"][0]["globPattern"] == "**/.scms/patterns/*.md"
    assert any("SCMS memory ready" in m.message for m in client.log_messages)


async def test_remember_creates_a_session_candidate_in_the_store(client: LanguageClient, pattern: dict,
                                                                  workspace: Path):
    assert pattern["tier"] == "session" and pattern["title"] == "Copy file objects in chunks"
    assert pattern["snippet"].startswith("def copyfileobj(fsrc, fdst, length=0):")
    assert pattern["evidence"][0]["file"] == "src/shutil.py"
    assert pattern["evidence"][0]["start_line"] == COPYFILEOBJ + 1
    events, rows, _ = snapshot(workspace)
    assert [e[2] for e in events] == ["remembered"] and rows[0][0] == pattern["id"]
    assert {"reason": "scms.remember", "patternIds": [pattern["id"]]} in client.changes


async def test_hover_shows_a_card_where_the_pattern_applies(client: LanguageClient, pattern: dict, tarfile_py: Path):
    uri = open_document(client, tarfile_py)
    result = await hover(client, uri, TAR_COPY + 2)
    assert result is not None
    card = result.contents.value
    assert "Copy file objects in chunks" in card and "*candidate*" in card and "0 accepted uses" in card
    why = next(line for line in card.splitlines() if line.startswith("*Why:* shares"))
    assert "`copy`" in why and "`length`" in why, why
    assert "```python\ndef copyfileobj(fsrc, fdst, length=0):" in card
    accept_link = next(part for part in card.split("](") if part.startswith("command:scms.accept?"))
    argument = unquote(accept_link.split("?", 1)[1].split(" ")[0])
    assert f'"patternId": "{pattern["id"]}"' in argument and uri in argument


async def test_where_code_is_already_its_evidence_the_card_and_the_fixes_offer_no_accept(client, pattern,
                                                                                        tarfile_py: Path):
    uri = open_document(client, tarfile_py)
    card = (await hover(client, uri, TAR_COPY + 2)).contents.value
    accept_link = next(part for part in card.split("](") if part.startswith("command:scms.accept?"))
    accepted = await command(client, "scms.accept", json.loads(unquote(accept_link.split("?", 1)[1].split(" ")[0]))[0])
    assert accepted["counted"] is True
    card = (await hover(client, uri, TAR_COPY + 2)).contents.value  # the same code: now its evidence
    assert "*this code is its evidence*" in card and "command:scms.accept?" not in card
    assert "command:scms.reject?" not in card and "command:scms.promote?" in card
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=TAR_COPY + 2, character=0),
                          end=types.Position(line=TAR_COPY + 2, character=0)),
        context=types.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions or []]
    assert "SCMS: Promote “Copy file objects in chunks”" in titles
    assert not any(t.startswith(("SCMS: Accept", "SCMS: Reject")) for t in titles), titles


async def test_no_card_where_nothing_relevant_is_recalled(client: LanguageClient, pattern: dict, textwrap_py: Path):
    uri = open_document(client, textwrap_py)
    assert await hover(client, uri, DEDENT + 3) is None
    assert await hover(client, uri, 0, 0) is None  # the module docstring


async def test_accepting_twice_from_the_card_then_promote_eligible_writes_the_file(client, pattern, tarfile_py,
                                                                                   workspace):
    uri = open_document(client, tarfile_py)
    first, second, [promoted] = await accept_twice_and_promote(client, pattern, tarfile_py)
    assert first["accepted_uses"] == 1 and first["evidence"][-1]["file"] == "src/tarfile.py"
    assert second["accepted_uses"] == 2 and second["eligible"] is True
    assert promoted["tier"] == "validated" and promoted["status"] == "validated"
    files = list((workspace / ".scms" / "patterns").glob("*.md"))
    assert [f.name for f in files] == [f"copy-file-objects-in-chunks-{pattern['id']}.md"]
    assert "accepted_uses: 2" in files[0].read_text()
    card = (await hover(client, uri, TAR_COPY + 2)).contents.value
    assert "*validated*" in card and "2 accepted uses" in card and "command:scms.promote" not in card


async def test_code_actions_offer_remember_and_the_recalled_patterns(client: LanguageClient, pattern: dict,
                                                                     tarfile_py: Path, textwrap_py: Path):
    uri = open_document(client, tarfile_py)
    selection = types.Range(start=types.Position(line=TAR_COPY, character=0),
                            end=types.Position(line=TAR_COPY + 5, character=0))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
        context=types.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions]
    assert titles[:2] == ["SCMS: Remember selection as pattern",
                          "SCMS: Remember selection as a failure (symptom, cause, fix)"]
    assert actions[0].command.command == "scms.remember" and actions[0].command.arguments[0]["uri"] == uri
    assert actions[1].command.arguments[0]["kind"] == "failure"
    assert "SCMS: Accept “Copy file objects in chunks”" in titles
    assert "SCMS: Reject “Copy file objects in chunks” here" in titles
    empty = types.Range(start=types.Position(line=DEDENT + 3, character=4), end=types.Position(line=DEDENT + 3,
                                                                                                character=4))
    none = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=open_document(client, textwrap_py)), range=empty,
        context=types.CodeActionContext(diagnostics=[])))
    assert not none


async def test_recall_by_position_and_by_text(client: LanguageClient, pattern: dict, tarfile_py: Path):
    by_position = await command(client, "scms.recall", {"uri": open_document(client, tarfile_py),
                                                        "position": {"line": TAR_COPY + 2, "character": 4}})
    assert by_position[0]["pattern"]["id"] == pattern["id"]
    assert by_position[0]["reasons"][0].startswith("shares ") and by_position[0]["score"] > 0
    by_text = await command(client, "scms.recall", {"text": "def copy(src, dst):\n    buf = src.read(length)\n"
                                                            "    while buf:\n        dst.write(buf)\n"})
    assert [r["pattern"]["id"] for r in by_text] == [pattern["id"]]
    assert await command(client, "scms.recall", {"text": "print('hello world')"}) == []


async def test_reject_here_keeps_it_out_of_that_context(client: LanguageClient, pattern: dict, shutil_py: Path,
                                                        tarfile_py: Path):
    uri = open_document(client, shutil_py)
    tar = open_document(client, tarfile_py)
    line = line_of(shutil_py, "def _copyfileobj_readinto(")
    assert await hover(client, uri, line + 3) is not None
    context = (await command(client, "scms.recall", {"uri": uri, "position": {"line": line + 3, "character": 0}}))
    assert context
    rejected = await command(client, "scms.reject", {"patternId": pattern["id"], "uri": uri,
                                                     "position": {"line": line + 5, "character": 4},
                                                     "reason": "not here"})
    assert rejected["rejected_uses"] == 1
    assert await hover(client, uri, line + 3) is None
    assert await hover(client, tar, TAR_COPY + 2) is not None  # still offered elsewhere


async def test_list_status_demote_forget_and_close_session(client: LanguageClient, pattern: dict, tarfile_py: Path,
                                                           workspace: Path):
    tar = open_document(client, tarfile_py)
    await accept_twice_and_promote(client, pattern, tarfile_py)
    listed = await command(client, "scms.list", {"tier": "validated"})
    assert [p["id"] for p in listed] == [pattern["id"]]
    status = await command(client, "scms.status", {})
    assert status["tiers"]["validated"] == 1 and status["recall"] == "lexical"
    assert status["store"].endswith(".scms/scms.db")
    assert (await command(client, "scms.demote", {"patternId": pattern["id"]}))["tier"] == "session"
    assert not list((workspace / ".scms" / "patterns").glob("*.md"))
    closed = await command(client, "scms.closeSession", {})
    assert [p["id"] for p in closed["promoted"]] == [pattern["id"]]  # still eligible: consolidated again
    assert closed["report"].startswith("# SCMS session report")
    assert "Copy file objects in chunks" in closed["report"]
    assert progress(client, "SCMS: closing the session") is not None
    assert await hover(client, tar, TAR_COPY + 2) is not None
    assert (await command(client, "scms.forget", {"patternId": pattern["id"]}))["tier"] == "archive"
    assert await hover(client, tar, TAR_COPY + 2) is None  # archived patterns are not recalled


async def test_export_writes_the_rule_files_once_and_names_a_bad_target(client: LanguageClient, workspace: Path,
                                                                      shutil_py: Path):
    uri = open_document(client, shutil_py)
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10),
                                                   "title": "Copy file objects in chunks"})
    await command(client, "scms.promote", {"patternId": made["id"]})
    first = await command(client, "scms.export", {})
    assert first["skipped"] == [] and first["changed"] == [] and first["removed"] == []
    assert {"WORKSPACE_RULES.md", "AGENTS.md"} <= set(first["written"]) and len(first["written"]) == 5
    for path in first["written"]:
        assert "Copy file objects in chunks" in (workspace / path).read_text()
    again = await command(client, "scms.export", {})
    assert again["written"] == again["changed"] == [] and sorted(again["unchanged"]) == sorted(first["written"])
    await command(client, "scms.demote", {"patternId": made["id"]})
    gone = await command(client, "scms.export", {"targets": ["cursor"]})
    assert [p for p in gone["removed"] if p.startswith(".cursor/rules/")]
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "scms.export", {"targets": ["emacs"]})
    assert caught.value.code == -32602 and "targets" in caught.value.message


HAND_WRITTEN = """---
id: sockets-ctx
title: Close sockets with a context manager
kind: convention
languages: [python]
---

```python
with socket.create_connection((host, port), timeout=timeout) as sock:
    sock.sendall(payload)
```
"""


async def test_pattern_files_changed_on_disk_are_reloaded(client: LanguageClient, workspace: Path):
    patterns = workspace / ".scms" / "patterns"
    await command(client, "scms.status", {})  # the memory is open
    path = patterns / "sockets.md"
    path.write_text(HAND_WRITTEN)
    before = len(client.changes)
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Created)]))
    await wait_for(lambda: len(client.changes) > before)
    listed = await command(client, "scms.list", {"tier": "validated"})
    assert [p["id"] for p in listed] == ["sockets-ctx"]
    path.write_text(HAND_WRITTEN.replace("title: Close sockets", "title: Always close sockets"))
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]))
    await wait_for(lambda: len(client.changes) > before + 1)
    [listed] = await command(client, "scms.list", {"tier": "validated"})
    assert listed["title"] == "Always close sockets with a context manager"
    (patterns / "broken.md").write_text("---\nkind: recipe\n---\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(patterns / "broken.md").as_uri(), type=types.FileChangeType.Created)]))
    await wait_for(lambda: any("broken.md" in m.message for m in client.log_messages))
    assert any("broken.md" in m.message and m.type == types.MessageType.Warning for m in client.messages)


async def test_promote_from_the_code_action_writes_the_validated_file(client: LanguageClient, textwrap_py: Path,
                                                                      workspace: Path):
    uri = open_document(client, textwrap_py)
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(DEDENT, DEDENT + 12),
                                                   "title": "Dedent by the common margin"})
    here = types.Range(start=types.Position(line=DEDENT + 3, character=4), end=types.Position(line=DEDENT + 3,
                                                                                               character=4))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=here, context=types.CodeActionContext(diagnostics=[])))
    [promote] = [a for a in actions if a.title == "SCMS: Promote “Dedent by the common margin”"]
    assert promote.command.command == "scms.promote" and list(promote.command.arguments) == [{"patternId": made["id"]}]
    promoted = await command(client, promote.command.command, *promote.command.arguments)
    assert (promoted["id"], promoted["tier"], promoted["status"]) == (made["id"], "validated", "promoted")
    path = workspace / ".scms" / "patterns" / f"dedent-by-the-common-margin-{made['id']}.md"
    front = yaml.safe_load(path.read_text().split("---\n")[1])  # an all-digit id is quoted: compare values
    assert list(front)[:2] == ["id", "title"] and (front["id"], front["title"]) == (made["id"],
                                                                                  "Dedent by the common margin")
    assert made["snippet"] in path.read_text()
    assert {"reason": "scms.promote", "patternIds": [made["id"]]} in client.changes
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=here, context=types.CodeActionContext(diagnostics=[])))
    assert not [a for a in actions if a.title.startswith("SCMS: Promote")]
