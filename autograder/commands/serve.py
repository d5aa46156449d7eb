"""``bpgrade serve DIR``: the course server on one machine (web, database, queue, grading pool).

Students submit on its pages or with the release's ``submit.py``; instructors watch the gradebook.
Nothing else has to run: the database and the queue are one SQLite file in DIR, and the grading
workers are child processes (``--workers``). Stop it with Ctrl+C; a killed server loses nothing
(see :mod:`autograder.server.queue`). With ``--broker URL`` the gradings go to ``bpgrade worker``
processes on other machines instead (:mod:`autograder.distributed`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli import GraderError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="run the course server (made by `bpgrade course init`)")
    p.add_argument("course", type=Path, help="the course folder")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=None, help="grading processes (default: CPUs)")
    p.add_argument(
        "--broker",
        default=None,
        help="grade on `bpgrade worker` processes through this Redis broker "
        "(redis://HOST:PORT/DB, rediss:// for TLS) instead of local workers",
    )
    p.add_argument(
        "--allow-remote-broker",
        action="store_true",
        help="accept a broker on another machine without a password (a private network)",
    )
    p.add_argument(
        "--https-only",
        action="store_true",
        help="mark the session cookie Secure (when an HTTPS proxy is in front)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from autograder.server.app import create_app
        from autograder.server.course import CourseError
    except ImportError as exc:
        raise GraderError(
            f"the course server needs the 'server' extra ({exc.name} is missing): "
            "pip install 'bpgrade[server]'"
        ) from None
    broker = None
    if args.broker is not None:
        from autograder.commands.worker import broker_from

        broker = broker_from(args.broker, allow_remote=args.allow_remote_broker).url
    elif args.workers != 0:
        _check_sandbox()  # with a broker, nothing is graded here
    try:
        app = create_app(
            args.course, workers=args.workers, https_only=args.https_only, broker=broker
        )
    except CourseError as exc:
        raise GraderError(str(exc)) from None
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False)
    return 0


def _check_sandbox() -> None:
    """Refuse to start where hidden cases cannot be graded, instead of failing every submission."""
    from autograder.harness.sandbox import Sandbox, SandboxError

    try:
        Sandbox(tier="auto")
    except SandboxError as exc:
        raise GraderError(f"no sandbox to grade in ({exc}); run `bpgrade doctor`") from None
