"""Helpers for the end-to-end LSP tests: a workspace of real code, a VS Code-like client, store snapshots."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import SOURCES, STDLIB, store_snapshot

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "scms", "serve"])


def make_workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="scms-lsp-")) / "project"
    for name in SOURCES:
        target = root / "src" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, target)
    return root


async def start(client: LanguageClient, root: Path | None, options: Any = None,
                capabilities: str | types.ClientCapabilities = "visual-studio-code") -> None:
    """Initialize like VS Code does, answering registrations and recording the server's own notifications."""
    client.registrations = []  # type: ignore[attr-defined]
    client.changes = []  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    @client.feature("scms/didChange")
    def on_change(params: Any) -> None:
        client.changes.append(_plain(params))  # type: ignore[attr-defined]

    converter = client.protocol._converter  # lsprotocol 2025.0.0 turns CodeActions with commands into Commands
    converter.register_structure_hook(
        Union[types.Command, types.CodeAction],
        lambda o, _: converter.structure(o, types.Command if isinstance(o.get("command"), str) else types.CodeAction),
    )
    client.init_result = await client.initialize_session(types.InitializeParams(  # type: ignore[attr-defined]
        capabilities=client_capabilities(capabilities) if isinstance(capabilities, str) else capabilities,
        root_uri=root.as_uri() if root else None,
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)] if root else None,
        initialization_options=options,
    ))


def _plain(value: Any) -> Any:
    """Custom notifications arrive as attrs-like objects (namedtuples); turn them back into JSON values."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def lexical_client(root: Path):
    """A module's `client` fixture: the real server on `root`, recall lexical only (no model to wait for)."""
    import pytest_lsp

    @pytest_lsp.fixture(scope="module", config=SERVER)
    async def client(lsp_client: LanguageClient):
        await start(lsp_client, root, options={"recall": {"embeddings": False}})
        yield
        await lsp_client.shutdown_session()

    return client


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments)))


def progress(client: LanguageClient, title: str) -> list | None:
    """The reports of the work-done progress with this title (a created token may not have begun yet)."""
    return next((r for r in client.progress_reports.values() if r and r[0].title == title), None)


async def wait_for(condition, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def open_document(client: LanguageClient, path: Path, text: str | None = None, language: str = "python") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id=language, version=1, text=path.read_text() if text is None else text)))
    return uri


def lsp_range(start_line: int, end_line: int) -> dict[str, Any]:
    """0-based lines, the whole of each, as an LSP range."""
    return {"start": {"line": start_line, "character": 0}, "end": {"line": end_line + 1, "character": 0}}


def snapshot(root: Path) -> tuple[list, list, list[str]]:
    return store_snapshot(root)


async def hover(client: LanguageClient, uri: str, line: int, character: int = 8) -> types.Hover | None:
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))
