"""The memory-layer model: sparse updates touch only the chosen rows, TF-IDF by hand, save/load, bad files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scms.learn import persist
from scms.learn.exemplars import Exemplars
from scms.learn.learner import Learner, Rule
from scms.learn.memory_layer import MemoryLayer, Shape
from scms.learn.slots import Background, background, top_slots
from scms.learn.view import View
from conftest import STDLIB

SMALL = Shape(heads=2, key_dim=16, sub_keys=32, k=8, value_dim=32)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    """Real all-MiniLM-L6-v2 embeddings of standard-library functions: 64 for background, then the rest."""
    import ast

    from scms.recall.embeddings import Embedder

    texts = []
    for name in ("textwrap.py", "shutil.py", "json/decoder.py", "functools.py"):
        source = (STDLIB / name).read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and len(texts) < 96:
                texts.append(ast.get_source_segment(source, node))
    embedder = Embedder("", threads=1)
    embedder.load()
    return embedder.encode(texts)


def fresh(vectors: np.ndarray, rule: Rule = Rule(top_t=16), shape: Shape = SMALL) -> Learner:
    layer = MemoryLayer(shape)
    return Learner(layer, background(layer, vectors[:64], batch_size=8), rule)


def test_tfidf_ranking_matches_a_hand_computed_example():
    df = np.zeros(16, dtype=np.int32)
    df[[3, 7, 9, 12]] = [8, 0, 8, 1]
    ground = Background(df, batches=9)
    unique = np.array([3, 7, 9, 12])
    counts = np.array([2, 1, 3, 1])
    # tf·idf with idf = log((B + 1) / (df + 1)): slot 3: 2·log(10/9) = 0.21, slot 7: 1·log(10/1) = 2.30,
    # slot 9: 3·log(10/9) = 0.32, slot 12: 1·log(10/2) = 1.61
    assert ground.idf(unique) == pytest.approx([math.log(10 / 9), math.log(10), math.log(10 / 9), math.log(5)])
    assert unique[top_slots(unique, counts, 2, ground)].tolist() == [7, 12]
    assert unique[top_slots(unique, counts, 3, ground)].tolist() == [7, 9, 12]
    # raw counts choose the slots read most, however common they are in ordinary code
    assert unique[top_slots(unique, counts, 2, None)].tolist() == [3, 9]


def test_background_counts_in_how_many_batches_each_slot_was_read(vectors):
    layer = MemoryLayer(SMALL)
    ground = background(layer, vectors[:64], batch_size=8)
    assert ground.batches == 8
    with torch.no_grad():
        first_batch, _ = layer.address(torch.from_numpy(vectors[:8]))
    assert (ground.df[np.unique(first_batch.numpy())] >= 1).all()
    assert ground.df.max() <= 8 and ground.df.sum() > 0
    assert torch.allclose(layer.centre, torch.from_numpy(vectors[:64].mean(axis=0)))


def test_an_update_changes_only_the_selected_value_rows(vectors):
    learner = fresh(vectors)
    before = {name: t.clone() for name, t in learner.layer.state_dict().items()}
    changed = learner.learn(vectors[64:67], vectors[70])
    assert changed is not None and len(changed) == 16
    after = learner.layer.state_dict()
    for name, tensor in before.items():
        if name != "values":
            assert torch.equal(tensor, after[name]), f"{name} changed"
    rows_changed = torch.nonzero((after["values"] != before["values"]).any(dim=1)).flatten().numpy()
    assert sorted(rows_changed.tolist()) == sorted(changed.tolist())
    read, _ = learner.layer.address(torch.from_numpy(vectors[64:67]))
    assert set(changed.tolist()) <= set(read.flatten().tolist())


def test_an_accept_raises_the_pattern_and_a_reject_lowers_it(vectors):
    learner = fresh(vectors, Rule(), Shape())
    context, target = vectors[80], vectors[81]
    start = float(learner.outputs(context)[0] @ target)
    learner.learn(context[None, :], target)
    raised = float(learner.outputs(context)[0] @ target)
    learner.learn(context[None, :], target, positive=False)
    lowered = float(learner.outputs(context)[0] @ target)
    assert raised > start and lowered < raised


def test_save_and_load_round_trip_exactly(vectors, tmp_path):
    learner = fresh(vectors)
    learner.learn(vectors[64:66], vectors[70])
    exemplars = Exemplars(SMALL.dim)
    exemplars.add("p1", vectors[64], ("copy", "=copyfileobj"))
    exemplars.add("p2", vectors[65])
    path = tmp_path / "model" / persist.FILE
    persist.write(path, persist.snapshot(learner.layer, learner.background, exemplars, rule=learner.rule,
                                         embedding_model="all-MiniLM-L6-v2", last_event=42, events=1))
    layer, ground, loaded, meta = persist.load(path, "all-MiniLM-L6-v2")
    for name, tensor in learner.layer.state_dict().items():
        assert torch.equal(tensor, layer.state_dict()[name]), name
    assert np.array_equal(ground.df, learner.background.df) and ground.batches == learner.background.batches
    assert loaded.owners == ["p1", "p2"] and np.array_equal(loaded.matrix(), exemplars.matrix())
    assert loaded.terms == [("copy", "=copyfileobj"), ()]
    [near, *_] = loaded.nearest(vectors[64], 2)
    assert (near.owner, near.terms) == ("p1", ("copy", "=copyfileobj")) and near.cosine == pytest.approx(1.0, abs=1e-5)
    assert meta == {"last_event": 42, "events": 1}
    again = Learner(layer, ground, learner.rule)
    assert np.array_equal(again.outputs(vectors[90:96]), learner.outputs(vectors[90:96]))
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "other format", "other embeddings"])
def test_a_damaged_model_file_is_refused_with_a_reason(vectors, tmp_path, damage):
    learner = fresh(vectors)
    path = tmp_path / persist.FILE
    persist.write(path, persist.snapshot(learner.layer, learner.background, Exemplars(SMALL.dim),
                                         rule=learner.rule, embedding_model="all-MiniLM-L6-v2", last_event=0, events=0))
    data = path.read_bytes()
    model = "all-MiniLM-L6-v2"
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a model\xff" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other format":
        state = torch.load(path, weights_only=True)
        state["format"] = 99
        torch.save(state, path)
    else:
        model = "another-model"
    with pytest.raises(persist.ModelFileError) as error:
        persist.load(path, model)
    assert persist.FILE in str(error.value)


def test_the_numpy_view_that_hovers_use_matches_the_torch_forward_as_the_model_learns(vectors):
    learner = fresh(vectors, Rule(), Shape())
    view = View(learner.layer)
    for i in range(4):
        learner.learn(vectors[64 + i:67 + i], vectors[80 + i])
        for x in vectors[88:96]:
            assert np.allclose(view(x), learner.outputs(x)[0], atol=1e-5)
    assert not np.allclose(view(vectors[64]), vectors[64], atol=1e-3)  # it has learned something to match


def test_exemplars_answer_each_pattern_with_its_closest_accepted_context(vectors):
    exemplars = Exemplars(SMALL.dim)
    owners = [f"p{i % 7}" for i in range(90)]
    exemplars.extend(owners, vectors[:90])
    query = vectors[95]
    cosines = vectors[:90] @ query
    ranked = sorted(zip(owners, cosines.tolist()), key=lambda pair: -pair[1])
    near = exemplars.nearest(query, 12)
    assert [n.owner for n in near] == [owner for owner, _ in ranked[:12]] and all(n.terms == () for n in near)
    assert [n.cosine for n in near] == pytest.approx([cosine for _, cosine in ranked[:12]])
    assert len(exemplars.nearest(query, 500)) == 90 and exemplars.nearest(query, 0) == []
    expected = {}  # each pattern by its closest accepted context, as ranking takes them
    for owner, cosine in ranked:
        expected.setdefault(owner, cosine)
    closest = {}
    for n in exemplars.nearest(query, 90):
        closest.setdefault(n.owner, n.cosine)
    assert closest == pytest.approx(expected)
    assert len(exemplars) == 90 and exemplars.of("p3", 2).shape == (2, SMALL.dim)
    rows = [i for i, o in enumerate(owners[:90]) if o != "p3"]
    assert exemplars.drop("p3") == 90 - len(rows) > 0 and exemplars.drop("p3") == 0
    assert "p3" not in exemplars.owners and np.array_equal(exemplars.matrix(), vectors[rows])
    assert len(exemplars.terms) == len(exemplars.owners) == len(rows)
