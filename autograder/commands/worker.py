"""``bpgrade worker --broker URL --course DIR``: grade jobs from a Redis broker, on any machine.

One per grading machine. It serves ``bpgrade serve DIR --broker URL`` and
``bpgrade grade-all … --broker URL``: a Celery worker (prefork; ``--concurrency`` pool processes,
each with one sandboxed zygote, like ``grade-all --jobs``) that takes jobs from the live and
regrade queues. The course secret comes from the course folder's 0600 ``secret`` file on this
machine (it never crosses the broker), the specs from its ``course.toml``. See
``docs/deployment.md``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from autograder.cli import GraderError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "worker", help="grade jobs from a broker (for serve --broker and grade-all --broker)"
    )
    p.add_argument(
        "--broker",
        default=os.environ.get("BPGRADE_BROKER"),
        required="BPGRADE_BROKER" not in os.environ,
        help="redis://HOST:PORT/DB or rediss:// (TLS); default $BPGRADE_BROKER (a URL with a "
        "password is better kept out of the process list)",
    )
    p.add_argument(
        "--course",
        type=Path,
        required=True,
        help="the course folder (or its course.toml): specs and the 0600 secret file",
    )
    p.add_argument(
        "--concurrency", "-c", type=int, default=None, help="gradings at once (default: CPUs)"
    )
    p.add_argument(
        "--queues",
        default="live,regrade",
        help="queues to take jobs from: live, regrade or both (default: live,regrade)",
    )
    p.add_argument("--name", default=None, help="worker name (default: bpgrade-PID@HOST)")
    p.add_argument(
        "--allow-remote-broker",
        action="store_true",
        help="accept a broker on another machine without a password (a private network)",
    )
    p.add_argument(
        "--visibility-timeout",
        type=float,
        default=None,
        help="seconds before an unacknowledged job is given to another worker (default: a "
        "submission's whole budget plus overhead; shorter makes long jobs run twice)",
    )
    p.add_argument(
        "--restore-interval",
        type=int,
        default=None,
        help="seconds between scans for jobs past the visibility timeout (default: 5)",
    )
    p.add_argument("--loglevel", default="INFO", help="Celery log level (default: INFO)")
    return p


def run(args: argparse.Namespace) -> int:
    broker = broker_from(args.broker, allow_remote=args.allow_remote_broker)
    from autograder.batch.run import default_jobs
    from autograder.commands.serve import _check_sandbox
    from autograder.distributed import tasks
    from autograder.distributed.celery_app import (
        QUEUES,
        RESTORE_INTERVAL_S,
        default_visibility_timeout,
        make_celery,
        time_limit,
    )
    from autograder.harness.sandbox import MAX_SLOTS
    from autograder.server.course import CourseError

    try:
        ctx = tasks.configure(args.course)
    except CourseError as exc:
        raise GraderError(str(exc)) from None
    _check_sandbox()
    concurrency = args.concurrency or default_jobs()
    if not 1 <= concurrency <= MAX_SLOTS:
        raise GraderError(f"--concurrency must be between 1 and {MAX_SLOTS} (sandbox slots)")
    names = [q.strip() for q in args.queues.split(",") if q.strip()]
    if not names or any(q not in QUEUES for q in names):
        raise GraderError(f"--queues takes {', '.join(QUEUES)} (comma-separated)")
    budget = _longest_budget(ctx.course)
    limit = time_limit(budget)
    visibility = args.visibility_timeout or default_visibility_timeout(budget)
    if visibility <= limit:
        print(
            f"warning: --visibility-timeout {visibility:g} s is not above the longest job "
            f"({limit:g} s): a job still running will be given to another worker too",
            file=sys.stderr,
        )
    app = make_celery(
        broker.url,
        visibility_timeout=visibility,
        hard_time_limit=limit,
        restore_interval=args.restore_interval or RESTORE_INTERVAL_S,
    )
    from celery.signals import worker_process_init

    worker_process_init.connect(tasks.on_process_init, weak=False)
    name = args.name or f"bpgrade-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            f"--queues={','.join(QUEUES[q] for q in names)}",
            f"--hostname={name}",
            f"--loglevel={args.loglevel}",
            "--without-gossip",
        ]
    )
    return 0


def broker_from(url: str, *, allow_remote: bool):
    """The checked, reachable broker, or a :class:`GraderError` that says what to fix."""
    try:
        from autograder.distributed.broker import BrokerError, check_url, ping, warnings_for
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise GraderError(_missing(exc)) from None
    try:
        import celery  # noqa: F401
    except ImportError as exc:
        raise GraderError(_missing(exc)) from None
    try:
        broker = check_url(url, allow_remote=allow_remote)
        ping(broker)
    except BrokerError as exc:
        raise GraderError(str(exc)) from None
    for warning in warnings_for(broker):
        print(f"warning: {warning}", file=sys.stderr)
    return broker


def _missing(exc: ImportError) -> str:
    return (
        f"grading on a broker needs the 'scaleout' extra ({exc.name} is missing): "
        "pip install 'bpgrade[scaleout]'"
    )


def _longest_budget(course) -> float:
    """The largest whole budget among the course's specs (and the bundled one)."""
    from autograder.distributed.celery_app import job_budget
    from autograder.spec import load_spec

    paths = {h.spec for h in course.homeworks.values() if h.spec} | {None}
    return max(job_budget(load_spec(path)) for path in paths)
