"""Documents as the server sees them: file URIs to paths, and a document's text (its open buffer, else the file)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from pygls.lsp.server import LanguageServer

from scms.errors import InvalidInput
from scms.memory import Memory


def path_of(uri: str) -> Path:
    """The local path of a `file:` URI; anything else is refused by name."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise InvalidInput(f"uri must be a file: URI, got {uri[:80]!r}", field="uri")
    if parsed.netloc not in ("", "localhost"):
        raise InvalidInput(f"uri points to another host ({parsed.netloc}); only local files are supported",
                           field="uri")
    return Path(unquote(parsed.path))


def text_of(server: LanguageServer, memory: Memory, uri: str) -> tuple[Path, str]:
    """The text of an open buffer (unsaved edits included) or else of the file on disk, checked; a file outside
    the workspace (by its path or through a link) is refused, for recall and hovers as for remember."""
    path = memory.workspace_file(path_of(uri), field="uri")
    document = server.workspace.text_documents.get(uri)
    return path, memory.document_text(path, document.source if document is not None else None)
