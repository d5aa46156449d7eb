"""``bpgrade demo``: grade the bundled example submissions and summarise what the grader found."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.commands.common import add_grading_options, spec_from
from autograder.grading import GradeReport, grade_submission
from autograder.report import to_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="grade the bundled example submissions")
    p.add_argument("--examples", type=Path, default=EXAMPLES, help="folder of example submissions")
    p.add_argument("--verbose", action="store_true", help="print every submission's full table")
    add_grading_options(p)
    return p


def _row(report: GradeReport) -> str:
    failed = [p.part for p in report.parts if not p.passed]
    tags = sorted({t for p in report.parts for t in p.misconceptions})
    found = ", ".join(tags) if tags else "-"
    lost = ", ".join(failed) if failed else "-"
    return f"{Path(report.submission).name:<34} {report.score:>6.2f}/{report.max_score:<4g} {report.execution_time:>5.2f}s  lost: {lost}\n{'':<34} named: {found}"


def run(args: argparse.Namespace) -> int:
    spec = spec_from(args)
    files = sorted(p for p in args.examples.iterdir() if p.suffix in (".py", ".ipynb"))
    if not files:
        print(f"no example submissions in {args.examples}")
        return 1
    reports = []
    for path in files:
        report = grade_submission(
            path, student_id=path.stem, spec=spec, lang=args.lang, tier=args.tier
        )
        reports.append(report)
        print(to_text(report) if args.verbose else _row(report), flush=True)
    print(f"\ngraded {len(reports)} submissions in the '{reports[0].tier}' sandbox tier")
    return 0
