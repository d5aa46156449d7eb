"""Options and output helpers shared by several commands."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from autograder.cli import GraderError
from autograder.harness import zygote
from autograder.harness.sandbox import LOCAL_TIER, TIERS, SandboxError, platform_problem
from autograder.harness.zygote import Zygote
from autograder.spec import Spec, SpecError, load_spec


def add_grading_options(p: argparse.ArgumentParser, *, local: bool = False) -> None:
    """``--lang``, ``--homework``, ``--spec`` and ``--tier``; ``local`` offers the unsandboxed
    self-check tier."""
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="feedback language")
    add_homework_option(p)
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


def add_homework_option(p: argparse.ArgumentParser) -> None:
    """``--homework NAME``: which bundled homework (default: inferred from the submission)."""
    p.add_argument(
        "--homework",
        default=None,
        metavar="NAME",
        help="the homework (autograder/homeworks/NAME; default: inferred from the submission's "
        "functions, else the default homework)",
    )


def spec_from(args: argparse.Namespace, submissions: Iterable[Path | None] = ()) -> Spec:
    """The spec a command grades with: ``--spec``, ``--homework``, or the one ``submissions`` are
    for. ``args.spec`` is set to its file, for what reads the spec again (workers, provenance)."""
    try:
        args.spec = spec_path_from(args, submissions)
        return load_spec(args.spec)
    except SpecError as exc:
        raise GraderError(str(exc)) from None


def spec_path_from(
    args: argparse.Namespace, submissions: Iterable[Path | None] = ()
) -> Path | None:
    """The spec file of :func:`spec_from` (None: the default homework's); raises SpecError."""
    from autograder import homeworks  # reads submissions: only when asked to infer
    from autograder.messages import msg  # after the zygote's boot (see commands/grade.py)

    lang = getattr(args, "lang", "en")
    name = getattr(args, "homework", None)
    if args.spec is not None and name is not None:
        raise SpecError(msg("hw_spec_and_name", lang))
    if args.spec is not None:
        return args.spec
    if name is None:
        found = {homeworks.infer_homework(s, lang=lang) for s in submissions if s is not None}
        found.discard(None)  # nothing to tell it by: the default homework, unless others say
        if len(found) > 1:
            names = ", ".join(sorted(found))
            raise SpecError(msg("hw_mixed", lang, names=names))
        name = found.pop() if found else None
    return None if name is None else homeworks.homework_spec_path(name, lang)


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
