"""The facade's upkeep: closing a session (promotion, decay, and the report of what happened, saved under
`.scms/sessions/`), the same report as a preview, and purging a pattern remembered by mistake.

A base class of `scms.memory.Memory`, like `sharing.py` and `suggesting.py`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scms.model import Tier
from scms.store import queries, report
from scms.store.retention import retention

log = logging.getLogger("scms")


class Upkeep:
    """Session closure, its report, and purge (see the module docstring)."""

    def close_session(self) -> dict[str, Any]:
        """Promote what is eligible, archive what decayed, and the session's report (markdown), saved under
        `.scms/sessions/` (`path`): everything that happened since the last session closed."""
        since = report.last_closed(self._sessions)
        promoted = self.promote_eligible()
        archived = self.decay()
        text = report.render(self._session(since, preview=False))
        path = report.save(self._sessions, self._ws.clock(), text)
        return {"promoted": promoted, "archived": archived, "report": text, "path": str(path)}

    def session_report(self) -> str:
        """The report as it would read if the session closed now; nothing changes, nothing is saved."""
        return report.render(self._session(report.last_closed(self._sessions), preview=True), preview=True)

    @property
    def _sessions(self) -> Path:
        return self._ws.scms_dir / "sessions"

    def _session(self, since: int, preview: bool) -> report.Session:
        with self._ws.db.read() as conn:
            events = queries.events_after(conn, since)
            patterns = queries.patterns_by_id(conn, [e.pattern_id for e in events])
        tiers, _ = self._counts()
        candidates, now, threshold = self.list(Tier.SESSION), self._ws.clock(), self.settings.promotion_threshold
        eligible = [p for p in candidates if self.eligible(p)]
        fading = [p for p in candidates if p not in eligible and preview
                  and retention(p, now, self.settings.retention).score < self.settings.retention.archive_below]
        return report.Session(first=since + 1, last=events[-1].id if events else since, events=events,
                              patterns=patterns, tiers=tiers, threshold=threshold, eligible=eligible,
                              close=[p for p in candidates if 0 < p.accepted_uses < threshold], would_archive=fading)

    def _forget_in_model(self, pattern_id: str) -> None:
        """The memory model keeps accepted contexts' words: the running one drops the pattern's and saves; a
        model file no one has loaded is removed (the next start relearns it from the event log)."""
        from scms.learn import persist

        if self._learning is not None and self._learning.ready:
            self._learning.forget(pattern_id)
            return
        try:
            (self._ws.scms_dir / persist.DIR / persist.FILE).unlink(missing_ok=True)
        except OSError as err:
            log.warning("could not remove the memory model's file after a purge: %s", err)

    def purge(self, pattern_id: str) -> dict[str, Any]:
        """Take a pattern remembered by mistake (a secret in it) out of every event, file and index in `.scms/`
        (its text replaced by hashes; archived for good), and out of the rule files an export wrote."""
        from scms.export import written_targets
        from scms.store.purge import purge, scrub_file, texts_of

        before = self.get(pattern_id)
        texts = texts_of(self._ws, pattern_id)
        pattern, _, clean = purge(self._ws, pattern_id)
        scrubbed = [str(path) for path in sorted(self._sessions.glob("*.md")) if scrub_file(path, pattern.id, texts)] \
            if self._sessions.is_dir() else []
        with self._ws.db.read() as conn:
            self._engine.refresh(conn)
        self._engine.save_lexical()  # its snapshot held the pattern's words
        self._forget_in_model(pattern.id)
        exported = self.export(written_targets(self.root)) if before.tier is Tier.VALIDATED else None
        return {"pattern": pattern, "storeRewritten": clean, "reportsScrubbed": scrubbed, "exported": exported}
