"""``LocalSubmission``: the self-check's runner where no sandbox exists (Windows, macOS, Linux
without bubblewrap).

It has the interface and the replies of
:class:`~autograder.harness.runner.SandboxedSubmission` (both are a
:class:`~autograder.harness.client.WorkerClient`), but its worker is a plain child process of the
grader's own interpreter, isolated by nothing. That is enough for the one thing it is for: a
student checking their own code on their own machine on the *public* cases. Grading refuses tier
``"local"`` whenever hidden cases are asked for, so hidden cases and the course secret never meet
it. What it keeps from the sandboxed runner: a deadline on every operation, a total budget, a
fresh worker after a crash or timeout, capped student output, and the same strict validation of
every reply (no pickle, every size checked before it is read).

It is written to run on Windows: no ``fcntl``, ``select`` on pipes, ``fork``, sessions, uids or
signals beyond ``Popen.kill``. Daemon threads read the worker's pipes into bounded buffers, a
write happens in a thread joined with a deadline, and the parent only ever waits on a condition
with a timeout.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from autograder.intake import checked_files
from autograder.spec import RuntimeSpec, load_spec

from .client import CallOutcome, WorkerClient, _Crash, _module_name, _Timeout
from .protocol import Caps, ProtocolError, read_frame
from .runtime import GRADER_MODULES, importable_names, provided_entries
from .sandbox import LOCAL_TIER, Limits, SandboxError
from .support import Support

__all__ = ["LOCAL_TIER", "LocalSubmission"]

WORKER_SOURCE = Path(__file__).with_name("worker.py")
#: Interpreter flags: no user site, no ``PYTHON*`` variables, no script folder on ``sys.path``
#: (``-I``), no ``.pyc`` files written (``-B``). ``site`` still runs, so the worker finds the
#: packages of this interpreter (``.pth`` files, conda) the way the grader did.
PYTHON_FLAGS = ("-I", "-B")
#: One BLAS thread, as in the sandbox: the same arithmetic, and no oversubscribed laptop.
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_CHUNK = 1 << 16
#: Response bytes read ahead of the parent; beyond this the reader waits (a flood costs nothing).
_READ_AHEAD = 4 << 20
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing up on Windows


@functools.lru_cache(maxsize=4)
def _provided_here(distributions: tuple[str, ...]) -> dict[str, list[str]]:
    return provided_entries(list(distributions))


def import_config(runtime: RuntimeSpec) -> dict[str, Any]:
    """The worker's import settings, as the sandbox gives them: what it may import from this
    interpreter's site-packages (the provided distributions and their dependencies), which
    directories that applies to, what feedback names as provided, what is never a placeholder.

    Parameters
    ----------
    runtime : RuntimeSpec

    Returns
    -------
    dict
    """
    found = _provided_here(runtime.distributions)
    return {
        "importable": importable_names(found["provided"]),
        "restrict": found["sites"],
        "provided": list(runtime.modules),
        "reserved": sorted(GRADER_MODULES),
    }


def worker_path() -> list[str]:
    """Import path for the worker: the grader's own, minus the folders the student works in.

    The worker then imports the same numpy and scipy as this process, but a student's ``utils.py``
    next to ``check.py`` is not importable, as it is not in the sandbox.
    """
    private = {os.path.abspath(os.getcwd())}
    script = sys.argv[0] if sys.argv else ""
    if sys.path and script and os.path.isfile(script):
        # ``python check.py`` puts the script's folder first; ``python -m ipykernel_launcher``
        # does not, and its script's folder (site-packages) must stay.
        folder = os.path.dirname(os.path.abspath(script))
        if sys.path[0] and os.path.abspath(sys.path[0]) == folder:
            private.add(folder)
    path: list[str] = []
    for entry in sys.path:
        if entry and os.path.isdir(entry) and os.path.abspath(entry) not in private:
            path.append(os.path.abspath(entry))
    return list(dict.fromkeys(path))


class _Responses:
    """The worker's response pipe, read by a daemon thread into a bounded buffer."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self._ready = threading.Condition()
        self._eof = False
        self._stopped = False
        threading.Thread(target=self._run, name="bpgrade-local-responses", daemon=True).start()

    def _run(self) -> None:
        try:
            while True:
                with self._ready:
                    while len(self._buffer) >= _READ_AHEAD and not self._stopped:
                        self._ready.wait()
                    if self._stopped:
                        return
                try:
                    chunk = self._stream.read(_CHUNK)
                except (OSError, ValueError):
                    chunk = b""
                with self._ready:
                    if chunk:
                        self._buffer += chunk
                    else:
                        self._eof = True
                    self._ready.notify_all()
                if not chunk:
                    return
        finally:
            _close_quietly(self._stream)  # only this thread ever reads or closes the stream

    def read_exact(self, n: int, deadline: float) -> bytearray:
        """Exactly ``n`` bytes (capped by the caller); ``_Timeout`` or ``_Crash`` otherwise."""
        out = bytearray()
        with self._ready:
            while len(out) < n:
                if self._buffer:
                    take = min(n - len(out), len(self._buffer))
                    out += self._buffer[:take]
                    del self._buffer[:take]
                    self._ready.notify_all()  # room again for a reader held back by _READ_AHEAD
                elif self._eof:
                    raise _Crash
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _Timeout
                    self._ready.wait(remaining)
        return out

    def pending(self) -> bool:
        """True if bytes nobody asked for arrived, or the worker hung up."""
        with self._ready:
            return bool(self._buffer) or self._eof

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()


