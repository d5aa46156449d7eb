"""Options and output helpers shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.harness import zygote
from autograder.harness.sandbox import SandboxError
from autograder.harness.zygote import Zygote
from autograder.spec import Spec, SpecError, load_spec


def add_grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="feedback language")
    p.add_argument("--spec", type=Path, default=None, help="assignment spec (TOML)")
    p.add_argument(
        "--tier",
        default="auto",
        choices=("auto", "bwrap", "seccomp", "rlimits"),
        help="sandbox tier for student code (default: the strongest this machine supports)",
    )


def spec_from(args: argparse.Namespace) -> Spec:
    try:
        return load_spec(args.spec)
    except SpecError as exc:
        raise GraderError(str(exc)) from None


def boot_zygote(tier: str) -> Zygote | None:
    """:func:`autograder.harness.zygote.boot_zygote`, with a missing sandbox as a grader error."""
    try:
        return zygote.boot_zygote(tier)
    except SandboxError as exc:
        raise GraderError(f"cannot sandbox student code: {exc}") from None
