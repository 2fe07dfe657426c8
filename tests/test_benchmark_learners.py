"""The baselines the benchmarks compare the server's learner with (benchmarks/learners.py) still do what they say."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import learners  # noqa: E402
from benchmarks.learners import Variant  # noqa: E402
from conftest import STDLIB  # noqa: E402
from scms.learn.learner import Learner, Rule  # noqa: E402
from scms.learn.memory_layer import MemoryLayer, Shape  # noqa: E402
from scms.learn.slots import access_counts, background, top_slots  # noqa: E402

SMALL = Shape(heads=2, key_dim=16, sub_keys=32, k=8, value_dim=32)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    """Real all-MiniLM-L6-v2 embeddings of standard-library functions: 64 for background, then the rest."""
    import ast

    from scms.recall.embeddings import Embedder

    source = "\n".join((STDLIB / name).read_text() for name in ("shutil.py", "textwrap.py", "functools.py"))
    texts = [ast.get_source_segment(source, node) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.FunctionDef)][:80]
    embedder = Embedder("", threads=1)
    embedder.load()
    return embedder.encode(texts)


def fresh(vectors: np.ndarray, rule: Rule, shape: Shape = SMALL) -> Learner:
    layer = MemoryLayer(shape)
    return learners.make(layer, background(layer, vectors[:64], batch_size=8), rule)


def test_plain_sparse_is_the_servers_own_learner(vectors):
    bench = fresh(vectors, Variant(top_t=16))
    server = fresh(vectors, Rule(top_t=16))
    assert type(bench) is Learner
    for i in range(3):
        assert np.array_equal(bench.learn(vectors[64 + i:66 + i], vectors[70]),
                              server.learn(vectors[64 + i:66 + i], vectors[70]))
    assert torch.equal(bench.layer.values, server.layer.values)
    with pytest.raises(ValueError, match="unknown learning method"):
        fresh(vectors, Variant(method="adam"))


def test_raw_counts_update_the_rows_read_most(vectors):
    learner = fresh(vectors, Variant(top_t=16, method="counts"))
    assert isinstance(learner, learners.RawCounts)
    contexts = vectors[64:68]
    slots, _ = learner.layer.address(torch.from_numpy(contexts))
    rows, counts = access_counts(slots)
    by_counts = rows[top_slots(rows, counts, 16, None)]
    by_tfidf = rows[top_slots(rows, counts, 16, learner.background)]
    assert sorted(learner.learn(contexts, vectors[70]).tolist()) == sorted(by_counts.tolist())
    changed = torch.nonzero(learner.layer.values.any(dim=1)).flatten().numpy()
    assert sorted(changed.tolist()) == sorted(by_counts.tolist())
    assert set(by_counts.tolist()) != set(by_tfidf.tolist())  # so the two choices are really compared


def test_the_slow_level_applies_its_accumulated_step_every_c_events(vectors):
    rule = Variant(top_t=16, slow_every=3)
    slow = fresh(vectors, rule)
    assert isinstance(slow, learners.SlowLevel)
    fast_only = fresh(vectors, Rule(top_t=16, lr=rule.lr * (1 - rule.slow_share)))
    for i in range(3):
        for learner in (slow, fast_only):
            learner.learn(vectors[64 + i][None, :], vectors[70])
        if i < 2:  # the slow level has only accumulated so far: both took the same fast steps
            assert torch.equal(slow.layer.values, fast_only.layer.values)
    changed = (slow.layer.values != fast_only.layer.values).any(dim=1)
    assert changed.any()  # the third event applied the slow level's step ...
    touched = (fast_only.layer.values != 0).any(dim=1)
    assert not (changed & ~touched).any()  # ... to rows the updates chose, and no other
    assert not slow._slow.any()  # and started summing afresh


def test_dense_finetuning_changes_every_parameter_and_learns(vectors):
    learner = fresh(vectors, Variant(lr=3.0, method="dense"))
    before = {name: t.clone() for name, t in learner.layer.state_dict().items()}
    context, target = vectors[72], vectors[73]
    start = float(learner.outputs(context)[0] @ target)
    assert learner.learn(context[None, :], target) is None
    learner.learn(context[None, :], target)  # value rows start at zero: the first step moves only them
    after = learner.layer.state_dict()
    for name in ("query.weight", "gate.weight", "out.weight", "values"):
        assert not torch.equal(before[name], after[name]), f"{name} did not change"
    assert float(learner.outputs(context)[0] @ target) > start


def test_lora_trains_only_its_adapters(vectors):
    learner = fresh(vectors, Variant(lr=3.0, method="lora"), Shape(**{**SMALL.as_dict(), "value_init": 0.02}))
    layer = learner.layer
    originals = {n: getattr(layer, n).parametrizations.weight.original.clone() for n in ("query", "gate", "out")}
    values, keys = layer.values.clone(), layer.keys.clone()
    context, target = vectors[74], vectors[75]
    start = float(learner.outputs(context)[0] @ target)
    for _ in range(3):
        learner.learn(context[None, :], target)
    for name, weight in originals.items():
        module = getattr(layer, name)
        assert torch.equal(module.parametrizations.weight.original, weight)
        assert module.parametrizations.weight[0].b.abs().sum() > 0, f"{name}'s adapter did not learn"
    assert torch.equal(layer.values, values) and torch.equal(layer.keys, keys)
    assert float(learner.outputs(context)[0] @ target) > start
