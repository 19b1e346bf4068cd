"""Calibration figures against hand-worked values and scikit-learn."""
import datetime as dt
import math

import numpy as np
import openpyxl
import pytest
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression

from chs_excel import contract as c
from chs_excel.analysis import calibration as cal
from chs_excel.config.build import build_config, config_from_tables, config_to_dict, json_locator
from chs_excel.demo.template import write_template
from chs_excel.pipeline import backtest_file, refresh_file
from chs_excel.problems import ConfigError
from helpers import simple_tables


@pytest.mark.parametrize("n, share, k", [(1000, 0.1, 5), (37, 0.3, 5), (10, 0.5, 3), (3, 0.0, 5), (203, 0.97, 10)])
def test_stratified_folds_are_disjoint_cover_every_row_and_spread_each_class_evenly(n, share, k):
    churned = np.random.default_rng(n).uniform(size=n) < share
    folds = cal.stratified_folds(churned, k=k, seed=7)
    assert folds.shape == (n,) and set(folds) <= set(range(k))  # one fold per row: disjoint and covering
    for rows in (churned, ~churned, np.ones(n, bool)):  # churned, retained, all: floor or ceil of their count / k
        per_fold = np.bincount(folds[rows], minlength=k)
        assert per_fold.sum() == rows.sum()
        assert per_fold.min() >= rows.sum() // k and per_fold.max() <= -(-rows.sum() // k)


def test_stratified_folds_are_deterministic_and_the_seed_changes_them():
    churned = np.arange(100) % 4 == 0
    assert np.array_equal(cal.stratified_folds(churned, 5, 0), cal.stratified_folds(churned, 5, 0))
    assert not np.array_equal(cal.stratified_folds(churned, 5, 0), cal.stratified_folds(churned, 5, 1))
    with pytest.raises(ValueError, match="at least 2 folds"):
        cal.stratified_folds(churned, 1)


