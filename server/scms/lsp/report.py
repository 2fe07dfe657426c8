"""The session report shown when a session closes: what was promoted, what decayed, what is close."""

from __future__ import annotations

from scms.memory import Memory
from scms.model import Pattern, Tier


def session_report(memory: Memory, promoted: list[Pattern], archived: list[Pattern]) -> str:
    status = memory.status()["tiers"]
    threshold = memory.settings.promotion_threshold
    lines = ["# SCMS session report", "",
             f"Memory now: {status['session']} session candidates, {status['validated']} validated, "
             f"{status['archive']} archived.", ""]
    lines += _section("Promoted to the validated tier", promoted,
                      lambda p: f"{p.accepted_uses} accepted uses; file in `.scms/patterns/`")
    lines += _section("Archived by decay (restorable)", archived,
                      lambda p: f"{p.accepted_uses} accepted, {p.rejected_uses} rejected")
    close = [p for p in memory.list(Tier.SESSION) if 0 < p.accepted_uses < threshold]
    lines += _section(f"Close to promotion (needs {threshold} accepted uses)", close,
                      lambda p: f"{p.accepted_uses} of {threshold}")
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, patterns: list[Pattern], detail) -> list[str]:
    if not patterns:
        return [f"## {title}", "", "None.", ""]
    return [f"## {title}", ""] + [f"- **{p.title}** (`{p.id}`): {detail(p)}" for p in patterns] + [""]
