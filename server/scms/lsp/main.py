"""`scms serve`: the language server on stdio (answering `initialize` before pygls loads) or on TCP."""

from __future__ import annotations

import sys


def serve(tcp: str | None = None) -> int:
    """Run until the client says exit: stdio by default, or HOST:PORT over TCP for debugging."""
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not port.isdigit():
            print(f"scms serve: --tcp wants HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
        from scms.lsp.server import create_server

        create_server().start_tcp(host or "127.0.0.1", int(port))
        return 0
    from scms.lsp.fast_start import start

    stdin, stdout = start()  # may answer `initialize` before pygls is even imported
    from scms.lsp.server import create_server

    create_server().start_io(stdin, stdout)  # type: ignore[arg-type]
    return 0
