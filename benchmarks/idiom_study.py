"""What would help: SCMS's ranking and learning replayed in numpy on the study's features (checked against the
facade's ranks), and changes to them, each with its weights chosen on the tune projects only.

The replica follows `scms.recall.ranking.recall` (candidates: the 40 best by lexical similarity, the 40 best
by cosine, the 10 patterns whose accepted contexts are closest; relevance, learned gain, tier prior and
retention) and `scms.learn.service` (each accept: one sparse step of the server's own `Learner` on the context
plus the pattern's last 2 exemplars, then the context kept as an exemplar).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import numpy as np

from benchmarks.idiom_corpus import PHASES
from benchmarks.idioms import LIMIT
from scms.config import RetentionSettings
from scms.learn.learner import Learner, Rule
from scms.learn.service import REPLAY
from scms.recall import ranking

POOL = max(LIMIT * 4, 20)  # as ranking.recall's pool for `limit` results
BASE_SESSION = RetentionSettings().base_session  # a candidate's base retention (days since an accept: ~0 here)


@dataclass(frozen=True)
class Config:
    embedding: float = ranking.EMBEDDING  # weight of the cosine in relevance (the rest: lexical)
    learned: float = ranking.LEARNED  # weight of the learned gain
    model: float = ranking.MODEL  # weight of the memory model's shift inside the gain
    exemplars: str = "keys"  # keys (shipped): an exemplar is a full key (its own lexical + embedding relevance), and
    # a pattern's relevance its best key (itself or an exemplar) + `second` · the next; gain (before issue 15):
    # max(0, best exemplar − own cosine); floor: ex_weight · max(0, exemplar − floor)
    second: float = ranking.SECOND
    combine: str = "sum"  # how the best two keys add up (keys mode): sum (shipped: best + second · next of the
    # pattern's own and its exemplars'), exemplars (the next among its exemplars only), noisy-or (1 − (1 − best)
    # (1 − second · next), bounded by 1)
    popularity: bool = True  # each accept raises the pattern's retention, hence its prior (scms.store.retention)
    hubs: float = 0.0  # hubness correction (CSLS): minus hubs · how much more than the average a pattern, or an
    # accepted context, resembles its nearest patterns
    ex_weight: float = 1.0
    floor: float = 0.0
    calls: float = 0.0  # weight of called-API similarity in relevance
    idents: float = 0.0  # weight of identifier similarity
    negatives: str = "off"  # implicit negatives, the patterns ranked above the accepted one: model (a reject
    # step of the memory model) | exemplars (a penalty where the query resembles that context)
    neg_weight: float = 0.5
    neg_k: int = 3
    online: float = 0.0  # step of fusion weights learned per project from accepts (perceptron), 0 = off
    lr: float = 48.0  # the memory model's learning rate (the slow level's, with a fast one)
    fast_lr: float = 0.0  # > 0: a fast level learns each accept; the slow one replays the session at its close


def _top(matrix: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of each row's k largest entries."""
    mask = np.zeros(matrix.shape, dtype=bool)
    k = min(k, matrix.shape[1])
    np.put_along_axis(mask, np.argpartition(-matrix, k - 1, axis=1)[:, :k], True, axis=1)
    return mask


