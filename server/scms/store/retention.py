"""The SCMS retention score: base value by tier × surprise by kind × confidence × decay_rate^days."""

from __future__ import annotations

from datetime import datetime

from scms.config import RetentionSettings
from scms.model import Kind, Pattern, Retention, Tier


def retention(pattern: Pattern, now: datetime, settings: RetentionSettings) -> Retention:
    """Computed from stored facts only: recall never changes any of them, so it never refreshes a pattern."""
    if pattern.tier is Tier.ARCHIVE:
        return Retention(base=0.0, surprise=1.0, confidence=_confidence(pattern), decay_rate=1.0, days=0.0, score=0.0)
    validated = pattern.tier is Tier.VALIDATED
    base = settings.base_validated if validated else settings.base_session
    rate = settings.decay_rate_validated if validated else settings.decay_rate_candidate
    surprise = {
        Kind.PATTERN: settings.surprise_pattern,
        Kind.CONVENTION: settings.surprise_convention,
        Kind.ANTI_PATTERN: settings.surprise_anti_pattern,
        Kind.FAILURE: settings.surprise_failure,
    }[pattern.kind]
    confidence = _confidence(pattern)
    days = max(0.0, (now - pattern.decay_anchor).total_seconds() / 86400.0)
    score = base * surprise * confidence * rate**days
    return Retention(base=base, surprise=surprise, confidence=confidence, decay_rate=rate, days=days, score=score)


def _confidence(pattern: Pattern) -> float:
    """Laplace-smoothed share of accepted uses: 0.5 for a new pattern, towards 1 with each accept."""
    return (pattern.accepted_uses + 1) / (pattern.accepted_uses + pattern.rejected_uses + 2)
