"""Turn 2,000 real accounts of a software vendor into a chs-excel workbook, refresh it and backtest it.

Data: saas_churn_2000.csv beside this script (square/pysurvival's churn data set, Apache 2.0: see DATA_LICENSE.md),
one row per account with a churn flag. From the repository root:

    python examples/saas_churn/build_workbook.py                 # writes examples/saas_churn/saas_churn_built.xlsx
    python examples/saas_churn/build_workbook.py OUT.xlsx [--csv CSV] [--force]

An existing file is never replaced without --force (saas_churn.xlsx, the committed result, included).

The scorecard is deliberately plain (what a CS team would write on day one, not fitted to the outcome):
product adoption, engagement, support and satisfaction; segments by company size; journey stage from tenure.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import openpyxl
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from chs_excel import contract as c  # noqa: E402
from chs_excel.pipeline import backtest_file, refresh_file  # noqa: E402

DATA = HERE / "saas_churn_2000.csv"
DEFAULT_OUT = HERE / "saas_churn_built.xlsx"
AS_OF = dt.date(2026, 11, 15)
CATEGORIES = [("Adoption", 40), ("Engagement", 25), ("Support", 15), ("Satisfaction", 20)]
PRODUCT = "Active=100; Free-Trial=50; No=1"
# name, category, weight, measure, source, parameters
METRICS = [
    ("Payroll module", "Adoption", 30, "categorical", "Payroll", {"labels": PRODUCT}),
    ("Accounting module", "Adoption", 30, "categorical", "Accounting", {"labels": PRODUCT}),
    ("Travel expense module", "Adoption", 20, "categorical", "Travel expense", {"labels": PRODUCT}),
    ("Data stored", "Adoption", 20, "threshold", "Data stored (GB)", {"cut_points": "500, 1024, 2048, 5120",
                                                                     "scores": "20, 40, 60, 80, 100"}),
    ("Help articles read", "Engagement", 40, "range", "Articles viewed", {"low": 0, "high": 8}),
    ("Product notifications read", "Engagement", 30, "range", "Notifications viewed", {"low": 0, "high": 3}),
    ("Tenure", "Engagement", 30, "range", "Months active", {"low": 0, "high": 12}),
    ("Support minutes", "Support", 100, "range", "Support minutes", {"low": 0, "high": 30, "direction": "lower"}),
    ("CSAT", "Satisfaction", 100, "range", "CSAT", {"low": 5, "high": 10}),
]
SIZE = {"self-employed": "1 (self-employed)", "1-10": "2-10", "10-50": "11-50", "50-100": "51-100", "100-250": "101-250"}


def stage(months: float) -> str:
    return "Onboard" if months < 2 else "Adopt" if months < 5 else "Optimize" if months < 9 else "Renew"


def build(csv: Path, out: Path) -> Path:
    data = pd.read_csv(csv)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = c.INSTRUCTIONS
    ws.append(["2,000 real accounts of a B2B software vendor (square/pysurvival churn data set, Apache 2.0)."])
    ws.append(["Scorecard: product adoption, engagement, support and satisfaction. Run chs-excel backtest on this file."])
    ws = wb.create_sheet(c.SETTINGS)
    for row in (["Setting", "Value"], ["Red below", 40], ["Amber below", 70], ["Minimum coverage", 0.6],
                ["As-of date", AS_OF], ["Segment column", "Company size"]):
        ws.append(row)
    ws = wb.create_sheet(c.CATEGORIES)
    ws.append(["Category", "Weight"])
    for row in CATEGORIES:
        ws.append(list(row))
    ws = wb.create_sheet(c.METRICS)
    ws.append([col.header for col in c.METRIC_COLUMNS])
    for name, category, weight, measure, source, params in METRICS:
        values = {"name": name, "category": category, "weight": weight, "measure": measure, "source": source, **params}
        ws.append([values.get(col.key) for col in c.METRIC_COLUMNS])
    ws = wb.create_sheet(c.ACCOUNTS)
    ws.append(["Account ID", "Account name", "Segment", "Stage", "CSM", "Company size", "Region", "Payroll",
               "Accounting", "Travel expense", "Data stored (GB)", "Articles viewed", "Notifications viewed",
               "Months active", "Support minutes", "CSAT"])
    outcomes = wb.create_sheet(c.OUTCOMES)
    outcomes.append([col.header for col in c.OUTCOME_COLUMNS])
    for k, r in enumerate(data.itertuples(index=False), start=1):
        account = f"C{k:04d}"
        size = SIZE.get(r.company_size, r.company_size)
        ws.append([account, f"Customer {k:04d}", size, stage(r.months_active), None, size, r.us_region,
                   r.product_payroll, r.product_accounting, r.product_travel_expense, r.product_data_storage,
                   r.articles_viewed, r.smartphone_notifications_viewed, r.months_active,
                   r.minutes_customer_support, r.csat_score])
        outcomes.append([account, "churned" if r.churned == 1 else "renewed", None])
    wb.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build, refresh and backtest the saas_churn example workbook.")
    p.add_argument("out", type=Path, nargs="?", default=DEFAULT_OUT,
                   help=f"the workbook to write (default: {DEFAULT_OUT.name} beside this script)")
    p.add_argument("--csv", type=Path, default=DATA, help=f"the accounts (default: {DATA.name} beside this script)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists (default: refuse)")
    args = p.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"build_workbook.py: {args.out} already exists; pass --force to replace it (nothing was written)",
              file=sys.stderr)
        return 1
    build(args.csv, args.out)
    summary = refresh_file(args.out)
    print("\n".join(summary.lines()))
    result = backtest_file(args.out)
    print("\n".join(result.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
