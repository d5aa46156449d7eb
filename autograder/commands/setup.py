"""``bpgrade setup``: prepare this machine to run student code unprivileged.

As root it installs bubblewrap (apt) and creates the world-readable child runtime in
/opt/bpgrade/child with the packages of the spec's ``[runtime]`` table (rerun it after adding one);
for any other user there is nothing to install: the child runs as that user.

Either way it compiles the grader's bytecode (the installed package, or the source tree of an
editable install) and, as root, the child runtime's, each with its own interpreter: a grader that
runs with ``PYTHONDONTWRITEBYTECODE=1`` (common on servers and in containers), or a sandbox that
cannot write, then never compiles on a cold start.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
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
        print(compile_bytecode(sys.executable, grader_dirs()))
        return 0
    try:
        runtime = load_spec(args.spec).runtime
        for line in setup_child_runtime(
            args.prefix, install_bwrap=not args.no_bwrap, runtime=runtime
        ):
            print(line)
    except (RuntimeSetupError, SpecError) as exc:
        raise GraderError(str(exc)) from None
    print(compile_bytecode(sys.executable, grader_dirs()))
    child = Path(args.prefix) / "bin" / "python"
    if child.exists():
        print(compile_bytecode(str(child), [str(Path(args.prefix) / "lib")]))
    print("ready: run `bpgrade doctor` to see the sandbox tiers")
    return 0


def grader_dirs() -> list[str]:
    """The grader's own package folders, as imported (an editable install's are the sources)."""
    import autograder
    import bpnet_ref

    return [str(Path(m.__file__).parent) for m in (autograder, bpnet_ref)]


def compile_bytecode(python: str, dirs: list[str]) -> str:
    """Compile every module under ``dirs`` with ``python`` (its own bytecode tag); a line to print.

    A folder it cannot write is skipped, not an error: the grader still works, only colder.
    """
    done = subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", *dirs],
        capture_output=True,
        text=True,
        check=False,
    )
    status = "compiled" if done.returncode == 0 else "could not compile all of"
    return f"bytecode: {status} {', '.join(dirs)} ({Path(python).name})"
