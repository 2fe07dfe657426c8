"""Parsing what `scms import` reads into plain items (a core package: pure text in, data out).

`parse(rel, text)` picks the parser by the file's workspace-relative path and its text:

- `kit` — the SCMS starter kit: markdown memories (the kit's memory template), `WORKSPACE_RULES.md`
  and the failure log;
- `rules` — rule files of AI assistants written by people (Cursor, Copilot, Claude Code, AGENTS.md).

It returns a `Parsed` with the file's items, or with the reason the file cannot be imported (its
`problem`); a file none of them recognises gives None. The store side (`scms.store.importing`) reads the
files, checks where they are, and appends the events."""

from __future__ import annotations

from pathlib import PurePosixPath

from scms.importing import kit, rules
from scms.importing.common import EXPORT_MARKER, Item, Parsed, ParseError, normalize

__all__ = ["EXPORT_MARKER", "Item", "Parsed", "parse", "candidate_path"]


def candidate_path(rel: str) -> bool:
    """Whether a file found while walking a folder is worth reading: markdown or a Cursor rule."""
    name = PurePosixPath(rel).name.lower()
    return name.endswith((".md", ".mdc", ".markdown"))


def parse(rel: str, text: str) -> Parsed | None:
    """The items of one file (its text already decoded), its problem, or None when it is no known format."""
    text = normalize(text)
    name = PurePosixPath(rel).name.lower()
    family = "workspace-rules" if name == "workspace_rules.md" else rules.family_of(rel)
    try:
        if family == "workspace-rules":
            return kit.parse_workspace_rules(text)
        if family is not None:
            return rules.parse_rules(rel, text)
        if not name.endswith((".md", ".markdown")):
            return None
        if kit.looks_like_memory(text):
            family = "kit-memory"
            return kit.parse_memory(text)
        if name in ("failures.md", "failure_log.md", "failure-log.md") or kit.looks_like_failure_log(text):
            family = "failure-log"
            return kit.parse_failure_log(text)
    except ParseError as err:
        return Parsed(family or "unknown", problem=str(err))
    return None
