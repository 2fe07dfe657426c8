"""Every LSP feature of the server: importing this module registers them all on `scms.lsp.server.server`."""

from scms.lsp import code_actions, edits, execute, hover, session, suggestions  # noqa: F401  (each registers)
from scms.lsp.server import server

__all__ = ["server"]
