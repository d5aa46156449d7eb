"""``SandboxedSubmission``: run one student's module in a sandboxed child and call its functions.

The parent never trusts the child. Every pipe operation has a deadline (non-blocking I/O +
``poll``), the child's stderr (where its stdout also goes) is drained concurrently, capped and
never parsed, every response is checked against the request it answers (random id, structure,
dtype, shape, size), and a crash, timeout or protocol violation kills every process of the slot;
the next call starts a fresh worker and reloads the module. A total wall-clock budget bounds the
whole submission. Requests, reply validation and the budget are :class:`WorkerClient`'s
(``client.py``, shared with the self-check's local runner); this module is the process side.
"""

from __future__ import annotations

import fcntl
import functools
import math
import os
import select
import signal
import subprocess
import time
import weakref
from typing import Any, NoReturn

from .client import (
    CallOutcome,
    WorkerClient,
    _Crash,
    _module_name,
    _StartFailed,
    _Timeout,
)
from .protocol import CallableSpec, Caps, ProtocolError, read_frame
from .sandbox import (
    Limits,
    Sandbox,
    SandboxError,
    Slot,
    Stage,
    acquire_slot,
    forget_tier_choice,
)
from .support import Support
from .zygote import WorkerPipes, Zygote

__all__ = [
    "CallOutcome",
    "CallableSpec",
    "Limits",
    "SandboxError",
    "SandboxedSubmission",
    "Support",
]

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_POLL_IN = select.POLLIN | select.POLLPRI
_POLL_END = select.POLLHUP | select.POLLERR | select.POLLNVAL


