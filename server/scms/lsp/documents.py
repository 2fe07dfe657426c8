"""Documents as the server sees them: file URIs to paths, buffer text with the checks bad input needs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from pygls.lsp.server import LanguageServer

from scms.errors import InvalidInput, NotFound
from scms.store.source import check_text


def path_of(uri: str) -> Path:
    """The local path of a `file:` URI; anything else is refused by name."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise InvalidInput(f"uri must be a file: URI, got {uri[:80]!r}", field="uri")
    if parsed.netloc not in ("", "localhost"):
        raise InvalidInput(f"uri points to another host ({parsed.netloc}); only local files are supported",
                           field="uri")
    return Path(unquote(parsed.path))


def text_of(server: LanguageServer, uri: str, max_bytes: int) -> tuple[Path, str]:
    """The text of an open buffer (unsaved edits included) or else of the file on disk, checked."""
    path = path_of(uri)
    document = server.workspace.text_documents.get(uri)
    if document is not None:
        source = document.source
        if len(source) > max_bytes:
            raise InvalidInput(f"{path.name} is too large ({len(source):,} characters; the limit is "
                               f"{max_bytes:,})", field="uri")
        if "\x00" in source[:8192]:
            raise InvalidInput(f"{path.name} looks binary (it contains NUL characters)", field="uri")
        return path, source
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a file", field="uri")
    if not path.is_file():
        raise NotFound(f"{path}: no such file", field="uri")
    try:
        if path.stat().st_size > max_bytes:
            raise InvalidInput(f"{path.name} is too large ({path.stat().st_size:,} bytes; the limit is "
                               f"{max_bytes:,})", field="uri")
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"{path}: cannot be read ({err.strerror or err})", field="uri") from None
    return path, check_text(data, path.name, max_bytes)
