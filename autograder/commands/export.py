"""``bpgrade export``: the homework for nbgrader or otter-grader, and the grader service they call.

    bpgrade export nbgrader COURSE_DIR [--assignment backprop] [--lang en|zh]
    bpgrade export otter OUT_DIR [--lang en|zh]
    bpgrade export serve [--course-dir COURSE_DIR] [--socket PATH] [--allow-uid UID ...]
                         [--grading-slots N]
    bpgrade export lms --format canvas|moodle|blackboard GRADED --roster ROSTER.csv --out FILE
                       [--assignment NAME] [--assignment-id ID] [--column-id ID]
                       [--id-column COL] [--identifier useridnumber|username|email]
                       [--feedback] [--missing blank|zero] [--homework NAME]

The exported test cells hold no hidden case: they ask the grader service, a separate process that
holds the course secret, for each part's score (see :mod:`autograder.integrations.nbgrader`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from autograder.cases import resolve_secret
from autograder.cli import GraderError
from autograder.commands.common import add_grading_options, add_homework_option, spec_from
from autograder.integrations import nbgrader, otter

LMS_FORMATS = ("canvas", "moodle", "blackboard")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="export the homework to nbgrader or otter-grader (and serve their test cells), "
        "or the grades to an LMS",
    )
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")
    nb = targets.add_parser("nbgrader", help="write COURSE_DIR/source/<assignment>/ for nbgrader")
    nb.add_argument("course_dir", type=Path)
    nb.add_argument("--assignment", default="backprop", help="nbgrader assignment id")
    nb.add_argument("--lang", choices=("en", "zh"), default="en")
    add_homework_option(nb)
    ot = targets.add_parser("otter", help="write an otter-assign master notebook into OUT_DIR")
    ot.add_argument("out_dir", type=Path)
    ot.add_argument("--lang", choices=("en", "zh"), default="en")
    add_homework_option(ot)
    sv = targets.add_parser(
        "serve", help="grade for nbgrader/otter test cells over a Unix socket (holds the secret)"
    )
    sv.add_argument("--course-dir", type=Path, default=None, help="nbgrader course folder")
    sv.add_argument("--assignment", default="backprop", help="nbgrader assignment id")
    sv.add_argument(
        "--socket", type=Path, default=None, help="default: <course>/.bpgrade/grader.sock"
    )
    sv.add_argument(
        "--allow-uid",
        type=int,
        action="append",
        default=None,
        help="a uid whose kernels may ask (repeatable; default: this uid and the course owner)",
    )
    sv.add_argument(
        "--grading-slots",
        type=_positive,
        default=None,
        metavar="N",
        help="submissions graded at once (default: half the CPUs, 1 to 4); other requests wait",
    )
    add_grading_options(sv)
    _add_lms(targets)
    return p


def _add_lms(targets) -> None:
    lms = targets.add_parser(
        "lms", help="a grade file Canvas, Moodle or Blackboard imports (from grade-all or a course)"
    )
    lms.add_argument("graded", type=Path, help="grade-all output folder or course folder")
    lms.add_argument("--format", dest="lms_format", required=True, choices=LMS_FORMATS)
    lms.add_argument("--roster", type=Path, required=True, help="CSV: LMS identities + bpgrade ids")
    lms.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    lms.add_argument("--assignment", default="Backpropagation ex4", help="LMS column name")
    lms.add_argument("--assignment-id", default="", help="Canvas assignment id (else: new one)")
    lms.add_argument("--column-id", default="", help="Blackboard Grade Center column id")
    lms.add_argument(
        "--id-column", default=None, help="roster column with bpgrade student ids (student_id, id)"
    )
    lms.add_argument(
        "--identifier",
        choices=("useridnumber", "username", "email"),
        default="username",
        help="Moodle: the column users are matched by",
    )
    lms.add_argument("--feedback", action="store_true", help="Moodle: add a feedback column")
    lms.add_argument(
        "--missing",
        choices=("blank", "zero"),
        default="blank",
        help="a roster student with no submission: no grade (default) or 0",
    )
    lms.add_argument("--homework", default=None, help="a course folder's homework")
    lms.add_argument("--lang", choices=("en", "zh"), default="en", help="feedback language")


def run(args: argparse.Namespace) -> int:
    if args.target == "lms":
        return _lms(args)
    try:
        if args.target == "nbgrader":
            written = nbgrader.export_nbgrader(
                args.course_dir,
                assignment=args.assignment,
                lang=args.lang,
                homework=args.homework or "backprop",
            )
            _print_written(written, "then: nbgrader generate_assignment " + args.assignment)
            return 0
        if args.target == "otter":
            homework = args.homework or "backprop"
            written = otter.export_otter(args.out_dir, lang=args.lang, homework=homework)
            _print_written(written, f"then: otter assign {written[0]} DIST")
            return 0
        return _serve(args)
    except nbgrader.ExportError as exc:
        raise GraderError(str(exc)) from None


def _lms(args: argparse.Namespace) -> int:
    from autograder.files import write_atomic
    from autograder.graded import GradedError, load_graded
    from autograder.integrations.lms import ExportError, LmsOptions, export_lms

    options = LmsOptions(
        fmt=args.lms_format,
        assignment=args.assignment,
        assignment_id=args.assignment_id,
        column_id=args.column_id,
        id_column=args.id_column,
        identifier=args.identifier,
        feedback=args.feedback,
        missing=args.missing,
        lang=args.lang,
    )
    try:
        graded = load_graded(args.graded, homework=args.homework)
        text, summary = export_lms(graded, args.roster, options)
    except (GradedError, ExportError) as exc:
        raise GraderError(str(exc)) from None
    write_atomic(args.out, text)
    print(f"wrote {args.out} ({args.lms_format}, from {graded.source})", file=sys.stderr)
    for line in summary.lines(args.missing):
        print(line, file=sys.stderr)
    return 0


def _print_written(paths: list[Path], hint: str) -> None:
    for path in paths:
        print(f"wrote {path}")
    print(hint)


def _serve(args: argparse.Namespace) -> int:
    socket_path = args.socket or nbgrader.default_socket(args.course_dir)
    if socket_path is None:
        raise GraderError("give --socket PATH (or --course-dir for <course>/.bpgrade/grader.sock)")
    nbgrader.make_undumpable()
    secret, is_demo = resolve_secret()
    # The sandboxed children get a cleared environment anyway; this keeps the secret out of
    # anything else this process starts.
    os.environ.pop("BPGRADE_SECRET", None)
    spec = spec_from(args)
    config = nbgrader.ServiceConfig(
        course_dir=args.course_dir,
        assignment=args.assignment,
        notebook=f"{spec.name}.ipynb",
        lang=args.lang,
        tier=args.tier,
        spec=spec,
        secret=secret,
        allowed_uids=frozenset(args.allow_uid or _default_uids(args.course_dir)),
        grading_slots=args.grading_slots or nbgrader.default_grading_slots(),
    )
    server = nbgrader.open_service(socket_path, nbgrader.GraderService(config))
    signal.signal(signal.SIGTERM, _stop)
    if is_demo:
        print(
            "bpgrade service: WARNING: no BPGRADE_SECRET: hidden cases use the public demo secret"
        )
    uids = ", ".join(str(u) for u in sorted(config.allowed_uids))
    print(
        f"bpgrade service: listening on {socket_path} (uids {uids}; "
        f"{config.grading_slots} grading slot(s))",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        Path(socket_path).unlink(missing_ok=True)
    return 0


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # serve_forever's loop unwinds through the finally above


def _default_uids(course_dir: Path | None) -> set[int]:
    uids = {os.geteuid()}
    if course_dir is not None and Path(course_dir).exists():
        uids.add(Path(course_dir).stat().st_uid)  # the instructor who runs nbgrader there
    return uids


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
