"""`scms serve`: the language server on stdio, or on TCP for debugging."""

from __future__ import annotations

import sys


def serve(tcp: str | None = None) -> int:
    """Run until the client says exit: stdio by default, or HOST:PORT over TCP."""
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not port.isdigit():
            print(f"scms serve: --tcp wants HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
    from scms.lsp.features import server

    if tcp:
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0
