"""The one facade every front end calls: remember, accept, reject, promote, … over one workspace's memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from scms.config import Settings
from scms.errors import InvalidInput
from scms.recall import ranking
from scms.recall.engine import RecallEngine
from scms.recall.ranking import Recalled
from scms.model import Kind, Pattern, Tier
from scms.store import lifecycle
from scms.store.lifecycle import SyncReport
from scms.store.projection import now_utc
from scms.store.retention import retention
from scms.store.source import CodeRange, code_of_lines, code_range, read_range
from scms.store.workspace import Workspace


class Memory:
    """One workspace's pattern memory. Open it, call its operations, close it."""

    def __init__(self, workspace: Workspace, sync: SyncReport) -> None:
        self.ws = workspace
        self.last_sync = sync
        self.engine = RecallEngine(workspace)
        self.learning = None  # the memory model (scms.learn.service.ModelService) once embeddings are ready

    @classmethod
    def open(cls, root: Path, settings: Settings | None = None,
             clock: Callable[[], datetime] = now_utc) -> "Memory":
        """Open (creating `.scms/` if needed) and bring the store in line with the validated files."""
        workspace = Workspace.open(root, settings, clock)
        try:
            sync = lifecycle.sync_files(workspace)
        except BaseException:
            workspace.close()
            raise
        return cls(workspace, sync)

    @property
    def root(self) -> Path:
        return self.ws.root

    @property
    def settings(self) -> Settings:
        return self.ws.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.ws.settings = value

    def close(self) -> None:
        if self.learning is not None:
            self.learning.close()
        self.engine.close()
        self.ws.close()

    # reading code

    def code_from_file(self, file: str | Path, start_line: int, end_line: int) -> CodeRange:
        return read_range(self.ws.root, file, start_line, end_line, self.settings.max_file_bytes)

    def code_from_text(self, path: Path, text: str, start_line: int, end_line: int) -> CodeRange:
        """A range of an editor buffer, which may be unsaved."""
        return code_range(self.ws.root, path, text, start_line, end_line)

    # the lifecycle

    def remember(self, code: CodeRange, *, title: str | None = None, note: str = "",
                 kind: Kind = Kind.PATTERN, tags: list[str] | None = None) -> Pattern:
        return lifecycle.remember(self.ws, code, title=title, note=note, kind=kind, tags=tags)

    def accept(self, pattern_id: str, code: CodeRange | None = None) -> Pattern:
        pattern = lifecycle.accept(self.ws, pattern_id, code)
        self._learn(pattern, code, positive=True)
        return pattern

    def reject(self, pattern_id: str, code: CodeRange | None = None, reason: str = "") -> Pattern:
        pattern = lifecycle.reject(self.ws, pattern_id, code, reason)
        self._learn(pattern, code, positive=False)
        return pattern

    def _learn(self, pattern: Pattern, code: CodeRange | None, positive: bool) -> None:
        """Hand a committed accept or reject in a context to the memory model's worker (it never blocks)."""
        if code is None or self.learning is None:
            return
        with self.ws.db.read() as conn:
            row = conn.execute("SELECT last_event FROM patterns WHERE id = ?", (pattern.id,)).fetchone()
        if row:
            self.learning.submit(row[0], pattern.id, code.text, positive)

    def promote(self, pattern_id: str) -> Pattern:
        return lifecycle.promote(self.ws, pattern_id)

    def promote_eligible(self) -> list[Pattern]:
        return lifecycle.promote_eligible(self.ws)

    def demote(self, pattern_id: str) -> Pattern:
        return lifecycle.demote(self.ws, pattern_id)

    def forget(self, pattern_id: str) -> Pattern:
        return lifecycle.forget(self.ws, pattern_id)

    def restore(self, pattern_id: str) -> Pattern:
        return lifecycle.restore(self.ws, pattern_id)

    def decay(self) -> list[Pattern]:
        return lifecycle.decay(self.ws)

    def rebuild(self) -> int:
        return lifecycle.rebuild(self.ws)

    def sync_files(self) -> SyncReport:
        self.last_sync = lifecycle.sync_files(self.ws)
        return self.last_sync

    def get(self, pattern_id: str) -> Pattern:
        return lifecycle.get(self.ws, pattern_id)

    def list(self, tier: Tier | None = None) -> list[Pattern]:
        return lifecycle.list_patterns(self.ws, tier)

    # recall

    def recall(self, text: str, *, context_hash: str | None = None, limit: int | None = None,
               wait: bool = False, mode: str = "fused", threshold: float | None = None) -> list[Recalled]:
        """Patterns relevant to this code, best first, each with why it matched. Never refreshes a pattern.

        With wait=True an unseen context is embedded now (commands, benchmarks); hovers never wait."""
        if wait and mode != "lexical":
            self.engine.embed_context(text)  # holding no lock, so that hovers meanwhile do not wait
        with self.ws.db.read() as conn:
            self.engine.refresh(conn)
            with self.engine.lock:  # the background worker adds vectors to the same faiss indexes
                return ranking.recall(conn, self.engine, text, settings=self.settings, now=self.ws.clock(),
                                      limit=limit or self.settings.recall.limit, context_hash=context_hash,
                                      mode=mode, threshold=threshold,
                                      learned=self.learning if self.learning and self.learning.ready else None)

    def context_at(self, path: Path, text: str, line: int) -> CodeRange | None:
        """The code unit around a 0-based line of a buffer, as a range usable for accept and reject."""
        context = self.engine.context(path, text, line)
        if context is None:
            return None
        try:  # the unit's own text: no second split of the whole document on the hover path
            return code_of_lines(self.ws.root, path, context.unit.text.split("\n"), context.unit.start + 1,
                                 commit=False)
        except InvalidInput:
            return None  # a blank stretch of the file

    def start_model(self, report: Callable[[str, int], None] = lambda message, percent: None) -> None:
        """Load the embedding model, index the patterns, then start the memory model (seconds to a minute):
        call it in a background thread."""
        if not self.settings.recall.embeddings:
            return
        self.engine.start_model(self.settings.recall.embedding_model_path, self.settings.recall.torch_threads,
                                report)
        if self.settings.learning.enabled and self.engine.state == "ready" and self.learning is None:
            from scms.learn.service import ModelService

            self.learning = ModelService(self.ws.scms_dir / "model", self.engine)
            self.learning.start(self.settings.learning, report)

    def _model_state(self) -> str:
        if not self.settings.learning.enabled or not self.settings.recall.embeddings:
            return "off"
        return {"lexical": "not started", "loading": "waiting for embeddings",
                "failed": "off (no embeddings)"}.get(self.engine.state, "starting")

    @property
    def notices(self) -> list[str]:
        """What the user should hear about loading: a rebuilt index, a fresh memory model."""
        return list(self.engine.notices) + (list(self.learning.notices) if self.learning else [])

    @property
    def recall_state(self) -> str:
        return {"lexical": "lexical", "loading": "loading model", "ready": "embeddings",
                "failed": "lexical (model failed)"}[self.engine.state]

    # views

    def describe(self, pattern: Pattern) -> dict[str, Any]:
        """The pattern as JSON, with its retention score now."""
        data = pattern.model_dump(mode="json")
        data["retention"] = retention(pattern, self.ws.clock(), self.settings.retention).model_dump()
        data["score"] = round(data["retention"]["score"], 4)
        data["eligible"] = self.eligible(pattern)
        return data

    def eligible(self, pattern: Pattern) -> bool:
        return (pattern.tier is Tier.SESSION and pattern.accepted_uses >= self.settings.promotion_threshold
                and pattern.accepted_uses > pattern.rejected_uses)

    def status(self) -> dict[str, Any]:
        with self.ws.db.read() as conn:
            counts = dict(conn.execute("SELECT tier, COUNT(*) FROM patterns GROUP BY tier").fetchall())
            events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return {
            "workspace": str(self.ws.root),
            "store": str(self.ws.db.path),
            "schema": self.ws.db.version,
            "tiers": {tier.value: int(counts.get(tier.value, 0)) for tier in Tier},
            "events": int(events),
            "promotionThreshold": self.settings.promotion_threshold,
            "warnings": list(self.last_sync.warnings),
            "recall": self.recall_state,
            "embeddingQueue": self.engine.pending,
            "model": self.learning.describe() if self.learning else {"state": self._model_state()},
        }
