"""Vectors checked before use: finite and of unit length, as the embedding model makes them (a damaged index file
or cache row can hold any numbers). numpy only: imported on the start path, before faiss is."""

from __future__ import annotations

import numpy as np


def sound(vectors: np.ndarray) -> bool:
    """Every vector finite and of unit length, as the model makes them."""
    if not len(vectors):
        return True
    if not np.isfinite(vectors).all():
        return False
    return bool(np.all(np.abs(np.linalg.norm(vectors, axis=1) - 1.0) < 1e-3))


def decoded(blob: bytes | None, dim: int) -> np.ndarray | None:
    """A cached embedding's vector, or None when it is missing, of another size or damaged."""
    if blob is None or len(blob) != 4 * dim:
        return None
    vector = np.frombuffer(blob, dtype=np.float32)
    return vector if sound(vector[None, :]) else None
