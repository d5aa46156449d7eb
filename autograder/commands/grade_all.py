"""``bpgrade grade-all SUBMISSIONS_DIR --out DIR``: grade a class, resumably, in parallel.

Writes per-student ``results.json`` (Gradescope schema), ``feedback.md`` and ``feedback.html``,
then ``gradebook.csv`` and the class report (``report/index.html``). Rerunning after an
interruption grades only the students without results; ``--force`` regrades everyone. The exit
status is 0 when the batch completed, even if some submissions were broken (they have error rows).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.batch.classreport import write_class_report
from autograder.batch.discover import LAYOUTS, DiscoveryError, discover, printable
from autograder.batch.gradebook import build_rows, write_gradebook
from autograder.batch.run import (
    PROCESS,
    THREAD,
    BatchAborted,
    BatchOptions,
    Outcome,
    default_jobs,
    grade_all,
)
from autograder.cases import resolve_secret
from autograder.cli import GraderError
from autograder.commands.common import add_grading_options, spec_from
from autograder.harness.sandbox import MAX_SLOTS


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "grade-all",
        help="grade a folder of submissions (one per student) into a gradebook and class report",
    )
    p.add_argument("submissions", type=Path, help="folder: one file or folder per student")
    p.add_argument("--out", type=Path, required=True, help="output folder (resumable)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel gradings (default: CPUs)")
    p.add_argument("--roster", type=Path, default=None, help="CSV mapping submissions to ids")
    p.add_argument("--layout", choices=LAYOUTS, default="auto", help="flat or nbgrader tree")
    p.add_argument("--assignment", default=None, help="nbgrader assignment folder name")
    p.add_argument("--force", action="store_true", help="regrade students that have results")
    p.add_argument(
        "--report-only", action="store_true", help="rebuild gradebook and report, grade nothing"
    )
    p.add_argument(
        "--pool",
        choices=(PROCESS, THREAD),
        default=PROCESS,
        help="worker processes (default; faster) or threads for the grading side",
    )
    p.add_argument(
        "--fresh-workers",
        action="store_true",
        help="boot a new sandboxed interpreter per submission instead of forking it from each "
        "job's zygote (slower; for comparison, or if a zygote misbehaves)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--broker",
        default=None,
        help="send the gradings to `bpgrade worker` processes through this Redis broker "
        "(redis://HOST:PORT/DB, rediss:// for TLS); --jobs, --pool and --tier are then theirs",
    )
    p.add_argument(
        "--allow-remote-broker",
        action="store_true",
        help="accept a broker on another machine without a password (a private network)",
    )
    add_grading_options(p)
    return p


def _options(args: argparse.Namespace) -> BatchOptions:
    jobs = args.jobs if args.jobs is not None else default_jobs()
    if not 1 <= jobs <= MAX_SLOTS:
        raise GraderError(f"--jobs must be between 1 and {MAX_SLOTS} (the sandbox's slot uids)")
    return BatchOptions(
        out=args.out,
        jobs=jobs,
        spec_path=args.spec,
        lang=args.lang,
        tier=args.tier,
        force=args.force,
        pool=args.pool,
        fresh_workers=args.fresh_workers,
    )


class _Progress:
    """A rich progress bar on stderr; shows counts only (student names are not terminal-safe)."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar, self.task, self.errors = enabled, None, None, 0

    def start(self, todo: int, done: int) -> None:
        if done:
            print(f"{done} students already graded; grading the remaining {todo}", flush=True)
        if not self.enabled or not todo:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[errors]} not graded normally"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.bar.start()
        self.task = self.bar.add_task("grading", total=todo, errors=0)

    def advance(self, outcome: Outcome) -> None:
        self.errors += outcome.status != "graded"
        if self.bar is not None:
            self.bar.update(self.task, advance=1, errors=self.errors)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(args: argparse.Namespace) -> int:
    exclude = (args.out,) + ((args.roster,) if args.roster else ())
    try:
        found = discover(
            args.submissions,
            roster=args.roster,
            layout=args.layout,
            assignment=args.assignment,
            exclude=exclude,
            lang=args.lang,
        )
    except DiscoveryError as exc:
        raise GraderError(str(exc)) from None
    for warning in found.warnings:
        print(f"warning: {warning}")
    spec = spec_from(args, [s.path for s in found.submissions])  # sets args.spec for the workers
    options = _options(args)
    broker = None
    if args.broker is not None and not args.report_only:
        from autograder.commands.worker import broker_from

        broker = broker_from(args.broker, allow_remote=args.allow_remote_broker).url
    if resolve_secret()[1] and not args.report_only:
        if broker is None:
            print(
                "warning: no course secret ($BPGRADE_SECRET or $BPGRADE_SECRET_FILE): hidden cases use the public demo secret"
            )
        else:
            print(
                "note: no course secret here ($BPGRADE_SECRET): the workers' course secret seeds "
                "the hidden cases, unchecked"
            )
    if not args.report_only:
        _grade(found.submissions, options, progress=not args.no_progress, broker=broker)
    rows = build_rows(found.submissions, args.out, spec)
    gradebook = write_gradebook(rows, args.out, spec)
    report = write_class_report(rows, spec, args.out, lang=args.lang)
    _print_summary(rows, gradebook, report)
    return 0


def _grade(
    submissions, options: BatchOptions, *, progress: bool, broker: str | None = None
) -> None:
    bar = _Progress(progress)
    try:
        if broker is None:
            result = grade_all(submissions, options, on_plan=bar.start, on_outcome=bar.advance)
        else:
            from autograder.distributed.batch import grade_all_broker

            result = grade_all_broker(
                submissions, options, broker, on_plan=bar.start, on_outcome=bar.advance
            )
    except BatchAborted as exc:
        raise GraderError(str(exc)) from None
    finally:
        bar.stop()
    if result.outcomes:
        print(
            f"graded {len(result.outcomes)} submissions in {result.wall_time:.1f} s "
            + (f"with {options.jobs} jobs" if broker is None else "on the broker's workers")
        )
    for o in result.outcomes:
        if o.status == "grader_error":  # the instructor's terminal gets the detail
            print(f"grader error for {printable(o.student_id)}: {printable(o.detail)[:300]}")


def _print_summary(rows, gradebook: Path, report: Path) -> None:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    listed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(rows)} students: {listed}")
    print(f"gradebook: {gradebook}")
    print(f"class report: {report}")
