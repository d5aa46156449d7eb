"""``SandboxedSubmission``: run one student's module in a sandboxed child and call its functions.

The parent never trusts the child. Every pipe operation has a deadline (non-blocking I/O +
``poll``), the child's stderr (where its stdout also goes) is drained concurrently, capped and
never parsed, every response is checked against the request it answers (random id, structure,
dtype, shape, size), and a crash, timeout or protocol violation kills every process of the slot;
the next call starts a fresh worker and reloads the module. A total wall-clock budget bounds the
whole submission.
"""

from __future__ import annotations

import builtins
import fcntl
import functools
import math
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from .protocol import (
    CallableSpec,
    Caps,
    ProtocolError,
    encode_frame,
    encode_tree,
    read_frame,
    read_npy,
)
from .sandbox import (
    Limits,
    Sandbox,
    SandboxError,
    Slot,
    Stage,
    acquire_slot,
    forget_tier_choice,
)
from .zygote import WorkerPipes, Zygote

__all__ = [
    "CallOutcome",
    "CallableSpec",
    "Limits",
    "SandboxError",
    "SandboxedSubmission",
]

STATUSES = frozenset(
    {
        "ok",
        "exception",
        "timeout",
        "crash",
        "missing_function",
        "not_callable",
        "bad_result",
        "protocol_error",
        "budget_exhausted",
        "load_failed",
    }
)
_CALL_REPLIES = frozenset(
    {"ok", "exception", "missing_function", "not_callable", "bad_result", "load_failed"}
)
_LOAD_REPLIES = frozenset({"ok", "exception"})
SUBSTITUTES = frozenset({"sigmoid", "sigmoidGradient"})
MAX_OUTPUTS = 16
MAX_MESSAGE = 500
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_POLL_IN = select.POLLIN | select.POLLPRI
_POLL_END = select.POLLHUP | select.POLLERR | select.POLLNVAL


@dataclass
class CallOutcome:
    """What happened when the parent asked the child to do something.

    Parameters
    ----------
    status : str
        One of :data:`STATUSES`.
    value : object
        For ``"ok"`` calls: a float64 ``np.ndarray`` (``n_outputs == 1``) or a tuple of them.
    error_type : str or None
        Built-in exception name (``"exception"``), a sanitized type name (``"bad_result"``,
        ``"not_callable"``) or a harness reason.
    error_message : str or None
        The student's own text (capped) or a harness message; show it only for public cases.
    elapsed : float
        Seconds inside the student's function (child clock, clamped to the parent's wall time).
    wall : float
        Seconds the parent waited for the whole exchange, on its own clock: the child cannot
        forge it, so time limits that decide a grade (finite-difference detection) use it.
    """

    status: str
    value: object = None
    error_type: str | None = None
    error_message: str | None = None
    elapsed: float = 0.0
    wall: float = 0.0


class _Timeout(Exception):
    pass


class _Crash(Exception):
    pass


class _StartFailed(Exception):
    pass


def _safe_exception_name(name: object) -> str:
    """Only names of real built-in exceptions cross; anything else could smuggle data."""
    if isinstance(name, str) and _IDENT.fullmatch(name):
        obj = getattr(builtins, name, None)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return name
    return "Exception"


def _safe_type_name(name: object) -> str:
    """A built-in or numpy type name, else ``"object"`` (student class names are data)."""
    if isinstance(name, str):
        head = name.split(" ", 1)[0]
        if _IDENT.fullmatch(head):
            for namespace in (builtins, np):
                if isinstance(getattr(namespace, head, None), type):
                    return head
    return "object"


def _text(value: object, limit: int = MAX_MESSAGE) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _module_name(filename: str) -> str:
    """The student's module name: the file's stem unless it would shadow a real module."""
    stem = filename[:-3] if filename.endswith(".py") else ""
    reserved = set(getattr(sys, "stdlib_module_names", ())) | {"numpy", "submission", "worker"}
    return stem if stem.isidentifier() and stem not in reserved else "nn"


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


