"""The memory layer's forward pass for one context in numpy: what a hover needs, without torch's per-op cost.

The arrays are views of the layer's own parameters (no copies), so a sparse update shows here at once.
Only for learners that change value rows alone (the projections and keys must stay as they are).
"""

from __future__ import annotations

import numpy as np
import torch

from scms.learn.memory_layer import MemoryLayer


class View:
    """view(x): the model's output for one context embedding, as a unit vector."""

    def __init__(self, layer: MemoryLayer) -> None:
        self.shape = layer.shape
        with torch.no_grad():
            self.centre = layer.centre.numpy()
            self.query = layer.query.weight.detach().numpy()
            self.keys = layer.keys.detach().numpy()
            self.gate_weight = layer.gate.weight.detach().numpy()
            self.gate_bias = layer.gate.bias.detach().numpy()
            self.out = layer.out.weight.detach().numpy()
            self.values = layer.values.detach().numpy()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        s = self.shape
        k = s.k
        q = (self.query @ (x - self.centre)).reshape(s.heads, 2, s.key_dim // 2)
        index1, top1 = _top(np.matmul(self.keys[0], q[:, 0, :, None])[..., 0], k)
        index2, top2 = _top(np.matmul(self.keys[1], q[:, 1, :, None])[..., 0], k)
        pair, best = _top((top1[:, :, None] + top2[:, None, :]).reshape(s.heads, k * k), k)
        slots = (np.take_along_axis(index1, pair // k, 1) * s.sub_keys + np.take_along_axis(index2, pair % k, 1))
        weights = np.exp(best - best.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        memory = weights.reshape(-1) @ self.values[slots.reshape(-1)]
        z = self.gate_weight @ x + self.gate_bias
        out = x + self.out @ (z / (1 + np.exp(-z)) * memory)
        return out / np.linalg.norm(out)


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return index, np.take_along_axis(scores, index, 1)
