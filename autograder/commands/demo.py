"""``bpgrade demo``: grade the bundled example submissions and summarise what the grader found."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError
from autograder.commands.common import add_grading_options, spec_from
from autograder.diagnosis import load_catalog
from autograder.grading import GradeReport, grade_submission
from autograder.harness.sandbox import SandboxError
from autograder.harness.zygote import shared_zygote
from autograder.homeworks import spec_for
from autograder.report import to_text
from autograder.spec import Spec, SpecError

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: One folder of examples per homework; each file is graded as the homework it is for.
EXAMPLES = (_EXAMPLES / "submissions", _EXAMPLES / "logreg")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="grade the bundled example submissions of every homework")
    p.add_argument(
        "--examples",
        type=Path,
        action="append",
        default=None,
        help="folder of example submissions (repeatable; default: the bundled ones)",
    )
    p.add_argument("--verbose", action="store_true", help="print every submission's full table")
    add_grading_options(p)
    return p


def _row(report: GradeReport, titles: dict[str, str]) -> str:
    head = f"{Path(report.submission).name:<30} {report.score:>6.2f}/{report.max_score:g}   ({report.execution_time:.2f} s)"
    lost = [f"{p.part} (−{p.points - p.score:.1f})" for p in report.parts if not p.passed]
    tags = sorted({t for p in report.parts for t in p.misconceptions})
    lines = [head]
    if lost:
        lines.append(f"    lost points on: {', '.join(lost)}")
    lines += [f"    named mistake:  {titles.get(t, t)}" for t in tags]
    notes = sorted({n for p in report.parts for n in p.notes})
    lines += [f"    note:           {n}" for n in notes]
    if report.error:
        lines.append(f"    error:          {report.error}")
    return "\n".join(lines)


def _spec_for(args: argparse.Namespace, path: Path) -> Spec:
    """``--spec`` or ``--homework`` for every example, else the homework each one is for."""
    if args.spec is not None or args.homework is not None:
        return spec_from(args)
    try:
        return spec_for(path, lang=args.lang)
    except SpecError as exc:
        raise GraderError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    folders = args.examples or [f for f in EXAMPLES if f.is_dir()]
    files = [
        p for folder in folders for p in sorted(folder.iterdir()) if p.suffix in (".py", ".ipynb")
    ]
    if not files:
        print(f"no example submissions in {', '.join(map(str, folders))}")
        return 1
    reports = []
    shown = None
    try:
        zygote = shared_zygote(args.tier)  # one sandboxed numpy start-up for all the examples
        for path in files:
            spec = _spec_for(args, path)
            if spec.name != shown:
                print(f"\n== {spec.title_in(args.lang)} ({spec.name}) ==")
                shown = spec.name
            catalog = load_catalog(spec.misconceptions_module)
            titles = {m.tag: m.title_in(args.lang) for m in catalog}
            report = grade_submission(
                path, student_id=path.stem, spec=spec, lang=args.lang, tier=args.tier, zygote=zygote
            )
            reports.append(report)
            print(to_text(report) if args.verbose else _row(report, titles), flush=True)
    except SandboxError as exc:
        raise GraderError(f"cannot sandbox student code: {exc}") from None
    print(
        f"\ngraded {len(reports)} submissions in the '{reports[0].tier}' sandbox tier; "
        "`bpgrade grade FILE` shows one submission's full feedback"
    )
    return 0
