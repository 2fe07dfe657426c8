"""Embedding recall through the real server: the model loads in the background with progress while lexical
recall answers, edits get their unit embedded ahead of hovers, and a broken model path is reported."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import STDLIB, line_of
from lsp_support import command, hover, lsp_range, open_document, poll, progress, serve, server_client, wait_for

COPYFILEOBJ = line_of(STDLIB / "shutil.py", "def copyfileobj(")
DIVMOD = line_of(STDLIB / "tarfile.py", "blocks, remainder = divmod(")
MODEL_LOAD_S = 300  # loading torch and the model takes seconds, or minutes on a busy machine


client = server_client({"learning": {"backgroundContexts": 16}})


async def remember_copyfileobj(client: LanguageClient, root: Path) -> dict:
    uri = open_document(client, root / "src" / "shutil.py")
    return await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10),
                                                   "title": "Copy file objects in chunks"})


async def model_loaded(client: LanguageClient) -> None:
    await wait_for(lambda: isinstance((progress(client, "SCMS: loading the recall models") or [None])[-1],
                                      types.WorkDoneProgressEnd), timeout=MODEL_LOAD_S)


async def test_recall_is_lexical_until_the_model_is_ready_then_embeddings(client: LanguageClient, workspace: Path):
    made = await remember_copyfileobj(client, workspace)
    early = (await command(client, "scms.status", {}))["recall"]
    assert early in ("lexical", "loading model", "embeddings")
    tar = open_document(client, workspace / "src" / "tarfile.py")
    assert await hover(client, tar, DIVMOD) is not None  # lexical answers while the model loads
    await model_loaded(client)
    assert (await command(client, "scms.status", {}))["recall"] == "embeddings"
    assert {"reason": "recall", "patternIds": []} in client.changes
    [hit] = await command(client, "scms.recall", {"uri": tar, "position": {"line": DIVMOD, "character": 4}})
    assert hit["pattern"]["id"] == made["id"] and hit["embedding"] > 0.5
    assert hit["reasons"][0].startswith("similar in meaning")


def embedded_count(root: Path) -> int:
    conn = sqlite3.connect(f"file:{root / '.scms' / 'scms.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    finally:
        conn.close()


async def test_an_edit_gets_its_unit_embedded_before_the_next_hover(client: LanguageClient, workspace: Path):
    await remember_copyfileobj(client, workspace)
    tar = open_document(client, workspace / "src" / "tarfile.py")
    await model_loaded(client)
    await command(client, "scms.recall", {"uri": tar, "position": {"line": DIVMOD, "character": 4}})  # embeds it
    before = embedded_count(workspace)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=tar, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=DIVMOD, character=0),
                              end=types.Position(line=DIVMOD, character=0)),
            text="    # copy whole blocks first\n")]))
    await wait_for(lambda: embedded_count(workspace) > before)  # no hover asked for it
    result = await hover(client, tar, DIVMOD + 1)  # the first hover on the edited unit is already fused
    assert result is not None and "similar in meaning" in result.contents.value


async def test_accepts_in_context_teach_the_memory_model(client: LanguageClient, workspace: Path):
    tarfile_py = workspace / "src" / "tarfile.py"
    await remember_copyfileobj(client, workspace)
    tar = open_document(client, tarfile_py)
    await model_loaded(client)
    [made] = [p for p in await command(client, "scms.list", {}) if p["title"] == "Copy file objects in chunks"]
    for needle, length in (("def copyfileobj(", 30), ("def _block(", 8)):
        start = line_of(tarfile_py, needle)
        await command(client, "scms.accept", {"patternId": made["id"], "uri": tar,
                                              "range": lsp_range(start, start + length)})
    model = await poll(lambda: status_model(client), lambda m: m.get("events") == 2 and m.get("exemplars") == 2)
    assert model["state"] == "ready" and model["exemplars"] == 2 and model["file"].endswith("memory-layer.pt")
    inside = line_of(tarfile_py, "def copyfileobj(") + 12
    [hit, *_] = await command(client, "scms.recall", {"uri": tar, "position": {"line": inside, "character": 8}})
    assert hit["pattern"]["id"] == made["id"] and hit["learned"] > 0
    assert any(r.startswith("like code where it was accepted before") for r in hit["reasons"])


async def status_model(client: LanguageClient) -> dict:
    return (await command(client, "scms.status", {}))["model"]


async def test_a_model_path_that_does_not_exist_is_named_and_recall_stays_lexical(workspace: Path, tmp_path: Path):
    async with serve(workspace, {"recall": {"embeddingModelPath": str(tmp_path / "no-model")}}) as other:
        await wait_for(lambda: any("recall stays lexical" in m.message for m in other.messages), timeout=MODEL_LOAD_S)
        [message] = [m for m in other.messages if "recall stays lexical" in m.message]
        assert message.type == types.MessageType.Warning and "no-model does not exist" in message.message
        assert (await command(other, "scms.status", {}))["recall"] == "lexical (model failed)"
