"""SCMS's own export, read back: the rules `scms.export` wrote (into rule files, an `AGENTS.md` section or
`WORKSPACE_RULES.md`), parsed by the exporter's structure and vocabulary so that each comes back as it was."""

from __future__ import annotations

import re

from scms.export.lesson import LABELS
from scms.export.rule import KIND_HEADINGS
from scms.export.scope import NAMES
from scms.importing.common import HEADING, Item, fenced_blocks, language_of, parse_count, parse_date
from scms.model import Kind, Status

# What `scms.export.rule.render` writes per rule: `# Title`, `<!-- scms id: … kind: …; from … -->`, a blank
# line, the meta bullets (Kind, Applies to, Use Count, Promoted), a blank line, the note (failures' and
# anti-patterns' as `**Lesson:**` or `**Symptom:**`/`**Root cause:**`/`**Fix:**` paragraphs), the labelled
# snippet and the evidence list. Read back by that structure, so the pattern comes back as it was exported.

_RULE_ID = re.compile(r"^<!-- scms id: ([A-Za-z0-9_-]{1,64}) kind: ([a-z_]+); from .*-->\s*$")
_FACT = re.compile(r"^- \*\*(Kind|Applies to|Use Count|Promoted):\*\* (.*)$")
_EVIDENCE = re.compile(r"^- `.*` lines? \d+(?:-\d+)?(?: \(commit [^()\s]+\))?$")
_SEEN = re.compile(r"(?:^| and )where it was seen \(`[^`]*`(?:, `[^`]*`)*\)$")
_NAMED = re.compile(r"(.*) files(?: \((`[^`]*`(?:, `[^`]*`)*)\))?", re.S)
_SNIPPET_LABELS = ("**Code:**", "**Don't write this:**")
_NO_SCOPE = "all files (no language or path recorded)"
# the exporter's own words, so that what it writes is read back by the same vocabulary
_KIND_GROUPS = tuple(KIND_HEADINGS.values())
_LESSON_LABELS = LABELS
_LANGUAGE_NAMES = NAMES


def exported_items(lines: list[str], *, key: str | None = None) -> list[Item]:
    """The rules SCMS's exporter wrote into these lines (a `#…` heading followed by the `scms id` comment),
    read by the exporter's own structure; [] when there are none or one is not in that shape (hand-edited:
    then the file is read as a person's)."""
    inside: set[int] = set()
    for block in fenced_blocks(lines):
        inside.update(range(block.start + 1, block.end + 1))
    starts = [i for i in range(len(lines) - 1)
              if i not in inside and HEADING.match(lines[i]) and _RULE_ID.match(lines[i + 1])]
    groups = set(_KIND_GROUPS)
    items: list[Item] = []
    for n, start in enumerate(starts):
        chunk = lines[start:starts[n + 1]] if n + 1 < len(starts) else lines[start:]
        level = len(HEADING.match(chunk[0]).group(1))
        while chunk and not chunk[-1].strip():
            chunk = chunk[:-1]
        if n + 1 < len(starts) and level > 1 and chunk:  # the next kind's `## Failures` heading
            head = HEADING.match(chunk[-1])
            if head and len(head.group(1)) == level - 1 and chunk[-1][level - 1:] == f" {head.group(2)}" \
                    and head.group(2) in groups:
                chunk = chunk[:-1]
        item = _exported_item(chunk, level)
        if item is None:
            return []
        item.key = key if key is not None else item.title
        items.append(item)
    return items


