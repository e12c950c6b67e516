"""spaCy extraction in a worker process, so it overlaps embedding in the ingest process.

Ingest has two model stages: spaCy analysis (one core: tokenise, tag, parse, NER, then the
extraction rules in Python) and sentence embedding (torch, which uses every core it is given).
Run one after the other, the spaCy pass adds its whole time to the embedding time. Here it
runs in one worker process, chunks ahead of the ingest process, while the ingest process
embeds the chunks already analysed with one thread fewer; when the worker has nothing left to
do, embedding gets all threads back (see :func:`ingest.pipeline.ingest_paths`).

The worker is a fresh interpreter (``python -m ingest.workers``) that reads chunks of documents
and writes their records as JSON lines over its standard input and output (the records'
``to_dict`` / ``incident_from_dict``; nothing is unpickled). Unlike ``multiprocessing`` it
never re-imports the caller's main script, so a library user's script needs no
``if __name__ == "__main__"`` guard. It loads the
spaCy pipeline once and is replaced every :data:`CHUNKS_PER_WORKER` chunks, so that spaCy's
vocabulary, which grows with every new word it sees, stays bounded over a long ingest. It
exits when its input closes, which includes the death of the ingest process. A document that
fails comes back as an :class:`ExtractionError` with the original exception's type and message.
If the worker dies, the futures of its chunks fail and the caller analyses them itself.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, BinaryIO

from .records import Document, Incident, incident_from_dict

CHUNKS_PER_WORKER = 64  # chunks one worker process analyses before a fresh one takes over
ChunkResult = tuple[list[Any], float]  # (Incident | ExtractionError per document, seconds)


class ExtractionError(Exception):
    """An exception raised while analysing one document, carried back from the worker."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_exception(cls, exc: BaseException) -> ExtractionError:
        return cls(type(exc).__name__, str(exc))


class WorkerDied(RuntimeError):
    """The worker process ended before it answered."""


def failure_kind(exc: BaseException) -> str:
    """The name of the exception type that made an analysis fail (also across processes)."""
    return exc.kind if isinstance(exc, ExtractionError) else type(exc).__name__


def analyse_chunk(docs: Sequence[Document], nlp: Any) -> ChunkResult:
    """Unlabelled incidents of a chunk (failures as ExtractionError), and the seconds it took."""
    from .pipeline import unlabelled_incidents

    t = time.perf_counter()
    out: list[Incident | ExtractionError] = []
    for result in unlabelled_incidents(docs, nlp):
        failed = isinstance(result, Exception)
        out.append(ExtractionError.from_exception(result) if failed else result)
    return out, time.perf_counter() - t


def encode_docs(docs: Sequence[Document]) -> bytes:
    """One JSON line holding a chunk of documents."""
    return json.dumps([d.to_dict() for d in docs]).encode("ascii") + b"\n"


def decode_docs(line: bytes) -> list[Document]:
    return [Document(**d) for d in json.loads(line)]


def encode_results(chunk: ChunkResult) -> bytes:
    """One JSON line holding a chunk's records (or errors) and its analysis time."""
    results, seconds = chunk
    items = [
        {"error": [r.kind, r.message]} if isinstance(r, ExtractionError) else r.to_dict()
        for r in results
    ]
    message = {"results": items, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}
    return json.dumps(message).encode("ascii") + b"\n"


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ``ru_maxrss`` it starts afresh at
    exec, so a worker does not inherit the figure of the process that started it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def decode_results(line: bytes) -> ChunkResult:
    if not line:
        raise EOFError("the worker closed its output")
    return _results(json.loads(line))


def _results(data: dict[str, Any]) -> ChunkResult:
    results: list[Any] = [
        ExtractionError(*item["error"]) if "error" in item else incident_from_dict(item)
        for item in data["results"]
    ]
    return results, float(data["seconds"])


