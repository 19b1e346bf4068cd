"""Every backtest figure against an independent computation (scikit-learn, scipy, or by hand)."""
import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from chs_excel.analysis import separation as bt
from chs_excel import contract as c
from chs_excel.cli import main
from chs_excel.pipeline import backtest_file, refresh_file
from chs_excel.demo.template import write_template

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "saas_churn" / "saas_churn.xlsx"


@pytest.mark.parametrize("seed", range(5))
def test_auc_gini_and_ks_match_scikit_learn_and_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(1, 11, 300).astype(float)  # few distinct values: many ties
    churned = rng.uniform(size=300) < 1 / (1 + np.exp((scores - 5) / 2))
    scores[rng.integers(0, 300, 20)] = np.nan  # accounts without a score are left out
    keep = ~np.isnan(scores)
    expected = roc_auc_score(~churned[keep], scores[keep])
    assert bt.auc(scores, churned) == pytest.approx(expected)
    assert bt.gini(bt.auc(scores, churned)) == pytest.approx(2 * expected - 1)
    stat = ks_2samp(scores[keep & churned], scores[keep & ~churned]).statistic
    assert bt.ks(scores, churned)[0] == pytest.approx(stat)


def test_undefined_when_no_account_churned_or_all_did():
    assert bt.auc([10, 20, 30], [False, False, False]) is None
    assert bt.ks([10, 20], [True, True]) == (None, None)
    assert bt.top_decile_lift([10, 20], [False, False]) is None
    assert bt.auc_reading(None) == "undefined: needs both churned and retained accounts"


def test_lift_by_hand():
    # 20 accounts, 4 churned: 2 among the lowest-scored two (the top decile) -> rate 2/2 = 1; overall 4/20 = 0.2; lift 5
    scores = list(range(1, 21))
    churned = [True, True] + [False] * 8 + [True, True] + [False] * 8
    assert bt.top_decile_lift(scores, churned) == pytest.approx(5.0)
    # ties at the edge of the decile are taken in table order: the first two of three 1s
    assert bt.top_decile_lift([1, 1, 1] + [50] * 17, [False, True, True] + [False] * 17) == pytest.approx(0.5 / 0.1)


def test_psi_by_hand():
    # expected: 50% in bin 1-10, 50% in 91-100; actual: 25% / 75%
    expected = [5, 5, 95, 95]
    actual = [5, 95, 95, 95]
    value = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert bt.psi(expected, actual) == pytest.approx(value)
    assert bt.psi([5, 95], [5, 95]) == pytest.approx(0)
    assert [bt.psi_reading(v) for v in (0.05, 0.1, 0.25, 0.3, None)] == ["stable", "shifting", "shifting", "shifted",
                                                                         "needs two snapshots in Score History"]


def test_churn_table_keeps_a_band_with_no_accounts():
    table = bt.churn_table(pd.Series(["Red", "Red", "Green"]), pd.Series([True, False, False]),
                           ["Red", "Amber", "Green", "No score"])
    assert table.loc["Red"].tolist()[:2] == [2, 1] and table.loc["Red", "Churn rate"] == 0.5
    assert table.loc["Amber", "Accounts"] == 0 and np.isnan(table.loc["Amber", "Churn rate"])


def test_history_snapshot_must_be_before_the_outcome_by_the_given_days():
    history = pd.DataFrame({"As-of date": [dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 6, 1),
                                           dt.date(2026, 1, 1)],
                            "Account ID": ["X", "X", "X", "Y"], "Overall": [80, 60, 20, 50]})
    outcome = pd.Series({"X": dt.date(2026, 7, 1), "Y": dt.date(2026, 2, 1)})
    picked = bt.scores_before_outcome(history, outcome, 90)
    # X: cutoff 2026-04-02 -> the April 1 snapshot (60), never June's 20 taken a month before it churned
    # Y: cutoff 2025-11-03 -> no snapshot that early: left out
    assert picked["Overall"].to_dict() == {"X": 60}


