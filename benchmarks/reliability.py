"""Reliability figures for issue 7: bad input, kill points, random kills, re-ingest.

Usage::

    .venv/bin/python benchmarks/reliability.py [--random-kills 10] [--seed 7]

Runs the real ingest path (real spaCy pipeline, the fake ``HashingEmbedder`` so the
figures do not depend on the embedding model's speed) in temporary folders and prints:

1. every bad-input kind tried (the same files tests/test_reliability.py uses) and what
   happened to it, plus time and peak traced memory for the 20 MB / 1 MB-line files;
2. every crash point of ``ingest.store.CRASH_POINTS`` (``PMKB_CRASH_AT``): whether the index
   after the SIGKILL was exactly the old or the new one and whether a re-run completed;
3. kills at random moments (no hook) of a larger ingest, with the same checks;
4. re-ingest of the seed corpus plus the 39 DFDS postmortems (MIT): idempotence, embed
   calls, a changed file, a duplicate and ``--prune``.

Nothing is written inside the project; corpora are copied to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from test_crash import (  # noqa: E402
    INGEST_SCRIPT,
    index_state,
    make_versions,
    to_version_2,
)
from test_reliability import (  # noqa: E402
    CountingEmbedder,
    write_bad_inputs,
    write_huge_inputs,
)

from ingest.embed import HashingEmbedder  # noqa: E402
from ingest.nlp import load_nlp  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from ingest.store import CRASH_ENV, CRASH_POINTS, KnowledgeBase, read_manifest  # noqa: E402

EMB = HashingEmbedder(64)
DFDS = ROOT.parent / "shared" / "corpora" / "public" / "incidents"


def bad_inputs(work: Path, nlp) -> None:
    print("## 1. Bad input (one ingest of a folder holding every kind)")
    docs = work / "bad"
    expected = write_bad_inputs(docs)
    expected.update(write_huge_inputs(docs))
    simulated = ""
    if os.geteuid() == 0:  # chmod 000 does not stop root: refuse such files as a user would
        import ingest.read

        real_open = open

        def guarded_open(file, *args, **kwargs):
            if os.path.exists(file) and os.stat(file).st_mode & 0o777 == 0:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        ingest.read.open = guarded_open  # type: ignore[attr-defined]
        simulated = " (simulated: running as root)"
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    report = ingest_paths([str(docs)], work / "bad-index", embedder=EMB, nlp=nlp)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    by_name = {os.path.relpath(o.source, docs): o for o in report.outcomes}
    ok = 0
    print(f"{'file':<18} {'expected':<9} {'got':<8} reason")
    for name, want in expected.items():
        o = by_name.get(name)
        got = "missing" if o is None else ("ingested" if o.status == "added" else o.status)
        ok += got == want
        note = simulated if name == "unreadable.md" else ""
        print(f"{name:<18} {want:<9} {got:<8} {o.detail if o else ''}{note}")
    print(
        f"bad-input kinds tried: {len(expected) - 1} (+1 good file); as expected: "
        f"{ok - 1}/{len(expected) - 1}; exit code {report.exit_code()} "
        f"(--strict: {report.exit_code(strict=True)})"
    )
    print(
        f"whole run incl. the 20 MB and 1 MB-line files: {wall:.1f} s wall, {cpu:.1f} s CPU, "
        f"peak traced Python memory {peak / 1e6:.0f} MB"
    )
    kb = KnowledgeBase.open(work / "bad-index")
    bad_offsets = sum(
        1
        for r in kb.incident_rows()
        for s in kb.incident(r["incident_id"]).sentences
        if kb.incident(r["incident_id"]).text[s.start : s.end] != s.text
    )
    print(
        f"incidents indexed: {kb.stats()['incidents']}; sentences with bad offsets: {bad_offsets}"
    )
    print()


def _run_ingest(docs: Path, index: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", INGEST_SCRIPT, str(docs), str(index)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def kill_points(work: Path, nlp) -> None:
    print("## 2. Kill points (PMKB_CRASH_AT=<point>, SIGKILL, subprocesses in parallel)")
    base = work / "crash"
    base.mkdir()
    docs, corpus = make_versions(base)
    ingest_paths([str(docs)], base / "v1", embedder=EMB, nlp=nlp)
    old = index_state(base / "v1")
    to_version_2(docs, corpus)
    shutil.copytree(base / "v1", base / "ref")
    ingest_paths([str(docs)], base / "ref", embedder=EMB, nlp=nlp, prune=True, chunk_docs=2)
    new = index_state(base / "ref")
    env0 = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    procs = {}
    for point in CRASH_POINTS:
        index = base / point
        shutil.copytree(base / "v1", index)
        procs[point] = (index, _run_ingest(docs, index, dict(env0, **{CRASH_ENV: point})))
    survived = 0
    for point, (index, proc) in procs.items():
        proc.communicate(timeout=600)
        killed = proc.returncode == -signal.SIGKILL
        state = index_state(index)
        seen = "old" if state == old else "new" if state == new else "MIXED"
        ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, prune=True)
        rerun_ok = index_state(index) == new and not list(index.glob("*.tmp"))
        survived += killed and seen != "MIXED" and rerun_ok
        print(
            f"{point:<15} killed={killed!s:<5} index after kill: {seen:<5} "
            f"re-run complete and equal to a clean ingest: {rerun_ok}"
        )
    print(f"kill points survived: {survived}/{len(CRASH_POINTS)}")
    print()


def random_kills(work: Path, nlp, n: int, rng: random.Random) -> None:
    print(f"## 3. Random kills (no hook; {n} runs of a 44-file ingest)")
    base = work / "random"
    base.mkdir()
    docs = base / "docs"
    docs.mkdir()
    for src in sorted(DFDS.glob("dfds-*.md"))[:39]:
        shutil.copy(src, docs / src.name)
    for src in sorted((ROOT / "corpus").glob("*.txt")):
        shutil.copy(src, docs / src.name)
    files = sorted(docs.iterdir())
    held_back = files[::4]  # the "new" files the killed ingest adds
    for f in held_back:
        f.rename(base / f.name)
    ingest_paths([str(docs)], base / "v1", embedder=EMB, nlp=nlp)
    old = index_state(base / "v1")
    for f in held_back:
        (base / f.name).rename(docs / f.name)
    shutil.copytree(base / "v1", base / "ref")
    ingest_paths([str(docs)], base / "ref", embedder=EMB, nlp=nlp, prune=True)
    new = index_state(base / "ref")
    total = len(list(docs.iterdir()))
    env0 = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    outcomes = {"old": 0, "new": 0, "MIXED": 0}
    reruns_ok = killed = 0
    for i in range(n):
        index = base / f"run-{i}"
        shutil.copytree(base / "v1", index)
        proc = _run_ingest(docs, index, env0)
        # kill after a random number of files plus a random delay; every other run waits
        # for the last file, so the kill lands in the final chunk, the commit or after it
        after_files = total if i % 2 else rng.randint(1, total)
        delay = rng.uniform(0, 6.0) if i % 2 else rng.uniform(0, 1.5)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(f"progress {after_files}/") or line.startswith("done"):
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        killed += proc.returncode == -signal.SIGKILL
        state = index_state(index)
        seen = "old" if state == old else "new" if state == new else "MIXED"
        outcomes[seen] += 1
        ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, prune=True)
        ok = index_state(index) == new and not list(index.glob("*.tmp"))
        reruns_ok += ok
        print(
            f"run {i}: killed after file {after_files}/{total} + {delay:.2f} s "
            f"(exit {proc.returncode}): index {seen}; re-run ok: {ok}"
        )
    print(
        f"random kills: {n} runs, {killed} died by SIGKILL (the others had finished); index "
        f"was the complete old one {outcomes['old']}x, the complete "
        f"new one {outcomes['new']}x, mixed {outcomes['MIXED']}x; re-runs ok {reruns_ok}/{n}"
    )
    print()


def reingest(work: Path, nlp) -> None:
    print("## 4. Re-ingest (seed corpus + 39 DFDS postmortems, real spaCy, fake embedder)")
    docs = work / "re" / "docs"
    docs.mkdir(parents=True)
    for src in sorted(DFDS.glob("dfds-*.md"))[:39]:
        shutil.copy(src, docs / src.name)
    for src in sorted((ROOT / "corpus").glob("*.txt")):
        shutil.copy(src, docs / src.name)
    shutil.copy(docs / "000_b8c8c00f2bf6ff1e.txt", docs / "copy-of-000.txt")
    index = work / "re" / "index"
    emb = CountingEmbedder(EMB)
    t0 = time.perf_counter()
    first = ingest_paths([str(docs)], index, embedder=emb, nlp=nlp)
    t1 = time.perf_counter()
    state1 = index_state(index)
    counts1 = read_manifest(index)["counts"]
    print(
        f"first ingest: {len(first.outcomes)} files, {first.incidents} incidents, "
        f"{counts1['sentences']} sentences, {len(first.by_status('duplicate'))} duplicate "
        f"reported, {emb.calls} embed calls ({len(emb.texts)} texts), {t1 - t0:.1f} s"
    )
    emb.calls, emb.texts = 0, []
    t0 = time.perf_counter()
    second = ingest_paths([str(docs)], index, embedder=emb, nlp=nlp)
    t1 = time.perf_counter()
    same = index_state(index) == state1
    print(
        f"re-ingest unchanged: {len(second.by_status('unchanged'))} unchanged, "
        f"{len(second.by_status('duplicate'))} duplicate, {second.ingested} ingested, "
        f"{emb.calls} embed calls, counts/sentences/search results identical: {same}, "
        f"{t1 - t0:.2f} s"
    )
    target = docs / "dfds-PM2019-010.md"
    text = target.read_text(encoding="utf-8")
    cut = text.find("\n\n", len(text) // 3)
    target.write_text(
        text[:cut] + "\n\nA replica lagged behind the primary.\n" + text[cut:], encoding="utf-8"
    )
    emb.calls, emb.texts = 0, []
    third = ingest_paths([str(docs)], index, embedder=emb, nlp=nlp)
    kb = KnowledgeBase.open(index)
    inc_id = next(o.incident_id for o in third.by_status("updated"))
    n_target = len(kb.incident(inc_id).sentences)
    print(
        f"one file changed: {third.ingested} updated, {third.sentences_embedded} sentences "
        f"embedded (the changed file has {n_target}; the index {kb.stats()['sentences']}), "
        f"incidents {third.incidents} (was {first.incidents})"
    )
    (docs / "000_b8c8c00f2bf6ff1e.txt").unlink()
    (docs / "dfds-PM2019-011.md").unlink()
    fourth = ingest_paths([str(docs)], index, embedder=emb, nlp=nlp, prune=True)
    kb = KnowledgeBase.open(index)
    print(
        f"two files deleted, --prune: {len(fourth.by_status('removed'))} removed; the copy of "
        f"a deleted original was re-indexed on its own: "
        f"{[Path(o.source).name for o in fourth.by_status('added')]}; incidents "
        f"{fourth.incidents}"
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random-kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", nargs="*", default=[], help="sections to skip: 1 2 3 4")
    args = parser.parse_args()
    nlp = load_nlp()
    with tempfile.TemporaryDirectory(prefix="pmkb-reliability-") as tmp:
        work = Path(tmp)
        if "1" not in args.skip:
            bad_inputs(work, nlp)
        if "2" not in args.skip:
            kill_points(work, nlp)
        if "3" not in args.skip:
            random_kills(work, nlp, args.random_kills, random.Random(args.seed))
        if "4" not in args.skip:
            reingest(work, nlp)


if __name__ == "__main__":
    main()
