"""Run a few hostile cases in the ``rlimits`` tier; executed by test_sandbox.py as an unprivileged uid.

Usage: ``python rlimits_driver.py CASES_JSON`` -> prints one JSON object (case name -> findings).
The ``rlimits`` tier refuses to run as root, so it can only be exercised from a non-root process.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run with -I: no PYTHONPATH

from autograder.harness.runner import SandboxedSubmission  # noqa: E402
from autograder.harness.sandbox import Limits, Sandbox, pids_of_uid  # noqa: E402


def run_case(case: dict, limits: Limits) -> dict:
    sandbox = Sandbox(tier="rlimits", seccomp=case["layers"], landlock=case["layers"])
    before = set(pids_of_uid(os.getuid()))
    with SandboxedSubmission(
        case["source"] + "\ndef ok():\n    return 42.0\n", sandbox=sandbox, limits=limits
    ) as sub:
        loaded = sub.load()
        out = (
            loaded if loaded.status != "ok" else sub.call("attack", [], {}, timeout=case["timeout"])
        )
        after = sub.call("ok", [], {}, timeout=5)
        result_after = [after.status, after.error_type, after.error_message, sub.stderr[-300:]]
        result = {
            "status": out.status,
            "error_type": out.error_type,
            "ok_after": after.status == "ok",
            "after": result_after,
            "tier": sub.tier,
            "warnings": sub.warnings,
            "layers": sub.layers,
        }
    result["left"] = sorted(set(pids_of_uid(os.getuid())) - before - {os.getpid()})
    return result


def main() -> None:
    cases = json.loads(sys.argv[1])
    limits = Limits(start_timeout=20, load_timeout=2, call_timeout=1, total_budget=30, nproc=32)
    print(
        json.dumps(
            {c["name"] + ("+layers" if c["layers"] else ""): run_case(c, limits) for c in cases}
        )
    )


if __name__ == "__main__":
    main()
