"""The packaged `initialize` answers: pygls' answer for each client the package knows, computed ahead of time.

A workspace's first start cannot use an earlier answer of its own, and importing pygls takes ~0.75 s here;
so the package carries pygls' answer for the capabilities of the clients pytest-lsp records (VS Code,
Neovim, Emacs), keyed by the few capability fields that answer depends on (`fast_start.projection`).
Regenerate after changing the server's features: `python -m scms.lsp.answers` (a test says when).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.capabilities import ServerCapabilitiesBuilder

from scms.lsp import fast_start

FILE = Path(__file__).with_name("answers.json")
# What this package's own extension sends, read from vscode-languageclient 9's sources (lib/common/client.js:
# positionEncodings; textSynchronization.js: willSave, willSaveWaitUntil; rename.js: prepareSupport;
# fileOperations.js; notebook.js), the same in VS Code and Cursor. The end-to-end test checks it is hit.
EXTENSION_CLIENT = {"positionEncodings": ["utf-16"], "notebookDocument": True, "willSave": True,
                    "willSaveWaitUntil": True, "prepareRename": True,
                    **{name: True for name in fast_start.FILE_OPERATIONS}}


def answer(capabilities: dict[str, Any]) -> dict[str, Any]:
    """What pygls answers to `initialize` from a client with these capabilities, as JSON."""
    from scms.lsp.server import create_server

    server = create_server()
    protocol = server.protocol
    client = protocol._converter.structure(capabilities, types.ClientCapabilities)
    manager = protocol.fm
    built = ServerCapabilitiesBuilder(
        client, set({**manager.features, **manager.builtin_features}), manager.feature_options,
        list(manager.commands), server._text_document_sync_kind, server._notebook_document_sync,
        ServerCapabilitiesBuilder.choose_position_encoding(client)).build()
    result = types.InitializeResult(capabilities=built, server_info=protocol.server_info)
    return json.loads(json.dumps(result, default=protocol._serialize_message))


def known_clients() -> dict[str, dict[str, Any]]:
    """The client capabilities pytest-lsp ships, by file name (e.g. visual_studio_code_v1.65.2)."""
    import pytest_lsp.clients

    folder = Path(pytest_lsp.clients.__file__).parent
    return {path.stem: json.loads(path.read_text())["capabilities"] for path in sorted(folder.glob("*.json"))}


def compute() -> dict[str, Any]:
    """The packaged table. Each answer is checked against the one for the full capabilities, so that the
    projection cannot leave out a field the answer depends on (for these clients at least)."""
    answers: dict[str, Any] = {}
    for name, capabilities in known_clients().items():
        projected = fast_start.projection(capabilities)
        full = answer(capabilities)
        if answer(fast_start.capabilities_of(projected)) != full:
            raise SystemExit(f"{name}: pygls' answer depends on a capability the projection leaves out")
        answers[fast_start.projection_key(projected)] = full
    answers[fast_start.projection_key(EXTENSION_CLIENT)] = answer(fast_start.capabilities_of(EXTENSION_CLIENT))
    return {"versions": fast_start.versions(), "answers": answers}


def main() -> None:
    FILE.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {FILE}")


if __name__ == "__main__":
    main()
