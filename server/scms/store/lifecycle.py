"""The pattern lifecycle: remember, accept, reject, promote, demote, forget, restore, decay, rebuild."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from scms.errors import InvalidInput, InvalidState, NotFound, StoreError
from scms.model import EventType, Evidence, Kind, Pattern, Tier
from scms.store import files, projection
from scms.store.files import Conflict
from scms.store.retention import retention
from scms.store.source import CodeRange, outside_workspace
from scms.store.workspace import Workspace


def remember(ws: Workspace, code: CodeRange, *, title: str | None = None, note: str = "",
             kind: Kind = Kind.PATTERN, tags: list[str] | None = None, proposed_by: str | None = None,
             also_seen: list[Evidence] | None = None) -> Pattern:
    """A new session-tier candidate from a code range (`proposed_by`: the agent that proposed it; `also_seen`:
    the other places the same code is, as evidence: a discovered shape's occurrences)."""
    _check_inside(ws, code)
    for evidence in also_seen or []:
        if PurePath(evidence.file).is_absolute() or ".." in PurePath(evidence.file).parts:
            raise outside_workspace(ws.root, evidence.file)
    evidence = list(dict.fromkeys([code.evidence, *(also_seen or [])]))
    return _remembered(ws, title or _default_title(code.text), note, code.text, kind,
                       [code.language] if code.language else [], tags, evidence, proposed_by)


def remember_text(ws: Workspace, code: str, *, title: str, note: str = "", kind: Kind = Kind.PATTERN,
                  languages: list[str] | None = None, tags: list[str] | None = None,
                  proposed_by: str | None = None) -> Pattern:
    """A new session-tier candidate from code that is in no file yet (an agent's proposal): no evidence."""
    return _remembered(ws, title, note, code, kind, languages or [], tags, [], proposed_by)


def _remembered(ws: Workspace, title: str, note: str, snippet: str, kind: Kind, languages: list[str],
                tags: list[str] | None, evidence: list[Evidence], proposed_by: str | None) -> Pattern:
    title = " ".join(title.split())[:200]
    if not title:
        raise InvalidInput("title must not be blank", field="title")
    with ws.db.write() as conn:
        pattern_id = new_id(conn)
        pattern = {
            "id": pattern_id, "title": title, "body": note.strip("\n"), "snippet": snippet, "kind": kind.value,
            "languages": languages, "tags": sorted(set(tags or [])),
            "evidence": [e.model_dump(mode="json") for e in evidence],
        }
        if proposed_by:
            pattern["proposed_by"] = proposed_by
        _, created = projection.append(conn, EventType.REMEMBERED, pattern_id, {"pattern": pattern}, ws.clock())
    assert created is not None
    return created


def accept(ws: Workspace, pattern_id: str, code: CodeRange | None = None) -> Pattern:
    """One accepted use, in a context when one is given: counts toward promotion and refreshes retention. Code
    the pattern already has as evidence (the same content hash) is no new use: nothing changes."""
    _check_inside(ws, code)
    with ws.db.write() as conn:
        pattern = pattern_in(conn, pattern_id)
        if pattern.tier not in (Tier.SESSION, Tier.VALIDATED):
            raise InvalidState(f"pattern {pattern_id} is {pattern.tier.value}: it is archived; restore it first")
        if code is not None and not counts_as_use(pattern, code):
            return pattern
        payload: dict[str, Any] = {"evidence": code.evidence.model_dump(mode="json")} if code else {}
        after = append_followed(ws, conn, pattern, EventType.ACCEPTED, payload)  # a validated file counts uses
    return settle_followed(ws, after)


def append_followed(ws: Workspace, conn: sqlite3.Connection, pattern: Pattern, type_: EventType,
                    payload: dict[str, Any]) -> Pattern:
    """Append an event that changes what the pattern's file says; a validated pattern's file is marked to
    follow (`settle_followed` after the commit writes it)."""
    if pattern.tier is Tier.VALIDATED:
        return append_moving_file(ws, conn, pattern.id, type_, payload)
    _, after = projection.append(conn, type_, pattern.id, payload, ws.clock())
    assert after is not None
    return after


def settle_followed(ws: Workspace, after: Pattern) -> Pattern:
    if after.tier is Tier.VALIDATED:
        settle_files(ws, [after.id])
    return after


def counts_as_use(pattern: Pattern, code: CodeRange) -> bool:
    """Whether accepting the pattern at this code is a new use: not at code it already has as evidence."""
    return code.evidence.content_hash not in {e.content_hash for e in pattern.evidence}


def reject(ws: Workspace, pattern_id: str, code: CodeRange | None = None, reason: str = "") -> Pattern:
    """One rejection: lowers confidence, and the pattern is not suggested again in that context."""
    _check_inside(ws, code)
    payload: dict[str, Any] = {"reason": reason} if reason else {}
    if code is not None:
        payload.update(context_hash=code.evidence.content_hash, file=code.evidence.file)
    return _transition(ws, pattern_id, EventType.REJECTED, payload, allowed=(Tier.SESSION, Tier.VALIDATED),
                       refusal="it is archived; restore it first")


def promote(ws: Workspace, pattern_id: str, *, auto: bool = False) -> Pattern:
    """To the validated tier: the event commits first, then its file is written (see `settle_files`)."""
    with ws.db.write() as conn:
        pattern = pattern_in(conn, pattern_id)
        if pattern.tier is not Tier.SESSION:
            raise InvalidState(f"pattern {pattern_id} is {pattern.tier.value}; only session patterns are promoted")
        files.check_secrets(_as_promoted(ws, pattern))  # before the event: a refusal leaves it a candidate
        after = append_moving_file(ws, conn, pattern.id, EventType.PROMOTED, {"auto": auto})
    settle_files(ws, [after.id])
    return after


def promote_eligible(ws: Workspace) -> list[Pattern]:
    """Every candidate with enough accepted uses (and more accepts than rejects) goes to the validated tier,
    but for one whose file would hold a secret: that one stays a candidate (see `promote_eligible_held`)."""
    return promote_eligible_held(ws)[0]


def promote_eligible_held(ws: Workspace) -> tuple[list[Pattern], list[tuple[Pattern, str]]]:
    """`promote_eligible`, also returning the eligible candidates held back, each with the reason (the file,
    the line and the kind of secret it would have written)."""
    threshold = ws.settings.promotion_threshold
    promoted: list[Pattern] = []
    held: list[tuple[Pattern, str]] = []
    with ws.db.write() as conn:
        for pattern in _patterns(conn, Tier.SESSION):
            if pattern.accepted_uses >= threshold and pattern.accepted_uses > pattern.rejected_uses:
                try:
                    files.check_secrets(_as_promoted(ws, pattern))
                except InvalidInput as err:
                    held.append((pattern, str(err)))
                    continue
                promoted.append(append_moving_file(ws, conn, pattern.id, EventType.PROMOTED, {"auto": True}))
    settle_files(ws, [p.id for p in promoted])
    return promoted, held


def _as_promoted(ws: Workspace, pattern: Pattern) -> Pattern:
    """The pattern as its file would be written once promoted (same lines as the file `_settle` writes)."""
    return pattern.model_copy(update={"tier": Tier.VALIDATED, "promoted": pattern.promoted or ws.clock()})


def demote(ws: Workspace, pattern_id: str) -> Pattern:
    return _transition(ws, pattern_id, EventType.DEMOTED, {}, allowed=(Tier.VALIDATED,),
                       refusal="only validated patterns are demoted", drop_file=True)


def forget(ws: Workspace, pattern_id: str) -> Pattern:
    return _transition(ws, pattern_id, EventType.FORGOTTEN, {}, allowed=(Tier.SESSION, Tier.VALIDATED),
                       refusal="it is already archived", drop_file=True)


def restore(ws: Workspace, pattern_id: str) -> Pattern:
    """Back from the archive to the session tier, with its decay clock restarted (not a purged pattern)."""
    with ws.db.read() as conn:
        if pattern_in(conn, pattern_id).title == "(purged)":
            raise InvalidState(f"pattern {pattern_id} was purged: its text is gone, so it cannot come back")
    return _transition(ws, pattern_id, EventType.RESTORED, {}, allowed=(Tier.ARCHIVE,),
                       refusal="only archived patterns are restored")


def decay(ws: Workspace) -> list[Pattern]:
    """Archive every candidate whose retention score fell below the archive threshold."""
    now = ws.clock()
    limit = ws.settings.retention.archive_below
    archived: list[Pattern] = []
    with ws.db.write() as conn:
        for pattern in _patterns(conn, Tier.SESSION):
            score = retention(pattern, now, ws.settings.retention).score
            if score < limit:
                _, after = projection.append(conn, EventType.DECAYED, pattern.id, {"score": round(score, 6)}, now)
                assert after is not None
                archived.append(after)
    return archived


def rebuild(ws: Workspace) -> int:
    with ws.db.write() as conn:
        return projection.rebuild(conn)


@dataclass
class SyncReport:
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # pattern id -> the name of its file in patterns/
    conflicts: list[Conflict] = field(default_factory=list)  # files git left with conflict markers

    @property
    def changed(self) -> bool:
        return bool(self.imported or self.updated or self.removed)


def sync_files(ws: Workspace) -> SyncReport:
    """Bring the store in line with `.scms/patterns/*.md` (a git pull, a hand edit, a deleted file)."""
    report = SyncReport()
    with ws.db.write() as conn:
        pending = _settle_pending(ws, conn, report.warnings)
        found, warnings = files.scan(ws.patterns_dir)
        report.warnings += warnings
        report.files = {pattern_id: pattern_file.path.name for pattern_id, pattern_file in found.items()}
        report.conflicts = files.conflicts(ws.patterns_dir)
        held = {conflict.pattern_id for conflict in report.conflicts}  # not removed: only waiting for a merge
        now = ws.clock()
        for pattern_id, pattern_file in found.items():
            if pattern_id in pending:
                continue
            current = projection.load(conn, pattern_id)
            if current is None or current.tier is not Tier.VALIDATED:
                projection.append(conn, EventType.FILE_SYNCED, pattern_id,
                                  {"fields": pattern_file.fields, "file": pattern_file.path.name}, now)
                report.imported.append(pattern_id)
                continue
            stored = current.model_dump(mode="json")
            changes = {k: pattern_file.fields[k] for k in projection.CONTENT_FIELDS
                       if pattern_file.fields[k] != stored[k]}
            if changes:
                projection.append(conn, EventType.FILE_SYNCED, pattern_id,
                                  {"fields": changes, "file": pattern_file.path.name}, now)
                report.updated.append(pattern_id)
        for pattern in _patterns(conn, Tier.VALIDATED):
            if pattern.id not in found and pattern.id not in pending and pattern.id not in held:
                projection.append(conn, EventType.FILE_REMOVED, pattern.id, {}, now)
                report.removed.append(pattern.id)
    return report


def get(ws: Workspace, pattern_id: str) -> Pattern:
    with ws.db.read() as conn:
        return pattern_in(conn, pattern_id)


def list_patterns(ws: Workspace, tier: Tier | None = None) -> list[Pattern]:
    with ws.db.read() as conn:
        return _patterns(conn, tier)


def _transition(ws: Workspace, pattern_id: str, type_: EventType, payload: dict[str, Any], *,
                allowed: tuple[Tier, ...], refusal: str, drop_file: bool = False) -> Pattern:
    with ws.db.write() as conn:
        pattern = pattern_in(conn, pattern_id)
        if pattern.tier not in allowed:
            raise InvalidState(f"pattern {pattern_id} is {pattern.tier.value}: {refusal}")
        moves_file = drop_file and pattern.tier is Tier.VALIDATED
        if moves_file:
            after = append_moving_file(ws, conn, pattern.id, type_, payload)
        else:
            _, after = projection.append(conn, type_, pattern.id, payload, ws.clock())
    assert after is not None
    if moves_file:
        settle_files(ws, [after.id])
    return after


def append_moving_file(ws: Workspace, conn: sqlite3.Connection, pattern_id: str, type_: EventType,
                        payload: dict[str, Any]) -> Pattern:
    """Append an event that moves the pattern into or out of the validated tier, marking its file as pending."""
    _, after = projection.append(conn, type_, pattern_id, payload, ws.clock())
    conn.execute("INSERT OR IGNORE INTO pending_files (pattern_id) VALUES (?)", (pattern_id,))
    assert after is not None
    return after


def settle_files(ws: Workspace, pattern_ids: list[str]) -> None:
    """After their events committed, make each file follow its pattern's tier; what fails stays pending.

    A crash or an I/O error between the commit and the file leaves the mark, and the next open
    (`sync_files`) finishes the job, so the db and the files end up agreeing either way."""
    failed = []
    for pattern_id in pattern_ids:
        try:
            with ws.db.write() as conn:
                _settle(ws, conn, pattern_id)
        except (OSError, sqlite3.Error) as err:
            failed.append(f"{pattern_id} ({getattr(err, 'strerror', None) or err})")
    if failed:
        which = "the file of pattern" if len(failed) == 1 else "the files of patterns"
        raise StoreError(f"the change is saved, but {which} {', '.join(failed)} in {ws.patterns_dir} could not "
                         "be updated; SCMS retries when the memory next opens")


def _settle_pending(ws: Workspace, conn: sqlite3.Connection, warnings: list[str]) -> set[str]:
    """Finish the file work earlier operations left pending; the ids still pending afterwards."""
    stuck = set()
    for (pattern_id,) in conn.execute("SELECT pattern_id FROM pending_files").fetchall():
        try:
            _settle(ws, conn, pattern_id)
        except OSError as err:
            stuck.add(pattern_id)
            warnings.append(f"the file of pattern {pattern_id} could not be updated ({err.strerror or err}); "
                            "retried on the next open")
    return stuck


def _settle(ws: Workspace, conn: sqlite3.Connection, pattern_id: str) -> None:
    if conn.execute("SELECT 1 FROM pending_files WHERE pattern_id = ?", (pattern_id,)).fetchone() is None:
        return
    pattern = projection.load(conn, pattern_id)
    if pattern is not None and pattern.tier is Tier.VALIDATED:
        files.write(ws.patterns_dir, pattern)
    else:
        files.remove(ws.patterns_dir, pattern_id)
    conn.execute("DELETE FROM pending_files WHERE pattern_id = ?", (pattern_id,))


def _check_inside(ws: Workspace, code: CodeRange | None) -> None:
    """Evidence is a path inside the workspace: code from elsewhere would land in the team's files."""
    if code is not None and PurePath(code.evidence.file).is_absolute():
        raise outside_workspace(ws.root, code.evidence.file)


def pattern_in(conn: sqlite3.Connection, pattern_id: str) -> Pattern:
    """The pattern by id inside the caller's transaction; NotFound (naming the id) otherwise."""
    if not isinstance(pattern_id, str) or not pattern_id.strip():
        raise InvalidInput("patternId must be a non-empty string", field="patternId")
    pattern = projection.load(conn, pattern_id.strip())
    if pattern is None:
        raise NotFound(f"no pattern with id {pattern_id!r}", field="patternId")
    return pattern


def _patterns(conn: sqlite3.Connection, tier: Tier | None) -> list[Pattern]:
    if tier is None:
        rows = conn.execute("SELECT data FROM patterns ORDER BY rowid")
    else:
        rows = conn.execute("SELECT data FROM patterns WHERE tier = ? ORDER BY rowid", (tier.value,))
    return [Pattern.model_validate_json(row[0]) for row in rows]


def new_id(conn: sqlite3.Connection) -> str:
    while True:
        candidate = secrets.token_hex(4)
        if conn.execute("SELECT 1 FROM patterns WHERE id = ?", (candidate,)).fetchone() is None:
            return candidate


_DEFINES = re.compile(r"^\s*(?:export\s+)?(?:async\s+)?(?:def|function\*?|class|func|fn|interface|struct|enum)\s+"
                      r"(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)")
_DOC = re.compile(r'^\s*(?:[rRbBuU]{0,2}"""|[rRbBuU]{0,2}\'\'\'|/\*\*?|///?|#|\*)\s*(.*?)\s*(?:"""|\'\'\'|\*/)?\s*$')


def _default_title(text: str) -> str:
    """What the code is: the name it defines and the first line of its docstring or comment ("copyfileobj: copy
    data from file-like object fsrc to file-like object fdst"); else its first line of code."""
    lines = [line for line in text.splitlines() if line.strip()]
    first = next((line for line in lines if not line.strip().startswith(("#", "//", "/*", "*", "@"))), "")
    defined = _DEFINES.match(first)
    if defined:
        after = lines[lines.index(first) + 1:lines.index(first) + 3]
        doc = next((m.group(1) for m in map(_DOC.match, after) if m and m.group(1)), "")
        doc = doc.split(". ")[0].rstrip(".")
        return f"{defined.group(1)}: {doc}"[:80] if doc else defined.group(1)
    stripped = first.strip().rstrip(":{").strip()
    return (stripped or text.strip())[:80]