def _exported_item(chunk: list[str], level: int) -> Item | None:
    title = chunk[0][level + 1:]
    ident = _RULE_ID.match(chunk[1])
    assert ident is not None
    try:
        kind = Kind(ident.group(2))
    except ValueError:
        return None
    rest = chunk[2:] + [""]
    if not rest or rest[0] != "":
        return None
    facts: dict[str, str] = {}
    i = 1
    while i < len(rest) and (m := _FACT.match(rest[i])) and m.group(1) not in facts:
        facts[m.group(1)] = m.group(2)
        i += 1
    if "Kind" not in facts or "Applies to" not in facts or i >= len(rest) or rest[i] != "":
        return None
    tail = rest[i + 1:]
    while tail and tail[-1] == "":
        tail.pop()
    if "**Evidence:**" in tail:
        e = len(tail) - 1 - tail[::-1].index("**Evidence:**")
        if e + 2 < len(tail) and tail[e + 1] == "" and all(_EVIDENCE.match(line) for line in tail[e + 2:]):
            tail = tail[:e]
            while tail and tail[-1] == "":
                tail.pop()
    snippet, info = "", ""
    if tail and re.fullmatch(r"`{3,}", tail[-1]):
        fence = tail[-1]
        opener = next((j for j in range(len(tail) - 2, -1, -1) if tail[j].startswith(fence)
                       and tail[j][len(fence):len(fence) + 1] != "`"), None)
        if opener is None or opener < 2 or tail[opener - 1] != "" or tail[opener - 2] not in _SNIPPET_LABELS:
            return None
        snippet, info = "\n".join(tail[opener + 1:-1]), tail[opener][len(fence):]
        tail = tail[:opener - 2]
        while tail and tail[-1] == "":
            tail.pop()
    note = "\n".join(tail)
    if kind in (Kind.FAILURE, Kind.ANTI_PATTERN) and note:
        note = _unlesson(note)
    languages = _languages_applied(facts["Applies to"])
    if languages is None:
        languages = [lang] if (lang := language_of(info)) else []
    promoted = parse_date(facts.get("Promoted"), "Promoted")
    return Item(title=title, key=title, body=note, snippet=snippet, kind=kind, languages=languages,
                status=Status.VALIDATED, uses=parse_count(facts.get("Use Count")), promoted=promoted,
                first_used=promoted, pattern_id=ident.group(1), exported=True)


def _unlesson(shown: str) -> str:
    """The note lesson.py's transform was made from: `**Lesson:** <note>` gives the note back exactly; the
    `**Symptom:**`/`**Root cause:**`/`**Fix:**` paragraphs give a note of `Symptom: …` lines that the exporter
    splits into the very same parts (the original spelling of the labels is not recorded in the file)."""
    if shown.startswith("**Lesson:** "):
        return shown[len("**Lesson:** "):]
    prefixes = {f"**{label}:** ": key for key, label in _LESSON_LABELS.items()}
    lines = shown.split("\n")
    preamble: list[str] = []
    parts: list[tuple[str, list[str]]] = []
    for n, line in enumerate(lines):
        found = next((p for p in prefixes if line.startswith(p)), None)
        if found and (n == 0 or lines[n - 1] == ""):
            parts.append((prefixes[found], [line[len(found):]]))
        elif parts:
            parts[-1][1].append(line)
        else:
            preamble.append(line)
    if not parts:
        return shown
    keys = [key for key, _ in parts]
    if keys != [key for key in _LESSON_LABELS if key in keys]:
        return shown  # not in the exporter's order: not its transform
    head = "\n".join(preamble).strip("\n")
    labelled = [f"{_LESSON_LABELS[key]}: " + "\n".join(text).strip("\n") for key, text in parts]
    return "\n\n".join(([head] if head.strip() else []) + labelled)


def _languages_applied(text: str) -> list[str] | None:
    """The languages the `Applies to` line was made from (scope.py's names; the globs follow from them), or
    None when the line does not invert exactly."""
    if text == _NO_SCOPE:
        return []
    seen = _SEEN.search(text)
    if seen:
        text = text[:seen.start()]
    if not text:
        return [] if seen else None
    named = _NAMED.fullmatch(text)
    if not named:
        return None
    names = named.group(1).split(", ")
    reverse = {name: language for language, name in _LANGUAGE_NAMES.items()}
    languages = [reverse.get(name, name) for name in names]
    if [_LANGUAGE_NAMES.get(language.lower(), language) for language in languages] != names:
        return None
    return languages
