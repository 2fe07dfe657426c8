"""The session report shown when a session closes: what was promoted, what decayed, what is close to promotion."""

from __future__ import annotations

from collections.abc import Callable

from scms.model import Pattern


def session_report(tiers: dict[str, int], threshold: int, promoted: list[Pattern], archived: list[Pattern],
                   close: list[Pattern], *, preview: bool = False) -> str:
    """Markdown: the memory's counts now, then one section per kind of change (`preview`: the changes closing
    the session now would make)."""
    lines = ["# SCMS session report" + (" (if the session closed now)" if preview else ""), "",
             f"Memory now: {tiers['session']} session candidates, {tiers['validated']} validated, "
             f"{tiers['archive']} archived.", ""]
    lines += _section("Would be promoted to the validated tier" if preview else "Promoted to the validated tier",
                      promoted, lambda p: f"{p.accepted_uses} accepted uses; file in `.scms/patterns/`")
    lines += _section("Would be archived by decay (restorable)" if preview else "Archived by decay (restorable)",
                      archived,
                      lambda p: f"{p.accepted_uses} accepted, {p.rejected_uses} rejected")
    lines += _section(f"Close to promotion (needs {threshold} accepted uses)", close,
                      lambda p: f"{p.accepted_uses} of {threshold}")
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, patterns: list[Pattern], detail: Callable[[Pattern], str]) -> list[str]:
    if not patterns:
        return [f"## {title}", "", "None.", ""]
    return [f"## {title}", ""] + [f"- **{p.title}** (`{p.id}`): {detail(p)}" for p in patterns] + [""]
