"""Learning from accepted and rejected uses: sparse SGD on the value rows chosen by TF-IDF against ordinary code.

An update reads the value rows this event's contexts address, keeps the top t of them by TF-IDF (read much
more here than in background code) and takes plain SGD steps on those rows only; every other parameter is
frozen. The baselines this was measured against (raw counts, dense finetuning, LoRA, a slow level) live in
`benchmarks/learners.py`, not in the server.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from scms.learn.memory_layer import MemoryLayer
from scms.learn.slots import Background, access_counts, top_slots


@dataclass(frozen=True)
class Rule:
    """How the model learns; the defaults were chosen by the continual-learning benchmark."""

    top_t: int = 64
    lr: float = 48.0
    steps: int = 1


class Learner:
    """A memory layer and the rule that updates it; all inputs are unit-length embedding vectors."""

    def __init__(self, layer: MemoryLayer, background: Background, rule: Rule = Rule()) -> None:
        self.layer = layer
        self.background = background
        self.rule = rule
        self.events = 0
        for p in layer.parameters():
            p.requires_grad_(False)

    # reading

    def outputs(self, contexts: np.ndarray) -> np.ndarray:
        """The model's view of each context: unit vectors in pattern-embedding space."""
        with torch.no_grad():
            out = self.layer(torch.from_numpy(np.atleast_2d(contexts).astype(np.float32)))
            return nn.functional.normalize(out, dim=-1).numpy()

    # learning

    def learn(self, contexts: np.ndarray, target: np.ndarray, positive: bool = True, lock=None) -> np.ndarray:
        """One event: these contexts (the accepted one first, then replayed exemplars) belong to the pattern
        embedded as `target` (or, for a reject, do not). Returns the value rows it changed.
        Readers holding `lock` never see a row half-written."""
        x = torch.from_numpy(np.atleast_2d(contexts).astype(np.float32))
        target_t = torch.from_numpy(np.asarray(target, dtype=np.float32))
        self.events += 1
        lock = lock or nullcontext()
        with torch.no_grad():
            slots, weights = self.layer.address(x)
        rows, counts = access_counts(slots)
        chosen = self._choose(rows, counts)
        rows_t = torch.from_numpy(rows)
        chosen_rows = rows_t[torch.from_numpy(chosen)]
        for _ in range(self.rule.steps):
            values = self.layer.values.detach()[rows_t].clone().requires_grad_(True)
            out = self.layer(x, values, rows_t, address=(slots, weights))
            loss(out, target_t, positive).backward()
            self._step(chosen_rows, values.grad[torch.from_numpy(chosen)], lock)
        return chosen_rows.numpy()

    def _choose(self, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Positions (into `rows`) of the rows to update: the top t by TF-IDF against the background."""
        return top_slots(rows, counts, self.rule.top_t, self.background)

    def _step(self, rows: torch.Tensor, grad: torch.Tensor, lock) -> None:
        """Plain SGD on the chosen value rows."""
        with torch.no_grad(), lock:
            self.layer.values[rows] -= self.rule.lr * grad


def loss(out: torch.Tensor, target: torch.Tensor, positive: bool) -> torch.Tensor:
    """Pull the model's view of each context towards the pattern's embedding, or (a reject) away from it."""
    cosine = nn.functional.normalize(out, dim=-1) @ target
    return (1 - cosine).mean() if positive else cosine.clamp(min=0).mean()
