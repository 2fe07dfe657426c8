"""Edits a person makes to a pattern's content: its title, note, kind and tags (`update`), and its evidence
pointed at where its code is now (`reanchor`). Each is one event; a validated pattern's file follows."""

from __future__ import annotations

from typing import Any

from scms.errors import InvalidInput, InvalidState
from scms.model import EventType, Kind, Pattern, Tier
from scms.store import files
from scms.store.evidence import EvidenceCheck
from scms.store.lifecycle import append_followed, pattern_in, settle_followed
from scms.store.workspace import Workspace


def update(ws: Workspace, pattern_id: str, fields: dict[str, Any]) -> Pattern:
    """A person's edit of the title, note, kind or tags, as one event; a validated pattern's file follows (and
    the edit is refused, nothing changed, when that file would hold a secret). No change, no event."""
    if "title" in fields:
        fields["title"] = " ".join(str(fields["title"]).split())[:200]
        if not fields["title"]:
            raise InvalidInput("title must not be blank", field="title")
    if "body" in fields:
        fields["body"] = str(fields["body"]).strip("\n")
    if "tags" in fields:
        fields["tags"] = sorted({" ".join(str(tag).split()) for tag in fields["tags"]} - {""})
    with ws.db.write() as conn:
        pattern = pattern_in(conn, pattern_id)
        if pattern.tier is Tier.ARCHIVE:
            raise InvalidState(f"pattern {pattern_id} is archived: restore it first")
        current = pattern.model_dump(mode="json")
        changed = {k: v for k, v in fields.items() if current.get(k) != (v.value if isinstance(v, Kind) else v)}
        changed = {k: (v.value if isinstance(v, Kind) else v) for k, v in changed.items()}
        if not changed:
            return pattern
        if pattern.tier is Tier.VALIDATED:
            files.check_secrets(Pattern.model_validate({**current, **changed}))
        after = append_followed(ws, conn, pattern, EventType.UPDATED, {"fields": changed})
    return settle_followed(ws, after)


def reanchor(ws: Workspace, pattern_id: str, check: EvidenceCheck) -> Pattern:
    """Point the pattern's evidence at where its code is now (see `EvidenceCheck.reanchored`), as one event;
    refused when none of its code can be found any more (forget it instead)."""
    with ws.db.write() as conn:
        pattern = pattern_in(conn, pattern_id)
        if pattern.tier is Tier.ARCHIVE:
            raise InvalidState(f"pattern {pattern_id} is archived: restore it first")
        evidence, snippet = check.reanchored(pattern)
        if evidence == pattern.evidence and snippet is None:
            return pattern
        if not evidence:
            raise InvalidState(f"the code pattern {pattern_id} cites is nowhere to be found any more; forget it "
                               "instead, or remember the code where it is now")
        payload: dict[str, Any] = {"evidence": [e.model_dump(mode="json") for e in evidence]}
        if snippet is not None:
            payload["snippet"] = snippet
        after = append_followed(ws, conn, pattern, EventType.REANCHORED, payload)
    return settle_followed(ws, after)
