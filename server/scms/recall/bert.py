"""A small BERT sentence encoder in plain torch: tokenizer.json + model.safetensors, mean or CLS pooling, unit length.

It computes what sentence-transformers computes for BERT models such as all-MiniLM-L6-v2 (a test compares
the two on real code), without importing transformers, which adds ~200 MB to the server's memory and
seconds to its start (figures in docs/architecture.md). It runs only the models it can compute faithfully:
`refusal(folder)` names what it does not support (another architecture, activation or pooling, a decoder,
a module other than Transformer, Pooling and Normalize, ...), and those go to sentence-transformers.
Its vectors are always unit length, whether or not the model folder lists a Normalize module.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch.nn import functional as F

# hidden_act as transformers names them (transformers.activations.ACT2CLS), computed the same way
_TANH_GELU = lambda x: F.gelu(x, approximate="tanh")  # noqa: E731
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,  # exact (erf)
    "gelu_python": F.gelu,
    "gelu_new": _TANH_GELU,  # the tanh approximation, however it is written
    "gelu_pytorch_tanh": _TANH_GELU,
    "gelu_python_tanh": _TANH_GELU,
    "gelu_fast": _TANH_GELU,
    "gelu_accurate": _TANH_GELU,
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}
POOLING_KEYS = {  # the legacy pooling flags, as sentence-transformers reads them
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


class Unsupported(ValueError):
    """The folder holds a model this encoder cannot compute exactly as sentence-transformers would."""


def supported(folder: Path) -> bool:
    return refusal(folder) is None


def refusal(folder: Path) -> str | None:
    """Why this encoder will not run the model in `folder` (None: it will)."""
    try:
        _Plan(folder)
    except Unsupported as why:
        return str(why)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        return f"the model folder cannot be read ({type(err).__name__}: {err})"
    return None


def _json(path: Path, default=None):
    if default is not None and not path.exists():
        return default
    return json.loads(path.read_text())


class _Plan:
    """What the folder asks for, checked against what this encoder computes."""

    def __init__(self, folder: Path) -> None:
        if not (folder / "modules.json").exists():
            raise Unsupported("no modules.json (sentence-transformers would add its own pooling)")
        modules = _json(folder / "modules.json")
        kinds = [str(m["type"]) for m in modules]
        names = [k.rsplit(".", 1)[-1] for k in kinds]
        if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or not all(
                k.startswith("sentence_transformers.") for k in kinds):
            raise Unsupported(f"modules {', '.join(kinds)}: only Transformer, Pooling and Normalize are supported")
        self.base = folder / modules[0].get("path", "")
        config = _json(self.base / "config.json")
        if config.get("model_type") != "bert":
            raise Unsupported(f"model type {config.get('model_type')!r}, not bert")
        act = config.get("hidden_act", "gelu")
        if not isinstance(act, str) or act not in ACTIVATIONS:
            raise Unsupported(f"activation {act!r}")
        self.activation = ACTIVATIONS[act]
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise Unsupported(f"position embeddings {config['position_embedding_type']!r}, not absolute")
        for flag in ("is_decoder", "add_cross_attention", "is_encoder_decoder"):
            if config.get(flag):
                raise Unsupported(f"{flag} is set")
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.pad_id = int(config.get("pad_token_id") or 0)
        if self.hidden % self.heads:
            raise Unsupported(f"hidden size {self.hidden} is not a multiple of {self.heads} heads")

        settings = _json(self.base / "sentence_bert_config.json", {})
        unknown = set(settings) - {"max_seq_length", "do_lower_case", "transformer_task"}
        if unknown or settings.get("do_lower_case") or settings.get("transformer_task", "feature-extraction") != \
                "feature-extraction":
            raise Unsupported(f"Transformer settings {settings}")
        tokenizer_settings = _json(self.base / "tokenizer_config.json", {})
        limit = settings.get("max_seq_length") or tokenizer_settings.get("model_max_length") or 512
        self.max_tokens = min(int(limit), int(config.get("max_position_embeddings", 512)))
        if _json(folder / "config_sentence_transformers.json", {}).get("default_prompt_name"):
            raise Unsupported("a default prompt")

        pooling = _json(folder / modules[1]["path"] / "config.json")
        if "pooling_mode" in pooling:
            mode = pooling["pooling_mode"]
            mode = mode[0] if isinstance(mode, list) and len(mode) == 1 else mode
        else:
            mode = tuple(m for key, m in POOLING_KEYS.items() if pooling.get(key)) or ("mean",)
            mode = mode[0] if len(mode) == 1 else mode
        if mode not in ("mean", "cls"):
            raise Unsupported(f"pooling {mode!r}: only mean or cls")
        self.cls_pooling = mode == "cls"
        width = pooling.get("embedding_dimension", pooling.get("word_embedding_dimension"))
        if width is None or int(width) != self.hidden:
            raise Unsupported(f"pooling width {width} for hidden size {self.hidden}")

        self.tokenizer_file = self.base / "tokenizer.json"
        self._check_tokenizer(_json(self.tokenizer_file), tokenizer_settings)
        self.weights_file = self.base / "model.safetensors"
        self._check_weights(int(config.get("intermediate_size", 4 * self.hidden)))

    def _check_tokenizer(self, tokenizer: dict, settings: dict) -> None:
        if settings.get("tokenizer_class") not in (None, "BertTokenizer", "BertTokenizerFast"):
            raise Unsupported(f"tokenizer {settings['tokenizer_class']}")
        normalizer = tokenizer.get("normalizer") or {}
        if normalizer.get("type") == "BertNormalizer" and "do_lower_case" in settings and \
                bool(normalizer.get("lowercase")) != bool(settings["do_lower_case"]):
            raise Unsupported("tokenizer.json and tokenizer_config.json disagree on lower-casing")

    def _check_weights(self, inner: int) -> None:
        if not self.weights_file.exists():
            raise Unsupported("no model.safetensors")
        with safe_open(str(self.weights_file), framework="pt") as f:
            shapes = {name.removeprefix("bert."): tuple(f.get_slice(name).get_shape()) for name in f.keys()}
        h = self.hidden
        expected = {"embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
                expected |= {f"{p}.{name}.weight": (h, h), f"{p}.{name}.bias": (h,)}
            for name in ("attention.output.LayerNorm", "output.LayerNorm"):
                expected |= {f"{p}.{name}.weight": (h,), f"{p}.{name}.bias": (h,)}
            expected |= {f"{p}.intermediate.dense.weight": (inner, h), f"{p}.intermediate.dense.bias": (inner,),
                         f"{p}.output.dense.weight": (h, inner), f"{p}.output.dense.bias": (h,)}
        wrong = [name for name, shape in expected.items() if shapes.get(name) != shape]
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
            shape = shapes.get(f"embeddings.{name}.weight")
            if shape is None or len(shape) != 2 or shape[1] != h:
                wrong.append(f"embeddings.{name}.weight")
        if wrong or shapes["embeddings.position_embeddings.weight"][0] < self.max_tokens:
            raise Unsupported(f"weights missing or of another shape: {', '.join(wrong[:3]) or 'position embeddings'}")


class BertEncoder:
    """Encodes texts as unit-length vectors; raises Unsupported for a folder `refusal` names a reason for."""

    def __init__(self, folder: Path, max_tokens: int) -> None:
        plan = _Plan(folder)
        self.cls_pooling, self.activation = plan.cls_pooling, plan.activation
        self.heads, self.layers, self.eps, self.dim = plan.heads, plan.layers, plan.eps, plan.hidden
        self.tokenizer = Tokenizer.from_file(str(plan.tokenizer_file))
        self.tokenizer.enable_truncation(max_length=min(max_tokens, plan.max_tokens))
        self.tokenizer.enable_padding(pad_id=plan.pad_id)
        weights = load_file(str(plan.weights_file))
        self.w = {k.removeprefix("bert."): v.float() for k, v in weights.items()}

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            out.append(self._batch(texts[start:start + batch_size]))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.float32)
        types = torch.tensor([e.type_ids for e in encodings])
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = (self.w["embeddings.word_embeddings.weight"][ids] + self.w["embeddings.position_embeddings.weight"][positions]
             + self.w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        batch, length, hidden = x.shape
        head = hidden // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            split = lambda t: t.view(batch, length, self.heads, head).transpose(1, 2)  # noqa: E731
            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head) + bias, dim=-1)
            context = (attention @ v).transpose(1, 2).reshape(batch, length, hidden)
            x = self._norm(x + self._linear(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            inner = self.activation(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._linear(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        if self.cls_pooling:
            pooled = x[:, 0]
        else:
            pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1).numpy().astype(np.float32)
