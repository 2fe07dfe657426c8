"""The baselines the server's sparse TF-IDF learner is measured against; only the benchmarks use them.

`sparse` is the server's own learner (`scms.learn.learner.Learner`); `counts` chooses the rows by raw access
counts instead of TF-IDF; `dense` finetunes every parameter; `lora` trains low-rank adapters on the
projections. With `slow_every` C > 0 a slow level sums the sparse gradient and applies it every C events,
next to the fast per-event step (the continuum memory of nested learning).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from scms.learn.learner import Learner, Rule, loss
from scms.learn.memory_layer import MemoryLayer
from scms.learn.slots import Background, top_slots

METHODS = ("sparse", "counts", "dense", "lora")


@dataclass(frozen=True)
class Variant(Rule):
    """The server's rule plus the choices only the benchmark varies."""

    method: str = "sparse"
    slow_every: int = 0
    slow_share: float = 0.5  # of the learning rate, applied by the slow level to its summed gradient
    lora_rank: int = 8


def make(layer: MemoryLayer, background: Background, rule: Rule = Variant()) -> Learner:
    """The learner for this rule: the server's own for plain sparse TF-IDF, a baseline otherwise."""
    method = getattr(rule, "method", "sparse")
    if method not in METHODS:
        raise ValueError(f"unknown learning method {method!r}; one of {', '.join(METHODS)}")
    if method in ("dense", "lora"):
        return Finetune(layer, background, rule)
    if method == "counts":
        return RawCounts(layer, background, rule)
    if getattr(rule, "slow_every", 0):
        return SlowLevel(layer, background, rule)
    return Learner(layer, background, rule)


class RawCounts(Learner):
    """Sparse updates of the rows this event reads most, however common they are in ordinary code."""

    def _choose(self, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return top_slots(rows, counts, self.rule.top_t, None)


class SlowLevel(Learner):
    """The sparse learner with a share of its step moved to a slow level applied every `slow_every` events."""

    def __init__(self, layer: MemoryLayer, background: Background, rule: Variant) -> None:
        super().__init__(layer, background, rule)
        self._slow = torch.zeros_like(layer.values)

    def learn(self, contexts: np.ndarray, target: np.ndarray, positive: bool = True, lock=None) -> np.ndarray:
        changed = super().learn(contexts, target, positive, lock)
        if self.events % self.rule.slow_every == 0:
            with torch.no_grad(), lock or nullcontext():  # only rows some update chose have a non-zero sum
                self.layer.values -= self.rule.slow_share * self.rule.lr * self._slow
            self._slow.zero_()
        return changed

    def _step(self, rows: torch.Tensor, grad: torch.Tensor, lock) -> None:
        with torch.no_grad(), lock:
            self.layer.values[rows] -= (1 - self.rule.slow_share) * self.rule.lr * grad
        self._slow.index_add_(0, rows, grad)


class Finetune(Learner):
    """Every parameter (`dense`) or low-rank adapters on the three projections (`lora`), by plain SGD."""

    def __init__(self, layer: MemoryLayer, background: Background, rule: Variant) -> None:
        super().__init__(layer, background, rule)
        if rule.method == "dense":
            params = list(layer.parameters())
            for p in params:
                p.requires_grad_(True)
        else:
            params = []
            for linear in (layer.query, layer.gate, layer.out):
                adapter = LowRank(linear.weight.shape, rule.lora_rank)
                parametrize.register_parametrization(linear, "weight", adapter)
                params += list(adapter.parameters())
        self._optimizer = torch.optim.SGD(params, lr=rule.lr)

    def learn(self, contexts: np.ndarray, target: np.ndarray, positive: bool = True, lock=None) -> None:
        """One event; every row may change (returns None)."""
        x = torch.from_numpy(np.atleast_2d(contexts).astype(np.float32))
        target_t = torch.from_numpy(np.asarray(target, dtype=np.float32))
        self.events += 1
        with lock or nullcontext():
            for _ in range(self.rule.steps):
                self._optimizer.zero_grad()
                loss(self.layer(x), target_t, positive).backward()
                self._optimizer.step()
        return None


class LowRank(nn.Module):
    """A LoRA adapter as a weight parametrization: W + B·A, with B starting at zero."""

    def __init__(self, shape: torch.Size, rank: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(rank, shape[1]) / shape[1] ** 0.5)
        self.b = nn.Parameter(torch.zeros(shape[0], rank))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.b @ self.a
