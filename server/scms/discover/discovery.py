"""Discovery: shapes that repeat across the workspace and the documents being edited, suggested as candidate
patterns, a few at a time.

`Discovery` keeps a `ShapeIndex` of every unit of the workspace's minable files (filled by `scan_workspace`,
run once in the background) and of the documents the editor reports (`document_changed`, on each save; the
caller runs it off the event loop). A shape is suggested when it occurs in at least `min_occurrences`
places, is not dismissed, is not merely the inside of a larger repeated shape at every one of its places,
and ranks among the workspace's `max_shapes` most repeated; a file shows at most `max_hints` of them, most
repeated first, never one inside another. A dismissed shape (`dismiss`) is never suggested again: the
dismissal lives in `.scms/discovery/dismissed.txt`.

A document that changes faster than it can be analysed is analysed for its latest text only: while one
analysis of a file runs, newer texts replace each other in a slot of one, and the running analysis takes the
newest when it is done; no backlog builds up.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from scms.discover.dismissed import Dismissed
from scms.discover.index import Occurrence, ShapeIndex
from scms.discover.scan import DEFAULT_EXCLUDE, MAX_FILES, Listing, Mined, Rules, mine, scan
from scms.discover.shapes import MIN_LINES, MIN_TOKENS
from scms.recall.syntax import MAX_PARSE_BYTES, Syntax
from scms.text import subwords

MIN_OCCURRENCES = 3
MAX_HINTS = 3  # suggestions shown in one file
MAX_SHAPES = 20  # shapes suggested across the workspace at once; the next ones come up as these are dismissed
DISMISSED = PurePath(".scms", "discovery", "dismissed.txt")

_KINDS = {
    "function_definition": "function", "function_declaration": "function", "function_item": "function",
    "function_expression": "function", "arrow_function": "function", "generator_function_declaration": "function",
    "generator_function": "function", "func_literal": "function", "function": "function",
    "method_definition": "method", "method_declaration": "method", "constructor_declaration": "constructor",
    "for_statement": "loop", "for_in_statement": "loop", "while_statement": "loop", "do_statement": "loop",
    "enhanced_for_statement": "loop", "for_expression": "loop", "while_expression": "loop",
    "loop_expression": "loop", "if_statement": "check", "if_expression": "check", "try_statement": "try block",
    "try_with_resources_statement": "try-with-resources block", "with_statement": "`with` block",
    "switch_statement": "switch", "expression_switch_statement": "switch", "type_switch_statement": "type switch",
    "switch_expression": "switch", "select_statement": "select", "match_statement": "match",
    "match_expression": "match", "synchronized_statement": "synchronized block",
}
_DULL_WORDS = {"get", "set", "self", "cls", "init", "new", "the", "of", "to", "a", "an", "and", "or", "is", "from", "for",
               "with", "by", "in", "on", "at", "as"}


@dataclass(frozen=True)
class Suggestion:
    """A candidate pattern at one place of a file, with all its evidence."""

    shape_hash: str
    title: str
    occurrence: Occurrence  # the place in the file asked about
    occurrences: list[Occurrence]  # every place, by file and line (the candidate's evidence)

    @property
    def files(self) -> int:
        return len({o.file for o in self.occurrences})


@dataclass(frozen=True)
class Candidate:
    """A shape the workspace would suggest, ranked."""

    shape_hash: str
    title: str
    occurrences: list[Occurrence]


@dataclass
class ScanSummary:
    files: int = 0  # files listed for mining
    mined: int = 0  # files read and parsed
    units: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> files
    left_out: int = 0  # minable files past max_files
    via: str = ""
    seconds: float = 0.0
    cancelled: bool = False


class Discovery:
    """Repeated shapes of one workspace, suggested as candidate patterns."""

    def __init__(self, root: Path, *, syntax: Syntax | None = None, min_occurrences: int = MIN_OCCURRENCES,
                 min_files: int = 1, max_hints: int = MAX_HINTS, max_shapes: int = MAX_SHAPES,
                 exclude: Iterable[str] = DEFAULT_EXCLUDE, max_files: int = MAX_FILES,
                 max_bytes: int = MAX_PARSE_BYTES, min_tokens: int = MIN_TOKENS, min_lines: int = MIN_LINES,
                 keep_calls: bool = False, dismissed: Path | None = None) -> None:
        self.root = Path(os.path.abspath(root))
        self.syntax = syntax or Syntax()
        self.min_occurrences = max(2, min_occurrences)
        self.min_files = max(1, min_files)
        self.max_hints = max_hints
        self.max_shapes = max_shapes
        self.exclude = tuple(exclude)
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.shape_options = {"min_tokens": min_tokens, "min_lines": min_lines, "keep_calls": keep_calls}
        self.index = ShapeIndex()
        self.dismissed = Dismissed(dismissed or self.root / DISMISSED)
        self._rules = Rules(self.root, self.exclude)
        self._listed: set[str] = set()
        self._allowed: dict[str, bool] = {}  # files outside the last listing, by whether they may be mined
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}  # file -> the newest text not yet analysed
        self._running: set[str] = set()
        self._ranked: tuple[tuple[int, frozenset[str]], list[str]] | None = None  # cache key, ranked shapes

    # --- filling the index ---

    def scan_workspace(self, report: Callable[[int, int], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> ScanSummary:
        """Mine every minable file of the workspace once (documents the editor reported are left as the
        editor has them); files no longer minable are forgotten. Safe to run while documents change."""
        started = time.perf_counter()
        listing: Listing = self._rules.listing(self.max_files)
        with self._lock:
            self._listed = set(listing.files)
            self._allowed.clear()
        summary = ScanSummary(files=len(listing.files), left_out=listing.left_out, via=listing.via)
        summary.skipped.update(listing.skipped)
        finished = True
        for mined in scan(self.root, self.syntax, listing=listing, max_bytes=self.max_bytes, report=report,
                          cancel=cancel, skip=self.index.editor_owns, ticket=self.index.ticket,
                          **self.shape_options):  # type: ignore[arg-type]
            self._record(mined, editor=False)
            if mined.skipped:
                summary.skipped[mined.skipped] += 1
            else:
                summary.mined += 1
                summary.units += len(mined.units)
        if cancel is not None and cancel():
            finished = False
        if finished:
            for file in self.index.files():
                if file not in self._listed and not self.index.editor_owns(file):
                    self.index.remove(file)
        summary.cancelled = not finished
        summary.seconds = time.perf_counter() - started
        return summary

    def document_changed(self, file: str | Path, text: str) -> set[str]:
        """Analyse a document's text (on save; cheap, but call it off the event loop). Returns the files whose
        suggestions may have changed (this one and the other places of shapes it gained or lost); an empty
        set when the document is not minable or a call already running for it takes this text over."""
        relative = self._relative(file)
        if relative is None:
            return set()
        with self._lock:
            self._pending[relative] = text
            if relative in self._running:
                return set()  # the running analysis takes the newest text when it is done
            self._running.add(relative)
        changed: set[str] = set()
        try:
            while True:
                with self._lock:
                    item = self._pending.pop(relative, None)
                    if item is None:
                        self._running.discard(relative)
                        return changed
                changed |= self._analyse(relative, item)
        except BaseException:
            with self._lock:
                self._running.discard(relative)
                self._pending.pop(relative, None)
            raise

    def document_removed(self, file: str | Path) -> set[str]:
        """A file deleted (or renamed away): its occurrences go. Returns the files whose suggestions may change."""
        relative = self._relative(file)
        if relative is None:
            return set()
        before = self.index.in_file(relative)
        self.index.remove(relative)
        with self._lock:
            self._listed.discard(relative)
            self._allowed.pop(relative, None)
        return self._touched(relative, before)

    def document_closed(self, file: str | Path) -> None:
        """The editor no longer holds the document: the next scan reads it from disk again."""
        relative = self._relative(file)
        if relative is not None:
            self.index.release(relative)

    def _analyse(self, relative: str, text: str) -> set[str]:
        ticket = self.index.ticket()
        before = self.index.in_file(relative)
        if not self._minable(relative):
            if before:
                self.index.remove(relative)
            return self._touched(relative, before) if before else set()
        mined = mine(self.root, relative, self.syntax, self.max_bytes, text=text, ticket=ticket,
                     **self.shape_options)  # type: ignore[arg-type]
        if not self._record(mined, editor=True):
            return set()
        return self._touched(relative, before)

    def _record(self, mined: Mined, *, editor: bool) -> bool:
        language = mined.language or ""
        occurrences = [Occurrence.of(mined.file, unit, language) for unit in mined.units]
        return self.index.replace(mined.file, occurrences, mined.ticket, editor=editor)

    def _touched(self, relative: str, before: list[Occurrence]) -> set[str]:
        """This file, and the other places of the shapes whose places in it changed (gained, lost or moved):
        re-analysing text whose shapes stayed where they were touches no other file (else two open files that
        share a shape would make each other look again, forever)."""
        def places(occurrences: list[Occurrence]) -> set[tuple[str, int, int]]:
            return {(o.shape_hash, o.start_line, o.end_line) for o in occurrences}

        shapes = {shape for shape, _, _ in places(before) ^ places(self.index.in_file(relative))}
        files = {relative}
        for shape in shapes:
            if self.index.count(shape) + 1 >= self.min_occurrences:  # it is, or just was, repeated
                files |= {o.file for o in self.index.occurrences(shape)}
        return files

    def _relative(self, file: str | Path) -> str | None:
        path = Path(os.path.abspath(self.root / file))
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return None  # outside the workspace
        return relative if relative != "." else None

    def _minable(self, relative: str) -> bool:
        """May a document be mined: by the rules the scan uses (cached; a listed file already passed)."""
        with self._lock:
            if relative in self._listed:
                return True
            known = self._allowed.get(relative)
        if known is None:
            known = self._rules.reason(relative) is None and not self._rules.ignored(relative)
            with self._lock:
                self._allowed[relative] = known
        return known

    # --- suggestions ---

    def suggestions(self, file: str | Path) -> list[Suggestion]:
        """The candidates to show in a file: at most `max_hints`, most repeated first, one per shape (at its
        first place in the file), none inside another; in the order of their lines."""
        relative = self._relative(file)
        if relative is None or self.max_hints <= 0:
            return []
        rank = {shape: number for number, shape in enumerate(self._ranked_shapes())}
        mine_here = sorted((o for o in self.index.in_file(relative) if o.shape_hash in rank),
                           key=lambda o: (rank[o.shape_hash], o.start_line))
        chosen: list[Occurrence] = []
        for occurrence in mine_here:
            if any(occurrence.shape_hash == other.shape_hash or occurrence.inside(other) or other.inside(occurrence)
                   for other in chosen):
                continue  # one hint per shape in a file (its evidence lists the others), none nested
            chosen.append(occurrence)
            if len(chosen) >= self.max_hints:
                break
        return [Suggestion(o.shape_hash, self.title(o.shape_hash), o, self.index.occurrences(o.shape_hash))
                for o in sorted(chosen, key=lambda o: o.start_line)]

    def candidates(self) -> list[Candidate]:
        """Every shape the workspace suggests now, most repeated first (at most `max_shapes`)."""
        return [Candidate(s, self.title(s), self.index.occurrences(s)) for s in self._ranked_shapes()]

    def occurrences(self, shape: str) -> list[Occurrence]:
        """Every place of a shape, by file and line: the evidence of a candidate saved as a pattern."""
        return self.index.occurrences(shape.lower())

    def dismiss(self, shape: str, title: str | None = None) -> bool:
        """Never suggest this shape again (False when it already was dismissed)."""
        shape = shape.strip().lower()
        return self.dismissed.add(shape, title if title is not None else self.title(shape))

    def _ranked_shapes(self) -> list[str]:
        """The shapes to suggest, best first: repeated, not dismissed, not only ever inside a larger repeated
        shape; by places, then files, then size. Cached until the index or the dismissed file changes."""
        dismissed = frozenset(self.dismissed.shapes())
        key = (self.index.version, dismissed)
        cached = self._ranked
        if cached is not None and cached[0] == key:
            return cached[1]
        repeated = self.index.repeated(self.min_occurrences, self.min_files)
        kept = [shape for shape, places in repeated.items()
                if shape not in dismissed and not self._covered(shape, places, repeated)]
        kept.sort(key=lambda s: (-len(repeated[s]), -len({o.file for o in repeated[s]}),
                                 -max(o.tokens for o in repeated[s]), s))
        ranked = kept[:self.max_shapes]
        self._ranked = (key, ranked)
        return ranked

    def _covered(self, shape: str, places: list[Occurrence], repeated: dict[str, list[Occurrence]]) -> bool:
        """Each place of this shape lies inside a place of another repeated shape (the larger one is the
        candidate; a dismissed larger one still covers it)."""
        for place in places:
            if not any(o.shape_hash != shape and o.shape_hash in repeated for o in self.index.containing(place)):
                return False
        return True

    # --- titles ---

    def title(self, shape: str) -> str:
        """A readable name for a shape: the calls its places share and what kind of code it is, then the
        words their enclosing functions' names share ("`isinstance` … `ValueError` try block (address
        validator)"); else the first line of its first place. Of many shared calls, the first two and
        the last are named."""
        places = self.index.occurrences(shape)
        if not places:
            return f"repeated shape {shape}"
        kind = _KINDS.get(places[0].kind, places[0].kind.replace("_", " "))
        calls = _shared([list(o.calls) for o in places], limit=12)
        if len(calls) > 3:
            calls = [calls[0], calls[1], calls[-1]]  # the first calls and the last: `open` … `read` … `close`
        words = _shared([[w for w in subwords(o.name) if w not in _DULL_WORDS] for o in places], limit=3)
        title = f"{' … '.join(f'`{c}`' for c in calls)} {kind}" if calls else f"repeated {kind}"
        if words:
            title += f" ({' '.join(words)})"
        else:  # nothing the names share: the first place's first line says what it is
            title += f": {self._first_line(places[0])}"
        return title

    def _first_line(self, place: Occurrence) -> str:
        try:
            with open(self.root / place.file, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if number == place.start_line:
                        line = line.strip()
                        return line if len(line) <= 60 else line[:57] + "..."
        except OSError:
            pass
        return f"{place.file}:{place.start_line}"


def _shared(lists: list[list[str]], limit: int) -> list[str]:
    """Items found in every list (or, failing that, in most of them), in the order of the first list that has
    them."""
    if not lists:
        return []
    counts = Counter(item for items in lists for item in set(items))
    order = dict.fromkeys(item for items in lists for item in items)
    for need in (len(lists), len(lists) // 2 + 1):
        shared = [item for item in order if counts[item] >= max(need, 2)]
        if shared:
            return shared[:limit]
    return []
