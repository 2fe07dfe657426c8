"""The hover card: recalled patterns with tier, uses, why they matched, the snippet and command links."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from scms.memory import Recalled, fence_for
from scms.model import Tier

_MARKUP = "\\`*_[]<>#~-=+|"
_LANGUAGE = re.compile(r"[^\w+#.-]")
_BLOCK_OPENER = re.compile(r"^\s*(`{3,}|~{3,}|[-*_=+]|#|\d+[.)]|<|\|)")
BADGES = {Tier.VALIDATED: "validated", Tier.SESSION: "candidate", Tier.ARCHIVE: "archived"}
SNIPPET_LINES = 10


def command_link(title: str, command: str, argument: dict[str, Any]) -> str:
    """A markdown link that runs a command with one JSON argument (VS Code `command:` URIs)."""
    return f"[{title}](command:{command}?{quote(json.dumps([argument]))} \"{title}\")"


def card(recalled: list[Recalled], uri: str, context_range: dict[str, Any], context_hash: str = "") -> str:
    """The card for the patterns recalled at this unit (`context_hash`: its content hash, to tell a pattern's
    own evidence, where accepting or rejecting it would count nothing)."""
    parts = []
    for item in recalled:
        p = item.pattern
        use = {"patternId": p.id, "uri": uri, "range": context_range}
        if context_hash and any(e.content_hash == context_hash for e in p.evidence):
            links = ["*this code is its evidence*"]
        else:
            links = [command_link("Accept", "scms.accept", use), command_link("Reject here", "scms.reject", use)]
        if p.tier is Tier.SESSION:
            links.append(command_link("Promote", "scms.promote", {"patternId": p.id}))
        links.append(command_link("Edit…", "scms.editPattern", {"patternId": p.id}))
        uses = f"{p.accepted_uses} accepted use" + ("" if p.accepted_uses == 1 else "s")
        by = f" · proposed by {_escape(' '.join(p.proposed_by.split()))} (agent)" if p.proposed_by else ""
        section = [f"**SCMS** · *{BADGES[p.tier]}* · {uses} · {p.kind.value.replace('_', '-')}{by}",
                   "", f"#### {_escape(' '.join(p.title.split()))}", "", " · ".join(links), ""]
        if p.stale:
            where = ", ".join(f"`{_escape(e.file)}` {e.start_line}–{e.end_line}" for e in p.stale[:3])
            more = f" and {len(p.stale) - 3} more" if len(p.stale) > 3 else ""
            section += [f"⚠ *Stale:* the code it cites has changed or gone ({where}{more}) · "
                        + command_link("Re-anchor", "scms.reanchor", {"patternId": p.id}) + " · "
                        + command_link("Forget", "scms.forget", {"patternId": p.id}), ""]
        section += [f"*Why:* {reason}  " for reason in item.reasons]
        if p.body.strip():
            section += ["", _quoted(_clip(p.body, 400))]
        if p.snippet:
            snippet = _first_lines(p.snippet)
            language = _LANGUAGE.sub("", p.languages[0]) if p.languages else ""
            fence = fence_for(snippet)
            section += ["", f"{fence}{language}", snippet, fence]
        parts.append("\n".join(section))
    return "\n\n---\n\n".join(parts)


def _escape(text: str, markup: str = _MARKUP) -> str:
    return "".join("\\" + c if c in markup else c for c in text)


def _quoted(body: str) -> str:
    """The note as a blockquote that holds no links, fences or rules: nothing in it can outlive it."""
    return "\n".join("> " + (_escape(line) if _BLOCK_OPENER.match(line) else _escape(line, "\\[]<"))
                     for line in body.splitlines())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _first_lines(snippet: str) -> str:
    lines = snippet.splitlines()
    if len(lines) <= SNIPPET_LINES:
        return snippet
    more = len(lines) - SNIPPET_LINES
    return "\n".join(lines[:SNIPPET_LINES] + [f"… ({more} more line{'' if more == 1 else 's'})"])
