"""The numpy all-MiniLM-L6-v2 (ingest.minilm) against the sentence-transformers model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ingest.minilm import gelu, layer_norm

SENTENCES = [
    "disk full",
    "certificate expired",
    "retries made it worse",
    "failover didn't work",
    "The root cause was a configuration change that lowered the Redis connection limit.",
    "At 14:02 UTC, monitoring alerted on elevated error rates for the checkout service.",
    "- **16:58 UTC** - The deploy was rolled back to the previous version.",
    "A BGP route leak sent our traffic through a third-party network for 40 minutes.",
    "Kafka consumers fell behind; lag peaked at 3,400,000 messages.",
    "Add exponential backoff with jitter to all clients of MongoDB (Planned)",
    "We apologise.",
    "MySQL",
    "Die Datenbank war voll — Ölpreis € 100 naïve café",
    "日本語のテキストも扱えるか",
    "x" * 40,
    "word " * 400,  # longer than the 256-token limit: truncated like the torch model
    "",
    "   ",
    "<b>HTML</b> & entities &amp; stray ] brackets [",
    "what caused the outage in us-east-1 on 2021-08-26?",
    "Elasticsearch cluster went red after a node ran out of heap memory.",
    "TLS handshake failures between the load balancer and Nginx.",
    "DNS resolution for internal hostnames failed after a zone change.",
    "The on-call engineer was paged at 03:12 and acknowledged within five minutes.",
    "Customers could not log in for 2 hours and 15 minutes.",
    "Memory leak in the Kubernetes kubelet caused node evictions.",
    "rate limiting",
    "A DDoS attack saturated the edge; 1.2 million requests per second.",
    "ZooKeeper lost quorum when two of three nodes restarted.",
    "Status page updates were delayed.",
]


def test_gelu_matches_the_erf_definition():
    import math

    xs = np.linspace(-6, 6, 241, dtype=np.float32)
    expected = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in xs.tolist()])
    assert np.max(np.abs(gelu(xs) - expected)) < 1e-6


def test_layer_norm_normalises_the_last_axis():
    x = np.random.default_rng(0).normal(3, 2, size=(4, 7, 16)).astype(np.float32)
    y = layer_norm(x, np.ones(16, np.float32), np.zeros(16, np.float32))
    assert np.allclose(y.mean(axis=-1), 0, atol=1e-5)
    assert np.allclose(y.std(axis=-1), 1, atol=1e-3)


@pytest.fixture(scope="module")
def numpy_encoder():
    from ingest.embed import QueryEmbedder

    return QueryEmbedder()


@pytest.mark.models
def test_numpy_model_matches_sentence_transformers(numpy_encoder, real_embedder):
    ours = numpy_encoder.encode(SENTENCES)
    theirs = real_embedder.encode(SENTENCES)
    assert ours.shape == theirs.shape == (len(SENTENCES), 384)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.9999, list(zip(SENTENCES, cosines.round(6).tolist(), strict=True))


@pytest.mark.models
def test_batching_and_order_do_not_change_vectors(numpy_encoder):
    together = numpy_encoder.encode(SENTENCES, batch_size=7)
    alone = np.vstack([numpy_encoder.encode([s]) for s in SENTENCES])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert numpy_encoder.encode([]).shape == (0, 384)


@pytest.mark.models
def test_query_embedder_for_search_does_not_import_torch():
    code = (
        "import sys\n"
        "from ingest.embed import MODEL_NAME, embedder_for\n"
        "e = embedder_for(MODEL_NAME)\n"
        "v = e.encode(['disk full'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers')\n"
        "         if m in sys.modules]\n"
        "print(type(e).__name__, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "QueryEmbedder []"
