"""Named errors. The CLI and the app turn each into a one-line message, never a traceback."""

from __future__ import annotations


class PmkbError(Exception):
    """Base class of every error postmortem-kb reports to users."""


class IndexNotFound(PmkbError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"no index at {path!r}: build one with `pmkb ingest corpus/ --index {path}`"
        )
        self.path = path


class IndexVersionMismatch(PmkbError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"the index at {path!r} was built {detail}; "
            f"rebuild it with `pmkb ingest --rebuild --index {path} PATH...`"
        )
        self.path = path
        self.detail = detail


class IndexCorrupt(PmkbError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"the index at {path!r} is unreadable ({detail}); "
            f"rebuild it with `pmkb ingest --rebuild --index {path} PATH...`"
        )
        self.path = path


class IndexLocked(PmkbError):
    def __init__(self, path: str, holder: str = "") -> None:
        who = f" (held by {holder})" if holder else ""
        super().__init__(
            f"index is locked: another ingest is writing {path!r}{who}; try again when it ends"
        )
        self.path = path


class IncidentNotFound(PmkbError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"no incident with id {incident_id!r}: `pmkb search` or `pmkb stats` list the ids"
        )
        self.incident_id = incident_id


class NothingToIngest(PmkbError):
    """No supported file was found under the given paths."""
