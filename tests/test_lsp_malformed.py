"""Malformed JSON-RPC messages, sent raw (a client library would not send them): every request gets an answer,
-32602 naming the field; a malformed notification is dropped; nothing pops up, and the server goes on serving."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

MALFORMED = [
    ("textDocument/hover", {}, "textDocument"),
    ("textDocument/hover", {"textDocument": {"uri": "file:///x.py"}, "position": {"line": "a", "character": 0}},
     "position.line"),
    ("workspace/executeCommand", {}, "command"),
    ("textDocument/codeAction", {"textDocument": {"uri": "file:///x.py"}}, "range"),
    ("textDocument/hover", None, "params"),
    ("textDocument/hover", [1, 2], "params"),
]


class RawClient:
    """JSON-RPC over the server's stdin and stdout, framed by hand."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.messages: list[dict[str, Any]] = []
        self.reader = asyncio.ensure_future(self._read())

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def answer(self, request_id: int, timeout: float = 30.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := [m for m in self.messages if m.get("id") == request_id and "method" not in m]):
            assert asyncio.get_running_loop().time() < deadline, f"request {request_id} got no answer"
            await asyncio.sleep(0.02)
        return found[0]

    async def _read(self) -> None:
        stdout = self.process.stdout
        while True:
            header = await stdout.readline()
            if not header:
                return
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
                while (await stdout.readline()).strip():
                    pass
                self.messages.append(json.loads(await stdout.readexactly(length)))


async def test_malformed_requests_are_answered_and_pop_nothing_up(workspace: Path):
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "scms", "serve", stdin=asyncio.subprocess.PIPE,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    client = RawClient(process)
    try:
        client.send({"id": 1, "method": "initialize", "params": {
            "capabilities": {}, "rootUri": workspace.as_uri(), "initializationOptions": {"recall": {"embeddings": False}}}})
        await client.answer(1)
        client.send({"method": "initialized", "params": {}})
        client.send({"method": "textDocument/didOpen", "params": {"textDocument": {}}})  # a malformed notification
        for number, (method, params, field) in enumerate(MALFORMED, start=10):
            client.send({"id": number, "method": method, **({"params": params} if params is not None else {})})
        for number, (method, params, field) in enumerate(MALFORMED, start=10):
            answer = await client.answer(number)
            if params is None:  # hover without params at all is malformed too
                assert answer["error"]["code"] == -32602
                continue
            assert answer["error"]["code"] == -32602, answer
            assert answer["error"]["message"].startswith(f"{method}: invalid params: ") and field in answer["error"]["message"]
        client.send({"id": 99, "method": "workspace/executeCommand", "params": {"command": "scms.status"}})
        status = await client.answer(99)
        assert status["result"]["workspace"] == str(workspace.resolve())
        assert not [m for m in client.messages if m.get("method") == "window/showMessage"]
    finally:
        process.kill()
        await process.wait()
        client.reader.cancel()


@pytest.mark.parametrize("method, params", [(m, p) for m, p, _ in MALFORMED])
def test_every_case_is_a_request_the_library_itself_cannot_read(method, params):
    """Each case above really is malformed for pygls (else the test above would prove nothing about them)."""
    from scms.lsp.protocol import Malformed
    from scms.lsp.server import server

    message = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params is not None else {})}
    assert isinstance(server.protocol.structure_message(message), Malformed)
