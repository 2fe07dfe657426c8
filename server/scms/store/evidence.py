"""Whether the code a pattern cites is still there (its lines re-read, re-hashed), and re-anchoring a pattern to
where its code is now: the check Copilot Memory makes before it uses a memory."""

from __future__ import annotations

import difflib
import threading
from collections import OrderedDict
from pathlib import Path

from scms.errors import ScmsError
from scms.model import Evidence, Pattern
from scms.store.source import code_of_lines, read_text
from scms.text import lines_of

FILES = 256  # files whose lines are kept between checks (by modification time and size)
SIMILAR = 0.6  # how alike (difflib ratio) changed code must stay to be re-anchored to


class EvidenceCheck:
    """Checks evidence against the workspace's files; safe from any thread."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lines: OrderedDict[str, tuple[tuple[int, int], list[str] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def lines(self, file: str) -> list[str] | None:
        """The lines of a workspace file (None: gone, unreadable or not text), re-read only when it changed."""
        path = self.root / file
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            return None
        with self._lock:
            cached = self._lines.get(file)
            if cached is not None and cached[0] == stamp:
                self._lines.move_to_end(file)
                return cached[1]
        try:
            lines: list[str] | None = lines_of(read_text(path, self.max_bytes))
        except ScmsError:
            lines = None
        with self._lock:
            self._lines[file] = (stamp, lines)
            while len(self._lines) > FILES:
                self._lines.popitem(last=False)
        return lines

    def holds(self, evidence: Evidence) -> bool:
        """Whether the file still has this code at these lines."""
        lines = self.lines(evidence.file)
        if lines is None or evidence.end_line > len(lines):
            return False
        return self._hash(lines, evidence.start_line, evidence.end_line) == evidence.content_hash

    def stale(self, pattern: Pattern) -> list[Evidence]:
        """The evidence whose code has changed or gone."""
        return [e for e in pattern.evidence if not self.holds(e)]

    def reanchored(self, pattern: Pattern) -> tuple[list[Evidence], str | None]:
        """The pattern's evidence pointed at where its code is now: code that moved is found by its hash, the
        snippet's own code (the first evidence) by similarity when it changed; what cannot be found is dropped.
        Also the snippet's new text, when its code changed. Nothing found at all: an empty list."""
        kept: list[Evidence] = []
        snippet: str | None = None
        for number, evidence in enumerate(pattern.evidence):
            if self.holds(evidence):
                kept.append(evidence)
                continue
            lines = self.lines(evidence.file)
            if lines is None:
                continue
            moved = self._find(lines, evidence)
            if moved is not None:
                kept.append(moved)
            elif number == 0 and pattern.snippet:
                found = self._similar(lines, evidence, pattern.snippet)
                if found is not None:
                    kept.append(found[0])
                    snippet = found[1]
        return list(dict.fromkeys(kept)), snippet

    def _hash(self, lines: list[str], start: int, end: int) -> str | None:
        try:
            return code_of_lines(self.root, self.root / "x", lines[start - 1:end], start, commit=False) \
                .evidence.content_hash
        except ScmsError:  # blank lines
            return None

    def _find(self, lines: list[str], evidence: Evidence) -> Evidence | None:
        """The same code (by hash) at other lines of the file, nearest the old place first."""
        length = evidence.end_line - evidence.start_line + 1
        starts = sorted(range(1, len(lines) - length + 2), key=lambda s: abs(s - evidence.start_line))
        for start in starts:
            if self._hash(lines, start, start + length - 1) == evidence.content_hash:
                return evidence.model_copy(update={"start_line": start, "end_line": start + length - 1})
        return None

    def _similar(self, lines: list[str], evidence: Evidence, snippet: str) -> tuple[Evidence, str] | None:
        """The stretch of the file most like the snippet (same length, ±5 lines), if alike enough."""
        wanted = [line.strip() for line in snippet.splitlines()]
        best: tuple[float, int, int] | None = None
        for length in range(max(1, len(wanted) - 5), len(wanted) + 6):
            for start in range(1, len(lines) - length + 2):
                window = [line.strip() for line in lines[start - 1:start - 1 + length]]
                matcher = difflib.SequenceMatcher(None, wanted, window, autojunk=False)
                if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
                    continue
                ratio = matcher.ratio()
                if ratio >= SIMILAR and (best is None or ratio > best[0]):
                    best = (ratio, start, start + length - 1)
        if best is None:
            return None
        code = code_of_lines(self.root, self.root / evidence.file, lines[best[1] - 1:best[2]], best[1])
        return code.evidence, code.text
