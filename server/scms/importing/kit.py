"""The SCMS starter kit's own files: its markdown memories (L0, `docs/memories/*.md`, after the kit's
memory template), its `WORKSPACE_RULES.md` (L1: one validated pattern per `###` section) and its failure
log (`FAILURES.md` entries `FAIL-YYYYMMDD-NNN`, or one failure per file after its failure-log template).

The kit writes its fields as bold labels at the start of a line (`**Use Count**: 3`, `**ID:** FAIL-…`);
they are read here by name, whatever decorations (emoji, trailing spaces) surround them."""

from __future__ import annotations

import re

from scms.importing.common import (Block, Item, Parsed, ParseError, clean_title, fenced_blocks,
                                   has_marker,
                                   headings, language_of, parse_count, parse_date, split_snippet,
                                   strip_comments, tag_list)
from scms.importing.exported import exported_items
from scms.model import Kind, Status

_FIELD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*\n]{1,40}?):?\*\*:?\s*(.*?)\s*$")
_FAIL_ID = re.compile(r"FAIL-\d{8}-\w+")
_STATUS_WORDS = {
    "CANDIDATE": Status.CANDIDATE, "ACTIVE": Status.CANDIDATE, "L0": Status.CANDIDATE,
    "VALIDATED": Status.VALIDATED, "L1": Status.VALIDATED, "PROMOTED": Status.PROMOTED,
    "ARCHIVED": Status.ARCHIVED, "DEPRECATED": Status.ARCHIVED,
}
_CONFIDENCE = ("HIGH", "MEDIUM", "LOW")
# fields the kit keeps in a memory's header; they become the pattern's counts, dates and tags, not its note
_HEADER_FIELDS = {"status", "use count", "first used", "last used", "confidence", "surprise value", "surprise",
                  "retention priority", "episode", "tags", "promoted to", "kind", "id"}
_RULE_FIELDS = {"use count", "promoted", "status", "tags", "kind", "id", "last updated"}
_FILE_FIELDS = {"project", "type", "tech stack", "scms role", "last updated", "purpose", "version", "status", "owner"}
_FAILURE_FIELDS = {"id", "date", "severity", "status", "tags", "system component", "impact"}
# WORKSPACE_RULES.md sections about the file itself, not rules
_META = re.compile(r"summary|maintenance|related documentation|scms integration|getting started|"
                   r"template instructions|promotion log|table of contents|\btemplate\b", re.I)


def looks_like_memory(text: str) -> bool:
    head = [m.group(1).strip().lower() for line in text.split("\n")[:40] if (m := _FIELD.match(line))]
    return "status" in head and "use count" in head


def looks_like_failure_log(text: str) -> bool:
    lines = text.split("\n")
    if any(_FAIL_ID.search(heading) for _, _, heading in headings(lines)):
        return True
    first = next((h for _, level, h in headings(lines) if level == 1), "")
    fields = [m.group(1).strip().lower() for line in lines[:40] if (m := _FIELD.match(line))]
    return "failure log" in first.lower() and "id" in fields


# --- memories ---------------------------------------------------------------------------------------------

def parse_memory(text: str) -> Parsed:
    parsed = Parsed("kit-memory")
    lines = text.split("\n")
    heads = headings(lines)
    title_line = next((h for h in heads if h[1] == 1), None)
    title = clean_title(re.sub(r"^\s*memory\s*:\s*", "", title_line[2], flags=re.I)) if title_line else ""
    if not title:
        raise ParseError("the memory has no title (a '# Memory: …' heading)")
    # the header: the field lines from the title down to the first section heading
    start = title_line[0] + 1 if title_line else 0
    end = next((i for i, level, _ in heads if i > start and level >= 2), len(lines))
    fields = _fields(lines[start:end])
    kept = [line for line in lines[start:end] if not _is_field(line, _HEADER_FIELDS)]
    rest = (lines[:title_line[0]] if title_line else []) + kept + lines[end:]
    rest = _drop_sections(rest, re.compile(r"template instructions", re.I))
    body, snippet, language = split_snippet("\n".join(rest), _code_example(rest))
    status = _status(fields.get("status", ""))
    uses = parse_count(fields.get("use count"))
    first = parse_date(fields.get("first used"), "First Used")
    last = parse_date(fields.get("last used"), "Last Used")
    tags = tag_list(fields.get("tags", ""))
    tags += _confidence_tags(fields)
    parsed.items.append(Item(
        title=title, key="memory", body=body, snippet=snippet, kind=_kind_of_tags(tags),
        tags=sorted(set(tags)), languages=[lang] if (lang := language_of(language)) else [],
        status=status, uses=uses, first_used=first or last, last_used=last if uses else None,
        promoted=last if status in (Status.VALIDATED, Status.PROMOTED) else None,
    ))
    return parsed


