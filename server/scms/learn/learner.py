"""Learning from accepted and rejected uses: sparse SGD on the TF-IDF-chosen value rows, and the baselines.

`sparse` updates only the top-t value rows this update reads much more than background code does (plain
SGD, every other parameter frozen); `counts` chooses them by raw access counts instead; `dense` finetunes
every parameter; `lora` trains low-rank adapters on the projections. With `slow_every` C > 0 a slow level
accumulates the sparse gradient and applies it every C events, next to the fast per-event step.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from scms.learn.memory_layer import MemoryLayer
from scms.learn.slots import Background, access_counts, top_slots

METHODS = ("sparse", "counts", "dense", "lora")


@dataclass(frozen=True)
class Rule:
    """How the model learns; the defaults were chosen by the continual-learning benchmark."""

    method: str = "sparse"
    top_t: int = 64
    lr: float = 48.0
    steps: int = 1
    slow_every: int = 0
    slow_share: float = 0.5  # of the learning rate, applied by the slow level to its summed gradient
    lora_rank: int = 8


class Learner:
    """A memory layer and the rule that updates it; all inputs are unit-length embedding vectors."""

    def __init__(self, layer: MemoryLayer, background: Background | None, rule: Rule = Rule()) -> None:
        if rule.method not in METHODS:
            raise ValueError(f"unknown learning method {rule.method!r}; one of {', '.join(METHODS)}")
        self.layer = layer
        self.background = background
        self.rule = rule
        self.events = 0
        self._slow: torch.Tensor | None = None
        for p in layer.parameters():
            p.requires_grad_(False)
        self._optimizer = None
        if rule.method == "dense":
            params = [p for p in layer.parameters()]
            for p in params:
                p.requires_grad_(True)
            self._optimizer = torch.optim.SGD(params, lr=rule.lr)
        elif rule.method == "lora":
            params = []
            for linear in (layer.query, layer.gate, layer.out):
                adapter = LowRank(linear.weight.shape, rule.lora_rank)
                parametrize.register_parametrization(linear, "weight", adapter)
                params += list(adapter.parameters())
            self._optimizer = torch.optim.SGD(params, lr=rule.lr)

    # reading

    def outputs(self, contexts: np.ndarray) -> np.ndarray:
        """The model's view of each context: unit vectors in pattern-embedding space."""
        with torch.no_grad():
            out = self.layer(torch.from_numpy(np.atleast_2d(contexts).astype(np.float32)))
            return nn.functional.normalize(out, dim=-1).numpy()

    # learning

    def learn(self, contexts: np.ndarray, target: np.ndarray, positive: bool = True, lock=None) -> np.ndarray | None:
        """One event: these contexts (the accepted one first, then replayed exemplars) belong to the pattern
        embedded as `target` (or, for a reject, do not). Returns the value rows it changed (None: all).
        Readers holding `lock` never see a row half-written."""
        x = torch.from_numpy(np.atleast_2d(contexts).astype(np.float32))
        target_t = torch.from_numpy(np.asarray(target, dtype=np.float32))
        self.events += 1
        lock = lock or nullcontext()
        if self._optimizer is not None:
            with lock:
                for _ in range(self.rule.steps):
                    self._optimizer.zero_grad()
                    out = self.layer(x)
                    _loss(out, target_t, positive).backward()
                    self._optimizer.step()
            return None
        return self._sparse_step(x, target_t, positive, lock)

    def _sparse_step(self, x: torch.Tensor, target: torch.Tensor, positive: bool, lock) -> np.ndarray:
        with torch.no_grad():
            slots, weights = self.layer.address(x)
        rows, counts = access_counts(slots)
        chosen = top_slots(rows, counts, self.rule.top_t,
                           self.background if self.rule.method == "sparse" else None)
        rows_t = torch.from_numpy(rows)
        chosen_rows = rows_t[torch.from_numpy(chosen)]
        slow = self.rule.slow_share if self.rule.slow_every else 0.0
        for _ in range(self.rule.steps):
            values = self.layer.values.detach()[rows_t].clone().requires_grad_(True)
            out = self.layer(x, values, rows_t, address=(slots, weights))
            _loss(out, target, positive).backward()
            grad = values.grad[torch.from_numpy(chosen)]
            with torch.no_grad(), lock:
                self.layer.values[chosen_rows] -= (1 - slow) * self.rule.lr * grad
            if slow:
                if self._slow is None:
                    self._slow = torch.zeros_like(self.layer.values)
                self._slow.index_add_(0, chosen_rows, grad)
        if slow and self.events % self.rule.slow_every == 0:
            with torch.no_grad(), lock:  # only rows some update chose have a non-zero sum
                self.layer.values -= slow * self.rule.lr * self._slow
            self._slow.zero_()
        return chosen_rows.numpy()


def _loss(out: torch.Tensor, target: torch.Tensor, positive: bool) -> torch.Tensor:
    """Pull the model's view of each context towards the pattern's embedding, or (a reject) away from it."""
    cosine = nn.functional.normalize(out, dim=-1) @ target
    return (1 - cosine).mean() if positive else cosine.clamp(min=0).mean()


class LowRank(nn.Module):
    """A LoRA adapter as a weight parametrization: W + B·A, with B starting at zero."""

    def __init__(self, shape: torch.Size, rank: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(rank, shape[1]) / shape[1] ** 0.5)
        self.b = nn.Parameter(torch.zeros(shape[0], rank))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.b @ self.a
