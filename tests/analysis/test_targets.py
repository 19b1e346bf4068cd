"""Benchmarks, playbooks and band counts of many accounts (worked out once per distinct value) against the
rule applied account by account."""
import numpy as np
import pandas as pd
from helpers import simple_tables, table

from chs_excel import contract as c
from chs_excel.analysis import distribution
from chs_excel.analysis.targets import match_benchmarks, select_playbooks, top_names, unmatched_names
from chs_excel.config import config_from_tables

BENCH_HEADER = ["Segment", "Stage", "Target", "A"]
PLAY_HEADER = [col.header for col in c.PLAYBOOK_COLUMNS]
BENCHMARKS = [("Enterprise", "Onboard", 75, 70), ("Enterprise", "", 70, ""), ("", "Renew", 65, ""),
              ("SMB", "Adopt", 50, ""), ("", "", 40, "")]
PLAYBOOKS = [("General", "", "", "", "", "review", "", ""), ("Red accounts", "Red", "", "", "", "call", "", ""),
             ("Red renewals", "Red", "", "", "Renew", "escalate", "", ""),
             ("Product gaps", "", "A", "", "", "train", "", ""), ("Tickets", "Amber", "B", "m3", "Adopt", "fix", "", "")]
# What a column can hold: names in any case and spacing, blanks of every kind, a number.
SEGMENTS = ["Enterprise", " enterprise ", "SMB", "smb", "Mid-Market", "", None, np.nan, 7]
STAGES = ["Onboard", "ONBOARD", "Renew", "Adopt", " adopt", "", None]


def config():
    tables = simple_tables()
    tables[c.BENCHMARKS] = table(c.BENCHMARKS, BENCH_HEADER, [list(r) for r in BENCHMARKS])
    tables[c.PLAYBOOKS] = table(c.PLAYBOOKS, PLAY_HEADER, [list(r) for r in PLAYBOOKS])
    return config_from_tables(tables)


def matched(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip().casefold()


def first_by_hand(rules, specificity, row) -> int:
    """The most specific rule whose every set text matches the row; the first listed among equals."""
    fits = [k for k, rule in enumerate(rules)
            if all(want is None or matched(want) == have for want, have in zip(rule, row))]
    return max(fits, key=lambda k: (specificity[k], -k)) if fits else -1


def pick(values, size, seed):
    return pd.Series([values[i] for i in np.random.default_rng(seed).integers(0, len(values), size)], dtype=object)


def test_benchmarks_of_many_accounts_account_by_account():
    cfg = config()
    segment, stage = pick(SEGMENTS, 3000, 1), pick(STAGES, 3000, 2)
    chosen = match_benchmarks(cfg, segment, stage)
    rules = [(b.segment, b.stage) for b in cfg.benchmarks]
    specificity = [b.specificity for b in cfg.benchmarks]
    assert chosen.tolist() == [first_by_hand(rules, specificity, (matched(s), matched(t)))
                               for s, t in zip(segment, stage)]
    assert chosen.dtype == np.int64 and chosen.index.equals(segment.index)


def test_playbooks_of_many_accounts_account_by_account():
    cfg = config()
    band = pick(["Red", "Amber", "Green", "", "red "], 3000, 3)
    stage = pick(STAGES, 3000, 4)
    top_category, top_metric = pick(["A", "B", "", "a"], 3000, 5), pick(["m1", "m3", "M3", ""], 3000, 6)
    chosen = select_playbooks(cfg, band, stage, top_category, top_metric)
    rules = [(p.band, p.stage, p.category, p.metric) for p in cfg.playbooks]
    specificity = [p.specificity for p in cfg.playbooks]
    assert chosen.tolist() == [first_by_hand(rules, specificity, tuple(matched(v) for v in row))
                               for row in zip(band, stage, top_category, top_metric)]


def test_top_names_picks_the_first_largest_and_nothing_when_nothing_is_lost():
    points = pd.DataFrame({"a": [1.0, 2.0, 0.0, np.nan, 5.0], "b": [3.0, 2.0, 0.0, 9.0, -1.0],
                           "c": [3.0, 1.0, -2, 1, 0]}, index=list("VWXYZ"))
    # V: b and c tie at 3, b comes first; W: a and b tie; X: nothing lost; Y: a NaN leaves no largest
    assert top_names(points).tolist() == ["b", "a", "", "", "a"]


def test_unmatched_names_list_the_segments_accounts_have_as_written():
    cfg = config_from_tables({**simple_tables(), c.BENCHMARKS: table(c.BENCHMARKS, BENCH_HEADER,
                                                                      [["Enterprize", "", 60, ""]])})
    segment = pick(["SMB", "Mid-Market", " ", None, 7, "SMB "], 500, 7)
    issues = unmatched_names(cfg, segment, pick(STAGES, 500, 8))
    assert [i.problem for i in issues] == [
        'no account has segment "Enterprize" (accounts have: 7, Mid-Market, None, SMB, SMB )']


def test_band_counts_by_group_are_the_counts_of_each_group():
    bands = pick(["Red", "Amber", "Green", "", None, "red"], 2000, 9)
    groups = np.random.default_rng(10).integers(-1, 4, 2000)
    by_group = distribution.counts_by(bands, groups, 4)
    assert by_group == [distribution.counts(bands[groups == g]) for g in range(4)]
    assert distribution.counts(bands) == {b: int((bands == b).sum()) for b in c.BANDS} | {
        "No score": int(sum(1 for v in bands if v not in c.BANDS))}
