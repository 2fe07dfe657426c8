"""Helpers for the MCP tests: `scms mcp` spawned over stdio and driven by the MCP SDK's own client."""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, TextIO

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import Implementation

AGENT = "test-agent"


@asynccontextmanager
async def agent(root: Path, *, lexical: bool = True, name: str = AGENT, env: dict[str, str] | None = None,
                stderr: TextIO | None = None) -> AsyncIterator[Client]:
    """A client connected to a fresh `scms mcp` on `root` (lexical recall unless asked: no model to wait for), with
    these environment variables besides the SDK's defaults, its stderr to `stderr` (else this process's)."""
    args = ["-m", "scms", "mcp", "--workspace", str(root)] + (["--lexical"] if lexical else [])
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    server = stdio_client(params, errlog=stderr) if stderr is not None else params
    async with Client(server, client_info=Implementation(name=name, version="1.0")) as client:
        yield client


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> Any:
    """The tool's structured result; an AssertionError with its message when the tool reports an error."""
    result = await client.call_tool(tool, arguments or {})
    if result.is_error:
        raise AssertionError(result.content[0].text)
    if result.structured_content is None:
        return result.content[0].text
    content = result.structured_content
    return content["result"] if set(content) == {"result"} else content


async def error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """The message of a call that must fail."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} {arguments} did not fail: {result.content}"
    return result.content[0].text
