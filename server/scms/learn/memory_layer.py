"""A product-key memory layer over context embeddings, with an input gate and an output into pattern space.

After Lample et al. (product keys) and Meta's memory layers: the centred context goes through a query
projection; each head splits its query in two halves, scores them against two sets of sub-keys, keeps the
top k of each, takes the k best of their k×k sums, and reads a softmax-weighted sum of value rows. A SiLU
gate computed from the input scales the read, and an output projection adds it to the context, so with all
value rows at zero the model maps a context to itself and its scores are plain embedding similarity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Shape:
    """Sizes of the layer: `sub_keys`² slots per level, read `k` at a time by each of `heads` heads."""

    dim: int = 384
    heads: int = 4
    key_dim: int = 64
    sub_keys: int = 128
    k: int = 32
    value_dim: int = 256
    value_init: float = 0.0  # standard deviation of the initial value rows (0: the layer starts as identity)
    seed: int = 20261126

    @property
    def slots(self) -> int:
        return self.sub_keys * self.sub_keys

    def as_dict(self) -> dict:
        return asdict(self)


class MemoryLayer(nn.Module):
    """Context embedding in, context embedding plus what memory recalls for it out."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = shape
        g = torch.Generator().manual_seed(shape.seed)
        s = shape
        self.register_buffer("centre", torch.zeros(s.dim))
        self.query = nn.Linear(s.dim, s.heads * s.key_dim, bias=False)
        self.gate = nn.Linear(s.dim, s.value_dim)
        self.out = nn.Linear(s.value_dim, s.dim, bias=False)
        half = s.key_dim // 2
        self.keys = nn.Parameter(_unit(torch.randn(2, s.heads, s.sub_keys, half, generator=g)))
        with torch.no_grad():
            self.query.weight.copy_(torch.randn(self.query.weight.shape, generator=g) / s.dim ** 0.5)
            self.gate.weight.copy_(torch.randn(self.gate.weight.shape, generator=g) / s.dim ** 0.5)
            self.gate.bias.fill_(1.0)
            self.out.weight.copy_(torch.randn(self.out.weight.shape, generator=g) / s.value_dim ** 0.5)
        self.values = nn.Parameter(torch.randn(s.slots, s.value_dim, generator=g) * s.value_init)

    def address(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The k slots each head reads for each input, and their softmax weights."""
        s = self.shape
        half = s.key_dim // 2
        q = self.query(x - self.centre).view(x.shape[0], s.heads, 2, half)
        scores1 = torch.einsum("bhd,hnd->bhn", q[:, :, 0], self.keys[0])
        scores2 = torch.einsum("bhd,hnd->bhn", q[:, :, 1], self.keys[1])
        top1, idx1 = scores1.topk(s.k, dim=-1)
        top2, idx2 = scores2.topk(s.k, dim=-1)
        pair_scores = (top1.unsqueeze(-1) + top2.unsqueeze(-2)).flatten(-2)  # (b, h, k*k)
        best, pair = pair_scores.topk(s.k, dim=-1)
        slots = idx1.gather(-1, pair // s.k) * s.sub_keys + idx2.gather(-1, pair % s.k)
        return slots, torch.softmax(best, dim=-1)

    def forward(self, x: torch.Tensor, values: torch.Tensor | None = None, rows: torch.Tensor | None = None,
                address: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """`values`/`rows`: read these value rows (for the sorted slot ids `rows`) instead of the table, to get
        their gradient; `address`: the slots and weights from an earlier `address(x)`."""
        slots, weights = self.address(x) if address is None else address
        if values is None:
            read = self.values[slots]
        else:
            read = values[torch.searchsorted(rows, slots)]  # rows holds every slot read
        memory = (weights.unsqueeze(-1) * read).sum(dim=(1, 2))
        gate = torch.nn.functional.silu(self.gate(x))
        return x + self.out(gate * memory)


def _unit(t: torch.Tensor) -> torch.Tensor:
    return t / t.norm(dim=-1, keepdim=True)
