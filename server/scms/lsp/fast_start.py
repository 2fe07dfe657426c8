"""Answering `initialize` before pygls is imported, from the answer pygls itself gave last time.

Importing pygls and lsprotocol takes ~0.75 s on a 2-core machine, longer than the whole budget for
`initialize`. So the first message is read here with the standard library only. When this workspace has
seen the same client capabilities with the same versions before, pygls' own earlier answer (kept in
`.scms/index/`) is sent at once; else, for a client the package knows (`answers.json`, made by
`scms.lsp.answers`), pygls' answer computed ahead of time. pygls then processes the same `initialize` for
its state, and its own answer is dropped (and kept for next time). Otherwise pygls answers as usual.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from scms import __version__


def read_message(stream: BinaryIO) -> tuple[bytes, dict[str, Any] | None]:
    """One framed message: its raw bytes (to hand on) and its JSON (None if it is not one)."""
    raw = b""
    length = None
    while True:
        line = stream.readline()
        raw += line
        if not line:
            return raw, None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    if length is None:
        return raw, None
    body = stream.read(length)
    raw += body
    try:
        message = json.loads(body)
    except ValueError:
        return raw, None
    return raw, message if isinstance(message, dict) else None


def versions() -> str | None:
    try:
        return f"{__version__}/{metadata.version('pygls')}/{metadata.version('lsprotocol')}"
    except metadata.PackageNotFoundError:
        return None


def cache_file(params: dict[str, Any]) -> Path | None:
    """Where this workspace keeps pygls' answer for these client capabilities and versions."""
    folders = params.get("workspaceFolders") or []
    uri = folders[0].get("uri") if folders and isinstance(folders[0], dict) else params.get("rootUri")
    if not isinstance(uri, str) or not uri.startswith("file:") or (installed := versions()) is None:
        return None
    index = Path(unquote(urlparse(uri).path)) / ".scms" / "index"
    key = json.dumps([installed, params.get("capabilities")], sort_keys=True)
    return index / f"initialize-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


FILE_OPERATIONS = ("willCreate", "didCreate", "willDelete", "didDelete", "willRename", "didRename")
FLAGS = {"willSave": "textDocument.synchronization.willSave",
         "willSaveWaitUntil": "textDocument.synchronization.willSaveWaitUntil",
         "prepareRename": "textDocument.rename.prepareSupport",
         **{name: f"workspace.fileOperations.{name}" for name in FILE_OPERATIONS}}


def projection(capabilities: Any) -> dict[str, Any]:
    """The client capabilities pygls' answer depends on (what its ServerCapabilitiesBuilder reads)."""
    def get(path: str) -> Any:
        node = capabilities
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def flag(path: str) -> bool | None:  # pygls passes an absent flag on as absent, a false one as false
        value = get(path)
        return None if value is None else bool(value)

    return {"positionEncodings": get("general.positionEncodings"),
            "notebookDocument": get("notebookDocument") is not None,
            **{name: flag(path) for name, path in FLAGS.items()}}


def capabilities_of(projected: dict[str, Any]) -> dict[str, Any]:
    """The smallest client capabilities with this projection."""
    capabilities: dict[str, Any] = {}
    if projected["positionEncodings"] is not None:
        capabilities["general"] = {"positionEncodings": projected["positionEncodings"]}
    if projected["notebookDocument"]:
        capabilities["notebookDocument"] = {"synchronization": {}}
    for name, path in FLAGS.items():
        if projected[name] is not None:
            *parents, leaf = path.split(".")
            node = capabilities
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = projected[name]
    return capabilities


def projection_key(projected: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(projected, sort_keys=True).encode()).hexdigest()[:16]


def packaged_answer(capabilities: Any) -> dict[str, Any] | None:
    """pygls' answer to this client computed ahead of time, if the package knows its capabilities."""
    try:
        table = json.loads(Path(__file__).with_name("answers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(table, dict) or table.get("versions") != versions():
        return None
    return table.get("answers", {}).get(projection_key(projection(capabilities)))


class PrefixedStdin:
    """stdin with the already-read first message put back in front of it."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = io.BytesIO(prefix)
        self._stream = stream

    def readline(self) -> bytes:
        line = self._prefix.readline()
        if line.endswith(b"\n"):
            return line
        return line + self._stream.readline()

    def read(self, size: int) -> bytes:
        data = self._prefix.read(size)
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data


class InitializeFilter:
    """stdout that drops pygls' answer to `initialize` when it was answered early, and keeps it for next time
    unless it came from this workspace's cache."""

    def __init__(self, stream: BinaryIO, request_id: Any, sent: dict[str, Any] | None, cache: Path | None,
                 keep: bool = True, source: str = "") -> None:
        self._stream = stream
        self._id = request_id
        self._sent = sent
        self._cache = cache
        self._keep_answer = keep
        self._source = source
        self._done = False

    def write(self, data: bytes) -> None:
        if not self._done:
            header, _, body = data.partition(b"\r\n\r\n")
            try:
                message = json.loads(body)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("id") == self._id and "result" in message:
                self._done = True
                differs = self._sent is not None and message["result"] != self._sent
                if self._keep_answer or differs:
                    self._keep(message["result"])
                if differs:
                    sys.stderr.write(f"scms: the early initialize answer (from {self._source}) differs from "
                                     "pygls' own; pygls' is kept for the next start"
                                     + (" (regenerate the package's with `python -m scms.lsp.answers`)"
                                        if self._keep_answer else "") + "\n")
                if self._sent is not None:
                    return
        self._stream.write(data)
        self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()

    def _keep(self, result: Any) -> None:
        if self._cache is None or not self._cache.parent.parent.is_dir():  # only where .scms/ already is
            return
        try:
            self._cache.parent.mkdir(exist_ok=True)
            tmp = self._cache.with_name(f".{self._cache.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(result), encoding="utf-8")
            tmp.replace(self._cache)
        except OSError:
            pass  # a cache: the next start is merely slower


def start(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> tuple[BinaryIO, BinaryIO]:
    """Read the first message and answer it early if we can; returns the streams pygls should use."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    raw, message = read_message(stdin)
    if not message or message.get("method") != "initialize" or "id" not in message:
        return PrefixedStdin(raw, stdin), stdout  # type: ignore[return-value]
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    cache = cache_file(params)
    result, cached = None, False
    if cache is not None and cache.is_file():
        try:
            result, cached = json.loads(cache.read_text(encoding="utf-8")), True
        except (OSError, ValueError):
            result = None
    if result is None:
        result = packaged_answer(params.get("capabilities"))
    source = "this workspace's earlier answer" if cached else "the answers the package carries"
    if result is not None:
        sys.stderr.write(f"scms: initialize answered before pygls loaded, from {source}\n")
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode()
        stdout.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdout.flush()
    return (PrefixedStdin(raw, stdin),  # type: ignore[return-value]
            InitializeFilter(stdout, message["id"], result, cache, keep=not cached, source=source))  # type: ignore
