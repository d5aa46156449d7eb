"""The parent's side of the worker protocol, shared by every way of running a worker.

:class:`WorkerClient` holds what does not depend on *how* the worker process was made: building
requests, checking every reply against the request it answers (random id, status, structure,
dtype, shape, size caps), the submission's total time budget, and the capped copy of what the
student printed. :class:`~autograder.harness.runner.SandboxedSubmission` (a sandboxed worker) and
:class:`~autograder.harness.local.LocalSubmission` (a plain child process, for the self-check on
machines without a sandbox) add the process side.

This module imports nothing POSIX-only, so the self-check imports it on Windows too.
"""

from __future__ import annotations

import builtins
import re
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .protocol import CallableSpec, Caps, ProtocolError, encode_frame, encode_tree, read_npy
from .sandbox import SandboxError
from .support import Support

__all__ = ["CallOutcome", "STATUSES", "WorkerClient"]

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
MAX_OUTPUTS = 16
MAX_MESSAGE = 500
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


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


def _items(substitute: dict[str, str] | None) -> tuple:
    return tuple(sorted((substitute or {}).items()))


def _callable_kinds(value: object, depth: int = 0) -> set[str]:
    """The :class:`CallableSpec` kinds inside an argument tree (the encoder bounds its depth)."""
    if isinstance(value, CallableSpec):
        return {str(value.kind)}
    if depth > 40:
        return set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return set().union(*(_callable_kinds(v, depth + 1) for v in value))
    return set()


def _module_name(filename: str) -> str:
    """The student's module name: the file's stem unless it would shadow a real module."""
    stem = filename[:-3] if filename.endswith(".py") else ""
    reserved = set(getattr(sys, "stdlib_module_names", ())) | {"numpy", "submission", "worker"}
    return stem if stem.isidentifier() and stem not in reserved else "nn"


@dataclass
class _Prefetched:
    """A call request already in the worker's pipe (:meth:`WorkerClient.prefetch`)."""

    child: Any  # the worker it was written to: void once that worker is gone
    request_id: str
    call: tuple  # what identifies the call: function, args, kwargs (held), outputs, substitutes
    started: float
    deadline: float
    by_budget: bool
    timeout: float
    n_outputs: int


class WorkerPipe(Protocol):
    """How a :class:`WorkerClient` talks to its live worker; every operation has a deadline."""

    def send(self, data: bytes, deadline: float) -> None:
        """Write a whole frame; ``_Timeout`` past ``deadline``, ``_Crash`` if the worker is gone."""

    def recv(self, deadline: float, caps: Caps) -> tuple[dict[str, Any], list[bytearray]]:
        """Read one frame with ``caps``; raises ``_Timeout``, ``_Crash`` or ``ProtocolError``."""

    def has_stray_output(self) -> bool:
        """True if the worker wrote protocol bytes nobody asked for (or hung up) while idle."""


