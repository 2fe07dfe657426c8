"""Which memory slots an update may change: TF-IDF of slot accesses against a background of ordinary code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Background:
    """In how many of `batches` background batches each slot was read (document frequency)."""

    df: np.ndarray  # (slots,) int
    batches: int

    def idf(self, slots: np.ndarray) -> np.ndarray:
        return np.log((self.batches + 1) / (self.df[slots] + 1))


def background(layer, vectors: np.ndarray, batch_size: int = 32) -> Background:
    """Slot document frequencies over batches of ordinary code contexts; also centres the layer's input on them."""
    with torch.no_grad():
        x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        layer.centre.copy_(x.mean(dim=0))
        df = np.zeros(layer.shape.slots, dtype=np.int32)
        batches = 0
        for start in range(0, len(x), batch_size):
            slots, _ = layer.address(x[start:start + batch_size])
            df[np.unique(slots.numpy())] += 1
            batches += 1
    return Background(df, batches)


def access_counts(slots: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The distinct slots read in one update, sorted, and how many times each was read (term frequency)."""
    unique, counts = np.unique(slots.reshape(-1).numpy(), return_counts=True)
    return unique, counts


def top_slots(unique: np.ndarray, counts: np.ndarray, top: int, background: Background | None) -> np.ndarray:
    """Positions (into `unique`) of the `top` slots by TF-IDF, or by raw counts when there is no background.

    Ties go to the lower slot id, so the choice is deterministic."""
    score = counts.astype(np.float64)
    if background is not None:
        score = score * background.idf(unique)
    order = np.lexsort((unique, -score))
    return np.sort(order[:top])

