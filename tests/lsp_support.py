"""Helpers for the end-to-end LSP tests: a fresh server on each test's own workspace, a VS Code-like client,
store snapshots, and waits that block until something happened (with deadlines generous for a slow machine)."""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar, Union

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities, make_test_lsp_client

from conftest import store_snapshot

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "scms", "serve"])
LEXICAL = {"recall": {"embeddings": False}}  # recall lexical only: no model to wait for
T = TypeVar("T")


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


def server_client(options: Any = LEXICAL):
    """A module's `client` fixture: for each test a server of its own, on that test's own `workspace`, so no test
    sees what another did (a server starts in about a second)."""
    import pytest_lsp

    @pytest_lsp.fixture(config=SERVER)  # function scope: torn down, with its workspace, after each test
    async def client(lsp_client: LanguageClient, workspace: Path):
        await start(lsp_client, workspace, options=options)
        yield
        await lsp_client.shutdown_session()

    return client


@asynccontextmanager
async def serve(root: Path | None, options: Any = LEXICAL,
                capabilities: str | types.ClientCapabilities = "visual-studio-code") -> AsyncIterator[LanguageClient]:
    """A server of a test's own, for a test that needs a client other than its module's `client`."""
    client = make_test_lsp_client()
    await client.start_io(*SERVER.server_command)
    try:
        await start(client, root, options=options, capabilities=capabilities)
        yield client
    finally:
        await client.shutdown_session()  # sends nothing to a server that never answered initialize:
        if client.capabilities is None and client._server is not None and client._server.returncode is None:
            client._server.kill()  # so that stopping does not wait for it forever
        await client.stop()


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments)))


def progress(client: LanguageClient, title: str) -> list | None:
    """The reports of the work-done progress with this title (a created token may not have begun yet)."""
    return next((r for r in client.progress_reports.values() if r and r[0].title == title), None)


async def wait_for(condition: Callable[[], Any], timeout: float = 60.0) -> None:
    """Block until `condition()` holds: on a slow machine that takes longer, it does not fail."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def poll(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], timeout: float = 120.0) -> T:
    """Ask `probe()` again until its answer satisfies `until`, and return that answer."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not until(answer := await probe()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f} s: {answer!r}")
        await asyncio.sleep(0.05)
    return answer


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
