"""`initialize` answered before pygls loads: from pygls' own earlier answer for the same client and versions."""

from __future__ import annotations

import io
import json

from lsprotocol import types
from pytest_lsp import make_test_lsp_client

from lsp_support import SERVER, command, make_workspace, start
from scms.lsp.fast_start import PrefixedStdin, read_message


def test_read_message_and_put_it_back():
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}).encode()
    second = b"Content-Length: 2\r\n\r\n{}"
    stream = io.BytesIO(b"Content-Length: %d\r\n\r\n" % len(body) + body + second)
    raw, message = read_message(stream)
    assert message["method"] == "initialize" and raw.endswith(body)
    replay = PrefixedStdin(raw, stream)
    assert replay.readline() == b"Content-Length: %d\r\n" % len(body)
    assert replay.readline() == b"\r\n"
    assert replay.read(len(body)) == body
    assert replay.readline() == b"Content-Length: 2\r\n" and replay.readline() == b"\r\n" and replay.read(2) == b"{}"
    assert read_message(io.BytesIO(b"garbage\r\n\r\n"))[1] is None


async def _initialize(root, capabilities="visual-studio-code"):
    client = make_test_lsp_client()
    await client.start_io(*SERVER.server_command)
    await start(client, root, options={"recall": {"embeddings": False}}, capabilities=capabilities)
    return client


async def test_the_second_start_answers_from_the_first_answer_and_works():
    root = make_workspace()
    (root / ".scms").mkdir()
    first = await _initialize(root)
    try:
        answer = first.init_result
    finally:
        await first.shutdown_session()
    [cached] = list((root / ".scms" / "index").glob("initialize-*.json"))
    kept = json.loads(cached.read_text())
    assert kept["capabilities"]["executeCommandProvider"]["commands"] == list(answer.capabilities.execute_command_provider.commands)
    kept["serverInfo"]["version"] = "answered-early"  # proves which answer the client got
    cached.write_text(json.dumps(kept))

    second = await _initialize(root)
    try:
        assert second.init_result.server_info.version == "answered-early"
        assert second.init_result.capabilities == answer.capabilities
        status = await command(second, "scms.status", {})  # pygls processed the same initialize itself
        assert status["workspace"] == str(root)
    finally:
        await second.shutdown_session()
    # the early answer differed from pygls' own (a stale cache, say, after an upgrade): pygls' replaces it
    assert json.loads(cached.read_text())["serverInfo"]["version"] != "answered-early"

    other = await _initialize(root, capabilities=types.ClientCapabilities())  # another client: pygls answers
    try:
        assert other.init_result.server_info.version != "answered-early"
    finally:
        await other.shutdown_session()
    assert len(list((root / ".scms" / "index").glob("initialize-*.json"))) == 2


def _listing(root) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


async def test_without_a_scms_folder_nothing_is_written_outside_it():
    root = make_workspace()
    before = _listing(root)
    client = await _initialize(root)
    try:
        assert client.init_result.capabilities.hover_provider
        await command(client, "scms.status", {})
    finally:
        await client.shutdown_session()
    after = _listing(root)
    assert {k: v for k, v in after.items() if not k.startswith(".scms/") and k != ".scms"} == before
    assert sorted(k for k in after if k.startswith(".scms")) == [".scms", ".scms/.gitignore", ".scms/patterns",
                                                                 ".scms/scms.db"]
