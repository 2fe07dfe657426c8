"""Bad input over LSP: each gets a JSON-RPC error naming what was wrong (or an honest empty answer),
the server keeps running, and the store does not change."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from conftest import STDLIB, line_of
from lsp_support import LEXICAL, SERVER, command, hover, lsp_range, open_document, snapshot, start

COPYFILEOBJ = line_of(STDLIB / "shutil.py", "def copyfileobj(")
INVALID_PARAMS = -32602


@pytest_lsp.fixture(config=SERVER)  # a server of each test's own, on its own workspace
async def client(lsp_client: LanguageClient, workspace: Path):
    await start(lsp_client, workspace, options=LEXICAL)
    yield
    errors = [m.message for m in lsp_client.messages if m.type == types.MessageType.Error]
    await lsp_client.shutdown_session()
    assert not errors, f"an error popped up for bad input: {errors}"


@pytest.fixture
async def pattern_id(client: LanguageClient, workspace: Path) -> str:
    uri = open_document(client, workspace / "src" / "shutil.py")
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10)})
    return made["id"]


@pytest.fixture
def odd_files(workspace: Path) -> dict[str, str]:
    (workspace / "latin1.py").write_bytes("name = 'Müller'\nprint(name)\n".encode("latin-1"))
    (workspace / "blob.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50)
    (workspace.parent / "outside.py").write_text("SECRET = 'not for the team'\nprint(SECRET)\n")
    return {"latin1": (workspace / "latin1.py").as_uri(), "blob": (workspace / "blob.bin").as_uri(),
            "outside": (workspace.parent / "outside.py").as_uri()}


def cases(root: Path, pattern_id: str, odd: dict[str, str]) -> list[tuple[str, list, str]]:
    shutil_uri = (root / "src" / "shutil.py").as_uri()
    return [
        ("scms.accept", [], "takes one JSON object argument, got no arguments"),
        ("scms.accept", [["not", "an", "object"]], "takes one JSON object argument, got a list"),
        ("scms.accept", [{}, {}], "got 2 arguments"),
        ("scms.accept", [{}], "scms.accept: patternId: Field required"),
        ("scms.accept", [{"patternId": 42}], "patternId: Input should be a valid string"),
        ("scms.accept", [{"patternId": "deadbeef"}], "patternId: no pattern with id 'deadbeef'"),
        ("scms.accept", [{"patternId": pattern_id, "uri": shutil_uri}], "give uri with range or position"),
        ("scms.accept", [{"patternId": pattern_id, "bogus": 1}], "bogus: Extra inputs are not permitted"),
        ("scms.reject", [{"patternId": pattern_id, "uri": shutil_uri, "range": lsp_range(99_999, 100_000)}],
         "is outside shutil.py"),
        ("scms.remember", [{"uri": shutil_uri}], "range: Field required"),
        ("scms.remember", [{"uri": shutil_uri, "range": {"start": {"line": -1, "character": 0},
                                                          "end": {"line": 2, "character": 0}}}],
         "range.start.line: Input should be greater than or equal to 0"),
        ("scms.remember", [{"uri": "untitled:Untitled-1", "range": lsp_range(0, 1)}], "uri must be a file: URI"),
        ("scms.remember", [{"uri": "https://example.com/a.py", "range": lsp_range(0, 1)}], "uri must be a file: URI"),
        ("scms.remember", [{"uri": (root / "nope.py").as_uri(), "range": lsp_range(0, 1)}],
         f"uri: {root / 'nope.py'}: no such file"),
        ("scms.remember", [{"uri": (root / "src").as_uri(), "range": lsp_range(0, 1)}],
         f"uri: {root / 'src'} is a folder, not a file"),
        ("scms.remember", [{"uri": odd["latin1"], "range": lsp_range(0, 1)}], "uri: latin1.py is not UTF-8 text"),
        ("scms.remember", [{"uri": odd["blob"], "range": lsp_range(0, 1)}], "uri: blob.bin looks binary"),
        ("scms.remember", [{"uri": shutil_uri, "range": lsp_range(0, 0), "kind": "recipe"}], "kind: Input should be"),
        ("scms.remember", [{"uri": odd["outside"], "range": lsp_range(0, 1)}],
         f"uri: {root.parent / 'outside.py'} is outside the workspace"),
        ("scms.remember", [{"uri": f"{root.as_uri()}/src/../../outside.py", "range": lsp_range(0, 1)}],
         f"uri: {root.parent / 'outside.py'} is outside the workspace"),
        ("scms.remember", [{"uri": "file:///etc/passwd", "range": lsp_range(0, 0)}],
         "uri: /etc/passwd is outside the workspace"),
        ("scms.accept", [{"patternId": pattern_id, "uri": odd["outside"], "range": lsp_range(0, 1)}],
         "is outside the workspace"),
        ("scms.accept", [{"patternId": pattern_id, "uri": odd["outside"], "position": {"line": 0, "character": 0}}],
         "is outside the workspace"),
        ("scms.reject", [{"patternId": pattern_id, "uri": odd["outside"], "range": lsp_range(0, 1)}],
         "is outside the workspace"),
        ("scms.promote", [{"patternId": ""}], "patternId: String should have at least 1 character"),
        ("scms.demote", [{"patternId": pattern_id}], "only validated patterns are demoted"),
        ("scms.list", [{"tier": "gold"}], "tier: Input should be 'session', 'validated' or 'archive'"),
        ("scms.recall", [{}], "give {uri, position} or {text}"),
        ("scms.recall", [{"uri": shutil_uri, "position": {"line": 10**6, "character": 0}}],
         "position.line 1000000 is outside the document"),
        ("scms.status", [{"verbose": True}], "verbose: Extra inputs are not permitted"),
    ]


async def test_every_bad_argument_is_an_invalid_params_error_that_changes_nothing(client, pattern_id, odd_files,
                                                                                  workspace):
    before = snapshot(workspace)
    for name, arguments, message in cases(workspace, pattern_id, odd_files):
        with pytest.raises(JsonRpcException) as caught:
            await command(client, name, *arguments)
        assert caught.value.code == INVALID_PARAMS, (name, arguments, caught.value.message)
        assert message in caught.value.message, (name, arguments, caught.value.message)
    assert snapshot(workspace) == before
    assert (await command(client, "scms.status", {}))["tiers"]["session"] == 1  # still running


async def test_unknown_commands_are_refused(client: LanguageClient):
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "scms.explode", {})
    assert caught.value.code == INVALID_PARAMS and "scms.explode" in caught.value.message


async def test_hover_outside_the_document_or_on_odd_documents_is_empty(client, pattern_id, odd_files, workspace):
    uri = (workspace / "src" / "shutil.py").as_uri()
    assert await hover(client, uri, 10**6) is None
    assert await hover(client, "untitled:Untitled-1", 0) is None
    assert await hover(client, odd_files["latin1"], 0) is None
    assert await hover(client, odd_files["blob"], 0) is None
    binary = open_document(client, workspace / "opened.bin",
                           text="def copyfileobj(fsrc, fdst):\x00\x00 buf = fsrc.read()")
    assert await hover(client, binary, 0) is None


def _code_actions(client: LanguageClient, uri: str, start: int, end: int):
    return client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=start, character=0), end=types.Position(line=end, character=0)),
        context=types.CodeActionContext(diagnostics=[])))


async def test_code_actions_on_odd_documents_or_outside_the_document_are_empty(client, pattern_id, odd_files,
                                                                               workspace):
    uri = (workspace / "src" / "shutil.py").as_uri()
    assert await _code_actions(client, uri, COPYFILEOBJ, COPYFILEOBJ + 3)  # the same call that works
    assert await _code_actions(client, "untitled:Untitled-1", 0, 1) is None
    assert await _code_actions(client, "https://example.com/a.py", 0, 1) is None
    assert await _code_actions(client, (workspace / "nope.py").as_uri(), 0, 1) is None
    assert await _code_actions(client, odd_files["blob"], 0, 1) is None
    assert await _code_actions(client, uri, 10**6, 10**6) is None
    assert await _code_actions(client, uri, 10**6, 10**6 + 5) is None
    assert (await command(client, "scms.status", {}))["tiers"]["session"] == 1


async def test_a_50_mb_document_is_answered_without_recall(client: LanguageClient, pattern_id: str,
                                                           workspace: Path):
    huge = workspace / "huge.py"
    text = ("def copyfileobj(fsrc, fdst, length=0):\n    buf = fsrc.read(length)\n" * 600_000)[:50_000_000]
    uri = open_document(client, huge, text=text)
    assert await hover(client, uri, 1) is None
    before = snapshot(workspace)
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "scms.remember", {"uri": uri, "range": lsp_range(0, 1)})
    assert caught.value.code == INVALID_PARAMS and "uri: huge.py is too large" in caught.value.message
    assert snapshot(workspace) == before
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert (await command(client, "scms.status", {}))["tiers"]["session"] == 1


async def test_unsaved_buffers_are_what_gets_remembered(client: LanguageClient, workspace: Path):
    uri = open_document(client, workspace / "scratch.py", text="def fresh(x):\n    return x * 2\n")
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(0, 1)})
    assert made["snippet"] == "def fresh(x):\n    return x * 2"
    await command(client, "scms.forget", {"patternId": made["id"]})