def _drain(stream: IO[bytes], sink: Callable[[bytes], None]) -> None:
    """Read what the student printed until the worker's end closes; the sink keeps a prefix."""
    try:
        while True:
            try:
                chunk = stream.read(_CHUNK)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            sink(chunk)
    finally:
        _close_quietly(stream)


def _close_quietly(stream: IO[bytes] | None) -> None:
    if stream is not None:
        try:
            stream.close()
        except OSError:
            pass


class _LocalChild:
    """One worker process and its pipes (a :class:`~autograder.harness.client.WorkerPipe`).

    Each stream has one owner thread that alone closes it, so no descriptor is closed while
    another thread is blocked on it (the number could be reused under it).
    """

    def __init__(self, proc: subprocess.Popen[bytes], sink: Callable[[bytes], None]) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self._responses = _Responses(proc.stdout)
        self._drainer = threading.Thread(
            target=_drain, args=(proc.stderr, sink), name="bpgrade-local-stderr", daemon=True
        )
        self._drainer.start()
        self._lock = threading.Lock()
        self._writing = False
        self._ended = False

    def send(self, data: bytes, deadline: float) -> None:
        """Write a whole frame from a helper thread; give up on it at ``deadline``."""
        done = threading.Event()
        failed: list[BaseException] = []
        with self._lock:
            self._writing = True

        def write() -> None:
            stdin = self.proc.stdin
            try:
                view = memoryview(data)
                while view:
                    written = stdin.write(view[: 1 << 20])
                    view = view[written or 0 :]
            except (OSError, ValueError) as exc:  # the worker is gone (broken pipe)
                failed.append(exc)
            finally:
                with self._lock:
                    self._writing = False
                    if self._ended:
                        _close_quietly(stdin)
                done.set()

        threading.Thread(target=write, name="bpgrade-local-request", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic())):
            raise _Timeout
        if failed:
            raise _Crash

    def recv(self, deadline: float, caps: Caps) -> tuple[dict[str, Any], list[bytearray]]:
        return read_frame(lambda n: self._responses.read_exact(n, deadline), caps)

    def has_stray_output(self) -> bool:
        return self._responses.pending()

    def end(self, wait: float = 0.0) -> int | None:
        """Kill the worker; its exit code if it ended by itself within ``wait`` seconds."""
        code = None
        if wait:
            try:
                code = self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - kill does not fail in practice
            pass
        self._responses.stop()
        if wait:  # the student's last words (a traceback) explain a crash or a failed start
            self._drainer.join(timeout=wait)
        with self._lock:
            self._ended = True
            if not self._writing:
                _close_quietly(self.proc.stdin)
        return code


