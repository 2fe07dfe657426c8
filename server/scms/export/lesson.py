"""A failure's or anti-pattern's note split into its symptom, root cause and fix, when the note names them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAMES = r"(symptoms?|root[ _-]?cause|cause|fix|the fix|solution)"
_HEADING = re.compile(rf"^\s{{0,3}}#{{1,6}}\s+(?:\*\*|__)?{_NAMES}(?:\*\*|__)?\s*:?\s*#*\s*$", re.I)
_LINE = re.compile(rf"^\s{{0,3}}(?:[-*+]\s+)?(?:\*\*|__)?{_NAMES}\s*(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:|:)\s*(.*)$", re.I)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
LABELS = {"symptom": "Symptom", "root_cause": "Root cause", "fix": "Fix"}


@dataclass
class Lesson:
    """The note's parts: what came before the first label, and the text under each label found."""

    preamble: str = ""
    parts: dict[str, str] = field(default_factory=dict)  # keys of LABELS, in the order of LABELS


def _key(name: str) -> str:
    name = name.lower().replace("_", " ").replace("-", " ")
    if name.startswith("symptom"):
        return "symptom"
    if "cause" in name:
        return "root_cause"
    return "fix"


def split(note: str) -> Lesson | None:
    """The labelled parts of a note (`Symptom:` / `Root cause:` / `Fix:` lines, or headings of those names);
    None when the note has no `Symptom` and no `Fix` (then it is shown whole, as the lesson)."""
    lines = note.replace("\r\n", "\n").split("\n")
    chunks: dict[str, list[str]] = {}
    preamble: list[str] = []
    current: list[str] = preamble
    fence: str | None = None
    for line in lines:
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            current.append(line)
            continue
        if opened:
            fence = opened.group(1)
            current.append(line)
            continue
        heading, labelled = _HEADING.match(line), _LINE.match(line)
        if heading or labelled:
            key = _key((heading or labelled).group(1))
            current = chunks.setdefault(key, [])
            if labelled and labelled.group(2).strip():
                current.append(labelled.group(2).rstrip())
            continue
        current.append(line)
    if "symptom" not in chunks and "fix" not in chunks:
        return None
    parts = {key: "\n".join(chunks[key]).strip("\n") for key in LABELS if key in chunks}
    return Lesson(preamble="\n".join(preamble).strip("\n"), parts={k: v for k, v in parts.items() if v.strip()})