class State:
    """Everything learned so far in one simulated memory."""

    def __init__(self, f, cfg: Config, shifts: dict | None = None) -> None:
        self.f, self.cfg = f, cfg
        self.counts = np.zeros(len(f.ids))
        self.ex_rows: list[int] = []
        self.neg_rows: list[int] = []
        self.neg_owner: list[int] = []
        self.slow = Learner(copy.deepcopy(f.layer), f.background, Rule(lr=cfg.lr))
        self.fast = Learner(copy.deepcopy(f.layer), f.background, Rule(lr=cfg.fast_lr)) if cfg.fast_lr else None
        self.session: list[tuple[np.ndarray, int]] = []
        projects = sorted(set(f.project_q) | set(f.project_c))
        start = np.array([cfg.embedding, 1 - cfg.embedding, cfg.learned, cfg.learned * cfg.model])
        self.w = {p: start.copy() for p in projects}
        self.shifts = shifts  # cached shifts of the memory model (when the learning does not differ from it)
        self.point = 0

    # scoring

    def _shift(self, kind: str, rows: np.ndarray, X: np.ndarray) -> np.ndarray:
        if self.shifts is not None:
            return self.shifts["Q"][self.point][rows] if kind == "Q" else self.shifts["C"][rows]
        base = X @ self.f.P.T
        shift = np.zeros_like(base)
        for learner in (self.slow, self.fast):
            if learner is not None and learner.events:
                shift += learner.outputs(X) @ self.f.P.T - base
        return shift

    def features(self, kind: str, rows: np.ndarray):
        """Relevance parts [rows, patterns] and the candidate pool, as ranking.recall has them."""
        f, cfg = self.f, self.cfg
        X = (f.Q if kind == "Q" else f.C)[rows]
        cos = X @ f.P.T
        lex = f.lex[kind][rows]
        pool = _top(np.where(lex > 0, lex, -np.inf), POOL) & (lex > 0) | _top(cos, POOL)
        best = np.full(cos.shape, -np.inf, dtype=np.float32)
        runner_up = np.full(cos.shape, -np.inf, dtype=np.float32)  # the second-best exemplar key (keys mode)
        if self.ex_rows:
            ex = np.array(self.ex_rows)
            sims = X @ f.C[ex].T
            if cfg.exemplars == "keys":
                sims = cfg.embedding * sims + (1 - cfg.embedding) * f.lex[kind + "C"][rows][:, ex] \
                    + cfg.calls * f.calls[kind + "C"][rows][:, ex] + cfg.idents * f.idents[kind + "C"][rows][:, ex] \
                    - cfg.hubs * (f.hub_c[ex] - f.hub_c.mean())
            owners = f.target[ex]
            for owner in np.unique(owners):
                own_sims = sims[:, owners == owner]
                best[:, owner] = own_sims.max(axis=1)
                if own_sims.shape[1] > 1:
                    runner_up[:, owner] = np.partition(own_sims, -2, axis=1)[:, -2]
            known = _top(best, POOL) & np.isfinite(best)  # the accepted contexts ranking.recall scores
            best = np.where(known, best, -np.inf)
            runner_up = np.where(known, runner_up, -np.inf)
            pool |= _top(best, LIMIT) & known
        has = np.isfinite(best)
        if cfg.exemplars == "floor":
            gain = np.where(has, cfg.ex_weight * np.maximum(0, best - cfg.floor), 0)
        elif cfg.exemplars == "keys":
            gain = np.zeros_like(cos)
        else:
            gain = np.where(has, np.maximum(0, best - cos), 0)
        shift = self._shift(kind, rows, X)
        extra = cfg.calls * f.calls[kind][rows] + cfg.idents * f.idents[kind][rows]
        if cfg.calls:
            pool |= _top(f.calls[kind][rows], POOL) & (f.calls[kind][rows] > 0)
        if cfg.idents:
            pool |= _top(f.idents[kind][rows], POOL) & (f.idents[kind][rows] > 0)
        penalty = np.zeros_like(cos)
        if self.neg_rows:
            sims = X @ f.C[np.array(self.neg_rows)].T
            owners = np.array(self.neg_owner)
            for owner in np.unique(owners):
                near = sims[:, owners == owner].max(axis=1)
                penalty[:, owner] = cfg.neg_weight * np.maximum(0, near - np.maximum(cos[:, owner], best[:, owner]))
        parts = np.stack([cos, lex, gain, shift], axis=-1)
        return parts, extra, (best, runner_up) if cfg.exemplars == "keys" else None, penalty, pool

    def scores(self, kind: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts, extra, keys, penalty, pool = self.features(kind, rows)
        projects = (self.f.project_q if kind == "Q" else self.f.project_c)[rows]
        w = np.stack([self.w[p] for p in projects])[:, None, :]
        own = (parts[..., :3] * w[..., :3]).sum(-1) + extra - self.cfg.hubs * (self.f.hub_p - self.f.hub_p.mean())
        if keys is not None:
            own = self._with_exemplars(own, keys[0] * self.cfg.ex_weight, keys[1] * self.cfg.ex_weight)
        relevance = own + parts[..., 3] * w[..., 3] - penalty
        confidence = (self.counts + 1) / (self.counts + 2)  # a candidate's retention, as scms.store.retention has it
        prior = ranking.WEIGHTS["tier"] * 0.5 + ranking.WEIGHTS["retention"] * BASE_SESSION * confidence
        score = ranking.WEIGHTS["relevance"] * relevance + prior
        return np.where(pool, score, -np.inf), parts

    def _with_exemplars(self, own: np.ndarray, best: np.ndarray, runner_up: np.ndarray) -> np.ndarray:
        """ranking._with_exemplars (combine sum): the best two of the pattern's own key and its exemplars'."""
        has = np.isfinite(best)
        first = np.maximum(own, best)
        second = np.maximum(np.minimum(own, best), runner_up)
        if self.cfg.combine == "exemplars":
            first, second = best, np.where(np.isfinite(runner_up), runner_up, 0.0)
        if self.cfg.combine == "noisy-or":
            combined = 1 - (1 - np.clip(first, 0, 1)) * (1 - self.cfg.second * np.clip(second, 0, 1))
        else:
            combined = first + self.cfg.second * second
        with np.errstate(invalid="ignore"):
            return np.where(has, np.maximum(own, combined), own)

    def ranks(self) -> np.ndarray:
        f = self.f
        out = np.zeros(len(f.wanted), dtype=int)
        for start in range(0, len(out), 128):
            rows = np.arange(start, min(start + 128, len(out)))
            score, _ = self.scores("Q", rows)
            right = score[np.arange(len(rows)), f.wanted[rows]]
            position = 1 + (score > right[:, None]).sum(axis=1)
            out[rows] = np.where(np.isfinite(right) & (position <= LIMIT), position, 0)
        return out

    # learning

    def accept(self, j: int) -> None:
        f, cfg = self.f, self.cfg
        target = int(f.target[j])
        if cfg.negatives != "off" or cfg.online:
            score, parts = self.scores("C", np.array([j]))
            above = [int(p) for p in np.argsort(-score[0]) if score[0, p] >= score[0, target] and p != target]
            above = above[:cfg.neg_k]
            if cfg.online and above:
                w = self.w[f.project_c[j]]
                for other in above:
                    w += cfg.online * (parts[0, target] - parts[0, other])
                np.maximum(w, 0, out=w)
            if cfg.negatives == "model":
                for other in above:
                    self.slow.learn(f.C[j][None, :], f.P[other], positive=False)
            elif cfg.negatives == "exemplars":
                self.neg_rows += [j] * len(above)
                self.neg_owner += above
        replay = [r for r in self.ex_rows if f.target[r] == target][-REPLAY:]
        batch = np.vstack([f.C[j][None, :], f.C[replay]]) if replay else f.C[j][None, :]
        if self.shifts is None:
            (self.fast or self.slow).learn(batch, f.P[target])
        self.session.append((batch, target))
        self.ex_rows.append(j)
        self.counts[target] += 1 if cfg.popularity else 0

    def close_session(self) -> None:
        """The slow level replays the session's accepts; the fast level starts again from nothing."""
        if self.fast is not None:
            for batch, target in self.session:
                self.slow.learn(batch, self.f.P[target])
            self.fast = Learner(copy.deepcopy(self.f.layer), self.f.background, Rule(lr=self.cfg.fast_lr))
        self.session = []


def simulate(f, cfg: Config, shifts: dict | None = None, record: bool = False) -> tuple[np.ndarray, dict | None]:
    """Ranks [point, query]: before any accept, then after each phase (its session closed). With `record`, also
    the memory model's shifts (to reuse for configurations whose learning is the same)."""
    state = State(f, cfg, shifts)
    ranks = np.zeros((PHASES + 1, len(f.wanted)), dtype=int)
    kept = {"Q": [], "C": np.zeros((len(f.target), len(f.ids)), dtype=np.float32)} if record else None
    if record:
        kept["Q"].append(np.zeros((len(f.wanted), len(f.ids)), dtype=np.float32))
    ranks[0] = state.ranks()
    for phase in range(PHASES):
        for j in np.flatnonzero(f.phase == phase):
            if record:
                kept["C"][j] = state._shift("C", np.array([j]), f.C[[j]])[0]
            state.accept(int(j))
        state.close_session()
        state.point = phase + 1
        if record:
            kept["Q"].append(state._shift("Q", np.arange(len(f.wanted)), f.Q) if state.shifts is None else None)
        ranks[phase + 1] = state.ranks()
    return ranks, kept


def learns_as_shipped(cfg: Config) -> bool:
    return cfg.negatives != "model" and not cfg.fast_lr and cfg.lr == Config().lr


def grid(name: str, base: Config, **axes) -> list[tuple[str, Config]]:
    """Every combination of the axes' values on top of `base`."""
    configs = [base]
    for field, values in axes.items():
        configs = [replace(c, **{field: v}) for c in configs for v in values]
    return [(name, c) for c in configs]


def experiments() -> list[tuple[str, Config]]:
    """The changes tried, each a grid over its own knobs (all else as shipped)."""
    shipped = Config()
    return (grid("fusion and learning weights re-chosen", shipped, embedding=(0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0),
                 learned=(0.5, 1.0, 2.0))
            + grid("memory model's rate and weight re-chosen", shipped, lr=(16.0, 48.0, 144.0),
                   model=(0.25, 1.0, 2.0, 4.0))
            + grid("called APIs and identifiers as signals", shipped, calls=(0.0, 0.2, 0.4, 0.8),
                   idents=(0.0, 0.2, 0.4, 0.8))
            + grid("identifiers alone as a signal", shipped, idents=(0.1, 0.2, 0.4, 0.8))
            + grid("exemplars as a gain over the pattern's cosine (before issue 15)", replace(shipped, exemplars="gain"))
            + grid("weight of the second-best key re-chosen", shipped, second=(0.0, 0.5, 0.75, 1.0))
            + grid("the second key among accepted contexts only", replace(shipped, combine="exemplars"),
                   second=(0.25, 0.5, 1.0))
            + grid("keys combined as a noisy-or (bounded by 1)", replace(shipped, combine="noisy-or"),
                   second=(0.25, 0.5, 1.0))
            + grid("accepts do not raise a pattern's prior", replace(shipped, popularity=False), second=(0.0, 0.25))
            + grid("hubness correction of patterns and accepted contexts (CSLS)", shipped, hubs=(0.1, 0.2, 0.4))
            + grid("exemplar keys scaled", shipped, ex_weight=(0.9, 1.1, 1.25))
            + grid("calibrated exemplar score (absolute, above a floor)", replace(shipped, exemplars="floor"),
                   ex_weight=(0.25, 0.5, 1.0), floor=(0.5, 0.7, 0.8))
            + grid("implicit negatives: memory-model reject steps", replace(shipped, negatives="model"),
                   neg_k=(1, 3))
            + grid("implicit negatives: negative exemplars", replace(shipped, negatives="exemplars"),
                   neg_k=(1, 3), neg_weight=(0.25, 0.5, 1.0))
            + grid("fusion weights learned online from accepts", shipped, online=(0.03, 0.1, 0.3, 1.0))
            + grid("fast level in the session, consolidated at closure", shipped, fast_lr=(48.0, 144.0),
                   lr=(16.0, 48.0)))


def area(ranks: np.ndarray, mask: np.ndarray) -> float:
    """recall@1 averaged over every measurement point (before any accept and after each phase)."""
    return float((ranks[:, mask] == 1).mean())


def describe(cfg: Config) -> str:
    """The knobs that differ from the shipped ones."""
    shipped = Config()
    changed = [(k, v) for k, v in vars(cfg).items() if v != getattr(shipped, k)]
    return ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                     for k, v in changed) or "as shipped"


