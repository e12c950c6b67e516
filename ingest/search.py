"""Search: hybrid retrieval over sentences, aggregated to incidents with their evidence.

Two candidate lists are drawn for a query: lexical (SQLite FTS5 BM25, Porter-stemmed)
and dense (FAISS inner product over all-MiniLM-L6-v2 sentence vectors). Their normalised
scores are mixed (a convex combination; reciprocal rank fusion is the "rrf" mode),
sentences whose role matches the query's intent ("caused by" -> cause sentences) are
boosted, and sentence scores are aggregated per incident, together with an
incident-level dense score (query vs. the incident's mean vector), an incident-level BM25
(the query's terms counted over all of the incident's sentences, so that a query whose
words are spread over several sentences of one report still finds it) and a title match.
The best-scoring sentences of an incident are its evidence.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import vectors
from .embed import Embedder, embedder_for
from .errors import IncidentNotFound
from .highlight import stem, word_stems
from .query import QueryReading, fts_expression, fts_expression_requiring, read_query
from .records import Evidence, Hit
from .store import KnowledgeBase, check_embedder

MODES = ("hybrid", "dense", "lexical", "rrf")
SECTIONS = ("any", "cause", "timeline", "action", "impact")
# The weights below were chosen on the DEV split of benchmarks/eval/queries.jsonl with
# benchmarks/retrieval_tune.py (the held-out split is never used for tuning); figures in
# benchmarks/RESULTS.md.
RRF_K = 60
DENSE_WEIGHT = 0.5  # hybrid = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical (normalised)
ROLE_BOOST = 1.0  # a sentence in the role the query asks for counts (1 + ROLE_BOOST) times
CATEGORY_BOOST = 0.25  # an incident in a category the query names
SYSTEM_BOOST = 0.0  # an incident involving a system the query names
AGG_WEIGHTS = (1.0, 0.35, 0.15)  # best, second, third sentence of an incident
CANDIDATES = 300
DOC_WEIGHT = 0.6  # weight of the incident-level dense signal (query vs. incident centroid)
TITLE_WEIGHT = 0.3  # weight of the share of query terms found in the incident's title
MIN_COSINE = 0.15  # dense candidates below this are noise, not evidence
INCIDENT_BM25_WEIGHT = 0.6  # weight of the incident-level BM25 (divided by the best incident's)
BM25_K1 = 1.2  # textbook BM25 constants for the incident-level score (not tuned)
BM25_B = 0.75
# A term found in more than this share of all sentences is "common": it says little about
# which incident is meant and costs the most to rank. The incident-level BM25 skips it (like a
# maximum document frequency), and the sentence-level BM25 only matches sentences with at
# least one rare term, ranking them by all terms (Lucene's "common terms" query). Dev nDCG@10
# moved by <= 0.002 for 0.05, 0.1, 0.2 or no cut-off; see benchmarks/RESULTS.md for speed.
MAX_TERM_SHARE = 0.05
COMMON_TERMS_SPLIT = True  # False: the sentence-level query matches every term (slower)


@dataclass(frozen=True)
class SearchResult:
    query: str
    reading: QueryReading
    hits: tuple[Hit, ...]
    mode: str = "hybrid"
    section: str = "any"
    filters: dict[str, Any] = field(default_factory=dict)
    took_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "section": self.section,
            "filters": self.filters,
            "reading": self.reading.to_dict(),
            "took_ms": round(self.took_ms, 2),
            "results": [
                {
                    "incident_id": h.incident_id,
                    "source": h.source,
                    "title": h.title,
                    "score": round(h.score, 6),
                    "organization": h.organization,
                    "date": h.date,
                    "categories": list(h.categories),
                    "evidence": [
                        {
                            "text": e.text,
                            "section": e.section,
                            "start": e.start,
                            "end": e.end,
                            "heading": e.heading,
                            "score": round(e.score, 6),
                        }
                        for e in h.evidence
                    ],
                }
                for h in self.hits
            ],
        }


@dataclass(frozen=True)
class Vocabulary:
    """What query reading recognises: taxonomy categories and gazetteer systems."""

    category_names: dict[str, tuple[str, ...]]
    category_patterns: dict[str, tuple[str, ...]]
    system_names: dict[str, str]


@functools.cache
def vocabulary() -> Vocabulary:
    """Category names/cues and system aliases (each part empty if its data is unavailable)."""
    names: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, tuple[str, ...]] = {}
    systems: dict[str, str] = {}
    try:
        from .taxonomy import Taxonomy

        for cat in Taxonomy.load().axis("cause"):
            if cat.id != "unknown":
                names[cat.id] = (cat.name.lower(), cat.id.replace("_", " "))
                patterns[cat.id] = tuple(cat.cues)
    except Exception:  # the taxonomy is optional for reading a query
        pass
    try:
        from .nlp import load_systems

        for entry in load_systems():
            for alias in (entry.name, *entry.aliases):
                if len(alias) >= 2:
                    systems.setdefault(alias.lower(), entry.name)
    except Exception:  # so is the gazetteer
        pass
    return Vocabulary(names, patterns, systems)


def _split(value: str | None) -> tuple[str, ...]:
    """The items of a ";"-joined column (categories, systems)."""
    return tuple(filter(None, (value or "").split(";")))


def _evidence(row: dict[str, Any], score: float) -> Evidence:
    """Evidence from a sentence row of the store."""
    return Evidence(
        text=row["text"],
        section=row["role"],
        start=row["start"],
        end=row["end"],
        score=score,
        heading=row["heading"],
    )


def _hit(incident_id: str, info: dict[str, Any], score: float, evidence: tuple) -> Hit:
    """A Hit from an incident's summary row (``KnowledgeBase.incident_meta``)."""
    return Hit(
        incident_id=incident_id,
        source=info.get("source", ""),
        title=info.get("title", ""),
        score=score,
        evidence=evidence,
        organization=info.get("organization", ""),
        date=info.get("date", ""),
        categories=_split(info.get("categories")),
    )


