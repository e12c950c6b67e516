"""Embedders: the packaged all-MiniLM-L6-v2 weights and the deterministic test fake."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ingest.embed import (
    MODEL_NAME,
    MODEL_SHA256,
    HashingEmbedder,
    clean_for_embedding,
    embedder_for,
    model_path,
)


def test_clean_for_embedding_strips_markup():
    assert clean_for_embedding("1.  **Connection Limits** *(Complete)* -- see [docs](/x)") == (
        "Connection Limits *(Complete)* -- see docs"
    )


def test_hashing_embedder_is_deterministic_and_normalised():
    emb = HashingEmbedder(32)
    a = emb.encode(["failed requests were retried", "disk full"])
    b = HashingEmbedder(32).encode(["failed requests were retried", "disk full"])
    assert a.shape == (2, 32) and a.dtype == np.float32
    assert np.allclose(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert emb.encode([]).shape == (0, 32)


def test_embedder_for_resolves_manifest_names():
    assert embedder_for("test/hashing-embedder-16").dim == 16
    with pytest.raises(Exception, match="unknown embedding model"):
        embedder_for("someone/else")


def test_packaged_weights_match_upstream():
    path = model_path() / "model.safetensors"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == MODEL_SHA256
    assert digest.startswith("53aa5117") and digest.endswith("d9db")


@pytest.mark.models
def test_real_model_embeds_paraphrases_close(real_embedder):
    assert real_embedder.name == MODEL_NAME and real_embedder.dim == 384
    v = real_embedder.encode(
        [
            "failed requests were being retried, compounding the load",
            "a retry storm overloaded the service",
            "the office coffee machine was replaced",
        ]
    )
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
