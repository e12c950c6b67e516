"""Shared fixtures: models load once per session; indexes are built once and copied."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def nlp():
    """The real spaCy pipeline, loaded once."""
    from ingest.nlp import load_nlp

    return load_nlp()


@pytest.fixture(scope="session")
def real_embedder():
    """The real all-MiniLM-L6-v2 embedder, loaded once."""
    from ingest.embed import load_embedder

    return load_embedder()


@pytest.fixture()
def fake_embedder():
    from ingest.embed import HashingEmbedder

    return HashingEmbedder(64)


@pytest.fixture(scope="session")
def seed_index_fake(tmp_path_factory, nlp) -> Path:
    """corpus/ ingested with the real spaCy pipeline and the fake embedder (built once)."""
    from ingest.embed import HashingEmbedder
    from ingest.pipeline import ingest_paths

    index = tmp_path_factory.mktemp("seed-fake") / "index"
    ingest_paths([str(CORPUS)], index, embedder=HashingEmbedder(64), nlp=nlp)
    return index


@pytest.fixture(scope="session")
def seed_index_real(tmp_path_factory, nlp, real_embedder) -> Path:
    """corpus/ ingested with the real models (built once per session)."""
    from ingest.pipeline import ingest_paths

    index = tmp_path_factory.mktemp("seed-real") / "index"
    ingest_paths([str(CORPUS)], index, embedder=real_embedder, nlp=nlp)
    return index


@pytest.fixture()
def seed_index_copy(seed_index_fake, tmp_path) -> Path:
    """A private, writable copy of the fake-embedder seed index."""
    dest = tmp_path / "index"
    shutil.copytree(seed_index_fake, dest)
    return dest