def _code_example(lines: list[str]) -> Block | None:
    """The first fenced block under a 'Code Example' heading: the memory's snippet."""
    heads = headings(lines)
    for index, (i, level, text) in enumerate(heads):
        if "code example" in text.lower() or text.strip().lower() in ("example", "code"):
            stop = next((j for j, lv, _ in heads[index + 1:] if lv <= level), len(lines))
            for block in fenced_blocks(lines):
                if i < block.start < stop:
                    return block
    return None


def _confidence_tags(fields: dict[str, str]) -> list[str]:
    tags = []
    confidence = fields.get("confidence", "").upper()
    chosen = [word for word in _CONFIDENCE if re.search(rf"\b{word}\b", confidence)]
    if len(chosen) == 1:
        tags.append(f"confidence-{chosen[0].lower()}")
    surprise = fields.get("surprise value", fields.get("surprise", ""))
    stars = surprise.count("⭐") or surprise.count("★")
    if not stars and (m := re.match(r"\s*([1-5])\b", surprise)):
        stars = int(m.group(1))
    if 0 < stars <= 5 and "-" not in surprise.split("(")[0]:  # "[⭐-⭐⭐⭐⭐⭐]" is the template's placeholder
        tags.append(f"surprise-{stars}")
    return tags


def _kind_of_tags(tags: list[str]) -> Kind:
    joined = " ".join(tags)
    if re.search(r"anti-?pattern|pitfall", joined):
        return Kind.ANTI_PATTERN
    if re.search(r"\bfailure\b", joined):
        return Kind.FAILURE
    if re.search(r"\bconvention\b", joined):
        return Kind.CONVENTION
    return Kind.PATTERN


def _status(value: str) -> Status:
    words = {status for word, status in _STATUS_WORDS.items() if re.search(rf"\b{word}\b", value.upper())}
    if len(words) > 1:
        raise ParseError(f"Status {value.strip()!r} names several statuses; keep the one that holds")
    return words.pop() if words else Status.CANDIDATE


# --- WORKSPACE_RULES.md -----------------------------------------------------------------------------------

def parse_workspace_rules(text: str) -> Parsed:
    parsed = Parsed("workspace-rules")
    exported = has_marker(text)
    lines = text.split("\n")
    heads = headings(lines)
    seen: dict[str, int] = {}
    own = exported_items(lines) if exported else []  # SCMS's own export, read by its structure
    for item in own:
        seen[item.key] = seen.get(item.key, 0) + 1
        if seen[item.key] > 1:
            item.key += f" #{seen[item.key]}"
        parsed.items.append(item)
    for index, (i, level, heading) in enumerate([] if own else heads):
        if level not in (2, 3):
            continue
        stop = next((j for j, lv, _ in heads[index + 1:] if lv <= level), len(lines))
        children = [h for h in heads[index + 1:] if h[0] < stop and h[1] == 3]
        if level == 2 and children:
            continue  # a category: its ### sections are the rules
        category = next((h[2] for h in reversed(heads[:index]) if h[1] == 2), "") if level == 3 else ""
        if _META.search(heading) or (category and _META.search(category)):
            continue
        section = lines[i + 1:stop]
        item = _rule_item(heading, category, section, exported)
        if item is None:
            continue
        seen[item.key] = seen.get(item.key, 0) + 1
        if seen[item.key] > 1:
            item.key += f" #{seen[item.key]}"
        parsed.items.append(item)
    if not parsed.items:
        raise ParseError("it holds no rule sections ('### Title' under a '## Category')")
    return parsed


def _rule_item(heading: str, category: str, section: list[str], exported: bool) -> Item | None:
    fields = _fields(section)
    uses = parse_count(fields.get("use count"))
    promoted = parse_date(fields.get("promoted"), "Promoted")
    m = re.search(r"\(([^()]*)\)\s*\**\s*$", heading)
    while m:  # "(Promoted: 2025-11-19)", "(Validated Pattern - Use Count: 2)" at the heading's end
        note = m.group(1)
        if re.search(r"use count", note, re.I):
            uses = uses or parse_count(note.split(":")[-1])
        elif re.search(r"promoted|validated", note, re.I):
            promoted = promoted or parse_date(note, "Promoted")
        else:
            break
        heading = heading[:m.start()]
        m = re.search(r"\(([^()]*)\)\s*\**\s*$", heading)
    title = clean_title(heading)
    kept = [line for line in section if not _is_field(line, _RULE_FIELDS)]
    text = strip_comments("\n".join(kept)) if exported else "\n".join(kept)
    body, snippet, language = split_snippet(text, _labelled_block(text.split("\n")))
    if not title or not (body or snippet) or (not snippet and all(
            (m := _FIELD.match(line)) and m.group(1).strip().lower() in _FILE_FIELDS for line in body.split("\n")
            if line.strip())):
        return None  # nothing but the file's own fields (Project, Last Updated, …)
    kind = _rule_kind(fields.get("kind", ""), title, category)
    return Item(title=title, key=title, body=body, snippet=snippet, kind=kind, tags=tag_list(fields.get("tags", "")),
                languages=[lang] if (lang := language_of(language)) else [], status=Status.VALIDATED,
                uses=uses, promoted=promoted, first_used=promoted, exported=exported,
                pattern_id=_comment_id("\n".join(section)) if exported else None)


