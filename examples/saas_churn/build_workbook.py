"""Turn 2,000 real accounts of a software vendor into a chs-excel workbook, refresh it and backtest it.

Data: ../shared/data/saas_churn_2000.csv (from square/pysurvival, Apache 2.0), one row per account with a churn flag.
Run from the repository root:

    python examples/saas_churn/build_workbook.py [CSV] [OUT.xlsx]

The scorecard is deliberately plain (what a CS team would write on day one, not fitted to the outcome):
product adoption, engagement, support and satisfaction; segments by company size; journey stage from tenure.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import openpyxl
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from chs_excel import contract as c  # noqa: E402
from chs_excel.refresh import backtest_file, refresh_file  # noqa: E402

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


def main() -> None:
    csv = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "saas_churn_2000.csv"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "saas_churn.xlsx"
    build(csv, out)
    summary = refresh_file(out)
    print("\n".join(summary.lines()))
    result = backtest_file(out)
    print("\n".join(result.lines()))


if __name__ == "__main__":
    main()
