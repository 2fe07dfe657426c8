"""`scms mcp`'s stdio transport: the MCP SDK's, with the requests it would drop unanswered (params that are not an
object, text holding a lone surrogate) answered with a JSON-RPC error instead, so that no client waits forever."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from io import TextIOWrapper
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_PARAMS, INVALID_REQUEST, ErrorData, JSONRPCError, jsonrpc_message_adapter


def refusal(line: str) -> JSONRPCError | None:
    """The error that answers a request the SDK cannot read; None for every other line (the SDK's to handle,
    including text that is not JSON and notifications, which have no id to answer)."""
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
        return None
    except Exception:  # noqa: BLE001 - whatever the SDK cannot read is looked at below
        pass
    try:
        frame = json.loads(line)  # Python's parser takes lone surrogate escapes, which are valid JSON text
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses: the SDK's to report
        return None
    if not isinstance(frame, dict) or "method" not in frame or not _is_id(frame.get("id")):
        return None
    if "params" in frame and not isinstance(frame["params"], dict):  # (an id and a method: a request)
        code, message = INVALID_PARAMS, f"params must be an object, not {_kind(frame['params'])}"
    elif _has_lone_surrogate(frame):
        code, message = INVALID_PARAMS, ("the request holds a lone surrogate escape (such as \\ud800), which is not "
                                         "Unicode text; nothing was done")
    else:
        code, message = INVALID_REQUEST, ('not a valid JSON-RPC 2.0 request ("jsonrpc": "2.0", a method name, '
                                          "params an object)")
    return JSONRPCError(jsonrpc="2.0", id=frame["id"], error=ErrorData(code=code, message=message))


class ScreenedLines:
    """Lines for the SDK's reader, less the requests it cannot read: those are answered on `write_stream`."""

    def __init__(self, lines: Any) -> None:
        self._lines = lines
        self._write: Any = None
        self._ready = anyio.Event()

    def answer_on(self, write_stream: Any) -> None:
        self._write = write_stream
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            try:
                error = refusal(line)
            except Exception:  # noqa: BLE001 - a frame too odd to look at is the SDK's to handle
                error = None
            if error is None:
                yield line
                continue
            await self._ready.wait()
            try:
                await self._write.send(SessionMessage(error))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return


@asynccontextmanager
async def screened_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's `stdio_server()` on screened stdin. As the SDK does, fd 0 points at the null device meanwhile,
    so that nothing else in the process reads the client's messages."""
    wire = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    stdin = _Unowned(os.fdopen(wire, "rb", closefd=False), encoding="utf-8", errors="replace")
    lines = ScreenedLines(anyio.wrap_file(stdin))
    try:
        async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
            lines.answer_on(write_stream)
            yield read_stream, write_stream
    finally:
        with suppress(OSError):
            os.dup2(wire, 0)


class _Unowned(TextIOWrapper):
    """A text layer whose close leaves the descriptor open (a worker thread may still be reading it)."""

    def close(self) -> None:
        with suppress(ValueError):
            self.detach()


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _kind(value: Any) -> str:
    return "null" if value is None else {bool: "a boolean", list: "an array", str: "a string"}.get(
        type(value), "a number")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False

