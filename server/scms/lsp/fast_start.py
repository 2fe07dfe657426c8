"""Answering `initialize` before pygls is imported, from the answer pygls itself gave last time.

Importing pygls and lsprotocol takes ~0.75 s on a 2-core machine, longer than the whole budget for
`initialize`. So the first message is read here with the standard library only. When this workspace has
seen the same client capabilities with the same versions before, pygls' own earlier answer (kept in
`.scms/index/`) is sent at once; pygls then processes the same `initialize` for its state, and its second,
identical answer is dropped. Otherwise pygls answers as usual and its answer is kept for next time.
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


def cache_file(params: dict[str, Any]) -> Path | None:
    """Where this workspace keeps pygls' answer for these client capabilities and versions."""
    folders = params.get("workspaceFolders") or []
    uri = folders[0].get("uri") if folders and isinstance(folders[0], dict) else params.get("rootUri")
    if not isinstance(uri, str) or not uri.startswith("file:"):
        return None
    index = Path(unquote(urlparse(uri).path)) / ".scms" / "index"
    try:
        versions = f"{__version__}/{metadata.version('pygls')}/{metadata.version('lsprotocol')}"
    except metadata.PackageNotFoundError:
        return None
    key = json.dumps([versions, params.get("capabilities")], sort_keys=True)
    return index / f"initialize-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


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
    """stdout that drops pygls' answer to `initialize` when it was answered early, or keeps it for next time."""

    def __init__(self, stream: BinaryIO, request_id: Any, answered: bool, cache: Path | None) -> None:
        self._stream = stream
        self._id = request_id
        self._answered = answered
        self._cache = cache
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
                if self._answered:
                    return
                self._keep(message["result"])
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
    cache = cache_file(message.get("params") or {})
    answered = False
    if cache is not None and cache.is_file():
        try:
            result = json.loads(cache.read_text(encoding="utf-8"))
            body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode()
            stdout.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            stdout.flush()
            answered = True
        except (OSError, ValueError):
            answered = False
    return (PrefixedStdin(raw, stdin),  # type: ignore[return-value]
            InitializeFilter(stdout, message["id"], answered, cache))  # type: ignore[return-value]
