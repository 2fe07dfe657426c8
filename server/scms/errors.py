"""Errors the memory raises for bad input or impossible requests; front ends turn them into messages."""

from __future__ import annotations


class ScmsError(Exception):
    """Base class: the message is meant for the user, as is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(ScmsError):
    """The caller gave something unusable: a bad range, a binary file, a malformed argument."""


class NotFound(ScmsError):
    """An id or file that does not exist."""


class InvalidState(ScmsError):
    """The request does not fit the pattern's current tier (promote an archived pattern, …)."""


class StoreError(ScmsError):
    """The store cannot be used: written by a newer schema, not a database, not writable."""


class StoreBusy(StoreError):
    """Another process holds the store's write lock for longer than SCMS waits; trying again later works."""


class Unavailable(ScmsError):
    """A capability that is not there (yet, or on this machine); not the caller's fault."""
