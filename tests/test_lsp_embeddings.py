"""Embedding recall through the real server: the model loads in the background with progress while lexical
recall answers, edits get their unit embedded ahead of hovers, and a broken model path is reported."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, make_test_lsp_client

from conftest import line_of
from lsp_support import SERVER, command, hover, lsp_range, make_workspace, open_document, progress, start, wait_for

ROOT = make_workspace()
SHUTIL = ROOT / "src" / "shutil.py"
TARFILE = ROOT / "src" / "tarfile.py"
COPYFILEOBJ = line_of(SHUTIL, "def copyfileobj(")
DIVMOD = line_of(TARFILE, "blocks, remainder = divmod(")


@pytest_lsp.fixture(scope="module", config=SERVER)
async def client(lsp_client: LanguageClient):
    await start(lsp_client, ROOT, options={"learning": {"backgroundContexts": 16}})
    yield
    await lsp_client.shutdown_session()


async def test_recall_is_lexical_until_the_model_is_ready_then_embeddings(client: LanguageClient):
    uri = open_document(client, SHUTIL)
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10),
                                                   "title": "Copy file objects in chunks"})
    early = (await command(client, "scms.status", {}))["recall"]
    assert early in ("lexical", "loading model", "embeddings")
    tar = open_document(client, TARFILE)
    assert await hover(client, tar, DIVMOD) is not None  # lexical answers while the model loads
    await wait_for(lambda: isinstance((progress(client, "SCMS: loading the recall models") or [None])[-1],
                                      types.WorkDoneProgressEnd), timeout=120)
    assert (await command(client, "scms.status", {}))["recall"] == "embeddings"
    assert {"reason": "recall", "patternIds": []} in client.changes
    [hit] = await command(client, "scms.recall", {"uri": tar, "position": {"line": DIVMOD, "character": 4}})
    assert hit["pattern"]["id"] == made["id"] and hit["embedding"] > 0.5
    assert hit["reasons"][0].startswith("similar in meaning")


def embedded_count() -> int:
    conn = sqlite3.connect(f"file:{ROOT / '.scms' / 'scms.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    finally:
        conn.close()


async def test_an_edit_gets_its_unit_embedded_before_the_next_hover(client: LanguageClient):
    tar = TARFILE.as_uri()
    before = embedded_count()
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=tar, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=DIVMOD, character=0),
                              end=types.Position(line=DIVMOD, character=0)),
            text="    # copy whole blocks first\n")]))
    await wait_for(lambda: embedded_count() > before, timeout=30)  # no hover asked for it
    result = await hover(client, tar, DIVMOD + 1)  # the first hover on the edited unit is already fused
    assert result is not None and "similar in meaning" in result.contents.value


async def test_accepts_in_context_teach_the_memory_model(client: LanguageClient):
    tar = TARFILE.as_uri()
    [made] = [p for p in await command(client, "scms.list", {}) if p["title"] == "Copy file objects in chunks"]
    for needle, length in (("def copyfileobj(", 30), ("def _block(", 8)):
        start = line_of(TARFILE, needle)
        await command(client, "scms.accept", {"patternId": made["id"], "uri": tar,
                                              "range": lsp_range(start, start + length)})
    for _ in range(500):
        model = (await command(client, "scms.status", {}))["model"]
        if model.get("events") == 2 and model.get("exemplars") == 2:
            break
        await asyncio.sleep(0.02)
    assert model["state"] == "ready" and model["exemplars"] == 2 and model["file"].endswith("memory-layer.pt")
    inside = line_of(TARFILE, "def copyfileobj(") + 12
    [hit, *_] = await command(client, "scms.recall", {"uri": tar, "position": {"line": inside, "character": 8}})
    assert hit["pattern"]["id"] == made["id"] and hit["learned"] > 0
    assert any(r.startswith("like code where it was accepted before") for r in hit["reasons"])


async def test_a_model_path_that_does_not_exist_is_named_and_recall_stays_lexical(tmp_path):
    other = make_test_lsp_client()
    await other.start_io(*SERVER.server_command)
    try:
        await start(other, make_workspace(), options={"recall": {"embeddingModelPath": str(tmp_path / "no-model")}})
        await wait_for(lambda: any("recall stays lexical" in m.message for m in other.messages), timeout=60)
        [message] = [m for m in other.messages if "recall stays lexical" in m.message]
        assert message.type == types.MessageType.Warning and "no-model does not exist" in message.message
        assert (await command(other, "scms.status", {}))["recall"] == "lexical (model failed)"
    finally:
        await other.shutdown_session()
