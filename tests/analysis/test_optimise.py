"""The optimiser against independent routes: the engine, scikit-learn, a brute-force search, hand-worked cases."""
import datetime as dt
import itertools
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.analysis import optimise as opt
from chs_excel.analysis.calibration import stratified_folds
from chs_excel.cli import main
from chs_excel.config import config_from_tables
from chs_excel.core.engine import ScoringInput, score
from chs_excel.files.reader import FileBookReader
from chs_excel.demo.template import write_template
from chs_excel.pipeline import optimise_file, prepare, refresh_file
from chs_excel.sheets.proposal import Options, outcome_sample, verdict
from helpers import CATEGORY_HEADER, METRIC_HEADER, metric_row, table

A_B = opt.Layout(np.array([0, 0, 1]), 2)  # m1, m2 in category A; m3 in category B


def test_effective_weights_by_hand():
    # categories 60/40; A's metrics 1 and 3 share A's 60 as 15 and 45; B's one metric has all of B's 40
    assert opt.effective_weights([1, 3, 2], [60, 40], A_B) == pytest.approx([0.15, 0.45, 0.40])
    # a category whose metrics all weigh 0 counts for nothing (its score is missing, as in the engine)
    assert opt.effective_weights([0, 0, 2], [60, 40], A_B) == pytest.approx([0, 0, 1])


def test_workbook_weights_round_trip_and_sum_to_100():
    e = np.array([0.15, 0.45, 0.40])
    metric, category = opt.workbook_weights(e, A_B)
    assert list(category) == [60, 40] and list(metric) == [25, 75, 100]
    assert opt.rounded_effective(e, A_B) == pytest.approx(e)


@pytest.mark.parametrize("seed", range(4))
def test_combine_is_the_engines_overall_score_with_missing_data(seed):
    """The optimiser's score equals the engine's on a random scorecard with gaps (renormalised weights)."""
    rng = np.random.default_rng(seed)
    n = 300
    weights = rng.integers(0, 5, 5).astype(float)
    weights[[0, 2, 3]] = np.maximum(weights[[0, 2, 3]], 1)  # every category keeps a weighted metric (config rule)
    categories = [["A", float(rng.integers(1, 5))], ["B", float(rng.integers(0, 5))], ["C", 2.0]]
    metrics = [metric_row(f"m{k}", cat, weights[k], "range", f"v{k}", low=0, high=100)
               for k, cat in enumerate(["A", "A", "B", "C", "C"])]
    tables = {c.CATEGORIES: table(c.CATEGORIES, CATEGORY_HEADER, categories),
              c.METRICS: table(c.METRICS, METRIC_HEADER, metrics),
              c.SETTINGS: table(c.SETTINGS, ["Setting", "Value"], [["Minimum coverage", 0]])}
    config = config_from_tables(tables)
    values = rng.uniform(0, 100, (n, 5))
    values[rng.uniform(size=(n, 5)) < 0.3] = np.nan
    accounts = pd.DataFrame(values, columns=[f"v{k}" for k in range(5)], index=[f"a{i}" for i in range(n)])
    result = score(config, ScoringInput(accounts, dt.date(2026, 11, 15)))
    layout = opt.Layout(np.array([0, 0, 1, 2, 2]), 3)
    e = opt.effective_weights(weights, [w for _, w in categories], layout)
    mine = opt.combine(result.metric_scores.to_numpy(), e, layout)
    engine = result.overall.to_numpy()
    assert np.array_equal(np.isnan(mine), np.isnan(engine))
    assert mine[~np.isnan(mine)] == pytest.approx(engine[~np.isnan(engine)], abs=1e-9)


def test_fit_matches_scikit_learn_when_the_constraints_do_not_bind():
    """Unconstrained logistic regression on complete data: the same direction (weights) and slope."""
    rng = np.random.default_rng(7)
    scores = rng.uniform(1, 100, (3000, 4))
    truth = np.array([0.4, 0.3, 0.2, 0.1])
    churned = rng.uniform(size=3000) < 1 / (1 + np.exp(-(1 - 4 * (scores @ truth - 50) / 50)))
    fit = opt.fit_weights(scores, churned, opt.Layout(np.array([0, 0, 1, 1]), 2))
    reference = LogisticRegression(C=1e12, tol=1e-12, max_iter=100_000).fit(scores, churned)
    coef = reference.coef_[0]
    assert (coef < 0).all()  # healthier scores, less churn: the constraints are not active
    assert fit.e == pytest.approx(coef / coef.sum(), abs=2e-4)
    assert fit.slope == pytest.approx(opt.SPREAD * coef.sum(), rel=1e-3)
    assert fit.log_likelihood == pytest.approx(-log_loss(churned, reference.predict_proba(scores)[:, 1],
                                                         normalize=False), abs=1e-3)


