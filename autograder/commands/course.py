"""``bpgrade course``: create a course folder for ``bpgrade serve`` and add students to it.

    bpgrade course init DIR --roster roster.csv [--name NAME] [--show-instructor-token]
    bpgrade course add-students DIR --roster more.csv

Tokens are written to ``DIR/tokens.csv`` and ``DIR/instructor_token.txt`` (mode 0600), never to the
terminal (whose scrollback and logs outlive the term), unless ``--show-instructor-token`` asks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.server import course


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("course", help="create a course folder for `bpgrade serve`; add students")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", help="create DIR: config, course secret, database and one token per student"
    )
    init.add_argument("dir", type=Path, metavar="DIR")
    init.add_argument("--roster", type=Path, required=True, help="CSV with columns id,name,email")
    init.add_argument("--name", default=None, help="course name (default: the folder's name)")
    init.add_argument(
        "--show-instructor-token",
        action="store_true",
        help="also print the instructor token (it is always in DIR/instructor_token.txt)",
    )
    add = actions.add_parser("add-students", help="add the students of a roster to DIR")
    add.add_argument("dir", type=Path, metavar="DIR")
    add.add_argument("--roster", type=Path, required=True, help="CSV with columns id,name,email")
    return p


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "init":
            _init(args)
        else:
            _add_students(args)
    except course.CourseError as exc:
        raise GraderError(str(exc)) from None
    return 0


def _init(args: argparse.Namespace) -> None:
    summary = course.init_course(args.dir, args.roster, name=args.name)
    print(f"created a course in {summary.root} for {summary.students} student(s)")
    print(f"  student tokens:   {summary.tokens_path} (give each student their own line)")
    print(f"  instructor token: {summary.instructor_token_path}")
    print(
        f"  settings:         {summary.root / course.COURSE_TOML} (due dates, penalties, attempts)"
    )
    if args.show_instructor_token:
        print(f"  instructor token: {summary.instructor_token}")
    print(f"then: bpgrade serve {summary.root}")


def _add_students(args: argparse.Namespace) -> None:
    added = course.add_students(args.dir, args.roster)
    tokens = Path(args.dir) / course.TOKENS_CSV
    print(f"added {len(added)} student(s); their tokens are at the end of {tokens}")
