"""The facade's half that makes suggestions by itself: patterns that recall strongly for the code being edited,
earlier failures and anti-patterns that code matches, and (with `discover/`) shapes the code keeps repeating.

A base class of `scms.memory.Memory`, like `sharing.py`: it works on the facade's own operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scms.export.lesson import split
from scms.model import Kind, Pattern, Tier
from scms.recall.ranking import Recalled
from scms.store.source import CodeRange

LESSONS = (Kind.FAILURE, Kind.ANTI_PATTERN)
MAX_UNITS = 400  # units of one document looked at for failures (a lexical recall each: ~1-3 ms)


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


class Suggesting:
    """Hints for a document (see the module docstring)."""

    def context_at(self, path: Path, text: str, line: int) -> CodeRange | None:  # the facade's
        raise NotImplementedError

    def recall(self, text: str, **kwargs: Any) -> list[Recalled]:  # the facade's
        raise NotImplementedError

    def hints(self, path: Path, text: str, edited: list[int] | None = None) -> list[Hint]:
        """The hints for a document: for the units around the `edited` 0-based lines, the patterns that recall
        strongly; for every unit (the edited ones when given), the failures and anti-patterns it matches. Never
        a pattern on its own evidence, never one rejected here; at most `suggestions.maxHints`, strongest first."""
        settings = self._ws.settings.suggestions  # type: ignore[attr-defined]
        found: list[Hint] = []
        units = self._units(path, text, edited)
        if settings.failures:
            for unit in units:
                found += self._failures(unit, settings.failure_threshold)
        if settings.recalled and edited is not None:
            for unit in units:
                found += self._recalled(unit, settings.recall_threshold)
        best: dict[tuple[int, str | None], Hint] = {}
        for hint in sorted(found, key=lambda h: (h.kind != "failure", -h.score)):
            best.setdefault((hint.unit.evidence.start_line, hint.pattern.id if hint.pattern else None), hint)
        return list(best.values())[:settings.max_hints]

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