def _best_on_grid(scores, churned, layout, step=0.025, min_category=0.0):
    """Brute force: every weight vector on a grid of the simplex, each with its own 1-D logistic fit (sklearn)."""
    best = (-math.inf, None)
    points = int(round(1 / step))
    for i, j in itertools.product(range(points + 1), repeat=2):
        if i + j > points:
            continue
        e = np.array([i, j, points - i - j]) * step
        if min_category and (layout.category_sums(e) < min_category - 1e-9).any():
            continue
        t = ((opt.combine(scores, e, layout) - opt.CENTRE) / opt.SPREAD).reshape(-1, 1)
        model = LogisticRegression(C=1e12, tol=1e-10, max_iter=10_000, solver="newton-cholesky").fit(t, churned)
        if model.coef_[0, 0] > 0:  # the constraint "a higher score never means more churn": slope 0
            p = np.full(len(churned), churned.mean())
        else:
            p = model.predict_proba(t)[:, 1]
        value = -log_loss(churned, p, normalize=False)
        if value > best[0]:
            best = (value, e)
    return best


@pytest.mark.parametrize("min_category", [0.0, 0.3])
def test_fit_matches_a_brute_force_search_when_constraints_bind(min_category):
    """m2 works against health (its weight must stay 0, not go negative); m3 carries little (a minimum binds)."""
    rng = np.random.default_rng(3)
    scores = rng.uniform(1, 100, (400, 3))
    z = 0.2 - 3 * (scores[:, 0] - 50) / 50 + 1.0 * (scores[:, 1] - 50) / 50 - 0.3 * (scores[:, 2] - 50) / 50
    churned = rng.uniform(size=400) < 1 / (1 + np.exp(-z))
    fit = opt.fit_weights(scores, churned, A_B, min_category=min_category)
    grid_value, grid_e = _best_on_grid(scores, churned, A_B, min_category=min_category)
    assert fit.log_likelihood >= grid_value - 1e-6  # the continuous optimum is at least the grid's best
    assert fit.e == pytest.approx(grid_e, abs=0.03)
    assert fit.e[1] == pytest.approx(0, abs=1e-6)
    if min_category:
        assert fit.e[2] == pytest.approx(min_category, abs=1e-6)
    assert (fit.e >= 0).all() and fit.e.sum() == pytest.approx(1) and fit.slope <= 0


def _brute_force_cuts(scores, churned, min_share):
    best = (-math.inf, None)
    n = len(scores)
    for red, amber in itertools.combinations(range(2, 101), 2):
        groups = [scores < red, (scores >= red) & (scores < amber), scores >= amber]
        sizes = [int(g.sum()) for g in groups]
        if min(sizes) < min_share * n:
            continue
        rates = [churned[g].mean() for g in groups]
        if not rates[0] >= rates[1] >= rates[2]:
            continue
        value = sum(sum(math.log(p) if y else math.log(1 - p) for y in churned[g]) for g, p in zip(groups, rates))
        if value > best[0] + 1e-9:
            best = (value, (red, amber))
    return best[1]


@pytest.mark.parametrize("seed", range(3))
def test_cut_points_match_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(1, 101, 250).astype(float)
    churned = rng.uniform(size=250) < 1 / (1 + np.exp((scores - 55) / 12))
    cuts = opt.best_cut_points(scores, churned, min_share=0.1)
    assert (cuts.red_below, cuts.amber_below) == _brute_force_cuts(scores, churned, 0.1)
    assert min(cuts.accounts) >= 25 and sum(cuts.accounts) == 250
    assert cuts.churned[0] / cuts.accounts[0] >= cuts.churned[1] / cuts.accounts[1] >= cuts.churned[2] / cuts.accounts[2]


def test_no_cut_points_when_no_pair_keeps_every_band_big_enough():
    assert opt.best_cut_points([10.0] * 50 + [90.0] * 50, [True] * 50 + [False] * 50, min_share=0.1) is None


