"""``bpgrade check nn.py``: the student's self-check on the public cases, through the same sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.commands.common import add_grading_options, boot_zygote, spec_from
from autograder.harness.sandbox import SandboxError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="self-check: run the public cases on your nn.py or notebook")
    p.add_argument("submission", type=Path, nargs="?", default=Path("nn.py"))
    p.add_argument("--part", action="append", default=None, help="only this part (repeatable)")
    add_grading_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    zygote = boot_zygote(args.tier)
    try:
        # Imported once the zygote is booting: numpy then loads in the sandbox and here at once.
        from autograder.cases import PUBLIC
        from autograder.grading import grade_submission
        from autograder.report import to_text

        report = grade_submission(
            args.submission,
            spec=spec_from(args),
            lang=args.lang,
            tier=args.tier,
            visibility=(PUBLIC,),
            parts=args.part,
            student_id="self-check",
            zygote=zygote,
        )
    except SandboxError as exc:
        raise GraderError(f"cannot sandbox student code: {exc}") from None
    finally:
        if zygote is not None:
            zygote.close()
    print(to_text(report))
    return 0
