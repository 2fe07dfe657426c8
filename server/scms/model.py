"""Pydantic models shared by every layer: patterns, their evidence, events, tiers and statuses."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Tier(str, Enum):
    SESSION = "session"
    VALIDATED = "validated"
    ARCHIVE = "archive"


class Status(str, Enum):
    CANDIDATE = "candidate"  # session tier, proving itself through use
    VALIDATED = "validated"  # reached the validated tier by accepted uses (promote-eligible)
    PROMOTED = "promoted"  # reached the validated tier by an explicit promote
    ARCHIVED = "archived"  # forgotten or decayed; restorable


class Kind(str, Enum):
    PATTERN = "pattern"
    CONVENTION = "convention"
    ANTI_PATTERN = "anti_pattern"
    FAILURE = "failure"


class EventType(str, Enum):
    REMEMBERED = "remembered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PROMOTED = "promoted"
    DEMOTED = "demoted"
    FORGOTTEN = "forgotten"
    RESTORED = "restored"
    DECAYED = "decayed"
    FILE_SYNCED = "file_synced"  # the validated file on disk differs from the store (git pull, hand edit)
    FILE_REMOVED = "file_removed"  # the validated file disappeared from disk
    IMPORTED = "imported"  # a pattern from an SCMS-kit memory or a rule file, with its counts, dates and source
    UPDATED = "updated"  # a person edited its title, note, kind or tags
    PURGED = "purged"  # its text was scrubbed from every event (a secret remembered by mistake); archived
    REANCHORED = "reanchored"  # its evidence pointed at where its code is now (and its snippet, if that changed)


class Evidence(BaseModel):
    """Where a pattern was seen: a file range, the hash of its text, and the commit when in git."""

    model_config = ConfigDict(frozen=True)

    file: str  # workspace-relative, forward slashes
    start_line: int = Field(ge=1)  # 1-based, inclusive
    end_line: int = Field(ge=1)
    content_hash: str
    commit: str | None = None


class Pattern(BaseModel):
    """One pattern and its projected state; rows of the store are rebuilt from events into this."""

    id: str
    title: str
    body: str = ""
    snippet: str = ""
    kind: Kind = Kind.PATTERN
    languages: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    tier: Tier = Tier.SESSION
    status: Status = Status.CANDIDATE
    created: datetime
    updated: datetime
    promoted: datetime | None = None
    last_accepted: datetime | None = None
    decay_anchor: datetime  # last accepted use, creation or restore: what decay counts from
    accepted_uses: int = 0
    rejected_uses: int = 0
    rejected_contexts: list[str] = Field(default_factory=list)  # content hashes where it was rejected
    more_evidence: int = 0  # places it was used beyond the evidence kept (see store/projection.MAX_EVIDENCE)
    proposed_by: str | None = None  # the AI agent that proposed it (through `scms mcp`); None: a person did
    # evidence whose code has changed or gone: found when the pattern is shown, never stored
    stale: list[Evidence] = Field(default_factory=list, exclude=True)

    @field_validator("body")
    @classmethod
    def _blank_body_is_empty(cls, body: str) -> str:
        return body if body.strip() else ""  # a file cannot tell a blank note from none


class Retention(BaseModel):
    """The SCMS retention score and its factors at one moment."""

    base: float
    surprise: float
    confidence: float
    decay_rate: float
    days: float
    score: float


class Event(BaseModel):
    """One row of the append-only event log."""

    id: int
    ts: datetime
    type: EventType
    pattern_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