def test_backtest_on_the_template_uses_history_without_leaking(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book, as_of=dt.date(2026, 5, 15))   # an old snapshot
    refresh_file(book)                               # today's
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.OUTCOMES)
    ws.append(["Account ID", "Outcome", "Outcome date"])
    ws.append(["ACC-001", "churned", dt.date(2026, 10, 1)])   # 139 days after the May snapshot: uses it
    ws.append(["ACC-002", "renewed", dt.date(2026, 10, 1)])
    ws.append(["ACC-003", "renewed", dt.date(2026, 6, 1)])    # only 17 days after May: no snapshot, left out
    ws.append(["NOPE", "churned", dt.date(2026, 10, 1)])
    wb.save(book)
    result = backtest_file(book)
    assert result.accounts == 2 and result.churned == 1
    assert "2 of 3 accounts had one" in result.mode
    wb = openpyxl.load_workbook(book)
    snapshot = list(wb["Score History 2026-05-15"].iter_rows(values_only=True))
    may = {r[0]: dict(zip(snapshot[0], r)) for r in snapshot[1:]}
    expected = roc_auc_score([False, True], [may["ACC-001"]["Overall"], may["ACC-002"]["Overall"]])
    assert result.auc == pytest.approx(expected)
    # the metric scores come from the same May snapshot, not from today's data
    rows = [r for r in wb[c.VALIDATION].iter_rows(values_only=True)]
    title = next(r[0] for r in rows if r[0] and str(r[0]).startswith("Which signals"))
    assert title.endswith("categories and metrics from Score History")
    metric_auc = {r[0]: r[2] for r in rows if len(r) > 2 and r[1] == "metric"}
    assert len(metric_auc) == 7
    for name, value in metric_auc.items():
        pair = [may["ACC-001"][name], may["ACC-002"][name]]
        assert value == (None if None in pair else pytest.approx(roc_auc_score([False, True], pair), abs=0.0005)), name
    assert [i.problem for i in result.issues] == ['account "NOPE" is not on the Accounts sheet']


def test_backtest_all_retained_says_so_plainly(tmp_path, capsys):
    book = write_template(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.OUTCOMES)
    ws.append(["Account ID", "Outcome"])
    for k in range(1, 11):
        ws.append([f"ACC-{k:03d}", "renewed"])
    wb.save(book)
    assert main(["backtest", str(book)]) == 0
    out = capsys.readouterr().out
    assert "AUC undefined (undefined: needs both churned and retained accounts)" in out
    sheet = openpyxl.load_workbook(book)[c.VALIDATION]
    assert sheet["A5"].value == "AUC" and sheet["B5"].value is None
    assert sheet["C5"].value == "undefined: needs both churned and retained accounts"


def test_example_workbook_backtest_agrees_with_scikit_learn(tmp_path, capsys):
    book = tmp_path / "saas.xlsx"
    shutil.copyfile(EXAMPLE, book)
    assert main(["backtest", str(book)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Backtest on 2000 accounts with an outcome (932 churned).")
    wb = openpyxl.load_workbook(book)
    scores = {r[0]: r[5] for r in wb[c.SCORES].iter_rows(min_row=2, values_only=True)}
    outcomes = {r[0]: r[1] == "churned" for r in wb[c.OUTCOMES].iter_rows(min_row=2, values_only=True)}
    ids = [a for a in outcomes if scores.get(a) is not None]
    expected = roc_auc_score([not outcomes[a] for a in ids], [scores[a] for a in ids])
    sheet = wb[c.VALIDATION]
    assert sheet["A5"].value == "AUC" and sheet["B5"].value == pytest.approx(expected, abs=5e-4)
    stat = ks_2samp([scores[a] for a in ids if outcomes[a]], [scores[a] for a in ids if not outcomes[a]]).statistic
    assert sheet["B7"].value == pytest.approx(stat, abs=5e-4)
    bands = {r[0]: r[1:] for r in sheet.iter_rows(min_row=12, max_row=15, values_only=True)}
    red = [a for a in ids if scores[a] < 40]
    assert bands["Red"][0] == len(red) and bands["Red"][1] == sum(outcomes[a] for a in red)
    assert f"AUC {expected:.3f}" in out
