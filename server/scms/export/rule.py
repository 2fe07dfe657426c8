"""One validated pattern as markdown: title, when it applies, the note (or symptom and fix), snippet, evidence."""

from __future__ import annotations

from scms.export import lesson, scope
from scms.export.naming import source_file
from scms.model import Kind, Pattern
from scms.text import fence_for

KIND_ORDER = {kind: index for index, kind in enumerate(Kind)}  # pattern, convention, anti_pattern, failure
KIND_HEADINGS = {Kind.PATTERN: "Patterns", Kind.CONVENTION: "Conventions", Kind.ANTI_PATTERN: "Anti-patterns",
                 Kind.FAILURE: "Failures"}
KIND_LABELS = {Kind.PATTERN: "pattern", Kind.CONVENTION: "convention", Kind.ANTI_PATTERN: "anti-pattern",
               Kind.FAILURE: "failure"}


def ordered(patterns: list[Pattern]) -> list[Pattern]:
    """By kind (pattern, convention, anti-pattern, failure), then title (case-blind), then id."""
    return sorted(patterns, key=lambda p: (KIND_ORDER[p.kind], p.title.casefold(), p.title, p.id))


def one_line(text: str) -> str:
    return " ".join(text.split())


def id_comment(pattern: Pattern) -> str:
    """Names the pattern for a reader and for `scms import` (which reads `id:` and `kind:` from comments)."""
    return f"<!-- scms id: {pattern.id} kind: {pattern.kind.value}; from {source_file(pattern)} -->"


def applies_to(pattern: Pattern) -> str:
    """`Python files (`**/*.py`, `**/*.pyi`) and where it was seen (`src/net/**`)`, or all files."""
    by_language = scope.language_globs(pattern)
    seen = [g for g in scope.evidence_globs(pattern) if g not in by_language]
    names = scope.language_names(pattern)
    parts = []
    if names:
        listed = f" ({', '.join(f'`{g}`' for g in by_language)})" if by_language else ""
        parts.append(f"{', '.join(names)} files{listed}")
    if seen:
        parts.append(f"where it was seen ({', '.join(f'`{g}`' for g in seen)})")
    return " and ".join(parts) or "all files (no language or path recorded)"


def facts(pattern: Pattern) -> list[str]:
    """Bold-label fields, named as the SCMS starter kit names them (`Use Count`, `Promoted`)."""
    uses = f"{pattern.accepted_uses} accepted use{'' if pattern.accepted_uses == 1 else 's'}"
    lines = [f"- **Kind:** {KIND_LABELS[pattern.kind]}",
             f"- **Applies to:** {applies_to(pattern)}",
             f"- **Use Count:** {uses}"]
    if pattern.promoted:
        lines.append(f"- **Promoted:** {pattern.promoted.date().isoformat()}")
    return lines


def note_lines(pattern: Pattern) -> list[str]:
    """The note; for failures and anti-patterns its symptom, root cause and fix under those names, or the note
    whole as the lesson when it does not name them."""
    note = pattern.body.replace("\r\n", "\n").strip("\n")
    if not note.strip():
        return []
    if pattern.kind not in (Kind.FAILURE, Kind.ANTI_PATTERN):
        return [note, ""]
    parts = lesson.split(note)
    if parts is None:
        return [f"**Lesson:** {note}", ""]
    lines = [parts.preamble, ""] if parts.preamble.strip() else []
    for key, label in lesson.LABELS.items():
        if key in parts.parts:
            lines += [f"**{label}:** {parts.parts[key]}", ""]
    return lines


def snippet_lines(pattern: Pattern) -> list[str]:
    code = pattern.snippet.replace("\r\n", "\n").strip("\n")
    if not code.strip():
        return []
    fence = fence_for(code)
    label = "**Don't write this:**" if pattern.kind == Kind.ANTI_PATTERN else "**Code:**"
    return [label, "", f"{fence}{scope.fence_language(pattern)}", code, fence, ""]


def evidence_lines(pattern: Pattern) -> list[str]:
    if not pattern.evidence:
        return []
    lines = ["**Evidence:**", ""]
    stale = set(pattern.stale)
    for e in sorted(pattern.evidence, key=lambda e: (e.file, e.start_line, e.end_line, e.commit or "")):
        span = f"line {e.start_line}" if e.start_line == e.end_line else f"lines {e.start_line}-{e.end_line}"
        commit = f" (commit {e.commit[:12]})" if e.commit else ""
        changed = " (stale: this code has changed or gone since)" if e in stale else ""
        lines.append(f"- `{one_line(e.file)}` {span}{commit}{changed}")
    return lines + [""]


def render(pattern: Pattern, level: int) -> list[str]:
    """The rule's lines, its title a heading of `level`, ending in one blank line."""
    return [f"{'#' * level} {one_line(pattern.title) or pattern.id}", id_comment(pattern), "", *facts(pattern), "",
            *note_lines(pattern), *snippet_lines(pattern), *evidence_lines(pattern)]
