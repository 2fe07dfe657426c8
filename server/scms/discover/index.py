"""Where each shape occurs: occurrences by shape hash and by file, safe to update from a background scan and
from document edits at once.

Re-analysing a file replaces all of its occurrences, and the newest analysis wins: every analysis takes a
ticket (`ShapeIndex.ticket()`) before it reads or parses, and a result whose ticket is older than the one
already recorded for that file is dropped. An analysis from the editor (a document's own text) is never
replaced by one read from disk by the scan, which may be older than what the user sees.

A shape is *repeated* when it occurs in at least `min_occurrences` distinct places (file and start line) in
at least `min_files` files.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from scms.discover.shapes import Unit


@dataclass(frozen=True)
class Occurrence:
    """One place where a shape occurs."""

    file: str  # workspace-relative, forward slashes
    start_line: int  # 1-based, inclusive
    end_line: int
    shape_hash: str
    content_hash: str
    kind: str
    name: str
    calls: tuple[str, ...]
    tokens: int
    language: str

    @classmethod
    def of(cls, file: str, unit: Unit, language: str) -> Occurrence:
        return cls(file=file, start_line=unit.start_line, end_line=unit.end_line, shape_hash=unit.shape_hash,
                   content_hash=unit.content_hash, kind=unit.kind, name=unit.name, calls=unit.calls,
                   tokens=unit.tokens, language=language)

    def inside(self, other: Occurrence) -> bool:
        """Strictly within the lines of `other`, in the same file."""
        return (self.file == other.file and other.start_line <= self.start_line and self.end_line <= other.end_line
                and (self.start_line, self.end_line) != (other.start_line, other.end_line))


@dataclass
class _Entry:
    ticket: int
    editor: bool
    occurrences: list[Occurrence]  # by start line


class ShapeIndex:
    """Occurrences of shapes in the workspace's files and in the documents being edited."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._files: dict[str, _Entry] = {}
        self._shapes: dict[str, dict[tuple[str, int], Occurrence]] = {}
        self._multiple: set[str] = set()  # shapes with two places or more: the only ones that can repeat
        self._tickets = itertools.count(1)
        self.version = 0  # bumped by every change, so callers can cache what they derive

    def ticket(self) -> int:
        """A number for an analysis about to start; later analyses get larger ones."""
        with self._lock:
            return next(self._tickets)

    def replace(self, file: str, occurrences: Iterable[Occurrence], ticket: int, *, editor: bool = False) -> bool:
        """Make `occurrences` the file's whole set; False (and nothing changed) when a newer analysis of the
        file is already recorded, or when this one was read from disk and the editor's is recorded."""
        found = sorted(occurrences, key=lambda o: (o.start_line, -o.end_line))
        with self._lock:
            current = self._files.get(file)
            if current is not None and (ticket < current.ticket or (current.editor and not editor)):
                return False
            self._drop(file)
            self._files[file] = _Entry(ticket, editor, found)
            for occurrence in found:
                places = self._shapes.setdefault(occurrence.shape_hash, {})
                places[(file, occurrence.start_line)] = occurrence
                if len(places) > 1:
                    self._multiple.add(occurrence.shape_hash)
            self.version += 1
            return True

    def remove(self, file: str) -> None:
        """Forget a file (deleted, or now excluded)."""
        with self._lock:
            if self._drop(file):
                del self._files[file]
                self.version += 1

    def _drop(self, file: str) -> bool:
        entry = self._files.get(file)
        if entry is None:
            return False
        for occurrence in entry.occurrences:
            places = self._shapes.get(occurrence.shape_hash)
            if places is None:
                continue
            places.pop((file, occurrence.start_line), None)
            if len(places) < 2:
                self._multiple.discard(occurrence.shape_hash)
            if not places:
                del self._shapes[occurrence.shape_hash]
        return True

    def release(self, file: str) -> None:
        """The editor let go of the file: a later analysis from disk may replace this one."""
        with self._lock:
            entry = self._files.get(file)
            if entry is not None:
                entry.editor = False

    def editor_owns(self, file: str) -> bool:
        with self._lock:
            entry = self._files.get(file)
            return entry is not None and entry.editor

    def occurrences(self, shape: str) -> list[Occurrence]:
        """Every place of a shape, by file and line."""
        with self._lock:
            places = list(self._shapes.get(shape, {}).values())
        return sorted(places, key=lambda o: (o.file, o.start_line))

    def count(self, shape: str) -> int:
        with self._lock:
            return len(self._shapes.get(shape, ()))

    def file_count(self, shape: str) -> int:
        with self._lock:
            return len({file for file, _ in self._shapes.get(shape, {})})

    def is_repeated(self, shape: str, min_occurrences: int, min_files: int = 1) -> bool:
        with self._lock:
            places = self._shapes.get(shape, {})
            if len(places) < min_occurrences:
                return False
            return min_files <= 1 or len({file for file, _ in places}) >= min_files

    def repeated(self, min_occurrences: int = 3, min_files: int = 1) -> dict[str, list[Occurrence]]:
        """Shapes seen in at least `min_occurrences` distinct places of at least `min_files` files, each
        with its occurrences by file and line."""
        with self._lock:
            shapes = [s for s in self._multiple if self.is_repeated(s, min_occurrences, min_files)]
            return {s: self.occurrences(s) for s in shapes}

    def in_file(self, file: str) -> list[Occurrence]:
        """The file's occurrences (every unit it has), by start line."""
        with self._lock:
            entry = self._files.get(file)
            return list(entry.occurrences) if entry else []

    def repeated_in(self, file: str, min_occurrences: int = 3, min_files: int = 1,
                    dismissed: frozenset[str] | set[str] = frozenset()) -> list[Occurrence]:
        """The file's occurrences of repeated shapes that are not dismissed, by start line."""
        return [o for o in self.in_file(file) if o.shape_hash not in dismissed
                and self.is_repeated(o.shape_hash, min_occurrences, min_files)]

    def containing(self, occurrence: Occurrence) -> list[Occurrence]:
        """The units of the same file whose lines hold this one."""
        return [o for o in self.in_file(occurrence.file) if occurrence.inside(o)]

    def stats(self) -> tuple[int, int, int]:
        """Files, units, distinct shapes."""
        with self._lock:
            return len(self._files), sum(len(e.occurrences) for e in self._files.values()), len(self._shapes)

    def files(self) -> list[str]:
        with self._lock:
            return sorted(self._files)
