"""Options and output helpers shared by several commands."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from autograder.cli import GraderError
from autograder.spec import Spec, SpecError, load_spec


def add_grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="feedback language")
    p.add_argument("--spec", type=Path, default=None, help="assignment spec (TOML)")
    p.add_argument(
        "--tier",
        default="auto",
        choices=("auto", "bwrap", "seccomp", "rlimits"),
        help="sandbox tier for student code (default: the strongest this machine supports)",
    )


def spec_from(args: argparse.Namespace) -> Spec:
    try:
        return load_spec(args.spec)
    except SpecError as exc:
        raise GraderError(str(exc)) from None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