@dataclass(frozen=True)
class SentenceMap:
    """Which incident each sentence belongs to, as arrays for per-query counting."""

    incident_ids: tuple[str, ...]  # incident of position i
    position: dict[str, int]  # incident id -> position
    of_sentence: np.ndarray  # sentence id -> incident position (-1: no such sentence)
    lengths: np.ndarray  # sentences per incident position

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[int, str]]) -> SentenceMap:
        """Build from (sentence id, incident id) pairs."""
        incident_ids = tuple(sorted({incident for _, incident in pairs}))
        position = {incident: i for i, incident in enumerate(incident_ids)}
        of_sentence = np.full(max((sid for sid, _ in pairs), default=-1) + 1, -1, dtype=np.int32)
        for sid, incident in pairs:
            of_sentence[sid] = position[incident]
        lengths = np.bincount(of_sentence[of_sentence >= 0], minlength=len(incident_ids))
        return cls(incident_ids, position, of_sentence, lengths.astype(np.float64))

    def incidents_of(self, sentence_ids: np.ndarray) -> np.ndarray:
        """Incident positions of the given sentence ids (unknown ids dropped)."""
        ids = sentence_ids[(sentence_ids >= 0) & (sentence_ids < len(self.of_sentence))]
        found = self.of_sentence[ids]
        return found[found >= 0]


@dataclass(frozen=True)
class IncidentScores:
    """A score per incident position, read by incident id (0 for an unknown incident)."""

    position: dict[str, int]
    values: np.ndarray

    def get(self, incident_id: str) -> float:
        i = self.position.get(incident_id)
        return float(self.values[i]) if i is not None else 0.0


def incident_bm25(
    term_incidents: Sequence[np.ndarray],
    lengths: np.ndarray,
    *,
    k1: float = BM25_K1,
    b: float = BM25_B,
) -> np.ndarray:
    """BM25 with each incident as the document, one entry per incident position.

    ``term_incidents[t]`` holds the incident position of every sentence that contains
    query term t, so an incident's term frequency is its number of such sentences, its
    length its number of sentences, and a term's document frequency the number of
    incidents that contain it.
    """
    n = len(lengths)
    total = np.zeros(n, dtype=np.float64)
    if n == 0:
        return total
    avg_length = float(lengths.mean()) or 1.0
    norm = k1 * (1.0 - b + b * lengths / avg_length)
    for found in term_incidents:
        tf = np.bincount(found, minlength=n).astype(np.float64)
        df = int(np.count_nonzero(tf))
        if df == 0:
            continue
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        total += idf * tf * (k1 + 1.0) / (tf + norm)
    return total


