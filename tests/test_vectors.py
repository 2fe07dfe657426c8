"""The faiss vector index: incremental updates, the switch to IVF, persistence and corrupt files."""

from __future__ import annotations

import numpy as np
import pytest

from scms.recall import vectors
from scms.recall.vectors import VectorIndex


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 32)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("approximate_above", [10_000, 50])
def test_add_remove_readd_and_move_between_tiers(monkeypatch, approximate_above):
    monkeypatch.setattr(vectors, "APPROXIMATE_ABOVE", approximate_above)
    index = VectorIndex(32)
    v = unit_vectors(200)
    for i in range(200):
        index.add(f"p{i}", "session", v[i])
    assert index.tiers["session"]._kind() == ("ivf" if approximate_above == 50 else "flat")
    assert index.search(v[7], 1)[0][0] == "p7"
    index.remove("p7")
    assert "p7" not in index and all(pid != "p7" for pid, _ in index.search(v[7], 5))
    index.add("p7", "validated", v[7])  # promoted
    assert index.search(v[7], 1) == [("p7", pytest.approx(1.0, abs=1e-5))]
    assert len(index.tiers["session"]) == 199 and len(index.tiers["validated"]) == 1
    index.add("p8", "archive", v[8])  # archived patterns are not indexed
    assert "p8" not in index


def test_the_ivf_index_is_retrained_when_its_tier_doubles(monkeypatch):
    monkeypatch.setattr(vectors, "APPROXIMATE_ABOVE", 50)
    index = VectorIndex(32)
    v = unit_vectors(300)
    for i in range(60):
        index.add(f"p{i}", "session", v[i])
    tier = index.tiers["session"]
    assert tier._kind() == "ivf" and tier._trained_for == 51
    for i in range(60, 300):
        index.add(f"p{i}", "session", v[i])
    assert tier._trained_for > 102
    for i in range(150):
        index.remove(f"p{i}")
    found = {pid for pid, _ in index.search(v[200], 20)}
    assert "p200" in found and not any(int(pid[1:]) < 150 for pid in found)


def test_save_and_load_round_trip(tmp_path):
    index = VectorIndex(32)
    v = unit_vectors(20)
    for i in range(20):
        index.add(f"p{i}", "session" if i % 2 else "validated", v[i])
    index.save(tmp_path, watermark=17, stamp="event 17")
    loaded, watermark, stamp = VectorIndex.load(tmp_path, 32)
    assert (watermark, stamp) == (17, "event 17") and sorted(loaded.items()) == sorted(index.items())
    assert np.array_equal(loaded.vector("p3"), index.vector("p3"))
    assert loaded.search(v[4], 1)[0][0] == "p4"


def test_an_approximate_index_round_trips_without_retraining(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "APPROXIMATE_ABOVE", 50)
    index = VectorIndex(32)
    v = unit_vectors(120)
    index.add_many([f"p{i}" for i in range(120)], "session", v)
    index.remove("p5")
    index.save(tmp_path, watermark=3)
    trained = []
    monkeypatch.setattr(vectors.faiss.IndexIVFFlat, "train", lambda self, data: trained.append(len(data)))
    loaded, _, _ = VectorIndex.load(tmp_path, 32)
    assert loaded.tiers["session"]._kind() == "ivf" and trained == []
    assert len(loaded) == 119 and loaded.vector("p5") is None
    assert np.allclose(loaded.vector("p7"), v[7]) and loaded.search(v[9], 1)[0][0] == "p9"
    keys, data = loaded.tiers["session"].contents()
    assert len(keys) == 119 and np.allclose(data[list(keys).index(vectors.numeric_id("p7"))], v[7])


@pytest.mark.parametrize("damage", [b"garbage", b""])
def test_a_corrupt_file_is_reported_for_a_rebuild(tmp_path, damage):
    index = VectorIndex(32)
    index.add("p1", "session", unit_vectors(1)[0])
    index.save(tmp_path, 1)
    (tmp_path / "session.faiss").write_bytes(damage)
    with pytest.raises(ValueError, match="session.faiss is corrupt"):
        VectorIndex.load(tmp_path, 32)


def test_a_file_for_another_model_dimension_is_refused(tmp_path):
    index = VectorIndex(32)
    index.add("p1", "session", unit_vectors(1)[0])
    index.save(tmp_path, 1)
    with pytest.raises(ValueError, match="does not fit the model"):
        VectorIndex.load(tmp_path, 384)


def test_a_missing_or_older_watermark_means_a_quiet_rebuild_and_a_damaged_one_an_error(tmp_path):
    index = VectorIndex(32)
    index.add("p1", "session", unit_vectors(1)[0])
    index.save(tmp_path, 1)
    meta = (tmp_path / "watermark.json").read_text()
    (tmp_path / "watermark.json").write_text('{"event": 1}')  # the first format's
    assert VectorIndex.load(tmp_path, 32) is None
    (tmp_path / "watermark.json").unlink()
    assert VectorIndex.load(tmp_path, 32) is None
    (tmp_path / "watermark.json").write_text(meta[:-5])
    with pytest.raises(ValueError, match="watermark.json is unreadable"):
        VectorIndex.load(tmp_path, 32)


def test_files_from_two_different_saves_are_refused(tmp_path):
    index = VectorIndex(32)
    v = unit_vectors(3)
    index.add("p1", "session", v[0])
    index.add("p2", "session", v[1])
    index.save(tmp_path, 1)
    ids_of_first_save = (tmp_path / "watermark.json").read_text()
    index.remove("p2")
    index.add("p3", "session", v[2])  # as many vectors as before, but not the same patterns
    index.save(tmp_path, 2)
    (tmp_path / "watermark.json").write_text(ids_of_first_save)
    with pytest.raises(ValueError, match="holds other patterns than its id list"):
        VectorIndex.load(tmp_path, 32)