def wilson_by_hand(x: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval, written out as in Wilson (1927) / Newcombe (1998), eq. 3."""
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3 (score)
NEWCOMBE = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]


@pytest.mark.parametrize("x, n, low, high", NEWCOMBE)
def test_wilson_interval_matches_newcombes_published_table(x, n, low, high):
    got = cal.wilson_interval(x, n)
    assert float(got[0]) == pytest.approx(low, abs=5e-5) and float(got[1]) == pytest.approx(high, abs=5e-5)


def test_wilson_interval_by_hand_vectorised_and_against_scipy():
    churned, accounts = np.array([20, 868, 0, 10, 44]), np.array([21, 1411, 10, 10, 568])
    low, high = cal.wilson_interval(churned, accounts)
    # 20 of 21 worked by hand: p = 0.952381, z^2 = 3.841459; centre (0.952381 + 0.091463) / 1.182927 = 0.882424,
    # half 1.959964 x sqrt(0.0021596 + 0.0021777) / 1.182927 = 0.109119 -> 0.7733 to 0.9915
    assert low[0] == pytest.approx(0.7733, abs=1e-4) and high[0] == pytest.approx(0.9915, abs=1e-4)
    # 0 of 10: the low end is 0 and the high end z^2 / (n + z^2) = 3.841459 / 13.841459
    assert low[2] == 0 and high[2] == pytest.approx(3.841459 / 13.841459, abs=1e-6)
    assert low[3] == pytest.approx(10 / 13.841459, abs=1e-6) and high[3] == 1  # 10 of 10: the mirror image
    for k, (x, n) in enumerate(zip(churned, accounts)):
        assert (low[k], high[k]) == pytest.approx(wilson_by_hand(x, n))
        ci = binomtest(int(x), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
        assert (low[k], high[k]) == pytest.approx((ci.low, ci.high), abs=1e-6)


def test_wilson_interval_of_no_accounts_is_nan():
    low, high = cal.wilson_interval([0, 3], [0, 4])
    assert np.isnan(low[0]) and np.isnan(high[0]) and low[1] < 0.75 < high[1]


def test_brier_score_by_hand():
    # (0.1 - 0)^2 + (0.8 - 1)^2 + (0.5 - 1)^2 = 0.01 + 0.04 + 0.25 = 0.30, over 3 rows = 0.1; the NaN row is left out
    assert cal.brier_score([0.1, 0.8, 0.5, np.nan], [False, True, True, True]) == pytest.approx(0.1)
    # always predicting the base rate r scores r (1 - r): 3 churned of 10 -> 0.21
    churned = np.array([True] * 3 + [False] * 7)
    assert cal.brier_score(np.full(10, 0.3), churned) == pytest.approx(0.21)
    assert cal.brier_score([np.nan], [True]) is None


@pytest.mark.parametrize("seed", range(4))
def test_logistic_fit_matches_scikit_learn_without_penalty(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    scores = rng.integers(1, 101, n).astype(float)
    slope, centre = rng.uniform(-0.2, 0.05), rng.uniform(20, 80)
    churned = rng.uniform(size=n) < 1 / (1 + np.exp(-slope * (scores - centre)))
    scores[rng.integers(0, n, 5)] = np.nan  # left out
    keep = ~np.isnan(scores)
    model = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(scores[keep, None], churned[keep])
    fit = cal.logistic_fit(scores, churned)
    assert fit.slope == pytest.approx(model.coef_[0, 0], rel=1e-4, abs=1e-6)
    assert fit.intercept == pytest.approx(model.intercept_[0], rel=1e-4, abs=1e-5)
    assert np.allclose(fit.probability(scores[keep]), model.predict_proba(scores[keep, None])[:, 1], atol=1e-6)


def test_logistic_fit_when_undefined():
    assert cal.logistic_fit([10, 20, 30], [False] * 3).probability([5, 50]).tolist() == [0.0, 0.0]
    assert cal.logistic_fit([10, 20, 30], [True] * 3).probability([5]).tolist() == [1.0]
    assert cal.logistic_fit([50, 50, 50, 50], [True, False, False, False]).probability([1, 99]) == \
        pytest.approx([0.25, 0.25])  # one score for all: the base rate
    separated = cal.logistic_fit([1, 2, 3, 4], [True, True, False, False])  # stops with a steep slope
    assert separated.probability([1, 4]) == pytest.approx([1, 0], abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_out_of_fold_probabilities_come_from_fits_that_never_saw_the_row(seed):
    rng = np.random.default_rng(seed)
    n = 600
    scores = rng.integers(1, 101, n).astype(float)
    churned = rng.uniform(size=n) < 1 / (1 + np.exp((scores - 45) / 12))
    scores[:7] = np.nan  # no score: no probability, and not in any fold
    prob = cal.cross_validated_probability(scores, churned, k=5, seed=3)
    assert np.isnan(prob[:7]).all() and not np.isnan(prob[7:]).any()
    # by construction: the same folds, each predicted by scikit-learn fitted on the other four only
    folds = cal.stratified_folds(churned[7:], 5, 3)
    s, y = scores[7:], churned[7:]
    expected = np.empty(len(s))
    for fold in range(5):
        test = folds == fold
        model = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(s[~test, None], y[~test])
        expected[test] = model.predict_proba(s[test, None])[:, 1]
    assert np.allclose(prob[7:], expected, atol=1e-6)
    # and not what a fit on every row (that saw each one) gives
    assert not np.allclose(prob[7:], cal.logistic_fit(s, y).probability(s), atol=1e-4)


def test_out_of_fold_with_fewer_accounts_than_folds_leaves_one_out():
    scores, churned = np.array([10.0, 20, 30]), np.array([True, False, False])
    prob = cal.cross_validated_probability(scores, churned, k=5)
    # each row predicted from the other two: row 0 from two retained -> 0; rows 1 and 2 from one of each, separated
    assert prob[0] == 0.0 and not np.isnan(prob).any()
    assert np.isnan(cal.cross_validated_probability([10.0], [True])).all()  # nothing to fit on


def test_deciles_keep_ties_together_by_hand():
    # 10 scores: below-counts 0 (the 1), 1 (the six 5s), 7 (the three 9s) -> deciles 1, 2, 8
    scores = [5, 5, 5, 5, 5, 5, 1, 9, 9, 9]
    assert cal.score_deciles(scores).tolist() == [2] * 6 + [1] + [8] * 3
    churned = [1, 0, 1, 0, 1, 0, 1, 0, 0, 0]
    table = cal.decile_table(scores, churned)
    assert table["Decile"].tolist() == [1, 2, 8] and table["Accounts"].tolist() == [1, 6, 3]
    assert table["Churned"].tolist() == [1, 3, 0] and table["Churn rate"].tolist() == [1.0, 0.5, 0.0]
    assert table["Lowest score"].tolist() == [1, 5, 9] and table["Predicted"].isna().all()
    assert (table["Wilson low"][1], table["Wilson high"][1]) == pytest.approx(wilson_by_hand(3, 6))


@pytest.mark.parametrize("seed", range(3))
def test_decile_table_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(11, 500))
    scores = rng.integers(1, 40, n).astype(float)
    scores[rng.integers(0, n, 3)] = np.nan
    churned = rng.uniform(size=n) < 0.3
    prob = rng.uniform(size=n)
    table = cal.decile_table(scores, churned, prob)
    scored = [k for k in range(n) if not np.isnan(scores[k])]
    decile = {k: 1 + (10 * sum(scores[j] < scores[k] for j in scored)) // len(scored) for k in scored}
    assert table["Accounts"].sum() == len(scored)
    for _, row in table.iterrows():
        members = [k for k in scored if decile[k] == row["Decile"]]
        assert row["Accounts"] == len(members) and row["Churned"] == sum(churned[members])
        assert row["Lowest score"] == min(scores[members]) and row["Highest score"] == max(scores[members])
        assert row["Predicted"] == pytest.approx(np.mean(prob[members]))
    assert table["Decile"].is_monotonic_increasing and table["Lowest score"].is_monotonic_increasing


# --- The Churn risk column on Scores (Settings: Churn risk column) ---------------------------------------------


@pytest.mark.parametrize("value, expected", [("yes", True), (" No ", False), (True, True), (0, False), ("on", True)])
def test_churn_risk_setting_reads_yes_and_no(value, expected):
    config = config_from_tables(simple_tables(settings=[["Churn risk column", value]]))
    assert config.churn_risk_column is expected
    assert config_from_tables(simple_tables()).churn_risk_column is False  # absent: off
    again = build_config(config_to_dict(config), json_locator("scorecard.json"))  # a JSON config keeps it
    assert again.churn_risk_column is expected


def test_churn_risk_setting_refuses_other_words_naming_the_cell():
    with pytest.raises(ConfigError) as caught:
        config_from_tables(simple_tables(settings=[["Minimum coverage", 0.4], ["Churn risk column", "maybe"]]))
    assert [str(p) for p in caught.value.problems] == ['Settings!B3: Churn risk column must be yes or no, got "maybe"']


def _scores_rows(book):
    sheet = openpyxl.load_workbook(book)[c.SCORES]
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0][0], rows[1], rows[2:], sheet


def _with_setting(book, value="yes"):
    wb = openpyxl.load_workbook(book)
    wb[c.SETTINGS].append(["Churn risk column", value])
    wb.save(book)


def test_churn_risk_equals_the_validation_band_table_with_score_history(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book, as_of=dt.date(2026, 5, 15))  # the snapshot the backtest looks back to
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.OUTCOMES)
    ws.append(["Account ID", "Outcome", "Outcome date"])
    for k in range(1, 41):  # 40 of the template's 60 accounts, 139 days after May
        ws.append([f"ACC-{k:03d}", "churned" if k % 3 == 0 else "renewed", dt.date(2026, 10, 1)])
    wb.save(book)
    _with_setting(book)
    refresh_file(book)
    note, header, rows, sheet = _scores_rows(book)
    result = backtest_file(book)
    assert "Scores from Score History" in result.mode and result.accounts == 40
    validation = {r[0]: r for r in openpyxl.load_workbook(book)[c.VALIDATION].iter_rows(min_row=12, max_row=15,
                                                                                          values_only=True)}
    band, risk = header.index("Band"), header.index("Churn risk")
    assert header[risk - 1] == "Band drop" and header[risk + 1] == "Coverage"
    assert sheet.freeze_panes == "C3" and sheet.cell(3, risk + 1).number_format == "0.0%"
    for row in rows:
        if row[band] in c.BANDS and validation[row[band]][1]:
            assert row[risk] == pytest.approx(validation[row[band]][3])  # the band's rate on the Validation sheet
        else:
            assert row[risk] is None
    assert sum(row[risk] is not None for row in rows) >= 40  # accounts without an outcome get their band's rate too
    # and that rate by hand: the bands of May's overall scores (the template's cut points: 40, 70) against outcomes
    may = {r[0]: r[1] for r in openpyxl.load_workbook(book)["Score History 2026-05-15"].iter_rows(min_row=2,
                                                                                                   values_only=True)}
    band_of = {f"ACC-{k:03d}": None if may[f"ACC-{k:03d}"] is None else "Red" if may[f"ACC-{k:03d}"] < 40
               else "Amber" if may[f"ACC-{k:03d}"] < 70 else "Green" for k in range(1, 41)}
    assert len(set(band_of.values()) & set(c.BANDS)) >= 2  # not a one-band case
    for name in c.BANDS:
        members = [k for k in range(1, 41) if band_of[f"ACC-{k:03d}"] == name]
        if members:
            assert validation[name][3] == pytest.approx(sum(k % 3 == 0 for k in members) / len(members))
    assert note.startswith("Churn risk: the share of accounts in the same band that churned, from the 40 accounts "
                           "with an outcome on the Outcomes sheet (scores from Score History, 90 days or more before "
                           "each outcome)")
    assert note.endswith("Too few to trust (want at least 200 accounts and 30 churned).")


def test_churn_risk_on_without_outcomes_is_blank_and_says_why(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    _with_setting(book)
    refresh_file(book)
    note, header, rows, _ = _scores_rows(book)
    risk = header.index("Churn risk")
    assert all(row[risk] is None for row in rows) and len(rows) == 60  # every account of the template
    assert note.startswith("Churn risk is blank: the Outcomes sheet lists no account of the Accounts sheet.")


def test_churn_risk_off_leaves_scores_as_they_were(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    _with_setting(book, "no")
    refresh_file(book)
    first, header, _, sheet = _scores_rows(book)
    assert first == "Account ID" and "Churn risk" not in header and sheet.freeze_panes == "C2"


def test_churn_risk_written_live_in_excel_equals_the_file_refresh(tmp_path):
    """The xlwings Refresh button writes the note line, the column and the moved header as the file refresh does."""
    import asyncio

    import xlwings as xw
    from client_shapes import book_payload
    from xlwings import server

    from chs_excel import excel

    book = write_template(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.OUTCOMES)
    ws.append(["Account ID", "Outcome"])
    for k in range(1, 31):
        ws.append([f"ACC-{k:03d}", "churned" if k % 4 == 0 else "renewed"])
    wb.save(book)
    _with_setting(book)
    payload = book_payload(book)
    live_book = xw.Book(json=payload)
    actions = asyncio.run(server.custom_scripts_call(excel, "refresh_scores", typehint_to_value={xw.Book: live_book}))
    actions = actions.json()["actions"]
    position = next(a["args"][0] for a in actions if a["func"] == "addSheet" and a["args"][1] == c.SCORES)
    scores = [a for a in actions if a["sheet_position"] == position]
    live = next(a["values"] for a in scores if a["func"] == "setValues")
    refresh_file(book)
    on_file = [[cell.value for cell in row] for row in openpyxl.load_workbook(book)[c.SCORES].iter_rows()]
    assert len(live) == len(on_file) == 62 and live[1][10] == "Churn risk"
    for live_row, file_row in zip(live, on_file):
        assert [None if v == "" else v for v in live_row] == [None if v == "" else v for v in file_row]
    assert on_file[0][0].startswith("Churn risk: the share of accounts in the same band that churned, from the 30 ")
    rules = [a for a in scores if a["func"] == "addConditionalFormat"]
    assert rules[0]["args"][0]["formula"] == "=AND(ISNUMBER(F3),F3<40)" and rules[0]["row_count"] == 60
