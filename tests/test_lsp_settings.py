"""Settings over LSP (initializationOptions and didChangeConfiguration) and clients of other shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from conftest import STDLIB, line_of
from lsp_support import command, lsp_range, open_document, serve, server_client, wait_for

COPYFILEOBJ = line_of(STDLIB / "shutil.py", "def copyfileobj(")


client = server_client({"scms": {"promotionThreshold": "many", "notifications": "always",
                                 "recall": {"hoverLimit": 1, "minSimilarity": 7, "embeddings": False}}})


async def change_configuration(client: LanguageClient, settings: dict, logged: str) -> None:
    """Send changed settings to a server whose memory is open, and wait until it has applied them (it logs the
    threshold it now uses)."""
    await command(client, "scms.status", {})  # waits until the memory is open
    before = len(client.log_messages)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    await wait_for(lambda: any(logged in m.message for m in client.log_messages[before:]))


async def test_bad_initialization_options_are_named_and_defaults_used(client: LanguageClient):
    await command(client, "scms.status", {})  # waits until the memory is open
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("'promotionThreshold' = 'many'" in w and "default used" in w for w in warnings), warnings
    assert any("'recall.minSimilarity' = 7" in w for w in warnings), warnings
    assert len(warnings) == 2
    assert (await command(client, "scms.status", {}))["promotionThreshold"] == 2


async def test_changed_configuration_applies_at_once(client: LanguageClient, workspace: Path):
    await change_configuration(client, {"scms": {"promotionThreshold": 1}}, "promotion after 1 accepted uses")
    uri = open_document(client, workspace / "src" / "shutil.py")
    made = await command(client, "scms.remember", {"uri": uri, "range": lsp_range(COPYFILEOBJ, COPYFILEOBJ + 10)})
    await command(client, "scms.accept", {"patternId": made["id"]})
    [promoted] = await command(client, "scms.promoteEligible", {})
    assert promoted["id"] == made["id"]
    # views read the memory again (the extension's accept message quotes the threshold from scms.status)
    assert {"reason": "settings", "patternIds": []} in client.changes  # type: ignore[attr-defined]


async def test_a_bad_changed_value_is_named_and_its_default_used(client: LanguageClient):
    await change_configuration(client, {"scms": {"promotionThreshold": 1}}, "promotion after 1 accepted uses")
    assert (await command(client, "scms.status", {}))["promotionThreshold"] == 1  # not the default before
    before = len(client.messages)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"scms": {"promotionThreshold": 0, "retention": {"decayRateCandidate": 2}}}))
    await wait_for(lambda: len(client.messages) >= before + 2)
    new = [m.message for m in client.messages[before:]]
    assert any("'promotionThreshold' = 0" in m for m in new) and any("'retention.decayRateCandidate' = 2" in m
                                                                     for m in new)
    assert (await command(client, "scms.status", {}))["promotionThreshold"] == 2


async def test_a_client_without_progress_or_file_watching_still_works(workspace: Path):
    """A fresh server with a client that supports neither work-done progress nor dynamic registration."""
    async with serve(workspace, capabilities=types.ClientCapabilities()) as client:
        status = await command(client, "scms.status", {})
        assert status["workspace"] == str(workspace)
        assert client.progress_reports == {} and client.registrations == []
        assert any("cannot watch files" in m.message for m in client.log_messages)


async def test_without_a_workspace_folder_commands_say_what_to_do(tmp_path: Path):
    async with serve(None, options=None) as client:
        with pytest.raises(JsonRpcException) as caught:
            await command(client, "scms.status", {})
        assert caught.value.code == -32001 and "open a folder first" in caught.value.message
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=(tmp_path / "shutil.py").as_uri()),
            position=types.Position(line=1, character=1)))
        assert hover is None


async def test_settings_changed_while_the_memory_opens_are_the_ones_it_uses(workspace: Path):
    """VS Code sends didChangeConfiguration right after `initialized`, while the store may still be opening."""
    async with serve(workspace) as early:
        early.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"scms": {"promotionThreshold": 1}}))
        await wait_for(lambda: any("promotion after 1" in m.message for m in early.log_messages))
        assert (await command(early, "scms.status", {}))["promotionThreshold"] == 1
