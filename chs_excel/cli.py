"""The ``chs-excel`` command: refresh, validate, gap, backtest, optimise, export, template, init, demo, addin, lite.

Every command that scores goes through :mod:`chs_excel.pipeline` (``--as-of`` is handed to it as given).
Exit codes: 0 fine, 1 config or data errors (or a workbook that cannot be
read or written), 2 usage.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

from chs_excel import __version__
from chs_excel.config import config_from_json, excel_date_problem
from chs_excel.contract import GAP as GAP_SHEET
from chs_excel.contract import PROPOSAL, VALIDATION
from chs_excel.problems import BookError, ConfigError
from chs_excel.pipeline import backtest_file, refresh_file, validate_file
from chs_excel.sheets.gap import benchmark_advice

STEPS = ("reading", "scoring", "writing", "done")
ADDIN_STEPS = """Next steps (desktop Excel on Windows or Mac, Python with chs-excel installed):
  1. In Excel: File > Options > Add-ins > Manage Excel Add-ins > Browse..., pick chs_excel_addin.xlam
     (or copy it into Excel's XLSTART folder). A "Health Score" tab appears with a Refresh scores button.
     The add-in carries its own copy of xlwings' VBA and runs the Python named above.
  2. Mac only, once: xlwings runpython install   (Mac Excel starts Python through xlwings' AppleScript file)
  3. Windows only, for =HEALTH_SCORE() and friends: xlwings addin install, then on the xlwings tab set
     UDF Modules to chs_excel.excel and click Import Functions.
  Step by step, with what each message means: docs/excel_setup.md"""


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (use YYYY-MM-DD): {text!r}")
    wrong = excel_date_problem(day)
    if wrong:  # Score History would hold a serial number Excel cannot show, and the next refresh would drop it
        raise argparse.ArgumentTypeError(wrong)
    return day


def _progress(enabled: bool):
    """A progress bar over the refresh steps, on a terminal only."""
    if not enabled or not sys.stderr.isatty():
        return (lambda step: None), (lambda: None)
    from tqdm import tqdm
    bar = tqdm(total=len(STEPS) - 1, desc="chs-excel", unit="step", leave=False)

    def step(name: str) -> None:
        bar.set_description(f"chs-excel: {name}")
        if name != "reading":
            bar.update(1)
    return step, bar.close


GAP_COLUMNS = ("Account ID", "Account name", "Segment", "Stage", "CSM", "Overall", "Benchmark", "Gap", "Playbook",
               "Costing most points")


def gap_table(summary, top: int) -> str:
    """The top of the benchmark-gap list as a plain-text table."""
    report = summary.report
    gap = report.gap.head(top)
    counts = report.summary
    lines = [f"As of {summary.as_of.isoformat()}: {counts['below']} account(s) below their benchmark, "
             f"{counts['at_or_above']} at or above, {counts['no_benchmark']} with no benchmark, "
             f"{counts['no_score']} without a score."]
    advice = benchmark_advice(counts)
    if advice:
        lines.append(advice)
    if gap.empty:
        return "\n".join(lines)
    cells = [[("" if v is None or v != v else f"{v:g}" if isinstance(v, float) else str(v)) for v in row]
             for row in gap[list(GAP_COLUMNS)].itertuples(index=False)]
    widths = [max(len(h), *(len(r[j]) for r in cells)) for j, h in enumerate(GAP_COLUMNS)]
    widths[:-1] = [min(30, w) for w in widths[:-1]]  # the last column (drivers) is never cut
    fmt = "  ".join(f"{{:{'>' if h in ('Overall', 'Benchmark', 'Gap') else '<'}{w}.{w}}}" for h, w in zip(GAP_COLUMNS, widths))
    lines += ["", fmt.format(*GAP_COLUMNS), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in cells]
    if len(report.gap) > top:
        lines.append(f"... and {len(report.gap) - top} more on the '{GAP_SHEET}' sheet after a refresh.")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chs-excel", description="Customer health scores in an Excel workbook.")
    p.add_argument("--version", action="version", version=f"chs-excel {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("refresh", help="score the accounts and write the Scores and Data Issues sheets")
    r.add_argument("book", type=Path)
    r.add_argument("--output", "-o", type=Path, help="write to this file instead of updating BOOK")
    r.add_argument("--as-of", type=_date, help="score as of this date (YYYY-MM-DD); default: Settings, else today")
    r.add_argument("--config", type=Path, help="a JSON config file to use instead of the config sheets")
    r.add_argument("--strict", action="store_true", help="exit 1 when any data issue was found")
    r.add_argument("--backup", action="store_true", help="keep the previous version as BOOK.backup.xlsx")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    v = sub.add_parser("validate", help="check the config and data without writing anything")
    v.add_argument("book", type=Path)
    v.add_argument("--as-of", type=_date)
    v.add_argument("--config", type=Path)
    v.add_argument("--strict", action="store_true", help="exit 1 when any data issue was found")
    g = sub.add_parser("gap", help="print the accounts furthest below their benchmark, with their playbook")
    g.add_argument("book", type=Path)
    g.add_argument("--top", type=int, default=15, help="how many accounts to show (default 15)")
    g.add_argument("--as-of", type=_date)
    g.add_argument("--config", type=Path)
    b = sub.add_parser("backtest", help="compare the scores with the Outcomes sheet; write the Validation sheet")
    b.add_argument("book", type=Path)
    b.add_argument("--days", type=int, default=90, help="use scores from at least this many days before each outcome")
    b.add_argument("--as-of", type=_date)
    b.add_argument("--config", type=Path)
    o = sub.add_parser("optimise", aliases=["optimize"], help="propose weights and cut points that would have "
                       "separated the outcomes better, with cross-validated proof; write the Scorecard Proposal sheet")
    o.add_argument("book", type=Path)
    o.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    o.add_argument("--min-category-weight", type=float, default=0, metavar="PERCENT",
                   help="each category keeps at least this share of the overall score (default 0)")
    o.add_argument("--min-band-share", type=float, default=10, metavar="PERCENT",
                   help="each proposed band holds at least this share of the accounts (default 10)")
    o.add_argument("--days", type=int, default=90, help="with Score History: scores from at least this many days "
                   "before each outcome")
    o.add_argument("--seed", type=int, default=0, help="how the accounts are dealt into folds (default 0)")
    o.add_argument("--as-of", type=_date)
    o.add_argument("--config", type=Path)
    x = sub.add_parser("export", help="write the scores as CSV or JSON for a CRM import (the workbook is not changed)")
    x.add_argument("book", type=Path)
    x.add_argument("--format", choices=("csv", "json"), required=True, help="csv (UTF-8 with BOM, for Excel and "
                   "import wizards) or json (schemas/crm_export.schema.json)")
    x.add_argument("--output", "-o", help="the file to write, - for standard output "
                   "(default: BOOK-health-YYYY-MM-DD.csv/.json beside BOOK, the as-of date)")
    x.add_argument("--as-of", type=_date)
    x.add_argument("--config", type=Path)
    rv = sub.add_parser("review", help="refresh BOOK with an account on the Account Review page; optionally a PDF")
    rv.add_argument("book", type=Path)
    who = rv.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", metavar="ID", help="the Account ID the page shows")
    who.add_argument("--all", action="store_true", help="with --pdf: one page per account")
    rv.add_argument("--pdf", type=Path, metavar="PATH", help="also write the page(s) to this PDF (needs LibreOffice)")
    rv.add_argument("--as-of", type=_date)
    rv.add_argument("--config", type=Path)
    t = sub.add_parser("template", help="write a new workbook with the example scorecard")
    t.add_argument("path", type=Path)
    t.add_argument("--force", action="store_true", help="replace PATH if it exists (default: refuse)")
    i = sub.add_parser("init", help="add the input sheets (example scorecard, empty Accounts) to your own workbook")
    i.add_argument("book", type=Path)
    which = i.add_mutually_exclusive_group()
    which.add_argument("--example", action="store_true", help="also add the 60 sample accounts, history and overrides")
    which.add_argument("--accounts", metavar="SHEET", help="read the accounts from this sheet of yours (recorded on "
                       "Settings; chs-excel never writes it) instead of adding an Accounts sheet")
    i.add_argument("--backup", action="store_true", help="keep the previous version as BOOK.backup.xlsx")
    d = sub.add_parser("demo", help="copy the template and refresh it")
    d.add_argument("path", type=Path, nargs="?", default=Path("chs-excel-demo.xlsx"))
    d.add_argument("--force", action="store_true", help="replace PATH if it exists (default: refuse)")
    a = sub.add_parser("addin", help="write the Health Score ribbon add-in (chs_excel_addin.xlam) for desktop Excel")
    a.add_argument("path", type=Path, nargs="?", default=Path("."), help="a folder (default: here)")
    a.add_argument("--interpreter", metavar="PYTHON", help="the Python that Excel on this platform runs (default: "
                   "the one running this command, which has chs-excel installed)")
    a.add_argument("--interpreter-win", metavar="PYTHON", help="set Interpreter_Win (Excel on Windows)")
    a.add_argument("--interpreter-mac", metavar="PYTHON", help="set Interpreter_Mac (Excel on Mac)")
    lt = sub.add_parser("lite", help="write main.py and requirements.txt for xlwings Lite")
    lt.add_argument("folder", type=Path, nargs="?", default=Path("chs-excel-lite"))
    from chs_excel.sql.run import add_parser as add_score_parser  # scoring in SQL (DuckDB, Spark): chs_excel.sql
    add_score_parser(sub, _date)
    return p


def _review(args, config) -> int:
    """``chs-excel review``: refresh with the account chosen, say where the page is, write the PDF if asked."""
    from chs_excel.contract import ACCOUNT_REVIEW
    from chs_excel.review_pdf import LibreOfficeMissing, write_pdf
    from chs_excel.sheets.review import UnknownAccount

    if args.all and not args.pdf:
        print("chs-excel: --all needs --pdf PATH (the workbook holds one page, for the account chosen on it)",
              file=sys.stderr)
        return 2
    try:
        summary = refresh_file(args.book, config=config, as_of=args.as_of, review_account=args.account)
    except UnknownAccount as exc:
        print(f"chs-excel: {exc}. Nothing was written.", file=sys.stderr)
        return 1
    report = summary.report
    page = next(sheet for sheet in report.sheets if sheet.name == ACCOUNT_REVIEW)
    shown = page.cells["C3"].value
    print(f"Wrote {args.book}: the '{ACCOUNT_REVIEW}' sheet shows {shown} (choose another account in its cell C3).")
    if not args.pdf:
        return 0
    scores = report.sheets[0].frame
    accounts = [str(a) for a in scores["Account ID"]] if args.all else [shown]
    pages = [report.review_page(account, f"Review {k + 1}") for k, account in enumerate(accounts)]
    try:
        count = write_pdf(args.book, pages, args.pdf)
    except LibreOfficeMissing as exc:
        print(f"chs-excel: {exc} (the workbook was written; only the PDF is missing)", file=sys.stderr)
        return 1
    print(f"Wrote {args.pdf}: {count} page(s), " + ("one per account." if args.all else f"account {shown}."))
    return 0


def _template_file() -> Path | None:
    here = Path(__file__).resolve().parent.parent / "workbook_template.xlsx"
    return here if here.is_file() else None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in ("template", "demo") and args.path.exists() and not args.force:
            print(f"chs-excel: {args.path} already exists; pass --force to replace it (nothing was written)",
                  file=sys.stderr)
            return 1
        if args.command == "template":
            from chs_excel.demo.template import write_template  # openpyxl: only the commands that build a workbook
            print(f"Wrote {write_template(args.path)}")
            return 0
        if args.command == "addin":
            from chs_excel.excel.addin import conf_settings, describe, write_addin
            chosen = (args.interpreter, args.interpreter_win, args.interpreter_mac)
            try:
                target = write_addin(args.path, *chosen)
            except ValueError as exc:
                print(f"chs-excel: {exc}", file=sys.stderr)
                return 2
            print("\n".join([f"Wrote {target}", *describe(conf_settings(*chosen)), ADDIN_STEPS]))
            return 0
        if args.command == "lite":
            from chs_excel.excel.lite import write_lite
            files = write_lite(args.folder)
            print("Wrote " + " and ".join(str(f) for f in files))
            print("In Excel: Home > Add-ins > xlwings Lite. Paste main.py into its main.py tab. ADD the lines of "
                  "requirements.txt to its requirements.txt tab: keep Lite's own lines, replace only an older "
                  "xlwings line. Then restart xlwings Lite.")
            return 0
        if args.command == "init":
            from chs_excel.init import init_file
            print("\n".join(init_file(args.book, example=args.example, accounts=args.accounts,
                                      backup=args.backup).lines()))
            return 0
        if args.command == "demo":
            shipped = _template_file()
            from chs_excel.demo.template import write_template
            shutil.copyfile(shipped, args.path) if shipped else write_template(args.path)
            summary = refresh_file(args.path)
            print("\n".join(summary.lines()))
            print(f"Open {args.path}: start with the Scores and Benchmark Gap sheets; Account Review is one account on one page.")
            return 0
        if args.command == "score":
            from chs_excel.sql.run import score_command
            return score_command(args)
        config = config_from_json(args.config) if args.config else None
        if args.command == "gap":
            summary = validate_file(args.book, config=config, as_of=args.as_of)
            print(gap_table(summary, args.top))
            return 0
        if args.command == "backtest":
            result = backtest_file(args.book, config=config, as_of=args.as_of, days=args.days)
            print("\n".join(result.lines()))
            print(f"Wrote the '{VALIDATION}' sheet of {args.book}")
            return 0
        if args.command in ("optimise", "optimize"):
            from chs_excel.pipeline import optimise_file
            from chs_excel.sheets.proposal import BadOptions, Options
            options = Options(args.folds, args.min_category_weight / 100, args.min_band_share / 100, args.days,
                              args.seed)
            try:
                proposal = optimise_file(args.book, config=config, as_of=args.as_of, options=options)
            except BadOptions as exc:
                print(f"chs-excel optimise: {exc}; nothing was written.", file=sys.stderr)
                return 2
            print("\n".join(proposal.lines()))
            print(f"Wrote the '{PROPOSAL}' sheet of {args.book}")
            return 0
        if args.command == "export":
            from chs_excel.export import export_file
            done = export_file(args.book, args.format, args.output, config=config, as_of=args.as_of)
            print(done.line(), file=sys.stderr if done.written_to is None else sys.stdout)  # stdout holds the data
            return 0
        if args.command == "review":
            return _review(args, config)
        if args.command == "validate":
            summary = validate_file(args.book, config=config, as_of=args.as_of)
            print(f"{args.book.name}: the configuration is valid; {summary.accounts} accounts can be scored.")
            for issue in summary.issues:
                print(f"  {issue.cell}: {issue.problem} ({issue.action})")
            print(f"{len(summary.issues)} data issue(s).")
            return 1 if args.strict and summary.issues else 0
        step, close = _progress(not args.quiet)
        try:
            summary = refresh_file(args.book, args.output, config=config, as_of=args.as_of, backup=args.backup,
                                   progress=step)
        finally:
            close()
        print("\n".join(summary.lines()))
        return 1 if args.strict and summary.issues else 0
    except ConfigError as exc:
        print(f"The workbook's configuration has {len(exc.problems)} problem(s); nothing was written:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except BookError as exc:
        print(f"chs-excel: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file or folder we may not open (e.g. a folder on the way that cannot be entered)
        where = f" {exc.filename}" if exc.filename else ""
        why = ("permission denied (you may not open it, or a folder on the way to it)"
               if isinstance(exc, PermissionError) else exc.strerror or str(exc))
        print(f"chs-excel: cannot open{where}: {why}; nothing was changed.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
