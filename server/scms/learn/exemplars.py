"""Accepted contexts kept as extra keys of their pattern (their embedding and their lexical terms): a
non-parametric memory that cannot forget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Near:
    """One accepted context close to a query: the pattern it was accepted for, its cosine, its terms."""

    owner: str
    cosine: float
    terms: tuple[str, ...]


class Exemplars:
    """Context vectors and terms, and the pattern each was accepted for."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.owners: list[str] = []
        self.terms: list[tuple[str, ...]] = []
        self._vectors = np.zeros((64, dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.owners)

    def matrix(self) -> np.ndarray:
        return self._vectors[:len(self.owners)]

    def add(self, owner: str, vector: np.ndarray, terms: tuple[str, ...] = ()) -> None:
        self.extend([owner], vector[None, :], [terms])

    def extend(self, owners: list[str], vectors: np.ndarray, terms: list[tuple[str, ...]] | None = None) -> None:
        needed = len(self.owners) + len(owners)
        if needed > len(self._vectors):
            grown = np.zeros((max(needed, 2 * len(self._vectors)), self.dim), dtype=np.float32)
            grown[:len(self.owners)] = self.matrix()
            self._vectors = grown
        self._vectors[len(self.owners):needed] = vectors
        self.owners.extend(owners)
        self.terms.extend(terms if terms is not None else [()] * len(owners))

    def drop(self, owner: str) -> int:
        """Forget every accepted context of this pattern (a purge); how many there were."""
        keep = [i for i, o in enumerate(self.owners) if o != owner]
        dropped = len(self.owners) - len(keep)
        if dropped:
            self._vectors[:len(keep)] = self.matrix()[keep]
            self.owners = [self.owners[i] for i in keep]
            self.terms = [self.terms[i] for i in keep]
        return dropped

    def of(self, owner: str, limit: int) -> np.ndarray:
        """The owner's most recent `limit` exemplars."""
        rows = [i for i, o in enumerate(self.owners) if o == owner][-limit:] if limit else []
        return self.matrix()[rows]

    def nearest(self, vector: np.ndarray, rows: int) -> list[Near]:
        """The `rows` accepted contexts closest to this one by cosine, closest first."""
        if not self.owners or rows <= 0:
            return []
        cosines = self.matrix() @ vector
        order = np.argpartition(-cosines, rows - 1)[:rows] if len(cosines) > rows else np.arange(len(cosines))
        order = order[np.argsort(-cosines[order], kind="stable")]
        return [Near(self.owners[i], float(cosines[i]), self.terms[i]) for i in order.tolist()]
