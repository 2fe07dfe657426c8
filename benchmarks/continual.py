"""Continual learning from a stream of validations: what each way of learning acquires and what it forgets.

Every system sees the same stream of (context, pattern) validations in order and ranks all patterns
(stream patterns and distractors) for held-out contexts it never saw. At checkpoints we record, for every
pattern learned so far, whether its held-out context recalls it at rank 1. Hyperparameters are chosen on
the even-numbered patterns (dev) and figures are reported on the odd-numbered ones (test).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from benchmarks import learners
from benchmarks.validation_stream import Stream
from scms.learn.exemplars import Exemplars as ExemplarStore
from scms.learn.learner import Rule
from scms.learn.memory_layer import MemoryLayer, Shape
from scms.learn.service import BACKGROUND_BATCH, REPLAY
from scms.learn.slots import background as background_of
from scms.recall.ranking import MODEL

EARLY = 100  # patterns whose retention we follow
EVERY = 100  # validations between checkpoints


class Embeddings:
    """No learning: the context's cosine to each pattern."""

    def __init__(self, stream: Stream) -> None:
        self.patterns = stream.patterns

    def scores(self, contexts: np.ndarray) -> np.ndarray:
        return contexts @ self.patterns.T

    def learn(self, context: np.ndarray, target: int) -> None:
        pass


class Exemplars(Embeddings):
    """Accepted contexts join their pattern's keys: a pattern scores its best key."""

    def __init__(self, stream: Stream) -> None:
        super().__init__(stream)
        self.store = ExemplarStore(stream.patterns.shape[1])  # the server's own, owners as pattern indexes
        self.owners: list[int] = []

    def scores(self, contexts: np.ndarray) -> np.ndarray:
        base = super().scores(contexts)
        if self.owners:
            np.maximum.at(base, (slice(None), np.array(self.owners)), contexts @ self.store.matrix().T)
        return base

    def learn(self, context: np.ndarray, target: int) -> None:
        self.store.add(str(target), context)
        self.owners.append(target)

    def of(self, target: int, limit: int) -> list[np.ndarray]:
        return list(self.store.of(str(target), limit))


class Model(Exemplars):
    """The memory layer's scores, alone or added to exemplar scores with weight `weight`; `rule` may be one of
    the baselines' `learners.Variant`s."""

    def __init__(self, stream: Stream, rule: Rule, exemplars: bool, replay: int = REPLAY,
                 weight: float | None = None, shape: Shape = Shape()) -> None:
        """Alone, the model's own scores rank; with exemplars its shift is added with `weight` (as ranked)."""
        super().__init__(stream)
        torch.manual_seed(0)
        layer = MemoryLayer(shape)
        ground = background_of(layer, stream.background, BACKGROUND_BATCH)
        self.learner = learners.make(layer, ground, rule)
        self.use_exemplars = exemplars
        self.replay = replay
        self.weight = (MODEL if exemplars else 1.0) if weight is None else weight
        self.seconds: list[float] = []

    def scores(self, contexts: np.ndarray) -> np.ndarray:
        base = super().scores(contexts) if self.use_exemplars else contexts @ self.patterns.T
        learned = self.learner.outputs(contexts) @ self.patterns.T - contexts @ self.patterns.T
        return base + self.weight * learned

    def learn(self, context: np.ndarray, target: int) -> None:
        batch = [context] + self.of(target, self.replay)
        started = time.perf_counter()
        self.learner.learn(np.stack(batch), self.patterns[target])
        self.seconds.append(time.perf_counter() - started)
        super().learn(context, target)


@dataclass
class Run:
    name: str
    checkpoints: list[int] = field(default_factory=list)  # validations seen
    correct: list[np.ndarray] = field(default_factory=list)  # per checkpoint: held-out top-1 hit per pattern
    learned: list[int] = field(default_factory=list)  # per checkpoint: patterns learned so far
    lift: list[np.ndarray] = field(default_factory=list)  # per checkpoint: right pattern's score minus no learning
    seconds: list[float] = field(default_factory=list)


def run(stream: Stream, name: str, system) -> Run:
    contexts = np.stack([h[0] for h in stream.held_out])
    targets = np.array([h[1] for h in stream.held_out])
    marks = _checkpoints(stream)
    result = Run(name)
    rows = np.arange(len(targets))
    plain = (contexts @ stream.patterns.T)[rows, targets]
    for position, (context, target) in enumerate(stream.events, 1):
        system.learn(context, target)
        if position in marks:
            scores = system.scores(contexts)
            result.checkpoints.append(position)
            result.correct.append(scores.argmax(axis=1) == targets)
            result.lift.append(scores[rows, targets] - plain)
            result.learned.append(sum(1 for start in stream.order if start < position))
    result.seconds = getattr(system, "seconds", [])
    return result


def _checkpoints(stream: Stream) -> set[int]:
    first = stream.order[EARLY]
    return set(range(first, len(stream.events), EVERY)) | {len(stream.events)}


@dataclass
class Figures:
    early_after: float  # early patterns' recall@1 right after they were learned
    early_end: float
    acquisition: float  # recall@1 of patterns learned since the previous checkpoint, averaged
    final: float  # recall@1 over every pattern at the end
    retention_curve: list[float]
    acquisition_curve: list[float]
    lift_kept: float  # early patterns: share of the score lift from learning still there at the end


def figures(r: Run, mask: np.ndarray) -> Figures:
    early = np.zeros_like(mask)
    early[:EARLY] = True
    early &= mask
    curve = [float(c[early].mean()) for c in r.correct]
    acquired = []
    previous = EARLY
    for c, learned in zip(r.correct[1:], r.learned[1:]):
        new = np.zeros_like(mask)
        new[previous:learned] = True
        new &= mask
        if new.any():
            acquired.append(float(c[new].mean()))
        previous = learned
    final = r.correct[-1][mask]
    after, end = float(r.lift[0][early].mean()), float(r.lift[-1][early].mean())
    kept = end / after if after > 0.01 else float("nan")  # below 0.01 of cosine there was no lift to keep
    return Figures(curve[0], curve[-1], float(np.mean(acquired)), float(final.mean()), curve, acquired, kept)


def masks(stream: Stream) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(len(stream.held_out))
    return index % 2 == 0, index % 2 == 1

