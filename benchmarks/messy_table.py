"""The messy-but-correct corpus as the README shows it: each file's score and explanation.

Usage::

    python benchmarks/messy_table.py [--student-id s1] [--lang en]

Grades every entry of ``tests/messy/submissions`` (hidden cases included, one zygote for all)
and prints a Markdown table: the entry, what is messy about it (its docstring), the score, the
time, and the one line that explains the result (a warning, a part's note, or the first failing
case). ``tests/messy/test_messy.py`` asserts the same figures through ``bpgrade grade``,
``grade-all`` and ``check.py``.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.grading import grade_submission  # noqa: E402
from autograder.harness.zygote import boot_zygote  # noqa: E402

CORPUS = ROOT / "tests" / "messy" / "submissions"


def describe(entry: Path) -> str:
    """The first line of the entry's docstring (the notebook's first Markdown cell)."""
    if entry.is_dir():
        entry = entry / "nn.py"
    if entry.suffix == ".ipynb":
        cells = json.loads(entry.read_text(encoding="utf-8"))["cells"]
        text = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
        return text.lstrip("# ").splitlines()[0]
    doc = ast.get_docstring(ast.parse(entry.read_text(encoding="utf-8-sig")))
    return (doc or "").splitlines()[0]


def explanation(report) -> str:
    lines = [w for w in report.warnings if "demo secret" not in w]
    failed = sorted(  # a hidden case first: its message carries no values
        (c.visibility != "hidden", p.part, c.message)
        for p in report.parts
        for c in p.cases
        if not c.passed
    )
    lines += [f"{part}: {message}" for _, part, message in failed[:1]]
    lines += list(dict.fromkeys(n for p in report.parts for n in p.notes))
    return lines[0] if lines else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student-id", default="s1")
    parser.add_argument("--lang", default="en")
    args = parser.parse_args()
    zygote = boot_zygote()
    print("| submission | what is messy | score | time | what the feedback says |")
    print("|---|---|---:|---:|---|")
    for entry in sorted(CORPUS.iterdir()):
        start = time.perf_counter()
        report = grade_submission(entry, student_id=args.student_id, lang=args.lang, zygote=zygote)
        took = time.perf_counter() - start
        name = entry.name + ("/" if entry.is_dir() else "")
        said = explanation(report).replace("|", "\\|")
        if len(said) > 160:
            said = said[:157] + "…"
        print(
            f"| `{name}` | {describe(entry)} | {report.score:g}/{report.max_score:g} "
            f"| {took:.2f} s | {said} |"
        )
    if zygote is not None:
        zygote.close()


if __name__ == "__main__":
    main()