@functools.cache
def _one_blas_thread() -> Callable[[], AbstractContextManager]:
    """A context factory limiting BLAS to one thread (set up once per process)."""
    from .minilm import single_threaded_blas

    return single_threaded_blas()


@functools.cache
def _dense_worker() -> ThreadPoolExecutor:
    """One thread that runs the dense side of a query while the caller runs the lexical side."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmkb-dense")


def fuse_rrf(lists: Sequence[Sequence[tuple[int, float]]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion of ranked (id, score) lists."""
    fused: dict[int, float] = defaultdict(float)
    for ranked in lists:
        for rank, (row, _score) in enumerate(ranked):
            fused[row] += 1.0 / (k + rank + 1)
    return dict(fused)


def fuse_convex(
    dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], *, alpha: float
) -> dict[int, float]:
    """Convex combination of normalised scores: alpha * dense + (1 - alpha) * lexical.

    Dense cosines are min-max normalised over the candidates, BM25 scores divided by the
    best one, so a sentence missing from one list scores 0 there.
    """
    fused: dict[int, float] = defaultdict(float)
    if dense and alpha > 0:
        hi, lo = dense[0][1], dense[-1][1]
        span = (hi - lo) or 1.0
        for row, score in dense:
            fused[row] += alpha * (score - lo) / span
    if lexical and alpha < 1:
        top = max(score for _, score in lexical) or 1.0
        for row, score in lexical:
            fused[row] += (1 - alpha) * score / top
    return dict(fused)


