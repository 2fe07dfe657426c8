"""The facade's half that shares the memory with AI assistants: the validated tier as rule files, imports of
rules and memories written elsewhere, the texts the MCP resources serve, and agents' proposals.

A base class of `scms.memory.Memory`, kept apart so that each file says one thing; it works on the workspace and
the operations the facade defines.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

from scms.errors import InvalidInput, NotFound
from scms.model import Kind, Pattern, Tier
from scms.store import lifecycle
from scms.store.files import render
from scms.store.source import CodeRange
from scms.store.workspace import Workspace
from scms.text import without_lone_surrogates

log = logging.getLogger("scms")
_T = TypeVar("_T")


class Sharing:
    """Export, import, rule texts and proposals (see the module docstring)."""

    _ws: Workspace

    def list(self, tier: Tier | None = None) -> list[Pattern]:  # the facade's
        raise NotImplementedError

    def get(self, pattern_id: str) -> Pattern:  # the facade's
        raise NotImplementedError

    def checked(self, pattern: Pattern) -> Pattern:  # the facade's
        raise NotImplementedError

    def propose(self, agent: str, *, title: str, note: str = "", code: str | CodeRange = "",
                kind: Kind = Kind.PATTERN, tags: list[str] | None = None, languages: list[str] | None = None) -> Pattern:
        """An AI agent's candidate: session tier only, marked as proposed by `agent`, from a range of a file or
        from code in no file yet. Refused whole when its title, note or code holds a secret (nothing is stored)."""
        from scms.secrets import check_text

        if not title.strip():
            raise InvalidInput("title must not be blank", field="title")
        title, note = without_lone_surrogates(title), without_lone_surrogates(note)
        tags = [without_lone_surrogates(tag) for tag in tags or []]
        if not isinstance(code, CodeRange):
            code = without_lone_surrogates(code)
        text = code.text if isinstance(code, CodeRange) else code
        for field, value in (("title", title), ("note", note), ("code", text)):
            check_text(value, field, field)
        if isinstance(code, CodeRange):
            return lifecycle.remember(self._ws, code, title=title, note=note, kind=kind, tags=tags, proposed_by=agent)
        if not text.strip() and not note.strip():
            raise InvalidInput("give the pattern's code (or a file range) or a note", field="code")
        return lifecycle.remember_text(self._ws, text, title=title, note=note, kind=kind, languages=languages,
                                       tags=tags, proposed_by=agent)

    def export(self, targets: list[str] | None = None) -> dict[str, Any]:
        """Write the validated tier as the rule files AI assistants read (`targets`, default: the setting's);
        the paths written, changed, removed and skipped (each with its reason)."""
        from scms.export import export

        chosen = list(self._ws.settings.export.targets) if targets is None else targets
        report = export(self._ws.root, [self.checked(p) for p in self.list(Tier.VALIDATED)], chosen)
        return {"written": report.written, "changed": report.changed, "removed": report.removed,
                "unchanged": report.unchanged, "skipped": report.skipped}

    def import_paths(self, paths: list[str | Path]) -> dict[str, Any]:
        """Import the SCMS starter kit's memories, WORKSPACE_RULES.md and failure log, and rule files people
        wrote for assistants, from these files or folders (relative ones from the workspace root): the patterns
        imported, and each file or item skipped with its path and reason. Nothing is imported twice."""
        from scms.store.importing import import_paths

        report = import_paths(self._ws, [Path(p) for p in paths])
        return {"imported": report.imported, "skipped": report.skipped}

    def rules_text(self) -> str:
        """WORKSPACE_RULES.md as the export writes it now, from the validated tier."""
        from scms.export.formats import workspace_rules

        return workspace_rules([self.checked(p) for p in self.list(Tier.VALIDATED)])

    def pattern_markdown(self, pattern_id: str) -> str:
        """A validated pattern's file as it is written in `.scms/patterns/`."""
        pattern = self.get(pattern_id)
        if pattern.tier is not Tier.VALIDATED:
            raise NotFound(f"{pattern_id} is not a validated pattern (it is in the {pattern.tier.value} tier)",
                           field="id")
        return render(pattern)

    def _follow(self, result: _T) -> _T:
        """With `export.onChange`, the rule files follow a change of the validated tier at once; a failed
        export is logged (the change itself is made), and the next export writes what this one could not."""
        if self._ws.settings.export.on_change:
            try:
                report = self.export()
                for skipped in report["skipped"]:
                    log.warning("SCMS: export skipped %s: %s", skipped["path"], skipped["reason"])
            except Exception as err:
                log.warning("SCMS: the rule files could not follow the change: %s", err)
        return result
