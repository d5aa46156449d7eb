"""``bpgrade grade SUBMISSION``: grade one submission, print a table or write results.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.commands.common import add_grading_options, boot_zygote, spec_from
from autograder.files import dump_json, write_atomic
from autograder.harness.sandbox import SandboxError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("grade", help="grade one submission (nn.py, a notebook, or a folder)")
    p.add_argument("submission", type=Path)
    p.add_argument("--student-id", default=None, help="seeds this student's hidden cases")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--out", type=Path, default=None, help="write the report here (atomically)")
    add_grading_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    if not args.submission.exists():  # a mistyped path is the caller's error, not a zero score
        raise GraderError(f"no such file or folder: {args.submission}")
    zygote = boot_zygote(args.tier)
    try:
        # Imported once the zygote is booting: numpy then loads in the sandbox and here at once.
        from autograder.grading import grade_submission
        from autograder.report import to_gradescope, to_text

        spec = spec_from(args, [args.submission])
        try:
            report = grade_submission(
                args.submission,
                student_id=args.student_id,
                spec=spec,
                lang=args.lang,
                tier=args.tier,
                zygote=zygote,
            )
        except SandboxError as exc:
            raise GraderError(f"cannot sandbox student code: {exc}") from None
        json_out = args.format == "json"
        text = dump_json(to_gradescope(report)) if json_out else to_text(report) + "\n"
        if args.out:
            write_atomic(args.out, text)
        else:
            print(text, end="")
    finally:
        if zygote is not None:
            zygote.close()
    return 0