class SandboxedSubmission:
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
    ) -> None:
        self.limits = limits or Limits()
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

    def __enter__(self) -> SandboxedSubmission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    @property
    def stderr(self) -> str:
        """What the student printed (capped). Never show it for hidden cases."""
        return self._stderr.decode("utf-8", "replace")

    @property
    def stderr_total(self) -> int:
        """Bytes the student printed in all, including the discarded part."""
        return self._stderr_total

    @property
    def budget_left(self) -> float:
        """Seconds left in the submission's total budget."""
        return max(0.0, self.limits.total_budget - self._spent)

    def load(self) -> CallOutcome:
        """Execute the student's module (once; the outcome is cached).

        Returns
        -------
        CallOutcome
            Status ``ok``, ``exception``, ``timeout``, ``crash``, ``protocol_error`` or
            ``budget_exhausted``.
        """
        self._check_open()
        if self._load_outcome is None:
            self._load_outcome = self._load_in_child()
        return self._load_outcome

    def call(
        self,
        function: str,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        n_outputs: int = 1,
        timeout: float,
        substitute: dict[str, str] | None = None,
    ) -> CallOutcome:
        """Call ``function(*args, **kwargs)`` in the child.

        Parameters
        ----------
        function : str
            Name of a global of the student's module.
        args, kwargs
            Arrays, scalars, strings, None, lists/tuples of those, :class:`CallableSpec`.
        n_outputs : int
            1: the return value becomes one float64 array; k > 1: a k-tuple of arrays.
        timeout : float
            Wall seconds for this call (capped by the remaining budget).
        substitute : dict, optional
            ``{student_global: helper}`` with helper ``"sigmoid"`` or ``"sigmoidGradient"``.

        Returns
        -------
        CallOutcome
        """
        self._check_open()
        request = self._call_request(function, args, kwargs, n_outputs, substitute)
        if self.budget_left <= 0:
            return CallOutcome(
                "budget_exhausted", error_type="budget_exhausted", error_message="time budget spent"
            )
        loaded = self.load()
        if loaded.status != "ok":
            return self._load_failed(loaded)
        if self._child is not None and self._child.has_stray_output():
            # Leftovers of an earlier call (forked copies, forged frames): that worker is spoiled,
            # but the damage must not be charged to this call.
            self._kill_child()
        if not self._loaded_in_child:
            reloaded = self._load_in_child()
            if reloaded.status != "ok":
                return (
                    reloaded
                    if reloaded.status == "budget_exhausted"
                    else self._load_failed(reloaded)
                )
        header, blobs = request
        return self._exchange(header, blobs, timeout, n_outputs)

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

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("SandboxedSubmission is closed")

    def _call_request(
        self,
        function: str,
        args: Any,
        kwargs: Any,
        n_outputs: int,
        substitute: dict[str, str] | None,
    ) -> tuple[dict[str, Any], list[bytes]]:
        if not isinstance(function, str) or not _IDENT.fullmatch(function):
            raise ValueError(f"invalid function name {function!r}")
        if not isinstance(n_outputs, int) or not 1 <= n_outputs <= MAX_OUTPUTS:
            raise ValueError(f"n_outputs must be 1..{MAX_OUTPUTS}")
        substitute = dict(substitute or {})
        for target, helper in substitute.items():
            if not _IDENT.fullmatch(str(target)) or helper not in SUBSTITUTES:
                raise ValueError(f"invalid substitute {target!r} -> {helper!r}")
        blobs: list[bytes] = []
        args_node, _ = encode_tree(list(args), blobs)
        kwargs_node, _ = encode_tree(dict(kwargs), blobs)
        header = {
            "op": "call",
            "function": function,
            "args": args_node,
            "kwargs": kwargs_node,
            "n_outputs": n_outputs,
            "substitute": substitute,
        }
        return header, blobs

    @staticmethod
    def _load_failed(loaded: CallOutcome) -> CallOutcome:
        return CallOutcome(
            "load_failed",
            error_type=loaded.error_type or loaded.status,
            error_message=loaded.error_message,
        )

    def _sink(self, chunk: bytes) -> None:
        self._stderr_total += len(chunk)
        room = self.limits.max_stderr_bytes - len(self._stderr)
        if room > 0:
            self._stderr += chunk[:room]

    def _deadline(self, timeout: float) -> tuple[float, bool]:
        """Absolute deadline for an operation and whether the budget (not the timeout) sets it."""
        left = self.budget_left
        return time.monotonic() + min(timeout, left), left < timeout

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

    def _load_in_child(self) -> CallOutcome:
        if self.budget_left <= 0:
            return CallOutcome(
                "budget_exhausted", error_type="budget_exhausted", error_message="time budget spent"
            )
        try:
            self._ensure_child()
        except SandboxError as exc:
            if self.budget_left <= 0:
                return CallOutcome(
                    "budget_exhausted", error_type="budget_exhausted", error_message=str(exc)
                )
            raise
        _, source_path = self._stage.inside(self.tier)
        header = {
            "op": "load",
            "path": source_path,
            "module": self.module_name,
            "filename": self.filename,
            "workdir": self._stage.workdir_inside(self.tier),
            "scratch_bytes": self.limits.fsize_bytes,
        }
        outcome = self._exchange(header, [], self.limits.load_timeout, 0)
        self._loaded_in_child = outcome.status == "ok"
        return outcome

    def _exchange(
        self, header: dict[str, Any], blobs: list[bytes], timeout: float, n_outputs: int
    ) -> CallOutcome:
        """Send one request and validate its reply; kill the worker on anything abnormal."""
        if self.budget_left <= 0:
            return CallOutcome(
                "budget_exhausted", error_type="budget_exhausted", error_message="time budget spent"
            )
        self._ensure_child()
        child = self._child
        assert child is not None
        request_id = secrets.token_hex(16)
        frame = encode_frame({**header, "id": request_id}, blobs)
        deadline, by_budget = self._deadline(timeout)
        started = time.monotonic()
        try:
            child.send(frame, deadline)
            caps = Caps(
                max_blobs=n_outputs,
                max_total_bytes=self.limits.max_result_bytes + n_outputs * 4096,
                max_elements=self.limits.max_result_bytes // 8,
            )
            reply, raw = child.recv(deadline, caps)
            outcome = self._validate(header["op"], reply, raw, request_id, n_outputs)
        except _Timeout:
            self._kill_child()
            if by_budget:
                outcome = CallOutcome(
                    "budget_exhausted",
                    error_type="budget_exhausted",
                    error_message="time budget spent",
                )
            else:
                outcome = CallOutcome(
                    "timeout", error_type="timeout", error_message=f"no answer within {timeout:g} s"
                )
        except _Crash:
            outcome = CallOutcome("crash", error_type="crash", error_message=self._crash_message())
        except ProtocolError as exc:
            self._kill_child()
            outcome = CallOutcome(
                "protocol_error", error_type="protocol_error", error_message=str(exc)[:200]
            )
        wall = time.monotonic() - started
        self._spent += wall
        if outcome.status in ("timeout", "budget_exhausted"):
            outcome.elapsed = wall
        outcome.elapsed = min(max(outcome.elapsed, 0.0), wall)
        outcome.wall = wall
        return outcome

    def _validate(
        self, op: str, reply: dict[str, Any], raw: list[bytearray], request_id: str, n_outputs: int
    ) -> CallOutcome:
        """Check a reply's id, status and structure; parse its arrays with the strict reader."""
        if reply.get("id") != request_id:
            raise ProtocolError("reply does not answer this request")
        status = reply.get("status")
        allowed = {"load": _LOAD_REPLIES, "call": _CALL_REPLIES}.get(op, {"ok"})
        if status not in allowed:
            raise ProtocolError("unexpected status")
        elapsed = reply.get("elapsed", 0.0)
        elapsed = (
            float(elapsed)
            if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool)
            else 0.0
        )
        if status == "exception":
            return CallOutcome(
                "exception",
                error_type=_safe_exception_name(reply.get("error_type")),
                error_message=_text(reply.get("error_message")),
                elapsed=elapsed,
            )
        if status in ("bad_result", "not_callable"):
            return CallOutcome(
                status,
                error_type=_safe_type_name(reply.get("error_type")),
                error_message=_text(reply.get("error_type"), 100),
                elapsed=elapsed,
            )
        if status in ("missing_function", "load_failed"):
            return CallOutcome(status, error_type=status, elapsed=elapsed)
        if op != "call":
            if raw:
                raise ProtocolError("unexpected arrays")
            return CallOutcome("ok", elapsed=elapsed)
        return CallOutcome(
            "ok", value=self._result_value(reply.get("value"), raw, n_outputs), elapsed=elapsed
        )

    @staticmethod
    def _result_value(tree: Any, raw: list[bytearray], n_outputs: int) -> Any:
        expected: Any = (
            {"$nd": 0} if n_outputs == 1 else {"$tuple": [{"$nd": i} for i in range(n_outputs)]}
        )
        if tree != expected or len(raw) != n_outputs:
            raise ProtocolError("reply value has the wrong structure")
        arrays = tuple(read_npy(blob) for blob in raw)
        return arrays[0] if n_outputs == 1 else arrays

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