class SearchEngine:
    """Answers queries over one :class:`KnowledgeBase`; load once, query many times."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder | None = None) -> None:
        self.kb = kb
        self._embedder = embedder
        self._centroids: tuple[list[str], np.ndarray] | None = None
        self._sentence_map: SentenceMap | None = None
        self._meta: dict[str, dict[str, Any]] = {}
        self._title_stems: dict[str, frozenset[str]] = {}
        if embedder is not None:
            check_embedder(kb.manifest, kb.index_dir, embedder.name, embedder.dim)

    @classmethod
    def open(cls, index_dir: str | Path, embedder: Embedder | None = None) -> SearchEngine:
        return cls(KnowledgeBase.open(index_dir), embedder)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            emb = embedder_for(self.kb.embedding_model)
            check_embedder(self.kb.manifest, self.kb.index_dir, emb.name, emb.dim)
            self._embedder = emb
        return self._embedder

    def centroids(self) -> tuple[list[str], np.ndarray]:
        """Incident ids and their unit-length mean sentence vectors (computed once)."""
        if self._centroids is None:
            rows = self.kb.conn.execute(
                "SELECT incident_id, vec_row FROM sentences ORDER BY incident_id, vec_row"
            ).fetchall()
            ids = [r[0] for r in rows]
            matrix = self.kb.vectors()
            if not rows:
                self._centroids = ([], np.zeros((0, self.kb.dim), dtype=np.float32))
                return self._centroids
            vec_rows = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
            starts = [0] + [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
            sums = np.add.reduceat(np.asarray(matrix[vec_rows], dtype=np.float32), starts, axis=0)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self._centroids = ([ids[i] for i in starts], (sums / norms).astype(np.float32))
        return self._centroids

    def _doc_scores(self, qv: np.ndarray) -> dict[str, float]:
        """Incident-level dense scores in [0, 1]: query vs. centroid, min-max over the top."""
        ids, matrix = self.centroids()
        if not ids:
            return {}
        with _one_blas_thread()():  # a matrix-vector product: threads only add overhead
            sims = matrix @ qv[0]
        top = np.argsort(-sims)[:CANDIDATES]
        hi, lo = float(sims[top[0]]), float(sims[top[-1]])
        span = (hi - lo) or 1.0
        return {ids[i]: (float(sims[i]) - lo) / span for i in top}

    def _incident_meta(self, incident_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Summary rows of the given incidents, read once per engine (a generation does not
        change) and then served from memory."""
        ids = list(incident_ids)
        missing = [i for i in ids if i not in self._meta]
        if missing:
            self._meta.update(self.kb.incident_meta(missing))
        return {i: self._meta[i] for i in ids if i in self._meta}

    def _dense_side(
        self, text: str, n: int, with_doc_scores: bool
    ) -> tuple[list[tuple[int, float]], dict[str, float] | None]:
        """The dense sentence candidates and the incident-level dense scores of the query text
        (no SQLite: safe in the worker thread once the centroids are cached)."""
        qv = self.embedder.encode([text])
        doc_scores = self._doc_scores(qv) if with_doc_scores else None
        return self._dense(qv, n), doc_scores

    def sentence_map(self) -> SentenceMap:
        """Sentence id -> incident arrays (built once per engine)."""
        if self._sentence_map is None:
            self._sentence_map = SentenceMap.from_pairs(self.kb.sentence_incident_pairs())
        return self._sentence_map

    def _rare_term_postings(self, terms: Sequence[str]) -> dict[str, np.ndarray]:
        """Sentence ids per query term stem, for the terms that are not common (in at most
        ``MAX_TERM_SHARE`` of the sentences). One unranked FTS5 look-up per distinct stem,
        never reading more than that share of ids."""
        limit = int(MAX_TERM_SHARE * float(self.sentence_map().lengths.sum())) + 1
        postings: dict[str, np.ndarray] = {}
        seen: set[str] = set()
        for term in terms:
            key = stem(term)
            if key in seen:
                continue  # "server" and "servers" are one term to FTS5's stemmer
            seen.add(key)
            ids = self.kb.matching_sentence_ids(fts_expression([term]), limit)
            if len(ids) < limit:
                postings[key] = ids
        return postings

    def _incident_lexical_scores(
        self, terms: Sequence[str], postings: dict[str, np.ndarray] | None = None
    ) -> IncidentScores | None:
        """Incident-level BM25 of the query's rare terms, divided by the best incident's
        (None if none occurs). ``postings`` from :meth:`_rare_term_postings` (looked up when
        not given)."""
        smap = self.sentence_map()
        if postings is None:
            postings = self._rare_term_postings(terms)
        scores = incident_bm25([smap.incidents_of(ids) for ids in postings.values()], smap.lengths)
        top = float(scores.max()) if len(scores) else 0.0
        if top <= 0:
            return None
        return IncidentScores(smap.position, scores / top)

    # -- candidate lists ---------------------------------------------------------------------
    def _dense(self, qv: np.ndarray, n: int) -> list[tuple[int, float]]:
        """(vec_row, cosine) of the n sentences nearest to the query vector ``qv`` (1, dim)."""
        scores, ids = vectors.search(self.kb.ann, qv, n)
        return [
            (int(i), float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if i >= 0 and s >= MIN_COSINE
        ]

    def _lexical(
        self, reading: QueryReading, n: int, postings: dict[str, np.ndarray]
    ) -> list[tuple[int, float]]:
        """(vec_row, bm25) of the n best lexical matches: sentences with at least one rare
        term (a key of ``postings``), ranked by BM25 over all the query's terms."""
        rare = [t for t in reading.terms if stem(t) in postings] if COMMON_TERMS_SPLIT else []
        hits = self.kb.fts(fts_expression_requiring(reading.terms, rare), n)
        vec_rows = self.kb.vec_rows_by_ids([sid for sid, _ in hits])
        return [(vec_rows[sid], score) for sid, score in hits if sid in vec_rows]

    def _allowed_incidents(self, filters: dict[str, Any]) -> set[str] | None:
        """Incident ids passing the category/system/organization/year filters (None = all)."""
        clauses, args = [], []
        if filters.get("category"):
            clauses.append(
                "incident_id IN (SELECT incident_id FROM cause_categories WHERE category_id = ?)"
            )
            args.append(filters["category"])
        if filters.get("system"):
            clauses.append(
                "incident_id IN (SELECT incident_id FROM systems WHERE name = ? COLLATE NOCASE)"
            )
            args.append(filters["system"])
        if filters.get("organization"):
            clauses.append("organization = ? COLLATE NOCASE")
            args.append(filters["organization"])
        if filters.get("year"):
            clauses.append("year = ?")
            args.append(int(filters["year"]))
        if not clauses:
            return None
        sql = "SELECT incident_id FROM incidents WHERE " + " AND ".join(clauses)
        return {r[0] for r in self.kb.conn.execute(sql, args)}

    # -- the query ---------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: str = "hybrid",
        section: str = "any",
        category: str | None = None,
        system: str | None = None,
        organization: str | None = None,
        year: int | None = None,
    ) -> SearchResult:
        """Rank incidents for ``query``; one Hit per incident with its evidence sentences."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if section not in SECTIONS:
            raise ValueError(f"section must be one of {SECTIONS}")
        t0 = time.perf_counter()
        vocab = vocabulary()
        reading = read_query(
            query,
            category_names=vocab.category_names,
            category_patterns=vocab.category_patterns,
            system_names=vocab.system_names,
        )
        filters = {
            k2: v
            for k2, v in (
                ("category", category),
                ("system", system),
                ("organization", organization),
                ("year", year),
            )
            if v
        }
        allowed = self._allowed_incidents(filters)
        role = section if section != "any" else None
        n = CANDIDATES * (4 if (allowed is not None or role) else 1)
        lexical_side = mode in ("hybrid", "lexical", "rrf") and bool(reading.terms)
        dense_side = mode in ("hybrid", "dense", "rrf") and bool(reading.dense_text)
        with_doc_scores = mode != "rrf" and DOC_WEIGHT > 0
        future = None
        if dense_side and lexical_side:  # the two sides overlap: SQLite and NumPy free the GIL
            _ = self.embedder, self.centroids()  # loaded here (SQLite), not in the worker
            dense_text = reading.dense_text
            future = _dense_worker().submit(self._dense_side, dense_text, n, with_doc_scores)
        postings = self._rare_term_postings(reading.terms) if lexical_side else {}
        lexical = self._lexical(reading, n, postings) if lexical_side else []
        if future is not None:
            dense, doc_scores = future.result()
        elif dense_side:
            dense, doc_scores = self._dense_side(reading.dense_text, n, with_doc_scores)
        else:
            dense, doc_scores = [], None
        ctx = (reading, role, allowed)
        if mode == "rrf":
            scores, evidence, meta = self._score_incidents(fuse_rrf([lexical, dense]), *ctx)
        else:
            alpha = {"hybrid": DENSE_WEIGHT, "dense": 1.0, "lexical": 0.0}[mode]
            scores, evidence, meta = self._score_incidents(
                fuse_convex(dense, lexical, alpha=alpha),
                *ctx,
                doc_scores=doc_scores,
                title_weight=TITLE_WEIGHT if mode != "dense" else 0.0,  # a lexical signal
                incident_lexical=(
                    self._incident_lexical_scores(reading.terms, postings)
                    if INCIDENT_BM25_WEIGHT > 0 and lexical_side
                    else None
                ),
            )
        hits = self._hits(scores, evidence, meta, k)
        return SearchResult(
            query=query,
            reading=reading,
            hits=tuple(hits),
            mode=mode,
            section=section,
            filters=filters,
            took_ms=(time.perf_counter() - t0) * 1000,
        )

    def _score_incidents(
        self,
        fused: dict[int, float],
        reading: QueryReading,
        role: str | None,
        allowed: set[str] | None,
        *,
        doc_scores: dict[str, float] | None = None,
        title_weight: float = 0.0,
        incident_lexical: IncidentScores | None = None,
    ) -> tuple[
        dict[str, float], dict[str, list[tuple[float, dict[str, Any]]]], dict[str, dict[str, Any]]
    ]:
        """Incident scores from sentence scores, each incident's sentences (best first), and
        the incidents' summary rows."""
        rows = self.kb.sentences_by_vec_rows(list(fused))
        per_incident: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
        boost_role = role or reading.role
        for vec_row, score in fused.items():
            row = rows.get(vec_row)
            if row is None:
                continue
            if allowed is not None and row["incident_id"] not in allowed:
                continue
            roles = row["roles"].split(",") if row["roles"] else [row["role"]]
            if role and role not in roles:
                continue
            if boost_role and boost_role in roles:
                score *= 1.0 + ROLE_BOOST
            per_incident[row["incident_id"]].append((score, row))
        meta = self._incident_meta(per_incident)
        term_stems = [stem(t) for t in reading.terms]
        scores: dict[str, float] = {}
        for incident_id, scored in per_incident.items():
            scored.sort(key=lambda x: -x[0])
            total = sum(w * s for w, (s, _) in zip(AGG_WEIGHTS, scored, strict=False))
            info = meta.get(incident_id, {})
            if doc_scores:
                total += DOC_WEIGHT * doc_scores.get(incident_id, 0.0)
            if incident_lexical is not None:
                total += INCIDENT_BM25_WEIGHT * incident_lexical.get(incident_id)
            if title_weight and reading.terms:
                total += title_weight * self._title_match(incident_id, info, term_stems)
            if reading.categories and set(_split(info.get("categories"))).intersection(
                reading.categories
            ):
                total *= 1.0 + CATEGORY_BOOST
            names = {s.lower() for s in _split(info.get("systems"))}
            if reading.systems and names.intersection(s.lower() for s in reading.systems):
                total *= 1.0 + SYSTEM_BOOST
            scores[incident_id] = total
        return scores, per_incident, meta

    def _title_match(
        self, incident_id: str, info: dict[str, Any], term_stems: Sequence[str]
    ) -> float:
        """Share of the query terms (given as stems) whose stem occurs in the incident's title
        (the title's stems are cached per incident)."""
        stems = self._title_stems.get(incident_id)
        if stems is None:
            stems = self._title_stems[incident_id] = word_stems(info.get("title", ""))
        return sum(t in stems for t in term_stems) / len(term_stems)

    def _hits(
        self,
        scores: dict[str, float],
        evidence: dict[str, list[tuple[float, dict[str, Any]]]],
        meta: dict[str, dict[str, Any]],
        k: int,
    ) -> list[Hit]:
        """The top ``k`` incidents as Hits, each with its best sentences as evidence."""
        hits = []
        for incident_id, total in sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:k]:
            scored = evidence.get(incident_id) or []
            best = scored[0][0] if scored else 0.0
            best_rows = tuple(_evidence(row, s) for s, row in scored[:3] if s >= 0.6 * best)
            hits.append(_hit(incident_id, meta.get(incident_id, {}), total, best_rows))
        return hits

    # -- similar incidents -------------------------------------------------------------------
    def similar(self, incident_id: str, k: int = 5) -> list[Hit]:
        """Incidents most like this one: by its cause sentences first, then its whole text."""
        if not self._incident_meta([incident_id]):
            raise IncidentNotFound(incident_id)
        matrix = self.kb.vectors()
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, tuple[float, int]] = {}
        for role, weight in (("cause", 2.0), (None, 1.0)):
            rows = self.kb.incident_vec_rows(incident_id, role)
            if not rows:
                continue
            centroid = np.asarray(matrix[sorted(rows)], dtype=np.float32).mean(axis=0)
            norm = float(np.linalg.norm(centroid)) or 1.0
            found_scores, found_ids = vectors.search(self.kb.ann, (centroid / norm)[None, :], 400)
            found = self.kb.sentences_by_vec_rows([int(i) for i in found_ids[0] if i >= 0])
            best: dict[str, float] = {}
            for vec_row, s in zip(found_ids[0], found_scores[0], strict=True):
                row = found.get(int(vec_row))
                if row is None or row["incident_id"] == incident_id:
                    continue
                other = row["incident_id"]
                if s > best.get(other, -1.0):
                    best[other] = float(s)
                    if other not in evidence or s > evidence[other][0]:
                        evidence[other] = (float(s), int(vec_row))
            for other, s in best.items():
                scores[other] += weight * s
        ranked = sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:k]
        meta = self._incident_meta([i for i, _ in ranked])
        ev_rows = self.kb.sentences_by_vec_rows([evidence[i][1] for i, _ in ranked])
        hits = []
        for other, s in ranked:
            score, vec_row = evidence[other]
            row = ev_rows.get(vec_row)
            hits.append(
                _hit(other, meta.get(other, {}), s / 3.0, (_evidence(row, score),) if row else ())
            )
        return hits
