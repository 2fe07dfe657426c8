"""The one facade every front end calls: remember, accept, reject, promote, recall, … over one workspace's memory.

Front ends (`lsp/`, `cli.py`, `terminal.py`, later `mcp.py`) import this module, `model`, `config` and `errors`
only; the view types they handle (`CodeRange`, `Recalled`, `SyncReport`) are exported from here.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from scms.config import Settings
from scms.errors import InvalidInput, StoreError
from scms.model import Kind, Pattern, Tier
from scms.recall import ranking
from scms.background import background_priority
from scms.recall.engine import RecallEngine
from scms.sharing import Sharing
from scms.suggesting import Hint, Suggesting
from scms.upkeep import Upkeep
from scms.recall.ranking import Recalled
from scms.store import editing, lifecycle, queries
from scms.store.db import MARK as DAMAGED_MARK
from scms.store.evidence import EvidenceCheck
from scms.store.files import file_name
from scms.store.lifecycle import SyncReport
from scms.store.projection import now_utc
from scms.store.retention import retention
from scms.store.source import (CodeRange, code_of_lines, code_range, inside, language_of, read_range,
                               read_text)
from scms.store.workspace import Workspace, find_root
from scms.text import fence_for, lines_of, without_lone_surrogates

__all__ = ["CodeRange", "Hint", "Memory", "Recalled", "SyncReport", "fence_for", "find_root", "language_of", "lines_of",
           "read_code", "without_lone_surrogates"]

log = logging.getLogger("scms")
_T = TypeVar("_T")
RECALL_STATES = {"lexical": "lexical", "loading": "loading model", "ready": "embeddings",
                 "failed": "lexical (model failed)"}


def read_code(root: Path, file: str | Path, start_line: int, end_line: int,
              max_bytes: int = Settings().max_file_bytes) -> CodeRange:
    """Lines of a file inside the workspace at `root` (1-based, inclusive), checked, without opening the store."""
    return read_range(root, file, start_line, end_line, max_bytes)


class Memory(Sharing, Suggesting, Upkeep):
    """One workspace's pattern memory. Open it, call its operations, close it."""

    def __init__(self, workspace: Workspace, sync: SyncReport) -> None:
        self._ws = workspace
        self._last_sync = sync
        self._engine = RecallEngine(workspace)
        self._evidence = EvidenceCheck(workspace.root, workspace.settings.max_file_bytes)
        self._learning = None  # the memory model (scms.learn.service.ModelService) once embeddings are ready
        with workspace.db.read() as conn:
            self._followed = queries.newest_event(conn)  # the last event `follow_changes` has seen

    @classmethod
    def open(cls, root: Path, settings: Settings | None = None,
             clock: Callable[[], datetime] = now_utc) -> "Memory":
        """Open (creating `.scms/` if needed) and bring the store in line with the validated files."""
        for attempt in range(2):
            workspace = Workspace.open(root, settings, clock)
            try:
                sync = lifecycle.sync_files(workspace) if not workspace.db.read_only else SyncReport(warnings=[
                    f"{workspace.scms_dir} is read-only: the patterns are shown and recalled as stored; "
                    "nothing can be remembered, accepted or promoted until it is writable"])
            except StoreError:
                workspace.close()
                if attempt or not (workspace.scms_dir / DAMAGED_MARK).exists():
                    raise
                continue  # found damaged on its first read: the second open moves it aside and rebuilds
            except BaseException:
                workspace.close()
                raise
            return cls(workspace, sync)
        raise AssertionError("unreachable")

    @property
    def root(self) -> Path:
        return self._ws.root

    @property
    def store_path(self) -> Path:
        return self._ws.db.path

    @property
    def patterns_dir(self) -> Path:
        """Where the validated tier's files live (`.scms/patterns/`)."""
        return self._ws.patterns_dir

    @property
    def settings(self) -> Settings:
        return self._ws.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._ws.settings = value

    @property
    def problems(self) -> list[str]:
        """What opening the store found (a damaged store moved aside), and what the last look at the validated
        files found wrong (malformed files, files left pending)."""
        return list(self._ws.notices) + list(self._last_sync.warnings)

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        """Validated files git left with conflict markers at the last look: each file (its absolute path), the
        line of its first marker, and the pattern that keeps its last state until the merge is resolved."""
        return [{"path": str(c.path), "line": c.line, "patternId": c.pattern_id} for c in self._last_sync.conflicts]

    def close(self) -> None:
        """Stop the background work, save the model and the indexes (what cannot be saved is rebuilt or caught
        up at the next start), and close the store, whatever fails on the way."""
        self._engine.stop_embedding()  # a learner waiting for an embedding is let go at once
        if self._scan_cancel is not None:
            self._scan_cancel.set()  # a workspace scan stops after the file in hand
        try:
            if self._learning is not None:
                self._learning.close()
        finally:
            try:
                self._engine.close()
            finally:
                self._ws.close()

    # reading code

    def document_text(self, path: Path, buffer: str | None = None) -> str:
        """The text of a document: its editor buffer when given (unsaved edits included), else the file; checked
        for size and binary content either way."""
        limit = self.settings.max_file_bytes
        if buffer is not None:
            buffer = without_lone_surrogates(buffer)  # JSON can carry them; hashing and parsing cannot
            if len(buffer) > limit:
                raise InvalidInput(f"{path.name} is too large ({len(buffer):,} characters; the limit is "
                                   f"{limit:,})", field="uri")
            if "\x00" in buffer[:8192]:
                raise InvalidInput(f"{path.name} looks binary (it contains NUL characters)", field="uri")
            return buffer
        return read_text(path, limit)

    def code_from_file(self, file: str | Path, start_line: int, end_line: int) -> CodeRange:
        return read_range(self._ws.root, file, start_line, end_line, self.settings.max_file_bytes)

    def workspace_file(self, file: str | Path, field: str = "file") -> Path:
        """The absolute path of a file given relative to the workspace root (or absolute), refused outside it."""
        return inside(self._ws.root, file, field)

    def code_from_text(self, path: Path, text: str, start_line: int, end_line: int) -> CodeRange:
        """A range of an editor buffer, which may be unsaved."""
        return code_range(self._ws.root, path, text, start_line, end_line)

    def context_at(self, path: Path, text: str, line: int) -> CodeRange | None:
        """The code unit around a 0-based line of a buffer, as a range usable for accept and reject."""
        context = self._engine.context(path, text, line)
        if context is None:
            return None
        try:  # the unit's own text: no second split of the whole document on the hover path
            return code_of_lines(self._ws.root, path, context.unit.text.split("\n"), context.unit.start + 1,
                                 commit=False)
        except InvalidInput:
            return None  # a blank stretch of the file

    def prepare(self, path: Path, text: str, line: int) -> None:
        """Queue the unit around this line for embedding, so that the next hover there only looks up (slow
        when the document is large: call it off the event loop)."""
        if self._engine.state != "ready":
            return
        context = self._engine.context(path, text, line)
        if context is not None:
            self._engine.prepare([context.unit.text])

    # the lifecycle

    def remember(self, code: CodeRange, *, title: str | None = None, note: str = "",
                 kind: Kind = Kind.PATTERN, tags: list[str] | None = None) -> Pattern:
        title = without_lone_surrogates(title) if title is not None else None
        return lifecycle.remember(self._ws, code, title=title, note=without_lone_surrogates(note), kind=kind,
                                  tags=[without_lone_surrogates(t) for t in tags or []])

    def accept(self, pattern_id: str, code: CodeRange | None = None) -> Pattern:
        pattern = lifecycle.accept(self._ws, pattern_id, code)
        self._learn(pattern, code, positive=True)
        return pattern

    def counts_as_use(self, pattern_id: str, code: CodeRange | None) -> bool:
        """Whether accepting the pattern at this code would count: not at code it already has as evidence."""
        return code is None or lifecycle.counts_as_use(self.get(pattern_id), code)

    def update(self, pattern_id: str, *, title: str | None = None, note: str | None = None,
               kind: Kind | None = None, tags: list[str] | None = None) -> Pattern:
        """Edit the title, note, kind or tags (one event; a validated pattern's file and rule files follow)."""
        clean = without_lone_surrogates
        fields = {name: value for name, value in (("title", title and clean(title)), ("body", note and clean(note)),
                                                  ("kind", kind), ("tags", tags and [clean(t) for t in tags]))
                  if value is not None}
        before = self.get(pattern_id)
        after = editing.update(self._ws, pattern_id, fields)
        return self._follow(after) if before.tier is Tier.VALIDATED and after is not before else after

    def reanchor(self, pattern_id: str) -> Pattern:
        """Point the pattern's evidence at where its code is now (moved code by its hash, changed code by
        similarity); refused when none of it can be found (forget it instead)."""
        before = self.get(pattern_id)
        after = editing.reanchor(self._ws, pattern_id, self._evidence)
        return self._follow(after) if before.tier is Tier.VALIDATED and after is not before else after

    def checked(self, pattern: Pattern) -> Pattern:
        """The pattern with `stale` set: the evidence whose code has changed or gone since."""
        return pattern.model_copy(update={"stale": self._evidence.stale(pattern)})

    def reject(self, pattern_id: str, code: CodeRange | None = None, reason: str = "") -> Pattern:
        pattern = lifecycle.reject(self._ws, pattern_id, code, without_lone_surrogates(reason))
        self._learn(pattern, code, positive=False)
        return pattern

    def _learn(self, pattern: Pattern, code: CodeRange | None, positive: bool) -> None:
        """Hand a committed accept or reject in a context to the memory model's worker (it never blocks)."""
        if code is None or self._learning is None:
            return
        with self._ws.db.read() as conn:
            event_id = queries.last_event_of(conn, pattern.id)
        if event_id is not None:
            self._learning.submit(event_id, pattern.id, code.text, positive)

    def promote(self, pattern_id: str) -> Pattern:
        return self._follow(lifecycle.promote(self._ws, pattern_id))

    def promote_eligible(self) -> list[Pattern]:
        """Every eligible candidate to the validated tier, but those whose file would hold a secret (logged)."""
        promoted, held = lifecycle.promote_eligible_held(self._ws)
        for pattern, reason in held:
            log.warning("SCMS: “%s” (%s) stays a candidate: %s", pattern.title, pattern.id, reason)
        return self._follow(promoted) if promoted else promoted

    def demote(self, pattern_id: str) -> Pattern:
        return self._follow(lifecycle.demote(self._ws, pattern_id))

    def forget(self, pattern_id: str) -> Pattern:
        before = lifecycle.get(self._ws, pattern_id)
        after = lifecycle.forget(self._ws, pattern_id)
        return self._follow(after) if before.tier is Tier.VALIDATED else after

    def restore(self, pattern_id: str) -> Pattern:
        return lifecycle.restore(self._ws, pattern_id)

    def decay(self) -> list[Pattern]:
        return lifecycle.decay(self._ws)

    def follow_changes(self) -> list[str]:
        """Catch up with what other processes committed (an agent through `scms mcp`, the CLI, another window):
        the patterns changed since the last call (empty, and quick, when nothing was)."""
        with self._ws.db.read() as conn:
            newest = queries.newest_event(conn)
            if newest == self._followed:
                return []
            changed = [row.id for row in queries.changed_patterns(conn, self._followed)]
            self._engine.refresh(conn)
        self._followed = newest
        if self._learning is not None:
            self._learning.wake()  # accepts and rejects logged elsewhere are learned here too
        return changed

    def rebuild(self) -> int:
        return lifecycle.rebuild(self._ws)

    def sync_files(self) -> SyncReport:
        self._last_sync = lifecycle.sync_files(self._ws)
        return self._last_sync

    def get(self, pattern_id: str) -> Pattern:
        return lifecycle.get(self._ws, pattern_id)

    def list(self, tier: Tier | None = None) -> list[Pattern]:
        return lifecycle.list_patterns(self._ws, tier)

    # recall

    def recall(self, text: str, *, context_hash: str | None = None, limit: int | None = None,
               wait: bool = False, mode: str = "fused", threshold: float | None = None) -> list[Recalled]:
        """Patterns relevant to this code, best first, each with why it matched. Never refreshes a pattern.

        With wait=True an unseen context is embedded now (commands, benchmarks); hovers never wait."""
        text = without_lone_surrogates(text)
        if wait and mode != "lexical":
            self._engine.embed_context(text)  # holding no lock, so that hovers meanwhile do not wait
        learned = self._learning if self._learning is not None and self._learning.ready else None
        with self._ws.db.read() as conn:
            self._engine.refresh(conn)
            with self._engine.lock:  # the background worker adds vectors to the same faiss indexes
                return ranking.recall(conn, self._engine, text, settings=self.settings, now=self._ws.clock(),
                                      limit=limit or self.settings.recall.limit, context_hash=context_hash,
                                      mode=mode, threshold=threshold, learned=learned)

    def warm_up(self) -> None:
        """Load the lexical index now (a fraction of a second from its snapshot), so the first hover does not pay."""
        self._engine.warm_up()

    def start_model(self, report: Callable[[str, int], None] = lambda message, percent: None,
                    on_change: Callable[[str], None] = lambda reason: None) -> None:
        """Load the embedding model, index the patterns, then start the memory model (seconds to a minute), at a
        low CPU priority: call it in a background thread. `on_change` hears when recall changes mode."""
        if not self.settings.recall.embeddings:
            return
        background_priority()
        self._engine.on_change = on_change
        self._engine.start_model(self.settings.recall.embedding_model_path, self.settings.recall.torch_threads,
                                 report)
        if self.settings.learning.enabled and self._engine.state == "ready" and self._learning is None:
            from scms.learn import persist
            from scms.learn.service import ModelService

            self._learning = ModelService(self._ws.scms_dir / persist.DIR, self._engine)
            self._learning.start(self.settings.learning, report)
        # The models' objects live as long as the server: kept out of the collector's full passes, which
        # otherwise took 125-160 ms every so often, once inside a hover (measured with benchmarks/hover_busy.py).
        gc.collect()
        gc.freeze()

    def wait_idle(self) -> None:
        """Block until queued embeddings and learning are done (tests, benchmarks, the CLI)."""
        self._engine.wait_idle()
        if self._learning is not None:
            self._learning.wait_idle()

    def _model_state(self) -> str:
        if not self.settings.learning.enabled or not self.settings.recall.embeddings:
            return "off"
        return {"lexical": "not started", "loading": "waiting for embeddings",
                "failed": "off (no embeddings)"}.get(self._engine.state, "starting")

    @property
    def notices(self) -> list[str]:
        """What the user should hear about loading: a rebuilt index, a fresh memory model."""
        return list(self._engine.notices) + (list(self._learning.notices) if self._learning else [])

    @property
    def recall_state(self) -> str:
        return RECALL_STATES[self._engine.state]

    @property
    def recall_problem(self) -> str:
        """Why recall stays lexical, when the embedding model failed to load ('' otherwise)."""
        return self._engine.problem if self._engine.state == "failed" else ""

    # views

    def pattern_file(self, pattern: Pattern) -> str | None:
        """The workspace-relative path of the pattern's validated file, when it has one on disk."""
        if pattern.tier is not Tier.VALIDATED:
            return None
        for name in (file_name(pattern), self._last_sync.files.get(pattern.id)):
            if name and (self._ws.patterns_dir / name).is_file():
                return (self._ws.patterns_dir / name).relative_to(self._ws.root).as_posix()
        return None

    def describe(self, pattern: Pattern) -> dict[str, Any]:
        """The pattern as JSON, with its retention score now and its file."""
        data = pattern.model_dump(mode="json")
        data["stale"] = [e.model_dump(mode="json") for e in self._evidence.stale(pattern)]
        data["retention"] = retention(pattern, self._ws.clock(), self.settings.retention).model_dump()
        data["score"] = round(data["retention"]["score"], 4)
        data["eligible"] = self.eligible(pattern)
        data["file"] = self.pattern_file(pattern)
        return data

    def _counts(self) -> tuple[dict[str, int], int]:
        with self._ws.db.read() as conn:
            counts, events = queries.tier_counts(conn), queries.event_count(conn)
        return {tier.value: counts.get(tier.value, 0) for tier in Tier}, events

    def eligible(self, pattern: Pattern) -> bool:
        return (pattern.tier is Tier.SESSION and pattern.accepted_uses >= self.settings.promotion_threshold
                and pattern.accepted_uses > pattern.rejected_uses)

    def status(self) -> dict[str, Any]:
        tiers, events = self._counts()
        return {
            "workspace": str(self._ws.root),
            "store": str(self._ws.db.path),
            "schema": self._ws.db.version,
            "tiers": tiers,
            "events": events,
            "promotionThreshold": self.settings.promotion_threshold,
            "warnings": self.problems,
            "recall": self.recall_state,
            "embeddingQueue": self._engine.pending,
            "model": self._learning.describe() if self._learning else {"state": self._model_state()},
        }