class _Process:
    """One worker interpreter: a writer thread feeds it chunks, a reader thread its results."""

    def __init__(self) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.sent = 0
        self.peak_rss_mib = 0.0  # the worker's peak memory, as its last answer said
        self._outbox: queue.Queue[list[Document] | None] = queue.Queue()
        self._waiting: deque[Future[ChunkResult]] = deque()
        self._lock = threading.Lock()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._writer = threading.Thread(target=self._write, args=(self.proc.stdin,), daemon=True)
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._writer.start()
        self._reader.start()

    def submit(self, docs: list[Document]) -> Future[ChunkResult]:
        future: Future[ChunkResult] = Future()
        with self._lock:
            self._waiting.append(future)
        self._outbox.put(docs)
        self.sent += 1
        return future

    def finish(self) -> None:
        """No more chunks: the worker answers what it has, then exits."""
        self._outbox.put(None)

    def _write(self, stdin: BinaryIO) -> None:
        try:
            while (docs := self._outbox.get()) is not None:
                stdin.write(encode_docs(docs))
                stdin.flush()
        except OSError:  # the worker is gone; the reader fails the futures
            pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _read(self, stdout: BinaryIO) -> None:
        while True:
            try:
                line = stdout.readline()
                if not line:
                    break
                data = json.loads(line)
                result = _results(data)
                self.peak_rss_mib = max(self.peak_rss_mib, float(data.get("peak_rss_mib", 0.0)))
            except Exception:  # a broken stream: the worker ended
                break
            with self._lock:
                future = self._waiting.popleft()
            future.set_result(result)
        self.proc.wait()
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
        for future in waiting:
            future.set_exception(WorkerDied(f"spaCy worker exited with {self.proc.returncode}"))

    def join(self) -> None:
        self._reader.join()
        self._writer.join()


class ExtractionWorker:
    """A spaCy worker process; :meth:`submit` queues a chunk and returns a future of it."""

    def __init__(self, chunks_per_worker: int | None = None) -> None:
        self.chunks_per_worker = chunks_per_worker or CHUNKS_PER_WORKER
        self._current: _Process | None = None
        self._retired: list[_Process] = []
        self._peak_seen = 0.0

    def submit(self, docs: Sequence[Document]) -> Future[ChunkResult]:
        if self._current is not None and self._current.sent >= self.chunks_per_worker:
            self._current.finish()
            self._retired.append(self._current)
            self._current = None
        if self._current is None:
            self._current = _Process()
        return self._current.submit(list(docs))

    @property
    def peak_rss_mib(self) -> float:
        """The highest peak memory any of this object's worker processes reported."""
        processes = [*self._retired, *([self._current] if self._current else [])]
        return max([self._peak_seen, *(p.peak_rss_mib for p in processes)])

    def close(self) -> None:
        """Let the workers answer what they were given, and wait for them to exit."""
        if self._current is not None:
            self._current.finish()
            self._retired.append(self._current)
            self._current = None
        for process in self._retired:
            process.join()
            self._peak_seen = max(self._peak_seen, process.peak_rss_mib)
        self._retired.clear()

    def __enter__(self) -> ExtractionWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:  # an error or Ctrl-C: do not wait for chunks nobody will use
            for process in [*self._retired, *([self._current] if self._current else [])]:
                process.proc.kill()
        self.close()


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: read chunks until the input ends, answer each with its results."""
    from .nlp import load_nlp

    nlp = load_nlp()
    for line in stdin:
        stdout.write(encode_results(analyse_chunk(decode_docs(line), nlp)))
        stdout.flush()


if __name__ == "__main__":
    # The worker runs spaCy's CPU models only: keep thinc from importing torch (about 180 MB
    # of memory and a second of start-up for nothing).
    sys.modules["torch"] = None  # type: ignore[assignment]
    # Served by the imported module, so results pickle as ingest.workers classes, not __main__.
    from ingest.workers import serve as _serve

    # stdout carries pickles only: anything a library prints goes to stderr instead.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, channel)
