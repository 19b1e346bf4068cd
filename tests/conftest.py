import os
import sys
from pathlib import Path

# xlwings picks its runtime when first imported: the tests drive the Excel layer
# through xlwings Server's own dispatch (no Excel here). The licence key is the
# one xlwings offers open-source projects for non-commercial use.
os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

sys.path.insert(0, str(Path(__file__).parent))


def pytest_terminal_summary(terminalreporter):
    """The corpus counts (succeeded / refused by reason / failed), when the corpus test ran."""
    corpus = sys.modules.get("test_corpus")
    for line in corpus.summary_lines() if corpus else []:
        terminalreporter.write_line(line)
