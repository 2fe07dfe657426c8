"""A workspace's first `initialize`, answered from the answers the package carries, is pygls' own answer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lsp_support import make_workspace
from scms.lsp import answers, fast_start


def test_the_packaged_answers_are_current():
    assert json.loads(answers.FILE.read_text()) == answers.compute(), \
        "the server's features changed: regenerate with `python -m scms.lsp.answers`"


def test_the_projection_keeps_absent_and_false_flags_apart():
    absent = fast_start.projection({})
    off = fast_start.projection({"textDocument": {"synchronization": {"willSave": False}}})
    assert absent["willSave"] is None and off["willSave"] is False
    assert fast_start.projection_key(absent) != fast_start.projection_key(off)
    assert fast_start.capabilities_of(off) == {"textDocument": {"synchronization": {"willSave": False}}}


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream) -> dict:
    length = None
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    assert length is not None, "the server closed its output"
    return json.loads(stream.read(length))


@pytest.mark.parametrize("client", ["visual_studio_code_v1.65.2", "neovim_v0.10.0", "the extension"])
def test_a_first_start_is_answered_from_the_package_with_pygls_own_answer(client):
    root = make_workspace()
    (root / ".scms").mkdir()
    capabilities = (fast_start.capabilities_of(answers.EXTENSION_CLIENT) if client == "the extension"
                    else answers.known_clients()[client])
    server = subprocess.Popen([sys.executable, "-m", "scms", "serve"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": root.as_uri(), "capabilities": capabilities,
            "initializationOptions": {"recall": {"embeddings": False}}}}))
        server.stdin.flush()
        answered = read_frame(server.stdout)
        assert answered["id"] == 1 and "executeCommandProvider" in answered["result"]["capabilities"]
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.flush()
        while (reply := read_frame(server.stdout)).get("id") != 2:
            assert reply.get("id") != 1, "pygls' own answer to initialize reached the client as well"
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.flush()
        server.wait(timeout=30)
    finally:
        server.kill()
        stderr = server.stderr.read().decode()
    assert "answered before pygls loaded, from the answers the package carries" in stderr
    assert "differs from pygls' own" not in stderr, stderr
    [kept] = list((root / ".scms" / "index").glob("initialize-*.json"))  # pygls' answer, for the next start
    assert json.loads(kept.read_text()) == answered["result"]
