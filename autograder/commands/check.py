"""``bpgrade check nn.py``: the student's self-check on the public cases, through the same sandbox.

Where this machine has no sandbox, the code runs as a plain local process instead (public cases
only) and the table says so; ``--tier local`` asks for that directly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.commands.common import add_grading_options, boot_zygote, spec_from
from autograder.harness.sandbox import LOCAL_TIER, SandboxError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="self-check: run the public cases on your nn.py or notebook")
    p.add_argument("submission", type=Path, nargs="?", default=Path("nn.py"))
    p.add_argument("--part", action="append", default=None, help="only this part (repeatable)")
    add_grading_options(p, local=True)
    return p


def run(args: argparse.Namespace) -> int:
    tier = args.tier
    try:
        zygote = boot_zygote(tier)
    except GraderError:
        if tier != "auto":
            raise
        zygote, tier = None, LOCAL_TIER  # no tier works here: the self-check runs locally
    try:
        # Imported once the zygote is booting: numpy then loads in the sandbox and here at once.
        from autograder.report import to_text
        from autograder.selfcheck import self_check

        report = self_check(
            args.submission,
            spec=spec_from(args, [args.submission]),
            lang=args.lang,
            parts=args.part,
            tier=tier,
            zygote=zygote,
        )
    except SandboxError as exc:
        raise GraderError(f"cannot run the self-check: {exc}") from None
    finally:
        if zygote is not None:
            zygote.close()
    print(to_text(report))
    return 0
