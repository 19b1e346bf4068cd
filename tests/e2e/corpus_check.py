"""Run ``init`` then ``refresh`` twice on one workbook from the corpus and judge the outcome.

Used by test_corpus.py in worker processes. Every judgement is made here from the zip
package itself (its parts, relationships and content types), not with chs-excel's own readers.

Outcomes:
* ``ok``: every command exited 0; every part of the original is byte-identical, except the registry
  parts a new sheet must be listed in, which keep all their original entries; the package is sound
  (members readable, XML well-formed, every internal relationship resolves, every part has a content
  type); the second refresh changed only chs-excel's own sheets.
* ``refused``: a command exited 1 with one plain line on stderr and left the file byte-identical.
* ``failed``: anything else (a traceback, a change after a refusal, damage after exit 0, a timeout).
"""
from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import shutil
import signal
import tempfile
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree

REGISTRY = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
            "xl/calcChain.xml", "docProps/app.xml"}
OWNED_NAMES = ("Scores", "Benchmark Gap", "Distribution", "Score History", "Data Issues", "Validation",
               "Account Review")
SNAPSHOT_NAME = re.compile(r"^Score History \d{4}-\d{2}-\d{2}$")  # Score History's hidden snapshot sheets
TIMEOUT_SECONDS = 120


@dataclass
class Outcome:
    path: str
    verdict: str  # ok, refused, failed
    reason: str = ""
    steps: list[str] = field(default_factory=list)


class Timeout(Exception):
    pass


def _members(path: Path) -> dict[str, bytes] | None:
    """Every member's bytes, or None when the file is not a readable zip."""
    try:
        with zipfile.ZipFile(path) as z:
            return {info.filename: z.read(info) for info in z.infolist()}
    except Exception:
        return None


def _run(argv: list[str]) -> tuple[int, str, str]:
    from chs_excel.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Timeout:
            raise
        except BaseException:  # an uncaught exception is what a user sees as a traceback
            traceback.print_exc(file=err)
            code = -1
    return code, out.getvalue(), err.getvalue()


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target)).lstrip("./") if target else ""


def _rels_source(rels_name: str) -> str:
    folder, _, base = rels_name.rpartition("/")
    source_folder = folder.rpartition("/")[0] if folder.endswith("_rels") else folder
    source = base[:-len(".rels")]
    return f"{source_folder}/{source}" if source_folder else source


def package_problems(members: dict[str, bytes], before: dict[str, bytes] | None = None) -> list[str]:
    """What is unsound in a package: XML that does not parse, relationships to missing parts, parts without a type.

    Problems the original package already had (``before``) are not counted.
    """
    problems = []
    lower = {n.lower(): n for n in members}
    for name, data in members.items():
        if name.endswith((".xml", ".rels", ".vml")) and data.strip():
            try:
                ElementTree.fromstring(data)
            except Exception as exc:
                problems.append(f"{name} is not well-formed XML: {exc}")
    for name, data in members.items():
        if not name.endswith(".rels"):
            continue
        try:
            root = ElementTree.fromstring(data)
        except Exception:
            continue
        source = _rels_source(name)
        for rel in root:
            if rel.get("TargetMode") == "External":
                continue
            target = _resolve(source, rel.get("Target", ""))
            if target and target.lower() not in lower and not target.endswith("/"):
                problems.append(f"{name}: relationship {rel.get('Id')} points to a missing part {target}")
    types = members.get("[Content_Types].xml")
    if types:
        try:
            root = ElementTree.fromstring(types)
            defaults = {e.get("Extension", "").lower() for e in root if e.tag.endswith("Default")}
            overrides = {e.get("PartName", "").lstrip("/").lower() for e in root if e.tag.endswith("Override")}
            for name in members:
                if name.endswith("/") or name == "[Content_Types].xml":
                    continue
                if name.lower() not in overrides and name.rpartition(".")[2].lower() not in defaults:
                    problems.append(f"{name} has no content type")
        except Exception:
            pass
    if before is not None:
        old = set(package_problems(before))
        problems = [p for p in problems if p not in old]
    return problems


def _entries(xml: bytes, tag: str) -> list[str]:
    """The elements with this local name, each as a canonical string of its attributes (order-free)."""
    try:
        root = ElementTree.fromstring(xml)
    except Exception:
        return []
    out = []
    for element in root.iter():
        if element.tag.rpartition("}")[2] == tag:
            out.append(repr(sorted((k.rpartition("}")[2], v) for k, v in element.attrib.items())))
    return out


