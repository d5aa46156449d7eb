"""Kill rate and false-failure rate of the grader on the bug zoo (tests/zoo), as a Markdown table.

- **kill rate**: zoo submissions that lose points on exactly the expected parts *and* are named with
  the expected misconception on each of them, over all zoo submissions;
- **caught rate**: zoo submissions that lose any points at all (named or not);
- **false-failure rate**: correct alternative implementations that lose any point.

Every submission is graded through the real sandboxed runner, once per student id (each student gets
different hidden cases), so the rates are over submissions × students.

Usage::

    python benchmarks/zoo_kill_rate.py [--students 3] [--homework backprop|logreg]

``--homework logreg`` measures the logreg zoo (tests/zoo_logreg), which has no finite-difference row.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "zoo"))
sys.path.insert(0, str(ROOT))

from autograder.grading import GradeReport, grade_submission  # noqa: E402
from autograder.homeworks import load_homework  # noqa: E402

#: Where each homework's zoo table lives (beside its zoo).
TABLES = {"backprop": "zoo_table", "logreg": "tests.zoo_logreg.logreg_zoo_table"}


def _table(homework: str) -> SimpleNamespace:
    module = importlib.import_module(TABLES[homework])
    return SimpleNamespace(
        CORRECT=module.CORRECT,
        CORRECT_ALTERNATIVES=module.CORRECT_ALTERNATIVES,
        FINITE_DIFFERENCES=getattr(module, "FINITE_DIFFERENCES", None),
        SECRET=module.SECRET,
        SUBMISSIONS=module.SUBMISSIONS,
        ZOO=module.ZOO,
    )


def _losing(report: GradeReport) -> set[str]:
    return {p.part for p in report.parts if p.score < p.points - 1e-9}


def _killed(report: GradeReport, tag: str, parts: set[str]) -> tuple[bool, bool]:
    """``(caught, caught_and_named)`` for one graded zoo submission."""
    losing = _losing(report)
    named = losing == parts and all(
        tag in p.misconceptions for p in report.parts if p.part in parts
    )
    return bool(losing), named


def _fd_detected(report: GradeReport, finite_differences) -> bool:
    _, parts, categories = finite_differences
    failed = [c for p in report.parts for c in p.cases if not c.passed]
    return (
        _losing(report) == parts and bool(failed) and all(c.category in categories for c in failed)
    )


def run(students: int, homework: str = "backprop") -> str:
    """Grade the zoo for ``students`` student ids; return the Markdown report."""
    t = _table(homework)
    spec = load_homework(homework)
    ZOO, SUBMISSIONS, CORRECT, SECRET = t.ZOO, t.SUBMISSIONS, t.CORRECT, t.SECRET
    CORRECT_ALTERNATIVES, FINITE_DIFFERENCES = t.CORRECT_ALTERNATIVES, t.FINITE_DIFFERENCES
    ids = [f"zoo-student-{i}" for i in range(students)]
    started = time.perf_counter()
    caught = named = fd = false_fail = 0
    missed: list[str] = []
    for sid in ids:
        for stem, tag, parts in ZOO:
            report = grade_submission(
                SUBMISSIONS / f"{stem}.py", student_id=sid, secret=SECRET, spec=spec
            )
            got, ok = _killed(report, tag, parts)
            caught += got
            named += ok
            if not ok:
                missed.append(f"{stem} ({sid})")
        if FINITE_DIFFERENCES is not None:
            report = grade_submission(
                SUBMISSIONS / f"{FINITE_DIFFERENCES[0]}.py",
                student_id=sid,
                secret=SECRET,
                spec=spec,
            )
            fd += _fd_detected(report, FINITE_DIFFERENCES)
        for stem in CORRECT_ALTERNATIVES:
            report = grade_submission(
                CORRECT / f"{stem}.py", student_id=sid, secret=SECRET, spec=spec
            )
            if report.score < report.max_score:
                false_fail += 1
                missed.append(f"correct/{stem} lost points ({sid}): {report.error or ''}".strip())
    n_zoo, n_ok = len(ZOO) * students, len(CORRECT_ALTERNATIVES) * students
    fd_files = "" if FINITE_DIFFERENCES is None else "1 finite-difference submission, "
    lines = [
        f"Bug zoo ({homework}): {len(ZOO)} misconception submissions, {fd_files}"
        f"{len(CORRECT_ALTERNATIVES)} correct alternatives; {students} student id(s) each "
        f"(different hidden cases); Python {platform.python_version()}, "
        f"{time.perf_counter() - started:.0f} s.",
        "",
        "| measure | count | rate |",
        "|---|---|---|",
        f"| kill rate (caught on exactly the expected parts and named) | {named}/{n_zoo} "
        f"| {named / n_zoo:.1%} |",
        f"| caught (lost any points) | {caught}/{n_zoo} | {caught / n_zoo:.1%} |",
        *(
            [
                f"| finite-difference backprop flagged too slow | {fd}/{students} | {fd / students:.1%} |"
            ]
            if FINITE_DIFFERENCES is not None
            else []
        ),
        f"| false-failure rate (correct alternative lost a point) | {false_fail}/{n_ok} "
        f"| {false_fail / n_ok:.1%} |",
        "",
        f"Command: `python benchmarks/zoo_kill_rate.py --students {students} --homework {homework}`",
    ]
    if missed:
        lines += ["", "Not killed / false failures:", *[f"- {m}" for m in missed]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3, help="student ids to grade (default 3)")
    parser.add_argument("--homework", choices=sorted(TABLES), default="backprop")
    args = parser.parse_args(argv)
    print(run(args.students, args.homework))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
