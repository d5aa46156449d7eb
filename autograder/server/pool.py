"""The local grading pool: worker processes on this machine, restarted when they die.

The pool owns its workers' leases: when one dies (SIGKILL, out of memory, a grader crash) its
claimed job goes straight back to the queue (:meth:`JobQueue.release_worker`) and a fresh worker
takes its place; at start every claimed job is released, since no worker of a previous server
can still be alive (they die with it). Leases that expire anyway (a hung worker) are released by
the same supervisor thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from autograder.server import db
from autograder.server.queue import SQLiteQueue
from autograder.server.worker import worker_name

SUPERVISE_EVERY = 0.5
EXPIRED_EVERY = 30.0
#: A worker that dies this soon after starting, this many times in a row, is started less often.
CRASH_LOOP_SECONDS, CRASH_LOOP_BACKOFF = 5.0, 5.0


class LocalPool:
    """``workers`` grading processes for the course at ``course_root``.

    Parameters
    ----------
    course_root : Path
    db_path : Path
    workers : int
    """

    def __init__(self, course_root: Path, db_path: Path, workers: int):
        self.course_root = Path(course_root)
        self.queue = SQLiteQueue(db.connect(db_path))
        self.size = max(1, int(workers))
        self.procs: list[subprocess.Popen] = []
        self.started_at: dict[int, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        # Linux's PR_SET_PDEATHSIG follows the *thread* that started a worker: the supervisor
        # thread, which starts the replacements, must outlive them, or they die mid-job the moment
        # it ends. It leaves its loop (``left_loop``) and waits for ``drained`` (set by stop).
        self.left_loop = threading.Event()
        self.drained = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Release stale claims, start the workers and the supervisor."""
        self.queue.release_all()
        with self.lock:
            self.procs = [self._spawn() for _ in range(self.size)]
        self.thread = threading.Thread(target=self._supervise, name="bpgrade-pool", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        """Tell idle workers a job is queued (they also look every second on their own)."""
        with self.lock:
            for proc in self.procs:
                try:
                    os.write(proc.stdin.fileno(), b".")
                except (OSError, ValueError):
                    pass  # dying or dead: the supervisor replaces it

    def alive(self) -> int:
        with self.lock:
            return sum(proc.poll() is None for proc in self.procs)

    def pids(self) -> list[int]:
        with self.lock:
            return [proc.pid for proc in self.procs]

    def stop(self, grace: float = 5.0) -> None:
        """Let workers finish their job (up to ``grace`` seconds), then kill them; release claims."""
        self.stopping.set()
        if self.thread is not None:  # no replacement is being started after this
            self.left_loop.wait(timeout=SUPERVISE_EVERY + CRASH_LOOP_BACKOFF + 1.0)
        with self.lock:
            procs = list(self.procs)
        for proc in procs:
            proc.stdin.close()  # end-of-file: leave after the current job
        deadline = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.drained.set()
        if self.thread is not None:  # the supervisor shares self.queue's connection
            self.thread.join(timeout=SUPERVISE_EVERY + CRASH_LOOP_BACKOFF + 1.0)
        for proc in procs:
            self.queue.release_worker(worker_name(proc.pid))

    def _spawn(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder.server.worker",
                str(self.course_root),
                "--parent-pid",
                str(os.getpid()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        self.started_at[proc.pid] = time.monotonic()
        return proc

    def _supervise(self) -> None:
        try:
            self._replace_the_dead()
        finally:
            self.left_loop.set()
            self.drained.wait()  # keep the replacements' parent thread alive (see __init__)

    def _replace_the_dead(self) -> None:
        last_expired = time.monotonic()
        while not self.stopping.wait(SUPERVISE_EVERY):
            with self.lock:
                dead = [(i, proc) for i, proc in enumerate(self.procs) if proc.poll() is not None]
            for i, proc in dead:
                if self.stopping.is_set():
                    return
                replacement = self._replace(proc)
                with self.lock:
                    self.procs[i] = replacement
            if time.monotonic() - last_expired > EXPIRED_EVERY:
                self.queue.release_expired()
                last_expired = time.monotonic()

    def _replace(self, dead: subprocess.Popen) -> subprocess.Popen:
        self.queue.release_worker(worker_name(dead.pid))
        lived = time.monotonic() - self.started_at.pop(dead.pid, 0.0)
        if lived < CRASH_LOOP_SECONDS:
            time.sleep(CRASH_LOOP_BACKOFF)  # a worker that cannot start must not spin the CPU
        return self._spawn()