def test_cross_validation_never_judges_an_account_by_a_fit_that_saw_it(monkeypatch):
    rng = np.random.default_rng(5)
    n = 300
    scores = rng.uniform(1, 100, (n, 3))
    scores[:, 0] = np.arange(n) + rng.uniform(0, 0.5, n) / 10  # each row recognisable by its first score
    churned = rng.uniform(size=n) < 1 / (1 + np.exp((scores[:, 1] - 50) / 15))
    folds = stratified_folds(churned, 5, 0)
    seen = []
    real_fit = opt.fit_weights

    def recording_fit(train_scores, *args, **kwargs):
        seen.append(set(np.round(train_scores[:, 0], 9)))
        return real_fit(train_scores, *args, **kwargs)

    monkeypatch.setattr(opt, "fit_weights", recording_fit)
    today = np.array([0.2, 0.5, 0.3])
    cv = opt.cross_validate(scores, churned, folds, A_B, today, (40, 70))
    assert len(seen) == 5
    for fold, trained_on in zip(np.unique(folds), seen):
        held_out = set(np.round(scores[folds == fold, 0], 9))
        assert not held_out & trained_on and len(trained_on) == n - len(held_out)
    # today's scorecard is judged as it is: each fold's AUC by scikit-learn on that fold
    for fold, result in zip(np.unique(folds), cv.folds):
        test = folds == fold
        assert result.auc_today == pytest.approx(roc_auc_score(~churned[test], opt.combine(scores[test], today, A_B)))


def _snapshot(metric_values: dict[str, list], accounts: list[str]):
    header = [history.ACCOUNT, history.OVERALL, history.BAND, "A", "B", *metric_values]
    rows = [[a, 50, "Amber", 50, 50, *[metric_values[m][i] for m in metric_values]] for i, a in enumerate(accounts)]
    return table("snapshot", header, rows)


def test_history_sample_takes_no_snapshot_from_after_the_outcome():
    """Scores come from the last snapshot at least `days` before each outcome; accounts without one are left out."""
    tables = {c.CATEGORIES: table(c.CATEGORIES, CATEGORY_HEADER, [["A", 1], ["B", 1]]),
              c.METRICS: table(c.METRICS, METRIC_HEADER, [metric_row("m1", "A", 1, "range", "v1", low=0, high=1),
                                                          metric_row("m2", "A", 1, "range", "v2", low=0, high=1),
                                                          metric_row("m3", "B", 1, "range", "v3", low=0, high=1)]),
              c.OUTCOMES: table(c.OUTCOMES, ["Account ID", "Outcome", "Outcome date"],
                                [["X", "churned", dt.date(2026, 7, 1)], ["Y", "renewed", dt.date(2026, 3, 1)],
                                 ["Z", "renewed", dt.date(2026, 9, 30)]])}
    config = config_from_tables(tables)
    days = {dt.date(2026, 1, 1): 10, dt.date(2026, 4, 1): 20, dt.date(2026, 6, 1): 30, dt.date(2026, 7, 2): 40}
    sheets = {history.sheet_name(d): _snapshot({"m1": [v, v + 1, v + 2], "m2": [1, 2, 3], "m3": [5, 5, 5]},
                                               ["X", "Y", "Z"]) for d, v in days.items()}
    past = history.Past(list(sheets), None, sheets.get)
    today = pd.DataFrame(99.0, index=pd.Index(["X", "Y", "Z"]), columns=["m1", "m2", "m3"])
    result = SimpleNamespace(overall=pd.Series(99.0, index=today.index), metric_scores=today)
    sample, _ = outcome_sample(config, result, past, days=90)
    # X churned 2026-07-01: cutoff 2026-04-02 -> April 1 (20); Y: cutoff 2025-12-01 -> none, left out;
    # Z: cutoff 2026-07-02 -> the July 2 snapshot (40 + 2), exactly 90 days before
    assert list(sample.accounts) == ["X", "Z"]
    assert sample.scores[:, 0].tolist() == [20, 42]
    assert (sample.snapshot <= sample.outcome_date - np.timedelta64(90, "D")).all()
    assert "Score History" in sample.mode


