"""``bpgrade regrade-diff OLD NEW``: who changed between two graded folders, where, and why.

    bpgrade regrade-diff graded-v1/ graded-v2/            # a table
    bpgrade regrade-diff graded-v1/ graded-v2/ --format json

OLD and NEW are ``grade-all`` output folders or course folders (see :mod:`autograder.graded`).
The exit status is 0 whether or not anything changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.cli import GraderError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "regrade-diff",
        help="compare two graded folders: who changed, on which parts, by how much, and why",
    )
    p.add_argument("old", type=Path, help="the earlier grade-all output or course folder")
    p.add_argument("new", type=Path, help="the later one")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the reasons")
    p.add_argument(
        "--homework", default=None, help="a course folder's homework (default: its only one)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    from autograder.graded import GradedError
    from autograder.regrade_diff import diff_folders, to_json_text, to_table

    try:
        diff = diff_folders(args.old, args.new, homework=args.homework, lang=args.lang)
    except GradedError as exc:
        raise GraderError(str(exc)) from None
    sys.stdout.write(to_json_text(diff) if args.format == "json" else to_table(diff))
    return 0
