"""How long does the optimiser take? The example workbook end to end, and the fitting at 10,000 to 1,048,575 accounts.

Run:  python benchmarks/bench_optimise.py [--accounts 10000 100000 1048575] [--folds 5]

1. ``chs-excel optimise`` on a copy of examples/saas_churn/saas_churn.xlsx (2,000 accounts), in its own process:
   wall time and peak RSS.
2. The fitting alone (chs_excel.analysis.optimise), on synthetic accounts with an outcome: 8 metrics in 4
   categories, 10% of scores missing, churn drawn from a logistic model whose true weights are known. Times one fit
   on all accounts and the whole cross-validation (one fit per fold), and prints how far the fitted weights are from
   the true ones (a fit past 200,000 accounts uses a fixed random sample of 200,000).
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chs_excel.analysis import optimise as opt  # noqa: E402
from chs_excel.analysis.calibration import stratified_folds  # noqa: E402

TRUE_WEIGHTS = np.array([0.30, 0.10, 0.20, 0.0, 0.10, 0.10, 0.10, 0.10])
LAYOUT = opt.Layout(np.array([0, 0, 1, 1, 2, 2, 3, 3]), 4)


def example_command() -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of `chs-excel optimise` on a copy of the example."""
    with tempfile.TemporaryDirectory() as folder:
        book = Path(folder) / "churn.xlsx"
        shutil.copyfile(ROOT / "examples" / "saas_churn" / "saas_churn.xlsx", book)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chs_excel.cli", "optimise", str(book)], check=True,
                       capture_output=True)
        seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(1, 100, (n, 8))
    scores[rng.uniform(size=(n, 8)) < 0.1] = np.nan
    overall = opt.combine(scores, TRUE_WEIGHTS, LAYOUT)
    churned = rng.uniform(size=n) < 1 / (1 + np.exp(3 * (overall - 50) / 50))
    return scores, churned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000, 1_048_575])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    seconds, rss = example_command()
    print(f"chs-excel optimise on the example (2,000 accounts, {args.folds} folds): {seconds:.2f} s / {rss:.0f} MiB")
    print("| accounts with an outcome | one fit | cross-validation (one fit per fold) | largest weight error |")
    print("|---|---|---|---|")
    for n in args.accounts:
        scores, churned = synthetic(n)
        start = time.perf_counter()
        fit = opt.fit_weights(scores, churned, LAYOUT, start=np.full(8, 1 / 8))
        one = time.perf_counter() - start
        start = time.perf_counter()
        opt.cross_validate(scores, churned, stratified_folds(churned, args.folds), LAYOUT, np.full(8, 1 / 8), (40, 70))
        cv = time.perf_counter() - start
        print(f"| {n:,} | {one:.1f} s | {cv:.1f} s | {np.abs(fit.e - TRUE_WEIGHTS).max():.3f} |")


if __name__ == "__main__":
    main()
