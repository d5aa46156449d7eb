"""``Zygote``: one sandboxed, numpy-loaded process that forks a fresh worker per submission.

A worker spends most of its start-up importing numpy (about 0.15 s of CPU). A zygote pays that
once: it starts in the same sandbox a worker would (slot uid, bubblewrap, rlimits), imports numpy,
and then only forks. Each fork is a new worker for one submission; it installs Landlock and
seccomp and says ``ready`` exactly like a freshly started one (``worker.py``, ``become_worker``).

Why a submission cannot reach the next one through a shared zygote:

* the zygote never runs student code and never receives sources or cases; those travel on the
  worker's own pipes, which the parent creates per fork and hands over with SCM_RIGHTS;
* every forked worker must have the seccomp deny-list active (the parent refuses its ``ready``
  otherwise): it cannot fork, signal anything but itself (nor make a file signal for it:
  ``F_SETOWN``, ``F_SETSIG``, ``O_ASYNC``), trace, change the scheduling of itself or the zygote
  (``sched_set*``, ``setpriority``, ``ioprio_set``), or create or change a file, and it runs in a
  session of its own with a /dev/null of its own on fd 0. The zygote is not dumpable either, so a
  process of the same uid cannot open its memory or fds through /proc;
* what a fork inherits besides memory (policy, nice, CPU affinity, I/O priority, rlimits) is
  checked by the zygote after every reap and before every fork against what it started with:
  put back where an unprivileged process can, otherwise the zygote is reported unclean and
  rebuilt, so every submission runs with the scheduling of the first;
* :meth:`Zygote.reap` has the zygote ``kill(-1, SIGKILL)`` and wait until it has no descendant
  left. The zygote is a child subreaper, so every orphan comes back to it. The kill reaches only
  the sandbox: a bubblewrap pid namespace, or a slot uid no one else uses. That is why zygotes
  exist only in those tiers, and only with seccomp (:meth:`Zygote.supported`); elsewhere (the
  ``rlimits`` tier, an arch without our seccomp table) each submission starts its own worker;
* anything unexpected (no answer, a malformed reply, processes left) tears the whole sandbox down
  the old way (every process of the slot uid killed, its files removed) and the next fork boots a
  new zygote.

This module imports only the standard library, so the CLI can boot a zygote before it imports
numpy itself: both imports then run at once on two cores.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import weakref
from dataclasses import dataclass

from .sandbox import Limits, Sandbox, SandboxError, Slot, Stage, acquire_slot

__all__ = ["WorkerPipes", "Zygote", "boot_zygote", "shared_zygote"]

MESSAGE_BYTES = 64 * 1024
REPLY_TIMEOUT = 5.0
STDERR_KEPT = 4096


class ZygoteError(Exception):
    """The zygote misbehaved or died; its sandbox is torn down and rebuilt on the next fork."""


@dataclass
class WorkerPipes:
    """The parent's ends of one forked worker's pipes."""

    request: int
    response: int
    stderr: int


def _resource_limits(limits: Limits) -> tuple[int, ...]:
    """The limits a zygote fixes for every worker it forks (the rest are the parent's timers)."""
    return (
        limits.memory_bytes,
        limits.cpu_seconds,
        limits.nproc,
        limits.fsize_bytes,
        limits.nofile,
        limits.max_result_bytes,
    )


class Zygote:
    """A sandboxed template worker; :meth:`fork` makes one fresh worker per submission.

    Parameters
    ----------
    sandbox : Sandbox, optional
        Isolation configuration; default ``Sandbox(tier=tier)``.
    tier : str
        Used when ``sandbox`` is not given.
    limits : Limits, optional
        rlimits of the zygote and of every worker it forks, and its start timeout.

    Attributes
    ----------
    boots : int
        Zygote processes started (more than one after a teardown).
    forks : int
        Workers forked.

    Notes
    -----
    Use a zygote from the thread that created it (bubblewrap's ``--die-with-parent`` follows the
    thread) and for one submission at a time. As root it holds one slot uid until :meth:`close`.
    """

    def __init__(
        self, sandbox: Sandbox | None = None, *, tier: str = "auto", limits: Limits | None = None
    ) -> None:
        self.sandbox = sandbox or Sandbox(tier=tier)
        if not self.supported(self.sandbox):
            raise SandboxError(
                f"no zygote in tier {self.sandbox.tier!r} (seccomp "
                f"{'on' if getattr(self.sandbox, 'seccomp', False) else 'off'}): it needs a pid "
                "namespace or a slot uid, and the seccomp deny-list"
            )
        self.limits = limits or Limits()
        self.tier = self.sandbox.tier
        self.boots = 0
        self.forks = 0
        # The running zygote process and its control socket, shared with the finalizer (which
        # must not hold ``self``).
        self._live: dict = {"proc": None, "control": None}
        self._owed: list[str] = []
        self._stderr = bytearray()
        self._closed = False
        self.slot: Slot | None = acquire_slot() if os.geteuid() == 0 else None
        try:
            self.stage: Stage = self.sandbox.make_stage("", "nn.py", self.slot)
        except BaseException:
            if self.slot is not None:
                self.slot.release()
            raise
        self._finalizer = weakref.finalize(
            self, Zygote._final_close, self.sandbox, self.stage, self.slot, self._live
        )

    # ------------------------------------------------------------------ public API

    @staticmethod
    def supported(sandbox: Sandbox) -> bool:
        """Whether submissions may share a zygote's sandbox one after another.

        Two conditions: ``kill(-1)`` from the zygote reaches only its sandbox (a pid namespace or
        a slot uid), so a reap cannot touch the grader or anyone else; and every worker runs
        under the seccomp deny-list (required in its ``ready``), so it cannot fork, signal the
        zygote or leave a file for the next submission.
        """
        confined = sandbox.tier == "bwrap" or bool(getattr(sandbox, "drop_uid", False))
        return confined and bool(getattr(sandbox, "seccomp", False))

    def matches(self, limits: Limits) -> bool:
        """Whether workers of this zygote get the resource limits ``limits`` asks for."""
        return _resource_limits(limits) == _resource_limits(self.limits)

    @property
    def alive(self) -> bool:
        """Whether a zygote process is running (or starting)."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Boot the zygote now without waiting; a :meth:`fork` queues behind its start-up."""
        self._check_open()
        if self._proc is not None:
            return
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = self.sandbox.spawn(
                self.stage, self.limits, self.slot, control=child_end.fileno()
            )
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        assert proc.stderr is not None
        os.set_blocking(proc.stderr.fileno(), False)
        self._live.update(proc=proc, control=parent_end)
        self._owed = ["ready"]
        self.boots += 1

    def fork(
        self, source: str | bytes, filename: str, files: dict[str, bytes] | None = None
    ) -> WorkerPipes:
        """Stage ``source`` and ask for a fresh worker; return its pipes without waiting.

        The worker's ``ready`` frame arrives on ``response`` (the runner waits for it with its
        start deadline). A zygote that died is rebuilt once.

        Parameters
        ----------
        source : str or bytes
            The student's module.
        filename : str
            Its file name in the stage (``nn.py``).
        files : dict of str to bytes, optional
            The submission's other files. Every fork gets a new working folder holding them
            (the previous one is deleted first), removed again at the submission's close.

        Returns
        -------
        WorkerPipes
        """
        self._check_open()
        self.stage.write_source(source, filename, self.slot, files)
        for attempt in (1, 2):
            self.start()
            try:
                return self._send_fork()
            except (OSError, ZygoteError):
                self._teardown()
                if attempt == 2:
                    raise SandboxError("the sandbox zygote died twice while forking") from None
        raise AssertionError("unreachable")

    def reap(self, wait: float = 0.0) -> int | None:
        """Kill the current worker and everything it started; wait until nothing is left.

        Parameters
        ----------
        wait : float
            Seconds to let a worker that is exiting by itself finish first (its exit status is
            then known).

        Returns
        -------
        int or None
            The worker's wait status (``os.waitstatus_to_exitcode`` decodes it) if it exited by
            itself within ``wait``; None otherwise or when the zygote had to be torn down.
        """
        if self._proc is None or self._closed:
            return None
        try:
            try:
                self._settle()
                reply = self._ask({"op": "reap", "wait": max(0.0, float(wait))}, "reaped", wait)
            except (OSError, ZygoteError):
                self._teardown()
                return None
            if reply.get("clean") is not True:
                self._teardown()
                return None
        finally:
            # The worker is gone: its source and working folder go with it (a next fork, of
            # this submission or another, gets new ones).
            self.stage.clear_source()
        status = reply.get("status")
        return status if isinstance(status, int) and not isinstance(status, bool) else None

    def close(self) -> None:
        """Kill the zygote's sandbox, delete its stage and free its slot."""
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stderr(self) -> str:
        """The last bytes the zygote itself wrote to stderr (start-up failures)."""
        self._drain_stderr()
        return self._stderr.decode("utf-8", "replace")

    # ------------------------------------------------------------------ internals

    @property
    def _proc(self):
        return self._live["proc"]

    @property
    def _control(self) -> socket.socket | None:
        return self._live["control"]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("Zygote is closed")

    def _send_fork(self) -> WorkerPipes:
        assert self._control is not None
        request_r, request_w = os.pipe()
        response_r, response_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        theirs = [request_r, response_w, stderr_w]
        try:
            message = json.dumps({"op": "fork"}).encode()
            if socket.send_fds(self._control, [message], theirs) != len(message):
                raise ZygoteError("short write")
        except BaseException:
            for fd in (request_w, response_r, stderr_r):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        self._owed.append("forked")
        self.forks += 1
        return WorkerPipes(request_w, response_r, stderr_r)

    def _settle(self) -> None:
        """Read the replies still owed (``ready`` of a new zygote, ``forked``) in order."""
        deadline = time.monotonic() + self.limits.start_timeout
        while self._owed:
            expected = self._owed[0]
            reply = self._receive(deadline)
            if reply.get("op") != expected or (expected == "ready" and reply.get("status") != "ok"):
                raise ZygoteError(f"expected {expected}")
            self._owed.pop(0)

    def _ask(self, message: dict, expected: str, extra: float) -> dict:
        assert self._control is not None
        self._control.settimeout(REPLY_TIMEOUT + extra)
        self._control.send(json.dumps(message).encode())
        reply = self._receive(time.monotonic() + REPLY_TIMEOUT + extra)
        if reply.get("op") != expected:
            raise ZygoteError(f"expected {expected}")
        return reply

    def _receive(self, deadline: float) -> dict:
        """One reply: a bounded JSON object, before ``deadline`` (fds it may carry are dropped)."""
        assert self._control is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ZygoteError("no reply in time")
        self._control.settimeout(remaining)
        try:
            data = self._control.recv(MESSAGE_BYTES)
        except TimeoutError:
            raise ZygoteError("no reply in time") from None
        finally:
            self._drain_stderr()
        if not data:
            raise ZygoteError("the zygote exited")
        try:
            reply = json.loads(data)
        except ValueError:
            raise ZygoteError("malformed reply") from None
        if not isinstance(reply, dict):
            raise ZygoteError("malformed reply")
        return reply

    def _drain_stderr(self) -> None:
        proc = self._proc
        if proc is None or proc.stderr is None:
            return
        while True:
            try:
                chunk = os.read(proc.stderr.fileno(), 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            self._stderr = (self._stderr + chunk)[-STDERR_KEPT:]

    def _teardown(self) -> None:
        """Kill the zygote's whole sandbox the thorough way; the next fork boots a new one."""
        self._drain_stderr()
        Zygote._kill_sandbox(self.sandbox, self.slot, self._live)
        self._owed = []

    @staticmethod
    def _kill_sandbox(sandbox: Sandbox, slot: Slot | None, live: dict) -> None:
        control, proc = live["control"], live["proc"]
        if control is not None:
            control.close()
        sandbox.cleanup(proc, slot)
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        live.update(proc=None, control=None)

    @staticmethod
    def _final_close(sandbox: Sandbox, stage: Stage, slot: Slot | None, live: dict) -> None:
        Zygote._kill_sandbox(sandbox, slot, live)
        sandbox.remove_stage(stage)
        if slot is not None:
            slot.release()


def boot_zygote(tier: str = "auto") -> Zygote | None:
    """Start a zygote for ``tier`` now, without waiting; None where zygotes are not supported.

    A program that grades one submission calls this before it imports the grader (and numpy),
    so the sandbox's numpy import and its own run at once. The caller closes the zygote.

    Raises
    ------
    SandboxError
        No sandbox can run student code here.
    """
    sandbox = Sandbox(tier=tier)
    if not Zygote.supported(sandbox):
        return None
    zygote = Zygote(sandbox)
    zygote.start()
    return zygote


_THREAD = threading.local()


def shared_zygote(tier: str = "auto", limits: Limits | None = None) -> Zygote | None:
    """This thread's reusable zygote for ``tier`` (created on first use, closed at exit).

    Returns None where zygotes are not supported (the ``rlimits`` tier): the caller then starts
    one worker per submission.

    Parameters
    ----------
    tier : str
    limits : Limits, optional

    Returns
    -------
    Zygote or None
    """
    limits = limits or Limits()
    cache: dict = _THREAD.__dict__.setdefault("zygotes", {})
    key = (tier, _resource_limits(limits))
    if key not in cache:
        sandbox = Sandbox(tier=tier)
        zygote = Zygote(sandbox, limits=limits) if Zygote.supported(sandbox) else None
        if zygote is not None:
            # Pool processes leave through os._exit, which skips atexit but not these.
            from multiprocessing import util

            util.Finalize(zygote, zygote.close, exitpriority=0)
        cache[key] = zygote
    return cache[key]