class WorkerClient:
    """Calls into one student's module in a worker process, never trusting the answers.

    Subclasses own the process side. They set the attributes below in ``__init__`` and implement
    ``start``, ``close``, ``_ensure_child`` (a live, ready worker in ``_child`` or an exception),
    ``_kill_child(wait)`` (end the worker; its exit code if it ended by itself within ``wait`` s),
    ``_crash_message`` and ``_load_paths`` (where the worker finds the source and its working
    folder, as seen from inside it).

    Attributes
    ----------
    limits : Limits
        Timeouts, budget and output caps.
    tier : str
        How the worker is isolated (``"bwrap"`` ... ``"local"``).
    warnings : list of str
        Messages for the results about weak isolation.
    support : Support
        The homework's support module: the helpers that may be substituted and the callable
        kinds that may be sent (sent to the worker with every ``load``).
    """

    limits: Any
    support: Support
    tier: str
    warnings: list[str]
    module_name: str
    filename: str
    _child: WorkerPipe | None
    _stderr: bytearray
    _stderr_total: int
    _spent: float
    _closed: bool
    _loaded_in_child: bool
    _load_outcome: CallOutcome | None
    #: A ``load`` request already in the worker's pipe (:meth:`queue_load`): the child it was
    #: written to and its id.
    _queued_load: tuple[Any, str] | None = None
    #: At most one call request in the pipe ahead of its :meth:`call` (:meth:`prefetch`).
    _prefetched: _Prefetched | None = None

    # ------------------------------------------------------------------ process side (abstract)

    def start(self) -> None:
        """Spawn the worker now, without waiting for it to be ready (the next call waits)."""
        raise NotImplementedError

    def close(self) -> None:
        """End the worker and delete what the submission left."""
        raise NotImplementedError

    def _ensure_child(self) -> None:
        raise NotImplementedError

    def _kill_child(self, wait: float = 0.0) -> int | None:
        raise NotImplementedError

    def _crash_message(self) -> str:
        raise NotImplementedError

    def _load_paths(self) -> tuple[str, str]:
        """The source's path and the working folder's, as the worker sees them."""
        raise NotImplementedError

    def _load_in_child(self) -> CallOutcome:
        """Send the ``load`` request to a live worker (starting one if needed)."""
        queued, self._queued_load = self._queued_load, None
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
        if queued is not None and queued[0] is self._child:  # the same worker, now ready
            outcome = self._answer("load", queued[1], self.limits.load_timeout, 0)
        else:
            outcome = self._exchange(self._load_header(), [], self.limits.load_timeout, 0)
        self._loaded_in_child = outcome.status == "ok"
        return outcome

    def _load_header(self) -> dict[str, Any]:
        source_path, workdir = self._load_paths()
        return {
            "op": "load",
            "path": source_path,
            "module": self.module_name,
            "filename": self.filename,
            "workdir": workdir,
            "scratch_bytes": self.limits.fsize_bytes,
            "support": self.support.request(),
        }

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def queue_load(self) -> None:
        """Start the worker and write its ``load`` request now, waiting for neither.

        The worker reads requests only once it is ready, its isolation layers installed (and
        :meth:`load` still checks its ``ready`` before taking the reply), so the module loads
        while the grader builds its cases. The request holds the source's path and the
        homework's support code, which the worker is sent in any case.
        """
        self._check_open()
        if self._load_outcome is not None or self._queued_load is not None:
            return
        self.start()
        child = self._child
        if child is None:
            return
        request_id = self._send_ahead(
            self._load_header(), [], time.monotonic() + self.limits.load_timeout
        )
        if request_id is not None:
            self._queued_load = (child, request_id)

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

    def prefetch(
        self,
        function: str,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        n_outputs: int = 1,
        timeout: float,
    ) -> None:
        """Send the request of the call :meth:`call` is asked for next, without waiting.

        The worker starts on it at once, while the grader checks the previous answer (the two
        then share the machine's cores instead of taking turns). :meth:`call` with the same
        ``args`` and ``kwargs`` objects takes its reply, its timeout counted from now; any other
        request first waits for that reply and drops it, so the pipe never holds two. Nothing is
        sent unless the module is loaded in a live worker whose pipe holds nothing stray.
        """
        self._check_open()
        self._settle_prefetched()
        child = self._child
        if child is None or not self._loaded_in_child or self.budget_left <= 0:
            return
        if child.has_stray_output():
            return  # call() finds it and replaces the worker
        header, blobs = self._call_request(function, args, kwargs, n_outputs, None)
        deadline, by_budget = self._deadline(timeout)
        started = time.monotonic()
        request_id = self._send_ahead(header, blobs, deadline)
        if request_id is None:
            return
        call = (function, args, kwargs, n_outputs, ())
        self._prefetched = _Prefetched(
            child, request_id, call, started, deadline, by_budget, timeout, n_outputs
        )

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
            ``{student_global: helper}`` with helper a name in the support module's ``HELPERS``.

        Returns
        -------
        CallOutcome
        """
        self._check_open()
        ahead = self._claim_prefetched((function, args, kwargs, n_outputs, _items(substitute)))
        if ahead is not None:
            return self._reply(ahead)
        self._settle_prefetched()  # another call's: its reply is read before anything else
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

    # ------------------------------------------------------------------ internals

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")

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
            if not _IDENT.fullmatch(str(target)) or helper not in self.support.helpers:
                raise ValueError(f"invalid substitute {target!r} -> {helper!r}")
        unknown = _callable_kinds([args, kwargs]) - self.support.callables
        if unknown:
            raise TypeError(f"callable kinds {sorted(unknown)} are not in the support module")
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

    def _exchange(
        self, header: dict[str, Any], blobs: list[bytes], timeout: float, n_outputs: int
    ) -> CallOutcome:
        """Send one request and validate its reply; kill the worker on anything abnormal."""
        self._settle_prefetched()
        if self.budget_left <= 0:
            return CallOutcome(
                "budget_exhausted", error_type="budget_exhausted", error_message="time budget spent"
            )
        self._ensure_child()
        request_id = secrets.token_hex(16)
        frame = encode_frame({**header, "id": request_id}, blobs)
        return self._answer(header["op"], request_id, timeout, n_outputs, frame)

    def _answer(
        self, op: str, request_id: str, timeout: float, n_outputs: int, frame: bytes = b""
    ) -> CallOutcome:
        """Send ``frame`` (empty: the request is already in the pipe) to the ready worker and
        validate the reply to ``request_id``; kill the worker on anything abnormal."""
        deadline, by_budget = self._deadline(timeout)
        started = time.monotonic()
        return self._await(op, request_id, timeout, n_outputs, started, deadline, by_budget, frame)

    def _send_ahead(
        self, header: dict[str, Any], blobs: list[bytes], deadline: float
    ) -> str | None:
        """Write a request whose reply is read later; its id, or None if it could not be sent
        whole (the worker is then replaced: the next request starts one afresh)."""
        assert self._child is not None
        request_id = secrets.token_hex(16)
        try:
            self._child.send(encode_frame({**header, "id": request_id}, blobs), deadline)
        except (_Timeout, _Crash):
            self._kill_child()
            return None
        return request_id

    def _claim_prefetched(self, call: tuple) -> _Prefetched | None:
        """The prefetched request if it is ``call``'s and its worker still lives."""
        ahead = self._prefetched
        if ahead is None or ahead.child is not self._child:
            self._prefetched = None
            return None
        same = ahead.call[0] == call[0] and ahead.call[3:] == call[3:]
        if not (same and ahead.call[1] is call[1] and ahead.call[2] is call[2]):
            return None
        self._prefetched = None
        return ahead

    def _reply(self, ahead: _Prefetched) -> CallOutcome:
        """The outcome of a prefetched call (its timeout and wall counted from its sending)."""
        return self._await(
            "call",
            ahead.request_id,
            ahead.timeout,
            ahead.n_outputs,
            ahead.started,
            ahead.deadline,
            ahead.by_budget,
        )

    def _settle_prefetched(self) -> None:
        """Read and drop the reply of a prefetched call nobody asked for (one request at most in
        the pipe, so the next reply read is the next request's)."""
        ahead, self._prefetched = self._prefetched, None
        if ahead is not None and ahead.child is self._child:
            self._reply(ahead)

    def _await(
        self,
        op: str,
        request_id: str,
        timeout: float,
        n_outputs: int,
        started: float,
        deadline: float,
        by_budget: bool,
        frame: bytes = b"",
    ) -> CallOutcome:
        """Send ``frame`` if given, then take the reply to ``request_id`` by ``deadline``."""
        child = self._child
        assert child is not None
        try:
            if frame:
                child.send(frame, deadline)
            caps = Caps(
                max_blobs=n_outputs,
                max_total_bytes=self.limits.max_result_bytes + n_outputs * 4096,
                max_elements=self.limits.max_result_bytes // 8,
            )
            reply, raw = child.recv(deadline, caps)
            # What the student printed just before answering is already in the stderr pipe:
            # take it now, or a print before ``return`` is lost when the submission closes.
            drain = getattr(child, "drain", None)
            if drain is not None:
                drain()
            outcome = self._validate(op, reply, raw, request_id, n_outputs)
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
