"""The session report: what happened since the last session closed (new candidates, accepted uses, rejections,
promotions, decays, failures remembered) and what is now eligible or close, saved under `.scms/sessions/`."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scms.atomic import atomic_write
from scms.model import Event, EventType, Kind, Pattern
from scms.store.files import plain_text

REPORT_BYTES = 5_000_000
MARK = re.compile(r"^<!-- scms session: events (\d+)-(\d+) -->$")
LESSONS = (Kind.FAILURE, Kind.ANTI_PATTERN)


@dataclass
class Session:
    """The events of one session, the patterns they name (as they are now) and what the closure changes."""

    first: int  # the first event id of the session (1-based); `last` the newest
    last: int
    events: list[Event]
    patterns: dict[str, Pattern]
    tiers: dict[str, int]
    threshold: int
    eligible: list[Pattern]  # candidates eligible now (promoted at closure unless a secret holds them back)
    close: list[Pattern]  # candidates with some, not enough, accepted uses
    would_archive: list[Pattern]  # preview only: what the closure's decay sweep would archive


def last_closed(sessions_dir: Path) -> int:
    """The last event id the newest saved report covers (0: no session closed yet)."""
    newest = 0
    for path in sessions_dir.glob("*.md") if sessions_dir.is_dir() else []:
        try:
            text, problem = plain_text(path, REPORT_BYTES)
        except (OSError, UnicodeDecodeError):
            continue
        last_line = text.rstrip().rsplit("\n", 1)[-1]
        match = MARK.match(last_line.strip())
        if match:
            newest = max(newest, int(match.group(2)))
    return newest


def render(session: Session, *, preview: bool = False) -> str:
    """Markdown: the counts now, then one section per kind of change (`preview`: the session is still open)."""
    by_type: dict[EventType, list[Event]] = defaultdict(list)
    for event in session.events:
        by_type[event.type].append(event)
    title = session.patterns.get
    lines = ["# SCMS session report" + (" (if the session closed now)" if preview else ""), "",
             _period(session), "",
             f"Memory now: {session.tiers['session']} session candidates, {session.tiers['validated']} validated, "
             f"{session.tiers['archive']} archived.", ""]
    new = [title(e.pattern_id) for e in by_type[EventType.REMEMBERED] + by_type[EventType.IMPORTED]]
    new = [p for p in new if p is not None]
    lines += _section("New candidates", new, _origin)
    lines += _counted("Accepted uses", by_type[EventType.ACCEPTED], session, "accepted use",
                      lambda p: f"now {p.accepted_uses}")
    lines += _rejections(by_type[EventType.REJECTED], session)
    promoted = [title(e.pattern_id) for e in by_type[EventType.PROMOTED]]
    if preview:
        lines += _section("Would be promoted when the session closes", session.eligible, _uses)
    lines += _section("Promoted to the validated tier", [p for p in promoted if p is not None],
                      lambda p: f"{_uses(p)}; its file is in `.scms/patterns/`")
    archived = [title(e.pattern_id) for e in by_type[EventType.DECAYED]]
    if preview:
        lines += _section("Would be archived by decay (restorable)", session.would_archive, _judged)
    lines += _section("Archived by decay (restorable)", [p for p in archived if p is not None], _judged)
    lines += _section("Failures and anti-patterns remembered", [p for p in new if p.kind in LESSONS],
                      lambda p: p.kind.value.replace("_", "-"))
    if not preview:
        lines += _section("Eligible for promotion, still a candidate", session.eligible,
                          lambda p: f"{_uses(p)}; held back (see the SCMS output)")
    lines += _section(f"Close to promotion (needs {session.threshold} accepted uses)", session.close,
                      lambda p: f"{p.accepted_uses} of {session.threshold}")
    lines.append(f"<!-- scms session: events {session.first}-{session.last} -->")
    return "\n".join(lines).rstrip() + "\n"


def save(sessions_dir: Path, now: datetime, text: str) -> Path:
    """The report as `.scms/sessions/<date>-<time>.md` (local state, git-ignored), written atomically."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    stem = now.strftime("%Y-%m-%d-%H%M%S")
    path = sessions_dir / f"{stem}.md"
    number = 2
    while path.exists():
        path = sessions_dir / f"{stem}-{number}.md"
        number += 1
    atomic_write(path, text)
    return path


def _period(session: Session) -> str:
    if not session.events:
        return "Nothing happened in this session."
    start, end = session.events[0].ts, session.events[-1].ts
    return f"{len(session.events)} events, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC."


def _origin(pattern: Pattern) -> str:
    by = f"proposed by {pattern.proposed_by} (agent)" if pattern.proposed_by else "remembered"
    return f"{by}; {pattern.kind.value.replace('_', '-')}, now {pattern.tier.value}"


def _uses(pattern: Pattern) -> str:
    return f"{pattern.accepted_uses} accepted use" + ("" if pattern.accepted_uses == 1 else "s")


def _judged(pattern: Pattern) -> str:
    return f"{pattern.accepted_uses} accepted, {pattern.rejected_uses} rejected"


def _counted(title: str, events: list[Event], session: Session, noun: str,
             detail: Callable[[Pattern], str]) -> list[str]:
    counts = Counter(e.pattern_id for e in events)
    patterns = [session.patterns[i] for i in counts if i in session.patterns]
    return _section(title, patterns, lambda p: f"{counts[p.id]} {noun}{'' if counts[p.id] == 1 else 's'} "
                                               f"({detail(p)})")


def _rejections(events: list[Event], session: Session) -> list[str]:
    reasons: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.payload.get("reason"):
            reasons[event.pattern_id].append(str(event.payload["reason"]))
    counts = Counter(e.pattern_id for e in events)
    patterns = [session.patterns[i] for i in counts if i in session.patterns]
    return _section("Rejections", patterns, lambda p: f"{counts[p.id]} rejected" + (
        ": " + "; ".join(f"“{' '.join(r.split())[:120]}”" for r in reasons[p.id][:3]) if reasons[p.id] else ""))


def _section(title: str, patterns: list[Pattern], detail: Callable[[Pattern], str]) -> list[str]:
    unique = list({p.id: p for p in patterns}.values())
    if not unique:
        return [f"## {title}", "", "None.", ""]
    return [f"## {title}", ""] + [f"- **{' '.join(p.title.split())}** (`{p.id}`): {detail(p)}" for p in unique] + [""]