def test_verdict_says_plainly_when_data_are_too_few_or_the_gain_is_noise():
    def cv(today, proposal):
        return opt.CrossValidation([opt.FoldResult(100, 20, a, b) for a, b in zip(today, proposal)], np.zeros(0))
    assert verdict(cv([0.7] * 5, [0.8] * 5), 199, 50).startswith("Too few outcomes")
    assert verdict(cv([0.7] * 5, [0.8] * 5), 500, 29).startswith("Too few outcomes")
    # gains 0.03, -0.02, 0.04, -0.01, 0.01: mean 0.01, standard error 0.0112 -> within noise
    assert verdict(cv([0.7] * 5, [0.73, 0.68, 0.74, 0.69, 0.71]), 500, 100).startswith("Within noise")
    assert verdict(cv([0.7] * 5, [0.75, 0.76, 0.74, 0.75, 0.77]), 500, 100).startswith("The proposal separates")
    assert verdict(cv([0.7] * 5, [0.69, 0.7, 0.7, 0.68, 0.7]), 500, 100).startswith("Today's weights")


def test_options_are_checked_before_anything_is_fitted():
    assert Options().problems(4) == []
    assert "at least 2" in Options(folds=1).problems(4)[0]
    assert "between 0 and 25" in Options(min_category=0.3).problems(4)[0]
    assert "33.3" in Options(min_band_share=0.5).problems(4)[0]


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saas_churn" / "saas_churn.xlsx"


def _sheet_rows(path, name):
    """A sheet's rows as lists of values, without the blank cells after each row's last value."""
    rows = []
    for row in openpyxl.load_workbook(path, read_only=True, data_only=True)[name].iter_rows(values_only=True):
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def optimised(tmp_path_factory):
    """The example (2,000 real accounts with a churn flag) optimised by the command, and its inputs before that."""
    book = tmp_path_factory.mktemp("optimise") / "churn.xlsx"
    shutil.copyfile(EXAMPLE, book)
    before = {name: _sheet_rows(book, name) for name in (c.METRICS, c.CATEGORIES, c.SETTINGS, c.ACCOUNTS)}
    assert main(["optimise", str(book)]) == 0
    rows = _sheet_rows(book, c.PROPOSAL)
    header = rows.index(["Weight of", "Name", "Category", "Weight today", "Proposed weight", "Share of overall today",
                         "Proposed share of overall", "AUC alone", "Cell to edit"])
    table_rows = []
    for row in rows[header + 1:]:
        if not row or row[0] is None:
            break
        table_rows.append(dict(zip(rows[header], row)))
    return book, before, rows, table_rows


def test_the_example_proposal_changes_nothing_and_names_the_cells_holding_todays_values(optimised):
    book, before, _, table_rows = optimised
    assert {name: _sheet_rows(book, name) for name in before} == before  # nothing of the scorecard was changed
    wb = openpyxl.load_workbook(book, data_only=True)
    for row in table_rows:
        sheet, cell = row["Cell to edit"].split("!")
        assert wb[sheet][cell].value == row["Weight today"], row
    assert len(table_rows) == 4 + 9 + 2  # four categories, nine metrics, two cut points


def test_the_example_cross_validated_auc_of_today_is_the_engines_auc_on_each_fold(optimised):
    book, _, rows, _ = optimised
    prepared = prepare(FileBookReader(book))
    overall = prepared.result.overall
    outcome = {o.account: o.churned for o in prepared.config.outcomes}
    churned = np.array([outcome[a] for a in overall.index])
    folds = stratified_folds(churned, 5, 0)
    per_fold = [roc_auc_score(~churned[folds == k], overall.to_numpy()[folds == k]) for k in range(5)]
    fold_table = rows.index(["Fold", "Accounts", "Churned", "AUC today", "AUC proposal", "Gain"])
    shown = [r[3] for r in rows[fold_table + 1:fold_table + 6]]
    assert shown == pytest.approx([round(v, 3) for v in per_fold])
    figure = next(r for r in rows if r and str(r[0]).startswith("AUC, cross-validated"))
    assert figure[1] == pytest.approx(round(float(np.mean(per_fold)), 3))
    assert figure[2] > figure[1]  # on this data the proposal separates better on held-out accounts


