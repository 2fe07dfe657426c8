"""The code context at a position: the enclosing definition found by indentation, or a stable window of lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DEFINITION = re.compile(
    r"^\s*(?:@?\w+\s*=\s*(?:async\s*)?\(.*\)\s*=>|(?:export\s+)?(?:default\s+)?(?:async\s+)?"
    r"(?:def|class|function\*?|func|fn|impl|interface|struct|enum|trait|module)\b|"
    r"(?:pub(?:\(\w+\))?\s+)?(?:async\s+)?fn\b|"
    r"(?:public|private|protected|internal|static|final|abstract|override)\b.*[({]\s*$|"
    r"(?:async\s+|static\s+|get\s+|set\s+)*(?!(?:if|for|while|switch|catch|with|return|else)\b)[A-Za-z_$][\w$]*"
    r"\s*\([^)]*\)\s*(?::\s*[\w<>\[\]|, .]+)?\{\s*$)"
)
MAX_UNIT_LINES = 200
WINDOW = 20


@dataclass(frozen=True)
class Unit:
    start: int  # 0-based, inclusive
    end: int  # 0-based, inclusive
    text: str
    kind: str  # "definition" or "window"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def enclosing_unit(lines: list[str], line: int) -> Unit | None:
    """The definition around `line` (0-based); long or top-level code falls back to a 20-line bucket."""
    if not 0 <= line < len(lines):
        return None
    cursor = line
    while cursor > 0 and not lines[cursor].strip():
        cursor -= 1
    cursor_indent = _indent(lines[cursor]) if lines[cursor].strip() else 0
    header = None
    for i in range(cursor, max(-1, cursor - MAX_UNIT_LINES), -1):
        text = lines[i]
        if text.strip() and _DEFINITION.match(text) and (_indent(text) < cursor_indent or i == cursor):
            header = i
            break
        if text.strip() and _indent(text) == 0 and i != cursor:
            break  # reached top-level code that is not a definition
    if header is not None:
        end = _block_end(lines, header)
        if end - header < MAX_UNIT_LINES and end >= line:
            return Unit(header, end, "\n".join(lines[header:end + 1]), "definition")
    start = (line // WINDOW) * WINDOW
    end = min(len(lines) - 1, start + WINDOW - 1)
    return Unit(start, end, "\n".join(lines[start:end + 1]), "window")


def _block_end(lines: list[str], header: int) -> int:
    base = _indent(lines[header])
    end = header
    for i in range(header + 1, min(len(lines), header + MAX_UNIT_LINES + 1)):
        text = lines[i]
        if not text.strip():
            continue
        if _indent(text) > base:
            end = i
            continue
        if _indent(text) == base and text.strip()[:1] in ")]}":
            end = i  # the closing brace of a brace-delimited block
        break
    return end
