"""File names for exported rules: ascii slugs with the pattern id, and the pattern's own file in `.scms/patterns/`."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from scms.model import Pattern
from scms.store.files import file_name

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_MAX = 48


def slug(text: str, limit: int = SLUG_MAX) -> str:
    """Lower-case ascii letters, digits and single dashes, at most `limit` characters; `pattern` when nothing is
    left (a title of symbols only)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:limit].rstrip("-") or "pattern"


def rule_stem(pattern: Pattern) -> str:
    """`scms-<slug>-<id>`: the id keeps two patterns of the same title apart; neither part can hold a `/` or `..`."""
    return f"scms-{slug(pattern.title)}-{slug(pattern.id, 64)}"


def unique_stems(patterns: list[Pattern]) -> dict[str, str]:
    """The stem of each pattern id; ids that slug alike (`A_b` and `a-b`) get a short hash of the id added."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for pattern in patterns:
        stem = rule_stem(pattern)
        if stem in taken:
            stem = f"{stem}-{hashlib.sha256(pattern.id.encode('utf-8')).hexdigest()[:8]}"
        taken.add(stem)
        stems[pattern.id] = stem
    return stems


def source_file(pattern: Pattern) -> str:
    """The pattern's file in the validated tier, as the store names it."""
    return f".scms/patterns/{file_name(pattern)}"
