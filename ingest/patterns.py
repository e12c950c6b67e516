"""Recurring cause patterns across the corpus, beyond the fixed taxonomy.

Clusters the cause sentences of every incident in an index by meaning, so a user sees
"these 6 incidents share this cause" even for patterns the taxonomy does not name.
"""

from __future__ import annotations

from typing import Any

from .embed import Embedder, embedder_for
from .store import KnowledgeBase
from .taxonomy import CauseCluster, cluster_causes, embed_causes


def cause_items(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(incident_id, cause text) for every extracted cause, in a stable order."""
    rows = kb.conn.execute("SELECT incident_id, text FROM causes ORDER BY incident_id, idx")
    return [(r[0], r[1]) for r in rows]


def recurring_patterns(
    kb: KnowledgeBase,
    embedder: Embedder | None = None,
    *,
    threshold: float = 0.6,
    min_incidents: int = 2,
) -> list[CauseCluster]:
    """Clusters of similar causes spanning at least ``min_incidents`` incidents, largest first."""
    items = cause_items(kb)
    if not items:
        return []
    embedder = embedder or embedder_for(kb.embedding_model)
    clusters = cluster_causes(
        items, embed_causes(items, embedder), threshold=threshold, min_incidents=min_incidents
    )
    return sorted(clusters, key=lambda c: (-len(c.incident_ids), -c.cohesion, c.label))


def pattern_rows(
    kb: KnowledgeBase, items: list[tuple[str, str]], clusters: list[CauseCluster]
) -> list[dict[str, Any]]:
    """Clusters with each member cause and its incident's title, ready to print or show."""
    meta = kb.incident_meta(i for c in clusters for i in c.incident_ids)
    return [
        {
            "label": c.label,
            "incidents": len(c.incident_ids),
            "cohesion": round(c.cohesion, 3),
            "incident_ids": list(c.incident_ids),
            "members": [
                {
                    "incident_id": items[m][0],
                    "title": meta.get(items[m][0], {}).get("title", ""),
                    "cause": items[m][1],
                }
                for m in c.members
            ],
        }
        for c in clusters
    ]