def run(f, tune: np.ndarray, log=print) -> dict:
    """Every experiment's grid, its best configuration on the tune projects, and the helpful ones combined."""
    started = time.perf_counter()
    replica, shifts = simulate(f, Config(), record=True)
    base = area(replica, tune)
    tried: dict[str, list[tuple[Config, np.ndarray, float]]] = {}
    for name, cfg in experiments():
        if name not in tried:
            log(f"  trying {name} ({time.perf_counter() - started:.0f} s)")
        ranks, _ = simulate(f, cfg, shifts if learns_as_shipped(cfg) else None)
        tried.setdefault(name, []).append((cfg, ranks, area(ranks, tune)))
    best = {}
    for name, runs in tried.items():
        best[name] = max(runs, key=lambda r: r[2])
        log(f"  {name} ({len(runs)} settings): tune {best[name][2]:.3f} (shipped {base:.3f}) with "
            f"{describe(best[name][0])}")
    helpful = sorted((n for n, run_ in best.items() if run_[2] > base + 0.005), key=lambda n: -best[n][2])
    combined, merged, joined = None, {}, []
    for name in helpful:  # greedy, on tune: each helpful change joins if it touches other knobs and still helps
        change = {k: v for k, v in vars(best[name][0]).items() if v != getattr(Config(), k)}
        if combined is None:
            combined, merged, joined = best[name], change, [name]
            continue
        if set(change) & set(merged):
            continue
        cfg = replace(Config(), **merged, **change)
        ranks, _ = simulate(f, cfg, shifts if learns_as_shipped(cfg) else None)
        if area(ranks, tune) > combined[2]:
            combined, merged = (cfg, ranks, area(ranks, tune)), {**merged, **change}
            joined.append(name)
            log(f"  combined ({describe(cfg)}): tune {combined[2]:.3f}")
    if len(joined) < 2:
        combined = None
    return {"replica": replica, "base": base, "best": best, "helpful": helpful, "combined": combined,
            "configs": sum(len(r) for r in tried.values()), "seconds": time.perf_counter() - started}
