"""all-MiniLM-L6-v2 inference in numpy, for short query texts without importing torch.

Importing ``sentence_transformers`` (and torch) costs seconds, more than a whole query should.
This module runs the same model on the CPU with numpy alone: weights from the packaged
``model.safetensors`` (``safetensors.numpy``), word pieces from ``tokenizer.json`` (the Rust
``tokenizers`` package), a 6-layer BERT encoder (GELU, LayerNorm), mean pooling over the
attention mask and L2 normalisation, as the sentence-transformers pipeline does. Its vectors
match the torch model's to a cosine above 0.9999 (``tests/test_minilm.py``).

Ingest keeps the torch model for batch throughput; search uses this one for its queries.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of all-MiniLM-L6-v2
NUM_HEADS = 12
LAYER_NORM_EPS = 1e-12


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), numpy only."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT's ``hidden_act = "gelu"`` means."""
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias


class _Layer:
    """One transformer encoder layer's weights, pre-transposed for ``x @ W``."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        def get(name: str) -> np.ndarray:
            return w[f"{prefix}.{name}"]

        q, k, v = (get(f"attention.self.{n}.weight") for n in ("query", "key", "value"))
        self.qkv_w = np.ascontiguousarray(np.concatenate([q, k, v], axis=0).T)
        self.qkv_b = np.concatenate(
            [get(f"attention.self.{n}.bias") for n in ("query", "key", "value")]
        )
        self.out_w = np.ascontiguousarray(get("attention.output.dense.weight").T)
        self.out_b = get("attention.output.dense.bias")
        self.ln1 = (
            get("attention.output.LayerNorm.weight"),
            get("attention.output.LayerNorm.bias"),
        )
        self.inter_w = np.ascontiguousarray(get("intermediate.dense.weight").T)
        self.inter_b = get("intermediate.dense.bias")
        self.ffn_w = np.ascontiguousarray(get("output.dense.weight").T)
        self.ffn_b = get("output.dense.bias")
        self.ln2 = (get("output.LayerNorm.weight"), get("output.LayerNorm.bias"))

    def __call__(self, x: np.ndarray, mask_bias: np.ndarray) -> np.ndarray:
        """x: (batch, seq, hidden); mask_bias: (batch, 1, 1, seq), 0 or a large negative."""
        b, s, h = x.shape
        d = h // NUM_HEADS
        qkv = x @ self.qkv_w + self.qkv_b
        qkv = qkv.reshape(b, s, 3, NUM_HEADS, d).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (b, heads, s, d)
        scores = (q @ k.transpose(0, 1, 3, 2)) / np.float32(np.sqrt(d)) + mask_bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        x = layer_norm(context @ self.out_w + self.out_b + x, *self.ln1)
        hidden = gelu(x @ self.inter_w + self.inter_b)
        return layer_norm(hidden @ self.ffn_w + self.ffn_b + x, *self.ln2)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings in numpy: tokenise, encode, mean-pool, normalise."""

    def __init__(self, model_dir: str | Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        w = {
            k: v.astype(np.float32, copy=False)
            for k, v in load_file(model_dir / "model.safetensors").items()
        }
        w = {k.removeprefix("bert."): v for k, v in w.items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        n_layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))
        self.layers = [_Layer(w, f"encoder.layer.{i}") for i in range(n_layers)]
        self.dim = int(self.word.shape[1])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self.tokenizer.no_padding()
        self._blas = single_threaded_blas()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token ids and attention mask (batch, seq) -> pooled, unit-length (batch, dim)."""
        seq = ids.shape[1]
        x = self.word[ids] + self.position[:seq][None, :, :] + self.token_type[0][None, None, :]
        x = layer_norm(x, *self.emb_ln)
        mask_f = mask.astype(np.float32)
        mask_bias = ((1.0 - mask_f) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask_bias)
        pooled = (x * mask_f[:, :, None]).sum(axis=1) / np.maximum(
            mask_f.sum(axis=1, keepdims=True), 1e-9
        )
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows (texts of similar length are batched)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._blas():
            self._encode_sorted(encodings, order, out, batch_size)
        return out

    def _encode_sorted(
        self, encodings: list, order: list[int], out: np.ndarray, batch_size: int
    ) -> None:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            seq = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), seq), dtype=np.int64)
            mask = np.zeros((len(chunk), seq), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            out[chunk] = self._forward(ids, mask)


def single_threaded_blas() -> Callable[[], AbstractContextManager]:
    """A context factory limiting BLAS to one thread (when threadpoolctl is installed).

    The matrices of one query are tiny; a multi-threaded BLAS spends more time waking and
    synchronising threads than multiplying, and far more on a busy machine (measured: 30-70 ms
    against ~1 ms for one 8x384 @ 384x1152 product with two cores under load).
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return functools.partial(controller.limit, limits=1, user_api="blas")
