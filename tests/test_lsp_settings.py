"""Settings over LSP (initializationOptions and didChangeConfiguration) and clients of other shapes."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from conftest import line_of
from lsp_support import SERVER, command, lsp_range, make_workspace, open_document, start, wait_for

ROOT = make_workspace()
SHUTIL = ROOT / "src" / "shutil.py"
COPYFILEOBJ = line_of(SHUTIL, "def copyfileobj(")


@pytest_lsp.fixture(scope="module", config=SERVER)
async def client(lsp_client: LanguageClient):
    await start(lsp_client, ROOT, options={"scms": {"promotionThreshold": "many", "notifications": "always",
                                                    "recall": {"hoverLimit": 1, "minSimilarity": 7, "embeddings": False}}})
    yield
    await lsp_client.shutdown_session()


async def test_bad_initialization_options_are_named_and_defaults_used(client: LanguageClient):
    await command(client, "scms.status", {})  # waits until the memory is open
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("'promotionThreshold' = 'many'" in w and "default used" in w for w in warnings), warnings
    assert any("'recall.minSimilarity' = 7" in w for w in warnings), warnings
    assert len(warnings) == 2
    assert (await command(client, "scms.status", {}))["promotionThreshold"] == 2


async def test_changed_configuration_applies_at_once(client: LanguageClient):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"scms": {"promotionThreshold": 1}}))
    await wait_for(lambda: any("promotion after 1 accepted uses" in m.message for m in client.log_messages))
    uri = open_document(client, SHUTIL)
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10)})
    await command(client, "scms.accept", {"patternId": made["id"]})
    [promoted] = await command(client, "scms.promoteEligible", {})
    assert promoted["id"] == made["id"]


async def test_a_bad_changed_value_is_named_and_its_default_used(client: LanguageClient):
    before = len(client.messages)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"scms": {"promotionThreshold": 0, "retention": {"decayRateCandidate": 2}}}))
    await wait_for(lambda: len(client.messages) >= before + 2)
    new = [m.message for m in client.messages[before:]]
    assert any("'promotionThreshold' = 0" in m for m in new) and any("'retention.decayRateCandidate' = 2" in m
                                                                     for m in new)
    assert (await command(client, "scms.status", {}))["promotionThreshold"] == 2


async def test_a_client_without_progress_or_file_watching_still_works():
    """A fresh server with a client that supports neither work-done progress nor dynamic registration."""
    from pytest_lsp import make_test_lsp_client

    root = make_workspace()
    client = make_test_lsp_client()
    await client.start_io(*SERVER.server_command)
    try:
        await start(client, root, options={"recall": {"embeddings": False}}, capabilities=types.ClientCapabilities())
        status = await command(client, "scms.status", {})
        assert status["workspace"] == str(root)
        assert client.progress_reports == {} and client.registrations == []
        assert any("cannot watch files" in m.message for m in client.log_messages)
    finally:
        await client.shutdown_session()


async def test_without_a_workspace_folder_commands_say_what_to_do():
    from pytest_lsp import make_test_lsp_client

    client = make_test_lsp_client()
    await client.start_io(*SERVER.server_command)
    try:
        await start(client, None)
        with pytest.raises(JsonRpcException) as caught:
            await command(client, "scms.status", {})
        assert caught.value.code == -32001 and "open a folder first" in caught.value.message
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=SHUTIL.as_uri()), position=types.Position(line=1,
                                                                                                       character=1)))
        assert hover is None
    finally:
        await client.shutdown_session()
