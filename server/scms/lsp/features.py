"""Every LSP feature of the server: importing this module registers them all on `scms.lsp.server.server`."""

from scms.lsp import code_actions, edits, execute, hover, session  # noqa: F401  (each registers its features)
from scms.lsp.server import server

__all__ = ["server"]
