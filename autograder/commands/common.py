"""Options and output helpers shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.harness import zygote
from autograder.harness.sandbox import LOCAL_TIER, TIERS, SandboxError, platform_problem
from autograder.harness.zygote import Zygote
from autograder.spec import Spec, SpecError, load_spec


def add_grading_options(p: argparse.ArgumentParser, *, local: bool = False) -> None:
    """``--lang``, ``--spec`` and ``--tier``; ``local`` offers the unsandboxed self-check tier."""
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="feedback language")
    p.add_argument("--spec", type=Path, default=None, help="assignment spec (TOML)")
    help_text = "sandbox tier for student code (default: the strongest this machine supports)"
    if local:
        help_text += "; 'local' runs it as a plain process (public cases only)"
    p.add_argument(
        "--tier",
        default="auto",
        choices=("auto", *TIERS, *((LOCAL_TIER,) if local else ())),
        help=help_text,
    )


def spec_from(args: argparse.Namespace) -> Spec:
    try:
        return load_spec(args.spec)
    except SpecError as exc:
        raise GraderError(str(exc)) from None


def boot_zygote(tier: str) -> Zygote | None:
    """:func:`autograder.harness.zygote.boot_zygote`, with a missing sandbox as a grader error.

    None where there is no sandbox to boot: tier ``"local"``, or a machine on which no tier can
    run at all (Windows, macOS). Grading then says why, and the self-check runs locally.
    """
    if tier == LOCAL_TIER or platform_problem() is not None:
        return None
    try:
        return zygote.boot_zygote(tier)
    except SandboxError as exc:
        raise GraderError(f"cannot sandbox student code: {exc}") from None
