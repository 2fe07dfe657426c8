"""The small torch BERT encoder gives the same embeddings as sentence-transformers, on real code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import STDLIB
from scms.recall import bert
from scms.recall.embeddings import MAX_TOKENS, default_model_path


@pytest.fixture(scope="module")
def folder() -> Path:
    return default_model_path()


def snippets() -> list[str]:
    text = (STDLIB / "shutil.py").read_text().split("\ndef ")
    return ["def " + chunk[:1500] for chunk in text[1:25]] + ["x", "héllo wörld ✓", ""]


def test_the_default_model_runs_on_the_small_encoder(folder: Path):
    assert bert.supported(folder)


def test_same_vectors_as_sentence_transformers(folder: Path):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(folder), device="cpu")
    reference.max_seq_length = MAX_TOKENS
    texts = snippets()
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=8)
    got = bert.BertEncoder(folder, MAX_TOKENS).encode(texts, batch_size=8)
    assert got.shape == expected.shape == (len(texts), 384)
    assert np.abs(got - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_other_architectures_are_left_to_sentence_transformers(folder: Path, tmp_path: Path):
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(folder / name)
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True}))
    assert not bert.supported(tmp_path)  # max pooling
    config = json.loads((folder / "config.json").read_text())
    (tmp_path / "config.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "mpnet"}))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    assert not bert.supported(tmp_path)
