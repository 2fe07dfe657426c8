"""The memory model on disk: one versioned file under `.scms/model/`, written atomically, read defensively."""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from scms.atomic import atomic_write
from scms.learn.exemplars import Exemplars
from scms.learn.learner import Rule
from scms.learn.memory_layer import MemoryLayer, Shape
from scms.learn.slots import Background

FORMAT = 2  # 2: exemplars keep their lexical terms
FILE = "memory-layer.pt"
DIR = "model"  # the folder of .scms/ that holds FILE


class ModelFileError(RuntimeError):
    """The model file is missing a part, from another version, or not a model file at all."""


def snapshot(layer: MemoryLayer, background: Background, exemplars: Exemplars, *, rule: Rule,
             embedding_model: str, last_event: int, events: int) -> dict:
    """A copy of everything saved, taken in milliseconds so that writing it need not block readers."""
    return {
        "format": FORMAT,
        "shape": layer.shape.as_dict(),
        "rule": asdict(rule),
        "embedding_model": embedding_model,
        "last_event": last_event,
        "events": events,
        "weights": {name: t.detach().clone() for name, t in layer.state_dict().items()},
        "background_df": torch.from_numpy(background.df.copy()),
        "background_batches": background.batches,
        "exemplar_owners": list(exemplars.owners),
        "exemplar_vectors": torch.from_numpy(exemplars.matrix().copy()),
        "exemplar_terms": [" ".join(terms) for terms in exemplars.terms],
    }


def write(path: Path, state: dict) -> None:
    """Write a snapshot atomically (`scms.atomic`)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getbuffer())


def load(path: Path, embedding_model: str) -> tuple[MemoryLayer, Background, Exemplars, dict]:
    """The model saved at `path`; ModelFileError (never anything else) when it cannot be used."""
    if path.is_symlink():  # a link a repository committed could point outside the workspace
        raise ModelFileError(f"{path.name} is a link; SCMS reads only plain files in .scms/")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises many kinds for a damaged file: all mean "start fresh"
        raise ModelFileError(f"{path.name} is not a readable model file ({type(err).__name__}: {err})") from err
    try:
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ModelFileError(f"{path.name} has format {state.get('format') if isinstance(state, dict) else '?'}"
                                 f"; this version reads format {FORMAT}")
        if state["embedding_model"] != embedding_model:
            raise ModelFileError(f"{path.name} was trained on embeddings of {state['embedding_model']}, "
                                 f"not {embedding_model}")
        layer = MemoryLayer(Shape(**state["shape"]))
        layer.load_state_dict(state["weights"], strict=True)
        df = state["background_df"].numpy().astype(np.int32)
        if df.shape != (layer.shape.slots,):
            raise ModelFileError(f"{path.name} has background statistics for {df.shape} slots")
        vectors = state["exemplar_vectors"].numpy()
        owners = [str(o) for o in state["exemplar_owners"]]
        terms = [tuple(str(t).split()) for t in state["exemplar_terms"]]
        if vectors.ndim != 2 or not len(owners) == len(vectors) == len(terms) or vectors.shape[1] != layer.shape.dim:
            raise ModelFileError(f"{path.name} has {len(owners)} exemplar owners for {len(vectors)} vectors "
                                 f"and {len(terms)} term lists")
        exemplars = Exemplars(layer.shape.dim)
        exemplars.extend(owners, vectors, terms)
        meta = {"last_event": int(state["last_event"]), "events": int(state["events"])}  # the rule: from settings
        return layer, Background(df, int(state["background_batches"])), exemplars, meta
    except ModelFileError:
        raise
    except Exception as err:  # whatever a damaged file makes go wrong, it means a fresh model
        raise ModelFileError(f"{path.name} is damaged ({type(err).__name__}: {err})") from err
