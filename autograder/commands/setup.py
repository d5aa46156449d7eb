"""``bpgrade setup``: prepare this machine to run student code unprivileged.

As root it installs bubblewrap (apt) and creates the world-readable child runtime in
/opt/bpgrade/child with the packages of the spec's ``[runtime]`` table (rerun it after adding one);
for any other user there is nothing to install: the child runs as that user.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from autograder.cli import GraderError
from autograder.harness.runtime import DEFAULT_CHILD_PREFIX, RuntimeSetupError, setup_child_runtime
from autograder.spec import SpecError, load_spec


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("setup", help="install the sandbox and the child runtime (run as root)")
    p.add_argument("--prefix", default=DEFAULT_CHILD_PREFIX, help="where to create the child venv")
    p.add_argument("--no-bwrap", action="store_true", help="do not install bubblewrap")
    p.add_argument(
        "--spec", type=Path, default=None, help="assignment spec whose [runtime] to provide"
    )
    return p


def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print(
            "not root: student code will run as this user; nothing to install (see `bpgrade doctor`)"
        )
        return 0
    try:
        runtime = load_spec(args.spec).runtime
        for line in setup_child_runtime(
            args.prefix, install_bwrap=not args.no_bwrap, runtime=runtime
        ):
            print(line)
    except (RuntimeSetupError, SpecError) as exc:
        raise GraderError(str(exc)) from None
    print("ready: run `bpgrade doctor` to see the sandbox tiers")
    return 0
