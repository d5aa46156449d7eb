"""``bpgrade package gradescope|classroom``: package the grader for a grading platform.

``gradescope`` builds ``autograder.zip`` (setup.sh + run_autograder + the grader's source + the
course secret as a 0600 file; never ``solutions/``). ``classroom`` writes
``.github/workflows/classroom.yml`` for a GitHub Classroom template repository.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cases import resolve_secret
from autograder.cli import GraderError
from autograder.commands.common import add_homework_option


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("package", help="package the grader for Gradescope or GitHub Classroom")
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")

    gs = targets.add_parser("gradescope", help="build Gradescope's autograder.zip")
    gs.add_argument("--out", type=Path, default=Path("autograder.zip"))
    add_homework_option(gs)
    gs.add_argument(
        "--secret-file",
        type=Path,
        default=None,
        help="course secret to bake in (default: $BPGRADE_SECRET or $BPGRADE_SECRET_FILE)",
    )
    gs.add_argument(
        "--demo-secret",
        action="store_true",
        help="allow a zip without a course secret (hidden cases then use the public demo secret)",
    )

    cr = targets.add_parser("classroom", help="write .github/workflows/classroom.yml")
    cr.add_argument("--out", type=Path, default=Path("."), help="the template repository's root")
    add_homework_option(cr)
    cr.add_argument(
        "--pip-spec",
        required=True,
        help="what the runner pip-installs, e.g. git+https://github.com/ORG/bpgrade@v0.1.0",
    )
    cr.add_argument("--submission", default="nn.py", help="graded file in the student's repo")
    cr.add_argument("--python", default="3.12", help="Python version on the runner")
    cr.add_argument("--timeout", type=int, default=10, help="grading step limit (minutes)")
    return p


def _secret(args: argparse.Namespace) -> bytes | None:
    if args.secret_file is not None:
        try:
            secret = args.secret_file.read_bytes().strip()
        except OSError as exc:
            raise GraderError(f"cannot read the secret file: {exc}") from None
        if not secret:
            raise GraderError(f"{args.secret_file} is empty")
        return secret
    secret, is_demo = resolve_secret()
    if not is_demo:
        return secret
    if args.demo_secret:
        return None
    raise GraderError(
        "no course secret: set BPGRADE_SECRET or BPGRADE_SECRET_FILE, pass --secret-file, "
        "or --demo-secret for a trial zip whose hidden cases anyone can regenerate"
    )


def _gradescope(args: argparse.Namespace) -> int:
    from autograder.integrations.gradescope import PackageError, build_zip

    secret = _secret(args)
    try:
        _known(args.homework)
        out = build_zip(args.out, secret=secret, homework=args.homework)
    except PackageError as exc:
        raise GraderError(str(exc)) from None
    where = "baked in (0600)" if secret is not None else "absent: demo secret"
    print(f"wrote {out} (course secret {where}); upload it as the Gradescope autograder")
    return 0


def _classroom(args: argparse.Namespace) -> int:
    from autograder.integrations.classroom import WorkflowError, write_workflow

    try:
        _known(args.homework)
        path = write_workflow(
            args.out,
            homework=args.homework,
            submission=args.submission,
            pip_spec=args.pip_spec,
            python=args.python,
            timeout_minutes=args.timeout,
        )
    except WorkflowError as exc:
        raise GraderError(str(exc)) from None
    print(f"wrote {path}; add the secret BPGRADE_SECRET to the repository or organisation")
    return 0


def _known(homework: str | None) -> None:
    """A named homework must exist here: the package would otherwise fail on every submission."""
    from autograder.homeworks import homework_spec_path
    from autograder.spec import SpecError

    if homework is not None:
        try:
            homework_spec_path(homework)
        except SpecError as exc:
            raise GraderError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    return _gradescope(args) if args.target == "gradescope" else _classroom(args)
