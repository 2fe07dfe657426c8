"""The facade's half that makes suggestions by itself: patterns that recall strongly for the code being edited,
earlier failures and anti-patterns that code matches, and (with `discover/`) shapes the code keeps repeating.

A base class of `scms.memory.Memory`, like `sharing.py`: it works on the facade's own operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import os
import threading
from collections.abc import Callable

from scms.errors import InvalidInput, NotFound, ScmsError
from scms.export.lesson import split
from scms.model import Evidence, Kind, Pattern, Tier
from scms.recall.ranking import Recalled
from scms.store import lifecycle, queries
from scms.store.source import CodeRange, code_of_lines
from scms.text import lines_of

LESSONS = (Kind.FAILURE, Kind.ANTI_PATTERN)
MAX_UNITS = 400  # units of one document looked at for failures (a lexical recall each: ~1-3 ms)
MAX_PLACES_SHOWN = 20  # a repeated shape's other places listed with its hint


@dataclass
class Hint:
    """One suggestion for a code unit: `recalled` (accept or reject it here), `failure` (an earlier failure or
    anti-pattern this code matches), or `shape` (code repeated in several places, not a pattern yet)."""

    kind: str
    unit: CodeRange
    message: str
    pattern: Pattern | None = None
    score: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    elsewhere: list[tuple[Path, int, int]] = field(default_factory=list)  # a shape's other places (1-based lines)


class Suggesting:
    """Hints for a document (see the module docstring)."""

    _discovery: Any = None  # scms.discover.Discovery, made on first use
    _discovery_lock = threading.Lock()
    _lessons_seen: tuple[bool, int] = (False, 0)  # (a lesson was found, the newest pattern event looked at)
    _scan_cancel: threading.Event | None = None

    def context_at(self, path: Path, text: str, line: int) -> CodeRange | None:  # the facade's
        raise NotImplementedError

    def recall(self, text: str, **kwargs: Any) -> list[Recalled]:  # the facade's
        raise NotImplementedError

    def code_from_file(self, file: str | Path, start_line: int, end_line: int) -> CodeRange:  # the facade's
        raise NotImplementedError

    def hints(self, path: Path, text: str, edited: list[int] | None = None, whole: bool = False) -> list[Hint]:
        """The hints for a document: for the units around the `edited` 0-based lines, the patterns that recall
        strongly; for every unit (the edited ones only when given and not `whole`), the failures and
        anti-patterns it matches. Never a pattern on its own evidence, never one rejected here; at most
        `suggestions.maxHints`, strongest first."""
        settings = self._ws.settings.suggestions  # type: ignore[attr-defined]
        found: list[Hint] = []
        units = self._units(path, text, None if whole else edited)
        if settings.failures and self._lessons_exist():
            for unit in units:
                found += self._failures(unit, settings.failure_threshold)
        if settings.recalled and edited:
            for unit in (self._units(path, text, edited) if whole else units):
                found += self._recalled(unit, settings.recall_threshold)
        shapes = self._shapes(path, text)
        best: dict[tuple[int, str | None], Hint] = {}
        for hint in sorted(found, key=lambda h: (h.kind != "failure", -h.score)):
            best.setdefault((hint.unit.evidence.start_line, hint.pattern.id if hint.pattern else None), hint)
        return (list(best.values()) + shapes)[:settings.max_hints]

    # discovery: shapes the workspace repeats

    def discovery(self) -> Any:
        """The workspace's repeated shapes (scms.discover.Discovery), set up from the settings on first use."""
        with self._discovery_lock:
            if self._discovery is None:
                from scms.discover.discovery import Discovery

                d = self._ws.settings.discovery  # type: ignore[attr-defined]
                self._discovery = Discovery(self._ws.root, min_occurrences=d.min_occurrences,  # type: ignore
                                            max_hints=d.max_hints, max_shapes=d.max_shapes, exclude=d.exclude,
                                            max_files=d.max_files,
                                            max_bytes=min(self._ws.settings.max_file_bytes, 1_000_000))  # type: ignore
                self._scan_cancel = threading.Event()
            return self._discovery

    def scan_workspace(self, report: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Mine the workspace's files once for repeated shapes (seconds on a large project: a background
        thread); what it read, skipped and took. Stops early when the memory closes."""
        from scms.background import background_priority

        background_priority()
        discovery = self.discovery()
        summary = discovery.scan_workspace(report, cancel=self._scan_cancel.is_set)  # type: ignore[union-attr]
        return {"files": summary.files, "mined": summary.mined, "units": summary.units, "via": summary.via,
                "skipped": dict(summary.skipped), "leftOut": summary.left_out,
                "seconds": round(summary.seconds, 2), "cancelled": summary.cancelled}

    def document_changed(self, path: Path, text: str) -> list[Path]:
        """The discovery index follows a document's new text; the files whose shape hints may have changed."""
        if not self._ws.settings.discovery.enabled:  # type: ignore[attr-defined]
            return []
        return [self._ws.root / f for f in sorted(self.discovery().document_changed(path, text))]  # type: ignore

    def document_closed(self, path: Path) -> None:
        if self._discovery is not None:
            self._discovery.document_closed(path)

    def save_shape(self, shape: str, title: str | None = None, note: str = "") -> Pattern:
        """A discovered shape as a new candidate: the code of its first place, every place as evidence; it is
        not suggested again."""
        discovery = self.discovery()
        places = discovery.occurrences(shape)
        if not places:
            raise NotFound(f"no repeated code with shape {shape!r} (it changed, or the scan has not seen it)",
                           field="shape")
        first = places[0]
        code = self.code_from_file(self._ws.root / first.file, first.start_line, first.end_line)  # type: ignore
        others = [Evidence(file=o.file, start_line=o.start_line, end_line=o.end_line, content_hash=o.content_hash)
                  for o in places[1:]]
        pattern = lifecycle.remember(self._ws, code, title=title or discovery.title(shape), note=note,
                                     also_seen=others)
        discovery.dismiss(shape, f"saved as pattern {pattern.id}")
        return pattern

    def dismiss_shape(self, shape: str) -> bool:
        """Never suggest this shape again (kept in `.scms/discovery/dismissed.txt`); False if it already was."""
        if len(shape.strip()) != 12 or not all(c in "0123456789abcdef" for c in shape.strip().lower()):
            raise InvalidInput("shape must be the hash of a discovered shape (12 hexadecimal digits)", field="shape")
        return bool(self.discovery().dismiss(shape))

    def _shapes(self, path: Path, text: str) -> list[Hint]:
        if not self._ws.settings.discovery.enabled or self._discovery is None:  # type: ignore[attr-defined]
            return []
        try:
            relative = Path(os.path.relpath(path, self._ws.root)).as_posix()
        except ValueError:
            return []
        lines = lines_of(text)
        hints = []
        for found in self._discovery.suggestions(relative):
            place = found.occurrence
            try:
                unit = code_of_lines(self._ws.root, path, lines[place.start_line - 1:place.end_line],
                                     place.start_line, commit=False)
            except (ScmsError, IndexError):
                continue
            count, files = len(found.occurrences), found.files
            where = f"{count} places" + (f" in {files} files" if files > 1 else " in this file")
            others = [o for o in found.occurrences if (o.file, o.start_line) != (place.file, place.start_line)]
            hints.append(Hint("shape", unit, f"SCMS: code like this repeats in {where}: save it as a pattern?",
                              None, float(count), {"shape": found.shape_hash, "title": found.title,
                                                   "count": count},
                              [(self._ws.root / o.file, o.start_line, o.end_line)  # type: ignore[attr-defined]
                               for o in others[:MAX_PLACES_SHOWN]]))
        return hints

    def _units(self, path: Path, text: str, edited: list[int] | None) -> list[CodeRange]:
        """The code units at these lines, or all of the document's (each once, in order)."""
        lines = range(text.count("\n") + 1) if edited is None else sorted(set(edited))
        units: dict[int, CodeRange] = {}
        skip_to = -1
        for line in lines:
            if line <= skip_to:
                continue
            unit = self.context_at(path, text, line)
            if unit is None:
                continue
            units.setdefault(unit.evidence.start_line, unit)
            if edited is None:
                skip_to = unit.evidence.end_line - 1
            if len(units) >= MAX_UNITS:
                break
        return list(units.values())

    def _lessons_exist(self) -> bool:
        """Whether the store holds a failure or anti-pattern (else no unit is recalled against them): once one
        was seen this stays true; until then only patterns changed since the last look are read."""
        seen = self._lessons_seen
        if seen[0]:
            return True
        with self._ws.db.read() as conn:  # type: ignore[attr-defined]
            newest = queries.newest_pattern_event(conn)
            found = newest > seen[1] and queries.lesson_changed_after(conn, seen[1])
        self._lessons_seen = (found, newest)
        return found

    def _failures(self, unit: CodeRange, threshold: float) -> list[Hint]:
        recalled = self.recall(unit.text, context_hash=unit.evidence.content_hash, limit=5, mode="lexical",
                               threshold=threshold)
        hints = []
        for item in recalled:
            p = item.pattern
            if p.kind not in LESSONS or _own(p, unit):
                continue
            lesson = split(p.body) if p.body else None
            fix = " ".join(lesson.parts.get("fix", "").split()) if lesson else ""
            what = "an earlier failure" if p.kind is Kind.FAILURE else "an anti-pattern"
            message = f"SCMS: this looks like {what}: “{p.title}”." + (f" Fix: {fix[:300]}" if fix else "")
            hints.append(Hint("failure", unit, message, p, item.similarity))
        return hints

    def _recalled(self, unit: CodeRange, threshold: float) -> list[Hint]:
        recalled = self.recall(unit.text, context_hash=unit.evidence.content_hash, limit=3, threshold=threshold)
        hints = []
        for item in recalled:
            p = item.pattern
            if p.kind in LESSONS or _own(p, unit) or item.similarity < threshold:
                continue
            tier = "validated" if p.tier is Tier.VALIDATED else "candidate"
            uses = f"{p.accepted_uses} accepted use" + ("" if p.accepted_uses == 1 else "s")
            hints.append(Hint("recalled", unit, f"SCMS: “{p.title}” ({tier}, {uses}) applies here: accept it, "
                                                f"or reject it here (quick fixes)", p, item.similarity))
        return hints


def _own(pattern: Pattern, unit: CodeRange) -> bool:
    """The unit is code the pattern already has as evidence (the same text, or lines overlapping a cited range
    of the same file): never suggested there."""
    here = unit.evidence
    return any(e.content_hash == here.content_hash
               or (e.file == here.file and e.start_line <= here.end_line and here.start_line <= e.end_line)
               for e in pattern.evidence)
