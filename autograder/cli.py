"""``bpgrade``: one sub-command per module in :mod:`autograder.commands`.

Each command module exposes ``add_parser(subparsers)`` and ``run(args) -> int``. Exit status 0 means
the command did its job (a graded submission may still score 0); non-zero means the grader itself
could not work, and the message says why.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
from collections.abc import MutableMapping

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


# Commands that grade one submission and are done: their process may skip the interpreter's
# teardown (see entry). Long-running or pooled commands exit the ordinary way.
QUICK_EXIT = frozenset({"grade", "check"})


# Commands whose process grades (or starts processes that do). Their own math is small (reference
# values, checks), so they run with one BLAS thread: a thread pool there would only spin on the
# cores the sandboxed workers need (a cold grade's zygote boots on the other core meanwhile).
GRADING_COMMANDS = frozenset({"grade", "check", "grade-all", "demo", "serve", "worker"})
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


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


def grading_environment(argv: list[str], environ: MutableMapping[str, str]) -> None:
    """One BLAS thread (:data:`ONE_BLAS_THREAD`) for a grading command, unless ``environ``
    already says how many; called before numpy is imported."""
    if _command_in(argv) in GRADING_COMMANDS:
        for name, value in ONE_BLAS_THREAD.items():
            environ.setdefault(name, value)


def entry(argv: list[str] | None = None) -> None:
    """The ``bpgrade`` program (and ``python -m autograder``): :func:`main`, then exit.

    A grading command (:data:`GRADING_COMMANDS`) runs with one BLAS thread unless its caller
    chose otherwise (:data:`ONE_BLAS_THREAD`).

    After a one-submission command (:data:`QUICK_EXIT`) the process leaves without the
    interpreter's teardown, which only frees memory (tens of ms once numpy and the grader are
    loaded, on every cold ``bpgrade grade``). Its output is flushed first and the ``atexit``
    handlers run (temporary files, any zygote still open; the command has already closed its
    own sandbox), so nothing is lost. Call :func:`main` instead to stay in the process.
    """
    argv = sys.argv[1:] if argv is None else argv
    grading_environment(argv, os.environ)
    code = main(argv)
    if _command_in(argv) not in QUICK_EXIT:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken pipe: exit the ordinary way, it reports
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(code)