def _labelled_block(lines: list[str]) -> Block | None:
    """The block right after a '**Pattern**:' / '**Example**:' / '**Good Solution**:' label, if any."""
    blocks = fenced_blocks(lines)
    label = re.compile(r"^\s*\*\*(correct |good |the )?(pattern|example|solution|code)\b[^*]*\*\*:?\s*$", re.I)
    for block in blocks:
        before = next((lines[j] for j in range(block.start - 1, -1, -1) if lines[j].strip()), "")
        if label.match(before):
            return block
    return None


def _rule_kind(declared: str, title: str, category: str) -> Kind:
    declared = declared.strip().lower().replace("-", "_").replace(" ", "_")
    if declared in {k.value for k in Kind}:
        return Kind(declared)
    where = f"{title} {category}".lower()
    if re.search(r"anti-?pattern|pitfall", where):
        return Kind.ANTI_PATTERN
    if re.search(r"fail", where):
        return Kind.FAILURE
    if "pattern" in where:
        return Kind.PATTERN
    return Kind.CONVENTION


# --- the failure log --------------------------------------------------------------------------------------

def parse_failure_log(text: str) -> Parsed:
    parsed = Parsed("failure-log")
    lines = text.split("\n")
    heads = headings(lines)
    entries = [(index, h) for index, h in enumerate(heads) if _FAIL_ID.search(h[2])]
    if not entries:  # one failure per file, after the kit's failure-log template
        first = next(((index, h) for index, h in enumerate(heads) if h[1] == 1), None)
        if first is None:
            raise ParseError("no failure entries ('## FAIL-YYYYMMDD-NNN: title' headings) in it")
        entries = [first]
    for index, (i, level, heading) in entries:
        stop = next((j for j, lv, _ in heads[index + 1:] if lv <= level), len(lines))
        section = lines[i + 1:stop]
        fields = _fields(section)
        fail_id = (_FAIL_ID.search(heading) or _FAIL_ID.search(fields.get("id", "")))
        title = clean_title(re.sub(r"^.*?(FAIL-\d{8}-\w+|failure log)\s*:?", "", heading, flags=re.I)) \
            or clean_title(heading)
        key = fail_id.group(0) if fail_id else title
        kept = [line for line in section if not _is_field(line, _FAILURE_FIELDS)]
        body, snippet, language = split_snippet("\n".join(kept))
        tags = tag_list(fields.get("tags", ""))
        if (severity := fields.get("severity", "").strip().lower()) and severity.isalpha():
            tags.append(f"severity-{severity}")
        active = re.search(r"\bactive\b|\bopen\b", fields.get("status", ""), re.I)
        date = parse_date(fields.get("date"), "Date")
        parsed.items.append(Item(
            title=title, key=key, body=body, snippet=snippet, kind=Kind.FAILURE, tags=sorted(set(tags)),
            languages=[lang] if (lang := language_of(language)) else [],
            status=Status.CANDIDATE if active else Status.VALIDATED, first_used=date,
            promoted=None if active else date,
        ))
    return parsed


# --- shared -----------------------------------------------------------------------------------------------

def _fields(lines: list[str]) -> dict[str, str]:
    """The bold-label fields of these lines, by lower-case name; the first of a name wins."""
    found: dict[str, str] = {}
    inside = set()
    for block in fenced_blocks(lines):
        inside.update(range(block.start, block.end + 1))
    for i, line in enumerate(lines):
        match = _FIELD.match(line)
        if match and i not in inside:
            found.setdefault(match.group(1).strip().lower(), match.group(2).strip())
    return found


def _is_field(line: str, names: set[str]) -> bool:
    match = _FIELD.match(line)
    return bool(match and match.group(1).strip().lower() in names and match.group(2).strip())


def _drop_sections(lines: list[str], pattern: re.Pattern[str]) -> list[str]:
    heads = headings(lines)
    drop: set[int] = set()
    for index, (i, level, text) in enumerate(heads):
        if pattern.search(text):
            stop = next((j for j, lv, _ in heads[index + 1:] if lv <= level), len(lines))
            drop.update(range(i, stop))
    return [line for n, line in enumerate(lines) if n not in drop]


def _comment_id(text: str) -> str | None:
    """The pattern id an SCMS export leaves in an HTML comment (`<!-- … id: 0b28d125 … -->`)."""
    for comment in re.findall(r"<!--(.*?)-->", text, re.S):
        match = re.search(r"\bid\s*[:=]\s*['\"]?([A-Za-z0-9_-]{1,64})", comment)
        if match:
            return match.group(1)
    return None

