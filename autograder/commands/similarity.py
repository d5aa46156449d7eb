"""``bpgrade similarity SUBMISSIONS --out DIR``: which submissions share code (copydetect).

    bpgrade similarity submissions/ --out graded/similarity [--threshold 0.6] [--min-longest 200]
                       [--boilerplate last_year.py ...] [--no-starter] [--common 0.5]

Reads every submission through the guarded reader (nothing is run), subtracts the released
starter code, and writes ``DIR/index.html`` (ranked pairs, matching regions side by side) and
``DIR/pairs.json``. Similarity, not a verdict. Put DIR at ``<grade-all out>/similarity`` and the
class report links to it (``bpgrade grade-all ... --report-only`` refreshes the link).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from autograder.cli import GraderError


def add_parser(sub) -> argparse.ArgumentParser:
    from autograder.similarity import DEFAULT_COMMON, DEFAULT_MIN_LONGEST, DEFAULT_THRESHOLD

    p = sub.add_parser(
        "similarity", help="rank pairs of submissions by shared code (similarity, not a verdict)"
    )
    p.add_argument("submissions", type=Path, help="folder: one file or folder per student")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="score to flag")
    p.add_argument(
        "--min-longest",
        type=int,
        default=DEFAULT_MIN_LONGEST,
        help="shortest shared run (normalised characters) a flagged pair needs",
    )
    p.add_argument(
        "--boilerplate",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="more code that is not evidence (the starter code is always subtracted)",
    )
    p.add_argument("--no-starter", action="store_true", help="keep the released starter code")
    p.add_argument(
        "--common",
        type=float,
        default=DEFAULT_COMMON,
        help="drop code shared by more than this share of the class (0 keeps all)",
    )
    p.add_argument("--roster", type=Path, default=None, help="CSV mapping submissions to ids")
    p.add_argument("--layout", choices=("auto", "flat", "nbgrader"), default="auto")
    p.add_argument("--assignment", default=None, help="nbgrader assignment folder name")
    return p


def run(args: argparse.Namespace) -> int:
    from autograder.batch.discover import DiscoveryError, discover, printable
    from autograder.report.similarity import write_report
    from autograder.similarity import SimilarityError, find_similar, read_class

    started = time.perf_counter()
    exclude = (args.out,) + ((args.roster,) if args.roster else ())
    try:
        found = discover(
            args.submissions,
            roster=args.roster,
            layout=args.layout,
            assignment=args.assignment,
            exclude=exclude,
        )
        docs = read_class([(s.student_id, s.path) for s in found.submissions])
        result = find_similar(
            docs,
            boilerplate=args.boilerplate,
            starter=not args.no_starter,
            threshold=args.threshold,
            min_longest=args.min_longest,
            common=args.common or None,
        )
    except (DiscoveryError, SimilarityError, OSError) as exc:
        raise GraderError(str(exc)) from None
    index = write_report(result, args.out)
    flagged = [p for p in result.pairs if p.flagged]
    print(
        f"{len(docs)} submissions, {len(result.pairs)} pairs sharing code, {len(flagged)} "
        f"flagged, in {time.perf_counter() - started:.1f} s (similarity, not a verdict)"
    )
    for p in flagged[:10]:
        print(f"  {printable(p.a)} ~ {printable(p.b)}: score {p.score:.2f}, longest {p.longest}")
    unread = [d for d in docs if d.problem]
    if unread:
        print(f"{len(unread)} submissions could not be read (listed in the report)")
    print(f"report: {index}")
    return 0
