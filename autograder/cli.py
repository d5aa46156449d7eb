"""``bpgrade``: one sub-command per module in :mod:`autograder.commands`.

Each command module exposes ``add_parser(subparsers)`` and ``run(args) -> int``. Exit status 0 means
the command did its job (a graded submission may still score 0); non-zero means the grader itself
could not work, and the message says why.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "grade",
    "check",
    "demo",
    "doctor",
    "setup",
    "release",
    "grade-all",
    "package",
    "export",
    "serve",
    "course",
    "worker",
    "regrade-diff",
    "similarity",
    "new-homework",
)


class GraderError(RuntimeError):
    """The grader cannot do its job (bad spec, no sandbox, unwritable output)."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only``) one with just that command's module imported.

    Command modules import what they need (nbformat, matplotlib, the release builder), so
    ``bpgrade grade`` imports only the grading path: start-up is part of every grading's latency.
    """
    parser = argparse.ArgumentParser(
        prog="bpgrade",
        description="Sandboxed autograder for numerical homeworks (backprop, logreg).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        if only is None or name == only:
            module = importlib.import_module(f"autograder.commands.{name.replace('-', '_')}")
            module.add_parser(sub).set_defaults(_run=module.run)
    return parser


def _command_in(argv: list[str]) -> str | None:
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_in(argv)).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except GraderError as exc:
        print(f"bpgrade: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bpgrade: interrupted", file=sys.stderr)
        return 130