def registry_losses(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Original entries of the registry parts that are missing after (sheets, names, relationships, types)."""
    lost = []
    checks = {"xl/workbook.xml": ("sheet", "definedName", "workbookView", "pivotCache", "externalReference"),
              "xl/_rels/workbook.xml.rels": ("Relationship",), "[Content_Types].xml": ("Default", "Override")}
    for part, tags in checks.items():
        if part not in before:
            continue
        if part not in after:
            lost.append(f"{part} is gone")
            continue
        for tag in tags:
            old, new = _entries(before[part], tag), _entries(after[part], tag)
            if tag == "definedName":
                old, new = _defined_names(before[part]), _defined_names(after[part])
            missing = [e for e in old if e not in new]
            if missing:
                lost.append(f"{part}: {len(missing)} original <{tag}> entries changed or lost, e.g. {missing[0][:200]}")
    return lost


def _defined_names(xml: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(xml)
    except Exception:
        return []
    return [f"{e.get('name')}|{e.get('localSheetId')}|{e.text}" for e in root.iter() if e.tag.endswith("}definedName")]


def owned_parts(members: dict[str, bytes]) -> set[str]:
    """chs-excel's own sheet parts and everything reachable from them (their rels, drawings, charts)."""
    try:
        workbook = ElementTree.fromstring(members["xl/workbook.xml"])
        rels = ElementTree.fromstring(members["xl/_rels/workbook.xml.rels"])
    except Exception:
        return set()
    targets = {r.get("Id"): r.get("Target") for r in rels}
    owned = set()
    todo = []
    for sheet in workbook.iter():
        name = sheet.get("name", "")
        if sheet.tag.endswith("}sheet") and (name.casefold() in {n.casefold() for n in OWNED_NAMES}
                                             or SNAPSHOT_NAME.match(name)):
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            if rid in targets:
                todo.append(_resolve("xl/workbook.xml", targets[rid]))
    while todo:
        part = todo.pop()
        if part in owned:
            continue
        owned.add(part)
        folder, _, base = part.rpartition("/")
        rels_name = f"{folder}/_rels/{base}.rels"
        if rels_name in members:
            owned.add(rels_name)
            for rel in ElementTree.fromstring(members[rels_name]):
                if rel.get("TargetMode") != "External":
                    todo.append(_resolve(part, rel.get("Target", "")))
    return owned


def _one_line(err: str) -> bool:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return bool(lines) and "Traceback" not in err and len(lines) <= 3


def judge(step: str, original: dict | None, before: dict | None, after: dict | None) -> str | None:
    """Why the package after an exit-0 ``step`` is not acceptable (None when it is)."""
    if after is None:
        return f"{step} exited 0 and left a file that is not a readable zip"
    damage = package_problems(after, before)
    if damage:
        return f"{step} exited 0 with damage: {damage[0]}"
    if original is not None:
        changed = [n for n in original if n not in REGISTRY and after.get(n) != original[n]]
        if changed:
            return f"{step} changed or removed a part of the original: {changed[0]}"
        lost = registry_losses(original, after)
        if lost:
            return f"{step}: {lost[0]}"
    if step == "refresh again" and before is not None:
        owned = owned_parts(after) | owned_parts(before)
        moved = sorted(n for n in set(after) | set(before) if n not in owned and after.get(n) != before.get(n))
        if moved:
            return f"the second refresh changed {moved[0]}, which is not chs-excel's own sheet"
    return None


def check(path: str, work: str) -> Outcome:
    """init, refresh, refresh on a copy of ``path`` inside ``work``; the verdict and why."""
    source = Path(path)
    folder = Path(tempfile.mkdtemp(dir=work))
    book = folder / source.name.replace("~", "_").lstrip(".")
    shutil.copyfile(source, book)
    outcome = Outcome(path, "failed")

    def on_alarm(signum, frame):
        raise Timeout()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIMEOUT_SECONDS)
    try:
        original_bytes = book.read_bytes()
        original = _members(book)
        state = original_bytes
        for step, argv in (("init", ["init", str(book), "--example"]), ("refresh", ["refresh", str(book), "-q"]),
                           ("refresh again", ["refresh", str(book), "-q"])):
            before_members = _members(book)
            code, out, err = _run(argv)
            outcome.steps.append(f"{step}: exit {code}")
            if code == 1:
                if book.read_bytes() != state:
                    outcome.reason = f"{step} exited 1 but changed the file"
                elif not _one_line(err):
                    outcome.reason = f"{step} exited 1 without one plain message: {err.strip()[:300]}"
                else:
                    outcome.verdict = "refused"
                    outcome.reason = f"{step}: {refusal_kind(err)}"
                return outcome
            if code != 0:
                outcome.reason = f"{step} exited {code}: {err.strip()[-600:]}"
                return outcome
            reason = judge(step, original, before_members, _members(book))
            if reason:
                outcome.reason = reason
                return outcome
            state = book.read_bytes()
        outcome.verdict = "ok"
        keep = Path(work) / "ok" / book.name
        keep.parent.mkdir(exist_ok=True)
        shutil.copyfile(book, keep)
    except Timeout:
        outcome.reason = f"timed out after {TIMEOUT_SECONDS} s ({', '.join(outcome.steps)})"
    except Exception as exc:
        outcome.reason = f"the check itself failed: {type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


_KINDS = [
    (r"strict open xml", "Strict Open XML"),
    (r"encrypt|password", "encrypted with a password"),
    (r"xml bomb", "XML entity declarations (XML bomb guard)"),
    (r"excel 4 macro sheet", "an Excel 4 macro sheet the reader cannot read"),
    (r"refers to a part that is missing", "a relationship to a missing part"),
    (r"differ only in case", "damaged: duplicate part names"),
    (r"checksum|crc", "damaged: a part fails its checksum"),
    (r"not a zip|magic number|cannot be read as an excel workbook", "not a zip package (truncated or not a workbook)"),
    (r"damaged|cannot be read", "damaged"),
    (r"not an excel workbook|no xl/workbook", "not a workbook"),
    (r"implausible size", "implausible size (zip bomb guard)"),
    (r"chart ?sheet|not a worksheet|dialog", "a non-worksheet named like an output sheet"),
    (r"table", "a table on an output sheet"),
]


def refusal_kind(err: str) -> str:
    text = err.strip().splitlines()[-1] if err.strip() else ""
    for pattern, kind in _KINDS:
        if re.search(pattern, text, re.IGNORECASE):
            return kind
    return re.sub(r"\S+\.(xlsx|xlsm)\b", "BOOK", text)[:120]


def _limit_memory() -> None:
    try:
        import resource
        limit = 6 * 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except Exception:
        pass


def worker_init() -> None:
    _limit_memory()
    os.environ.setdefault("XLWINGS_ON_SERVER", "true")
