"""Every workbook of ../shared/corpus (674 files made by Excel and Apache POI's test data): ``init``, then
``refresh`` twice, must succeed without touching anything of the user's, or refuse cleanly (see corpus_check).

The files run in parallel worker processes (in-process calls of the CLI, a time bound per file); the counts
are printed at the end of the test run.
"""
from __future__ import annotations

import collections
import os
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from corpus_check import Outcome, check, worker_init

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
FILES = sorted(str(p) for p in CORPUS.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm")) if CORPUS.is_dir() else []
RESULTS: dict[str, Outcome] = {}
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _run_all(files: list[str], work: str) -> dict[str, Outcome]:
    results: dict[str, Outcome] = {}
    pending = list(files)
    while pending:
        try:
            with ProcessPoolExecutor(WORKERS, initializer=worker_init) as pool:
                futures = {f: pool.submit(check, f, work) for f in pending}
                for f, future in futures.items():
                    results[f] = future.result()
            pending = []
        except BrokenProcessPool:
            # A worker died (e.g. aborted in native code): run what is left one at a time to find which.
            pending = [f for f in pending if f not in results]
            for f in list(pending):
                try:
                    with ProcessPoolExecutor(1, initializer=worker_init) as pool:
                        results[f] = pool.submit(check, f, work).result()
                except BrokenProcessPool:
                    results[f] = Outcome(f, "failed", "the process died (crashed or ran out of memory)")
            pending = []
    return results


@pytest.fixture(scope="session")
def corpus_results(tmp_path_factory):
    if not FILES:
        pytest.skip(f"no corpus at {CORPUS}")
    work = tmp_path_factory.mktemp("corpus")
    RESULTS.update(_run_all(FILES, str(work)))
    return work


def summary_lines() -> list[str]:
    if not RESULTS:
        return []
    verdicts = collections.Counter(o.verdict for o in RESULTS.values())
    lines = [f"corpus: {len(RESULTS)} workbooks: {verdicts['ok']} refreshed, {verdicts['refused']} refused cleanly, "
             f"{verdicts['failed']} failed"]
    for folder in sorted({Path(p).parent.name for p in RESULTS}):
        mine = [o for p, o in RESULTS.items() if Path(p).parent.name == folder]
        counts = collections.Counter(o.verdict for o in mine)
        lines.append(f"  {folder}: {len(mine)}: {counts['ok']} refreshed, {counts['refused']} refused, {counts['failed']} failed")
    reasons = collections.Counter(o.reason for o in RESULTS.values() if o.verdict == "refused")
    for reason, n in reasons.most_common():
        lines.append(f"  refused {n:4d} x {reason}")
    for o in RESULTS.values():
        if o.verdict == "failed":
            lines.append(f"  FAILED {Path(o.path).parent.name}/{Path(o.path).name}: {o.reason[:300]}")
    return lines


@pytest.mark.parametrize("path", FILES, ids=[f"{Path(f).parent.name}/{Path(f).name}" for f in FILES])
def test_corpus_workbook(path, corpus_results):
    outcome = RESULTS[path]
    assert outcome.verdict in ("ok", "refused"), f"{outcome.reason} ({'; '.join(outcome.steps)})"


def test_most_of_the_corpus_refreshes(corpus_results):
    ok = sum(o.verdict == "ok" for o in RESULTS.values())
    excel_made = [o for p, o in RESULTS.items() if Path(p).parent.name == "excel-made"]
    assert all(o.verdict == "ok" for o in excel_made), [o.reason for o in excel_made if o.verdict != "ok"][:3]
    assert ok >= 0.9 * len(RESULTS)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_a_sample_of_the_refreshed_corpus(corpus_results, tmp_path):
    kept = sorted((corpus_results / "ok").glob("*"))
    sample = kept[:: max(1, len(kept) // 12)][:12]
    assert sample
    out = tmp_path / "pdf"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out), *map(str, sample)], capture_output=True, timeout=600)
    missing = [p.name for p in sample if not (out / (p.stem + ".pdf")).is_file()]
    assert not missing, f"LibreOffice could not open {missing}"
