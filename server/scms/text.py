"""Text helpers shared by the layers (a leaf: it imports nothing from scms): identifiers split into
lower-case subwords and kept whole, the terms the lexical index keeps, hashes of content, the text a pattern is
embedded from, and the markdown fence a snippet needs."""

from __future__ import annotations

import hashlib
import re

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
NAME_MARK = "="  # a whole identifier among the lexical terms (`=read_text`), beside its subwords
KEYWORDS = frozenset("""
    and as assert async await break case catch class const continue def default del delete do elif else export
    extends false False finally for from function global if import in instanceof is lambda let new none None
    nonlocal not null of or pass raise return self static super switch this throw true True try typeof undefined
    var void while with yield
""".split())


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lines_of(text: str) -> list[str]:
    """A document's lines as LSP counts them: only `\n`, `\r\n` and `\r` end a line (not U+2028, form feed,
    `\x1c`-`\x1e` or `\x85`, which `str.splitlines` also splits on); a final line break ends the last line."""
    lines = _LINE_BREAK.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines if text else []


def without_lone_surrogates(text: str) -> str:
    """The text with any lone surrogate (which JSON can carry but UTF-8 cannot) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def subwords(text: str) -> list[str]:
    """`parseHTTPResponse_v2` -> ['parse', 'http', 'response', 'v2'-ish parts], lower-cased, in order."""
    words: list[str] = []
    for token in _IDENTIFIER.findall(text):
        parts = _CAMEL.findall(token) or [token]
        words.extend(part.lower() for part in parts)
    return words


def names(text: str) -> list[str]:
    """Whole identifiers of at least two characters that are not keywords, marked (`=parseHTTPResponse`), in
    order of first use: an idiom's names tell it apart where its subwords are common."""
    return [NAME_MARK + name for name in dict.fromkeys(_NAME.findall(text)) if len(name) >= 2 and name not in KEYWORDS]


def index_terms(*texts: str) -> str:
    """Distinct subwords of at least two characters and whole names, space-separated, for the store's `terms`
    column."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in subwords(text):
            if len(word) >= 2:
                seen.setdefault(word, None)
    for text in texts:
        seen.update(dict.fromkeys(names(text)))
    return " ".join(seen)


def content_hash(text: str) -> str:
    """A short, stable hash of code with line endings and trailing spaces normalized."""
    normalized = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip("\n")
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]


def pattern_text(title: str, body: str, snippet: str) -> str:
    """What a pattern is embedded from: its title, note and snippet."""
    return "\n".join(part for part in (title, body, snippet) if part)


def fence_for(code: str) -> str:
    """A markdown fence longer than any run of backticks inside the code (at least three)."""
    return "`" * max(3, max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
