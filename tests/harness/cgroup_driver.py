"""Grade a hostile submission, then correct ones, on one zygote, from inside a CPU cgroup.

Usage: ``python cgroup_driver.py PROCS TIER PARTS ATTACKER VICTIM...`` -> prints one JSON list:
each victim's report. Executed by test_zygote.py: this grading process joins the cgroup (PROCS is
its ``cgroup.procs`` file) before it boots the zygote, so the zygote and every worker it forks
share the cgroup's CPU quota with the load the test runs there.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run with -I: no PYTHONPATH


def summary(report) -> dict:
    """What the test asserts on: score, error, and every case's verdict."""
    cases = [(c.case_id, c.label, c.category) for part in report.parts for c in part.cases]
    return {
        "score": report.score,
        "max_score": report.max_score,
        "error": report.error,
        "tier": report.tier,
        "cases": cases,
        "failed": [case for case in cases if case[2] != "passed"],
    }


def main() -> None:
    procs, tier, parts, attacker, *victims = sys.argv[1:]
    with open(procs, "w") as fh:
        fh.write(str(os.getpid()))
    from autograder.grading import grade_submission
    from autograder.harness.zygote import Zygote

    wanted = parts.split(",")
    reports = []
    with Zygote(tier=tier) as zygote:
        grade_submission(attacker, student_id="a", secret=b"k", zygote=zygote, parts=wanted)
        for number, victim in enumerate(victims):
            report = grade_submission(
                victim, student_id=f"b{number}", secret=b"k", zygote=zygote, parts=wanted
            )
            reports.append({**summary(report), "zygote_boots": zygote.boots})
    print(json.dumps(reports))


if __name__ == "__main__":
    main()
