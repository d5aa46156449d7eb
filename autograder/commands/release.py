"""``bpgrade release``: build the student handout (nn.py, notebook, check.py, submit.py, README).

bpgrade release                          # all languages -> assignments/backprop/{en,zh}/
bpgrade release --lang zh                # only assignments/backprop/zh/
bpgrade release --check                  # exit 1 if the committed release is out of date
bpgrade release --solution --out DIR     # the instructor's version (solutions kept)
bpgrade release --install "pip install https://course.example.edu/bpgrade-0.1.0-py3-none-any.whl"
                                         # the handout tells students this install line
bpgrade release --server https://grader.example.edu --out DIR
                                         # submit.py submits there (bpgrade serve)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.release import (
    LANGS,
    HandoutError,
    MarkerError,
    SourceError,
    build_release,
    diff_release,
    load_homework,
    write_release,
)
from autograder.release.build import REPO_ROOT
from autograder.spec import SpecError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``release`` on the ``bpgrade`` command line."""
    parser = subparsers.add_parser(
        "release",
        help="build assignments/<homework>/ from solutions/<homework>/",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "homework", nargs="?", default=None, help="homework name (default: backprop)"
    )
    parser.add_argument(
        "--homework", dest="homework_option", metavar="NAME", help="the same as HOMEWORK"
    )
    parser.add_argument(
        "--lang", choices=(*LANGS, "all"), default="all", help="language(s) to build (default: all)"
    )
    parser.add_argument("--out", type=Path, help="output folder (default: assignments/<homework>)")
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: %(default)s)"
    )
    parser.add_argument(
        "--source", type=Path, help="instructor source (default: solutions/<hw>/<hw>.py)"
    )
    parser.add_argument(
        "--solution",
        action="store_true",
        help="keep the solutions (instructor version); needs --out",
    )
    parser.add_argument(
        "--install",
        metavar="LINE",
        help="the command that installs the self-check for students (a wheel, a git URL or a "
        "course index); written into the handout and check.py",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the course server (bpgrade serve) that submit.py submits to, e.g. "
        "https://grader.example.edu; written into submit.py and the handout",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the release on disk differs"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Build (or check) the release; 0 on success, 1 on drift, 2 on an error in the inputs."""
    if args.solution and args.out is None:
        # Never let the instructor version land in the students' folder by default.
        print("bpgrade release: --solution needs an explicit --out folder", file=sys.stderr)
        return 2
    langs = LANGS if args.lang == "all" else (args.lang,)
    if args.homework and args.homework_option and args.homework != args.homework_option:
        print("bpgrade release: HOMEWORK and --homework differ", file=sys.stderr)
        return 2
    name = args.homework or args.homework_option or "backprop"
    try:
        homework, spec = load_homework(name, args.root)
        source = args.source or homework.source
        files = build_release(
            source, spec, langs, solution=args.solution, install=args.install, server=args.server
        )
    except (OSError, SpecError, SourceError, MarkerError, HandoutError) as exc:
        print(f"bpgrade release: {exc}", file=sys.stderr)
        return 2
    out = args.out or homework.out
    if args.check:
        problems = diff_release(files, out)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{out} is out of date: run `bpgrade release`", file=sys.stderr)
            return 1
        print(f"{out}: up to date ({len(files)} files)")
        return 0
    written = write_release(files, out)
    print(f"wrote {len(written)} files to {out}")
    return 0