def test_adopting_the_proposal_in_the_named_cells_gives_the_bands_it_predicted(optimised):
    """Type the proposed values into the cells the sheet names, refresh: Scores shows the predicted bands."""
    book, _, rows, table_rows = optimised
    adopted = book.with_name("adopted.xlsx")
    wb = openpyxl.load_workbook(book)
    for row in table_rows:
        sheet, cell = row["Cell to edit"].split("!")
        wb[sheet][cell].value = row["Proposed weight"]
    wb.save(adopted)
    refresh_file(adopted)
    scores = _sheet_rows(adopted, c.SCORES)
    head = next(i for i, r in enumerate(scores) if r and r[0] == "Account ID")
    bands = pd.Series([r[scores[head].index("Band")] for r in scores[head + 1:] if r[0]]).value_counts()
    transitions = rows.index(["Band today \\ proposed", "Red", "Amber", "Green", "No score"])
    predicted = {band: sum(r[k] for r in rows[transitions + 1:transitions + 5])
                 for k, band in enumerate(["Red", "Amber", "Green"], start=1)}
    assert {band: int(bands.get(band, 0)) for band in predicted} == predicted


def test_optimise_on_the_template_uses_score_history_and_says_the_data_are_too_few(tmp_path):
    """60 accounts, a May snapshot and dated outcomes: metric scores from May, a plain 'too few' verdict."""
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book, as_of=dt.date(2026, 5, 15))
    refresh_file(book)
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.OUTCOMES)
    ws.append(["Account ID", "Outcome", "Outcome date"])
    for k in range(1, 41):  # 40 outcomes 139 days after the May snapshot; every third account churned
        ws.append([f"ACC-{k:03d}", "churned" if k % 3 == 0 else "renewed", dt.date(2026, 10, 1)])
    ws.append(["ACC-041", "renewed", dt.date(2026, 6, 1)])  # 17 days after May: no snapshot early enough
    wb.save(book)
    proposal = optimise_file(book)
    assert (proposal.accounts, proposal.churned) == (40, 13)
    assert proposal.verdict.startswith("Too few outcomes to trust: 40 accounts and 13 churned")
    rows = _sheet_rows(book, c.PROPOSAL)
    assert "Metric Scores from Score History".casefold() in rows[2][0].casefold() and "40 of 41" in rows[2][0]
    # today's AUC per fold is the May snapshot's overall score judged on the fold (scikit-learn)
    may = {r[0]: (r + [None])[1] for r in _sheet_rows(book, "Score History 2026-05-15")[1:] if r}
    churned = np.array([k % 3 == 0 for k in range(1, 41)])
    overall = np.array([may[f"ACC-{k:03d}"] for k in range(1, 41)], dtype=float)
    folds = stratified_folds(churned, 5, 0)
    fold_table = rows.index(["Fold", "Accounts", "Churned", "AUC today", "AUC proposal", "Gain"])
    shown = [r[3] for r in rows[fold_table + 1:fold_table + 6]]
    # the snapshot stores whole-number overall scores; the fold AUCs use the unrounded ones rebuilt from metric
    # scores (to 0.1): a tie broken differently moves an AUC by at most one pair in a fold
    for k, value in enumerate(shown):
        test = folds == k
        pairs = int(churned[test].sum() * (~churned[test]).sum())
        assert value == pytest.approx(roc_auc_score(~churned[test], overall[test]), abs=1 / pairs + 0.001)


def test_nothing_to_fit_says_why_and_names_the_outcome_rows_left_out(tmp_path, capsys):
    book = write_template(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.OUTCOMES)
    ws.append(["Account ID", "Outcome", "Outcome date"])
    for k in range(1, 11):
        ws.append([f"ACC-{k:03d}", "renewed", None])  # nobody churned: nothing separates
    ws.append(["NOPE", "churned", None])
    wb.save(book)
    assert main(["optimise", str(book)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Nothing to fit: 10 account(s) with an outcome and a score, 0 churned")
    assert 'Outcomes!A12: account "NOPE" is not on the Accounts sheet' in out
    rows = _sheet_rows(book, c.PROPOSAL)
    weights = rows.index(["Weight of", "Name", "Category", "Weight today", "Proposed weight", "Share of overall today",
                          "Proposed share of overall", "AUC alone", "Cell to edit"])
    for row in rows[weights + 1:]:  # nothing fitted: the proposal is today's scorecard
        if not row or row[0] not in ("Category", "Metric", "Cut point"):
            break
        assert row[3] == row[4]
