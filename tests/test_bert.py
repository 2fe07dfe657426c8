"""The small torch BERT encoder gives the same embeddings as sentence-transformers, on real code; what it cannot
compute faithfully it refuses, and the Embedder then runs sentence-transformers. Vectors are always unit length."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import STDLIB
from scms.recall import bert
from scms.recall.embeddings import MAX_TOKENS, Embedder, default_model_path


@pytest.fixture(scope="module")
def folder() -> Path:
    return default_model_path()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    text = (STDLIB / "shutil.py").read_text().split("\ndef ")
    return ["def " + chunk[:1500] for chunk in text[1:25]] + ["x", "héllo wörld ✓", ""]


def variant(folder: Path, into: Path, config: dict | None = None, pooling: dict | None = None,
            modules: list[str] | None = None, files: dict[str, dict] | None = None) -> Path:
    """A copy of the model folder (large files linked) with some of its json files changed."""
    into.mkdir()
    for item in folder.iterdir():
        if item.is_file() and item.name not in ("config.json", "modules.json"):
            (into / item.name).symlink_to(item)
    (into / "1_Pooling").mkdir()
    original = json.loads((folder / "1_Pooling" / "config.json").read_text())
    (into / "1_Pooling" / "config.json").write_text(json.dumps(original if pooling is None else pooling))
    (into / "config.json").write_text(json.dumps({**json.loads((folder / "config.json").read_text()), **(config or {})}))
    entries = json.loads((folder / "modules.json").read_text())
    if modules is not None:
        paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2_Dense"}
        entries = [{"idx": i, "name": str(i), "path": paths[m], "type": f"sentence_transformers.models.{m}"}
                   for i, m in enumerate(modules)]
    (into / "modules.json").write_text(json.dumps(entries))
    for name, content in (files or {}).items():
        (into / name).unlink(missing_ok=True)
        (into / name).write_text(json.dumps(content))
    return into


def reference(path: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=8)


def unit(vectors: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5))


def test_the_default_model_runs_on_the_small_encoder(folder: Path):
    assert bert.refusal(folder) is None and bert.supported(folder)
    embedder = Embedder("", threads=1)
    embedder.load()
    assert embedder.backend == "bert" and isinstance(embedder._model, bert.BertEncoder)


def test_same_vectors_as_sentence_transformers(folder: Path, texts: list[str]):
    expected = reference(folder, texts)
    got = bert.BertEncoder(folder, MAX_TOKENS).encode(texts, batch_size=8)
    assert got.shape == expected.shape == (len(texts), 384)
    assert np.abs(got - expected).max() < 1e-4
    assert unit(got)


@pytest.mark.parametrize("name, change", [
    ("relu", {"config": {"hidden_act": "relu"}}),
    ("gelu_new", {"config": {"hidden_act": "gelu_new"}}),
    ("cls pooling, no Normalize module", {"pooling": {"word_embedding_dimension": 384, "pooling_mode_cls_token": True},
                                          "modules": ["Transformer", "Pooling"]}),
])
def test_the_options_it_accepts_match_sentence_transformers(folder: Path, tmp_path: Path, texts: list[str],
                                                           name: str, change: dict):
    path = variant(folder, tmp_path / "model", **change)
    assert bert.refusal(path) is None
    got = bert.BertEncoder(path, MAX_TOKENS).encode(texts, batch_size=8)
    error = np.abs(got - reference(path, texts)).max()
    assert error < 1e-4
    assert unit(got)  # also without a Normalize module
    default = bert.BertEncoder(folder, MAX_TOKENS).encode(texts, batch_size=8)
    # the option changes the vectors by far more than the two encoders differ (gelu_new: ~3e-4 from gelu)
    assert np.abs(got - default).max() > 10 * error


@pytest.mark.parametrize("change, reason", [
    ({"config": {"hidden_act": "mish"}}, "activation 'mish'"),
    ({"config": {"hidden_act": "made_up"}}, "activation 'made_up'"),
    ({"config": {"model_type": "mpnet"}}, "model type 'mpnet'"),
    ({"config": {"position_embedding_type": "relative_key"}}, "position embeddings"),
    ({"config": {"is_decoder": True}}, "is_decoder"),
    ({"config": {"add_cross_attention": True}}, "add_cross_attention"),
    ({"config": {"num_hidden_layers": 7}}, "weights missing"),
    ({"pooling": {"word_embedding_dimension": 384, "pooling_mode_max_tokens": True}}, "pooling 'max'"),
    ({"pooling": {"embedding_dimension": 384, "pooling_mode": "weightedmean"}}, "pooling 'weightedmean'"),
    ({"pooling": {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True}},
     "pooling ("),
    ({"pooling": {"pooling_mode_mean_tokens": True}}, "pooling width"),
    ({"modules": ["Transformer", "Pooling", "Dense", "Normalize"]}, "modules"),
    ({"files": {"sentence_bert_config.json": {"max_seq_length": 256, "do_lower_case": True}}}, "Transformer settings"),
    ({"files": {"config_sentence_transformers.json": {"prompts": {"query": "query: "}, "default_prompt_name": "query"}}},
     "default prompt"),
])
def test_what_it_cannot_compute_faithfully_is_refused_with_a_reason(folder: Path, tmp_path: Path, change: dict,
                                                                    reason: str):
    path = variant(folder, tmp_path / "model", **change)
    why = bert.refusal(path)
    assert why is not None and reason in why
    assert not bert.supported(path)
    with pytest.raises(bert.Unsupported):
        bert.BertEncoder(path, MAX_TOKENS)


def test_a_refused_activation_falls_back_to_sentence_transformers(folder: Path, tmp_path: Path, texts: list[str]):
    path = variant(folder, tmp_path / "model", config={"hidden_act": "mish"})
    embedder = Embedder(str(path), threads=1)
    embedder.load()
    assert embedder.backend == "sentence-transformers" and not isinstance(embedder._model, bert.BertEncoder)
    got = embedder.encode(texts)
    assert got.shape == (len(texts), 384) and unit(got)
    assert np.abs(got - reference(path, texts)).max() < 1e-5
    assert np.abs(got[:4] - bert.BertEncoder(folder, MAX_TOKENS).encode(texts[:4])).max() > 1e-3  # mish, not gelu


def test_a_dense_module_falls_back_to_sentence_transformers(folder: Path, tmp_path: Path, texts: list[str]):
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers 6 moved its modules; 5 has them only here
        from sentence_transformers.sentence_transformer.modules import Dense
    except ImportError:
        from sentence_transformers.models import Dense

    model = SentenceTransformer(str(folder), device="cpu")
    modules = list(model)
    SentenceTransformer(modules=modules[:2] + [Dense(384, 64)] + modules[2:], device="cpu").save(str(tmp_path / "m"))
    assert "Dense" in bert.refusal(tmp_path / "m")
    embedder = Embedder(str(tmp_path / "m"), threads=1)
    embedder.load()
    assert embedder.backend == "sentence-transformers" and embedder.dim == 64
    assert unit(embedder.encode(texts))
