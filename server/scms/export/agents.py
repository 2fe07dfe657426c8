"""AGENTS.md: SCMS's section between its markers replaced, every byte outside them kept exactly as it was."""

from __future__ import annotations

from scms.export.formats import BEGIN_LINE, END_LINE, agents_section
from scms.model import Pattern


class BrokenMarkers(ValueError):
    """The file's SCMS markers cannot be told apart (two begins, a begin without an end, …): the message says."""


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end of content, content) of each line, the end before its line break."""
    found, start = [], 0
    while start <= len(text):
        stop = text.find("\n", start)
        stop = len(text) if stop < 0 else stop
        content_end = stop - 1 if stop > start and text[stop - 1] == "\r" else stop
        found.append((start, content_end, text[start:content_end]))
        if stop >= len(text):
            break
        start = stop + 1
    return found


def _newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def splice(existing: bytes | None, patterns: list[Pattern]) -> bytes:
    """The new AGENTS.md: the section replaced in place, or appended after a blank line to a file without markers
    (a file that is not there gets the section alone). Raises BrokenMarkers, leaving the decision to the caller."""
    if existing is None:
        return (agents_section(patterns) + "\n").encode("utf-8")
    text = existing.decode("utf-8", errors="surrogateescape")  # odd bytes go back out exactly as they came
    newline = _newline(text)
    lines = _lines(text)
    begins = [line for line in lines if BEGIN_LINE.match(line[2])]
    ends = [line for line in lines if END_LINE.match(line[2])]
    section = agents_section(patterns, newline)
    if not begins and not ends:
        gap = "" if not text else (newline if text.endswith("\n") else newline * 2)
        return (text + gap + section + newline).encode("utf-8", errors="surrogateescape")
    if len(begins) != 1 or len(ends) != 1 or ends[0][0] < begins[0][0]:
        raise BrokenMarkers(f"its SCMS markers are broken ({len(begins)} begin, {len(ends)} end"
                            f"{', the end before the begin' if begins and ends and ends[0][0] < begins[0][0] else ''}"
                            "); fix or remove them by hand; the file was left as it is")
    start, stop = begins[0][0], ends[0][1]
    return (text[:start] + section + text[stop:]).encode("utf-8", errors="surrogateescape")