class LocalSubmission(WorkerClient):
    """A student's module loaded in a plain (unsandboxed) child process, for the self-check.

    Parameters
    ----------
    source : str
        The student's Python source (a notebook already converted to source).
    filename : str
        Module file name; the module is importable in the child as its stem and as
        ``submission``.
    limits : Limits
        Timeouts, budget and the output caps. The resource limits (memory, CPU, processes,
        files) need a sandbox and are not applied.
    runtime : RuntimeSpec, optional
        What the grader provides (default: the bundled homework's ``[runtime]``). Student code
        may import only that (and the standard library) here too, whatever else this machine
        has installed, so the self-check and the grader agree about a stray ``import pandas``.
    support : Support, optional
        The homework's support module (helpers to substitute, callable kinds); none by default.

    Attributes
    ----------
    tier : str
        Always ``"local"``.
    warnings : list of str
        Empty; the grader adds the student-facing note in the student's language.
    restarts : int
        Workers started after a crash or timeout.

    Notes
    -----
    The worker runs in a private temporary folder (its working directory, deleted on
    :meth:`close`) and ends when the parent closes its request pipe, is killed on timeouts, and
    on Linux also dies with the parent (``PR_SET_PDEATHSIG``).
    """

    def __init__(
        self,
        source: str,
        *,
        filename: str = "nn.py",
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
        runtime: RuntimeSpec | None = None,
        support: Support | None = None,
    ):
        self.limits = limits or Limits()
        self.support = support or Support()
        self.tier = LOCAL_TIER
        self.warnings: list[str] = []
        self.filename = os.path.basename(filename) or "nn.py"
        self.module_name = _module_name(self.filename)
        self.restarts = 0
        self.starts = 0
        self.layers: dict[str, str] = {}
        self._stderr = bytearray()
        self._stderr_total = 0
        self._stderr_lock = threading.Lock()
        self._spent = 0.0
        self._child: _LocalChild | None = None
        self._ready = False
        self._spawned_at = 0.0
        self._loaded_in_child = False
        self._load_outcome: CallOutcome | None = None
        self._closed = False
        self._dir = Path(tempfile.mkdtemp(prefix="bpgrade-local-"))
        self._live: dict[str, _LocalChild] = {}  # what the finalizer must end if close is skipped
        self._finalizer = weakref.finalize(self, LocalSubmission._cleanup, self._live, self._dir)
        self._workdir = self._dir / "work"
        self._workdir.mkdir()
        for parts, data in checked_files(files or {}):  # helpers and data, as in the sandbox
            target = self._workdir.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self._source_path = self._dir / "source" / self.filename
        self._source_path.parent.mkdir()
        self._source_path.write_text(source, encoding="utf-8")
        config = {
            "path": worker_path(),
            "max_result_bytes": self.limits.max_result_bytes,
            "ppid": os.getpid(),
            **import_config(runtime or load_spec().runtime),
        }
        self._command = [sys.executable, *PYTHON_FLAGS, str(WORKER_SOURCE), json.dumps(config)]
        self._env = {**os.environ, **THREAD_ENV}

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Kill the worker and delete the submission's temporary folder."""
        if self._closed:
            return
        self._closed = True
        self._kill_child()
        self._finalizer()

    @staticmethod
    def _cleanup(live: dict[str, _LocalChild], directory: Path) -> None:
        child = live.pop("child", None)
        if child is not None:
            child.end()
        shutil.rmtree(directory, ignore_errors=True)

    # ------------------------------------------------------------------ public API

    @property
    def stderr(self) -> str:
        """What the student printed (capped). Never show it for hidden cases."""
        with self._stderr_lock:
            return self._stderr.decode("utf-8", "replace")

    @property
    def stderr_total(self) -> int:
        """Bytes the student printed in all, including the discarded part."""
        with self._stderr_lock:
            return self._stderr_total

    def start(self) -> None:
        """Spawn the worker now, without waiting for it to be ready (the next call waits)."""
        self._check_open()
        if self._child is None:
            self._spawn()

    # ------------------------------------------------------------------ process side

    def _locked_sink(self, chunk: bytes) -> None:
        with self._stderr_lock:  # called from the stderr thread
            self._sink(chunk)

    def _spawn(self) -> None:
        if self.starts:
            self.restarts += 1
        self.starts += 1
        self._spawned_at = time.monotonic()
        try:
            proc = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                cwd=self._workdir,
                env=self._env,
                creationflags=_NO_WINDOW,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {sys.executable}: {exc}") from None
        self._child = self._live["child"] = _LocalChild(proc, self._locked_sink)
        self._ready = False
        self._loaded_in_child = False

    def _ensure_child(self) -> None:
        """Start a worker if none is alive and wait until it is ready; SandboxError if it can't."""
        if self._child is None:
            self._spawn()
        if self._ready:
            return
        child = self._child
        assert child is not None
        deadline = self._spawned_at + min(self.limits.start_timeout, self.budget_left)
        try:
            header, _ = child.recv(deadline, Caps(max_blobs=0))
        except (_Timeout, _Crash, ProtocolError) as exc:
            self._kill_child(wait=0.5)
            raise SandboxError(self._start_failure(type(exc).__name__.strip("_"))) from None
        finally:
            self._spent += time.monotonic() - self._spawned_at
        if header.get("op") != "ready" or header.get("status") != "ok":
            self._kill_child()
            raise SandboxError(self._start_failure("no ready message"))
        self._ready = True

    def _start_failure(self, reason: str) -> str:
        """Why the worker did not start, with the last line it printed (an import error, say)."""
        lines = self.stderr.strip().splitlines()
        last = f": {lines[-1][:300]}" if lines else ""
        return f"the local worker ({sys.executable}) failed to start ({reason}){last}"

    def _load_paths(self) -> tuple[str, str]:
        return str(self._source_path), str(self._workdir)

    def _crash_message(self) -> str:
        code = self._kill_child(wait=1.0)
        if code is None:
            return "worker stopped answering"
        if code < 0:  # POSIX: killed by a signal (Windows exit codes are never negative)
            try:
                return f"worker killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"worker killed by signal {-code}"
        return f"worker exited with status {code}"

    def _kill_child(self, wait: float = 0.0) -> int | None:
        """End the worker; its exit code if it ended by itself within ``wait`` seconds."""
        child, self._child = self._child, None
        self._live.pop("child", None)
        self._loaded_in_child = False
        self._ready = False
        return None if child is None else child.end(wait)