class _Child:
    """Pipes to one live worker, with a deadline on every operation.

    ``proc`` is the worker's process when the runner started it; None for a zygote's fork.
    """

    def __init__(
        self,
        pipes: WorkerPipes,
        stderr_sink: Any,
        proc: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.proc = proc
        self.in_fd, self.out_fd, self.err_fd = pipes.request, pipes.response, pipes.stderr
        for fd in (self.in_fd, self.out_fd, self.err_fd):
            os.set_blocking(fd, False)
        for fd in (self.in_fd, self.out_fd):
            try:  # 1 MiB pipes: large arguments cross in a few syscalls instead of hundreds
                fcntl.fcntl(fd, F_SETPIPE_SZ, 1 << 20)
            except OSError:
                pass
        self._sink = stderr_sink
        self._poll = select.poll()
        self._poll.register(self.err_fd, _POLL_IN)
        self._err_open = True

    # -------------------------------------------------------------- waiting

    def _wait(self, fd: int, mask: int, deadline: float) -> None:
        """Block until ``fd`` is ready for ``mask`` (or hung up), draining stderr meanwhile."""
        self._poll.register(fd, mask)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Timeout
                for ready_fd, events in self._poll.poll(max(1, math.ceil(remaining * 1000))):
                    if ready_fd == self.err_fd and fd != self.err_fd:
                        self._drain_stderr(events)
                    elif ready_fd == fd:
                        return
        finally:
            self._poll.unregister(fd)

    def drain(self) -> None:
        """Take whatever the worker has printed so far, without waiting."""
        if self._err_open:
            self._drain_stderr(0)

    def _drain_stderr(self, events: int) -> None:
        """Read what the student printed; keep a capped prefix, discard the rest."""
        while True:
            try:
                chunk = os.read(self.err_fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:  # the student closed fd 2 (or exited): stop watching it
                self._poll.unregister(self.err_fd)
                self._err_open = False
                return
            self._sink(chunk)

    # -------------------------------------------------------------- I/O

    def send(self, data: bytes, deadline: float) -> None:
        """Write a whole frame without ever blocking past ``deadline``."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.in_fd, view[: 1 << 20])
                view = view[written:]
            except BlockingIOError:
                self._wait(self.in_fd, select.POLLOUT, deadline)
            except (BrokenPipeError, ConnectionResetError):
                raise _Crash from None

    def read_exact(self, n: int, deadline: float) -> bytearray:
        """Read exactly ``n`` bytes (``n`` was capped by the caller before this allocation)."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                count = os.readv(self.out_fd, [view[got : min(n, got + (1 << 20))]])
            except BlockingIOError:
                self._wait(self.out_fd, _POLL_IN, deadline)
                continue
            except OSError:
                raise _Crash from None
            if count == 0:
                raise _Crash
            got += count
        return buf

    def recv(self, deadline: float, caps: Caps) -> tuple[dict[str, Any], list[bytearray]]:
        """Read one frame with ``caps``; raises ``_Timeout``, ``_Crash`` or ``ProtocolError``."""
        return read_frame(lambda n: self.read_exact(n, deadline), caps)

    def has_stray_output(self) -> bool:
        """True if the worker wrote protocol bytes nobody asked for (or hung up) while idle."""
        probe = select.poll()
        probe.register(self.out_fd, _POLL_IN)
        return bool(probe.poll(0))

    @classmethod
    def of_process(cls, proc: subprocess.Popen[bytes], stderr_sink: Any) -> _Child:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        pipes = WorkerPipes(proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno())
        return cls(pipes, stderr_sink, proc)

    def close_pipes(self) -> None:
        if self.proc is not None:
            streams = (self.proc.stdin, self.proc.stdout, self.proc.stderr)
            closers = [stream.close for stream in streams if stream is not None]
        else:
            closers = [
                functools.partial(os.close, fd) for fd in (self.in_fd, self.out_fd, self.err_fd)
            ]
        for close in closers:
            try:
                close()
            except OSError:
                pass


class SandboxedSubmission(WorkerClient):
    """A student's module loaded in a sandboxed child process (context manager).

    Parameters
    ----------
    source : str
        The student's Python source (a notebook already converted to source).
    filename : str
        Module file name; the module is importable in the child as its stem and as
        ``submission``.
    files : dict of str to bytes, optional
        The submission's other files (helper modules, data), keyed by safe relative POSIX paths.
        The worker runs in a fresh working folder holding them (read-only, first on ``sys.path``);
        files the student writes go to an in-memory scratch space there (``Limits.fsize_bytes``),
        which dies with the worker.
    tier : str
        ``"auto"``, ``"bwrap"``, ``"seccomp"`` or ``"rlimits"``.
    limits : Limits
        Timeouts, budget and resource limits.
    sandbox : Sandbox, optional
        A pre-built configuration (overrides ``tier``); lets many submissions share detection.
    zygote : Zygote, optional
        A zygote to fork workers from (overrides ``sandbox`` and ``tier``); it stays open for the
        next submission. Without one, a private zygote is made where the tier supports it
        (:meth:`Zygote.supported`), and a worker is started directly elsewhere.
    support : Support, optional
        The homework's support module (helpers to substitute, callable kinds); none by default.

    Attributes
    ----------
    tier : str
        The isolation tier actually used.
    warnings : list of str
        Loud messages about weak isolation; put them in the results.
    restarts : int
        Workers started after a crash or timeout.

    Notes
    -----
    Create and use a submission from one thread that outlives it: the worker dies with the
    *thread* that forked it (``PR_SET_PDEATHSIG`` and bwrap's ``--die-with-parent`` follow the
    thread). As root, each open submission holds one slot uid (``MAX_SLOTS`` at once).
    """

    def __init__(
        self,
        source: str,
        *,
        filename: str = "nn.py",
        files: dict[str, bytes] | None = None,
        tier: str = "auto",
        limits: Limits | None = None,
        sandbox: Sandbox | None = None,
        zygote: Zygote | None = None,
        support: Support | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.support = support or Support()
        if zygote is not None and not zygote.matches(self.limits):
            raise ValueError("the zygote's workers have other resource limits than `limits`")
        self.sandbox = zygote.sandbox if zygote is not None else sandbox or Sandbox(tier=tier)
        self.tier = self.sandbox.tier
        self.warnings = list(self.sandbox.warnings)
        self.filename = os.path.basename(filename) or "nn.py"
        self.module_name = _module_name(self.filename)
        self._source = source
        self._files = dict(files or {})
        self.restarts = 0
        self.starts = 0
        self.layers: dict[str, str] = {}
        self._stderr = bytearray()
        self._stderr_total = 0
        self._spent = 0.0
        self._child: _Child | None = None
        self._ready = False
        self._spawned_at = 0.0
        self._loaded_in_child = False
        self._load_outcome: CallOutcome | None = None
        self._closed = False
        self._owns_zygote = zygote is None and Zygote.supported(self.sandbox)
        if self._owns_zygote:
            zygote = Zygote(self.sandbox, limits=self.limits)
        self._zygote = zygote
        if zygote is not None:
            self._slot, self._stage = zygote.slot, zygote.stage
            self._finalizer = weakref.finalize(
                self, SandboxedSubmission._final_release, zygote, self._owns_zygote
            )
            return
        self._slot = acquire_slot() if os.geteuid() == 0 else None
        try:
            self._stage = self.sandbox.make_stage(source, self.filename, self._slot, self._files)
        except BaseException:
            if self._slot is not None:
                self._slot.release()
            raise
        self._finalizer = weakref.finalize(
            self, SandboxedSubmission._final_cleanup, self.sandbox, self._stage, self._slot
        )

    # ------------------------------------------------------------------ context manager

    def close(self) -> None:
        """Kill every process of the submission, delete its files and stage, free the slot."""
        if self._closed:
            return
        self._closed = True
        self._kill_child()
        self._finalizer()

    @staticmethod
    def _final_release(zygote: Zygote, owned: bool) -> None:
        if owned:
            zygote.close()
        else:  # a shared zygote serves the next submission: leave nothing of this one
            zygote.reap()
            zygote.stage.clear_source()

    @staticmethod
    def _final_cleanup(sandbox: Sandbox, stage: Stage, slot: Slot | None) -> None:
        sandbox.cleanup(None, slot)
        sandbox.remove_stage(stage)
        if slot is not None:
            slot.release()

    # ------------------------------------------------------------------ public API

    def ping(self, timeout: float = 5.0) -> bool:
        """True if a live worker answers (starting one if needed)."""
        self._check_open()
        try:
            self._ensure_child()
        except SandboxError:
            return False
        outcome = self._exchange({"op": "ping"}, [], timeout, 0)
        return outcome.status == "ok"

    # ------------------------------------------------------------------ internals

    def start(self) -> None:
        """Spawn the worker now, without waiting for it to be ready.

        The next ``load`` or ``call`` waits for it. This lets the grader generate its cases while
        the child starts its interpreter and imports numpy (most of a submission's latency).
        """
        self._check_open()
        if self._child is None:
            self._spawn()

    def _spawn(self) -> None:
        if self.starts:
            self.restarts += 1
        self.starts += 1
        self._spawned_at = time.monotonic()
        if self._zygote is not None:
            pipes = self._zygote.fork(self._source, self.filename, self._files)
            self._child = _Child(pipes, self._sink)
        else:
            proc = self.sandbox.spawn(self._stage, self.limits, self._slot)
            self._child = _Child.of_process(proc, self._sink)
        self._ready = False
        self._loaded_in_child = False

    def _ensure_child(self) -> None:
        """Start a worker if none is alive and wait until it is ready; SandboxError if it can't."""
        if self._child is None:
            self._spawn()
        if self._ready:
            return
        try:
            header = self._await_ready()
        except _StartFailed as exc:
            if self._zygote is None:
                self._start_failed(str(exc))
            # A zygote that died just before our fork request shows only as a closed pipe. The
            # reap in _kill_child noticed and tore it down; the next fork boots a new one.
            self._spawn()
            try:
                header = self._await_ready()
            except _StartFailed as exc:
                self._start_failed(str(exc))
        if header.get("op") != "ready" or header.get("status") != "ok":
            self._kill_child()
            raise SandboxError(
                f"sandbox worker refused to start: {str(header.get('layers'))[:300]}"
            )
        self.layers = {str(k): str(v)[:100] for k, v in dict(header.get("layers") or {}).items()}
        self._ready = True

    def _await_ready(self) -> dict[str, Any]:
        """The worker's first frame, within the start deadline; _StartFailed if none comes."""
        child = self._child
        assert child is not None
        deadline = self._spawned_at + min(self.limits.start_timeout, self.budget_left)
        try:
            header, _ = child.recv(deadline, Caps(max_blobs=0))
        except (_Timeout, _Crash, ProtocolError) as exc:
            self._kill_child()
            raise _StartFailed(type(exc).__name__.strip("_")) from None
        finally:
            self._spent += time.monotonic() - self._spawned_at
        return header

    def _start_failed(self, reason: str) -> NoReturn:
        forget_tier_choice(self.sandbox.runtime.python)  # it may be a stale remembered tier
        raise SandboxError(f"sandbox worker failed to start ({reason})")

    def _load_paths(self) -> tuple[str, str]:
        _, source_path = self._stage.inside(self.tier)
        return source_path, self._stage.workdir_inside(self.tier)

    def _crash_message(self) -> str:
        code = self._kill_child(wait=1.0)
        if code is None:
            return "worker stopped answering"
        if code < 0 or code > 128:
            signum = -code if code < 0 else code - 128
            try:
                return f"worker killed by {signal.Signals(signum).name}"
            except ValueError:
                return f"worker killed by signal {signum}"
        return f"worker exited with status {code}"

    def _kill_child(self, wait: float = 0.0) -> int | None:
        """Kill every process of the worker; its exit code if it ended by itself within ``wait`` s."""
        child, self._child = self._child, None
        self._loaded_in_child = False
        self._ready = False
        if child is None:
            return None
        code = None
        if self._zygote is None and wait:
            try:  # before closing its pipes, which would end a live worker with status 0
                code = child.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        child.close_pipes()
        if self._zygote is None:
            self.sandbox.cleanup(child.proc, self._slot)
            return code
        status = self._zygote.reap(wait=wait)
        return None if status is None else os.waitstatus_to_exitcode(status)
