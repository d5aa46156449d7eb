"""Isolation tiers for the child worker: detection, slot uids, the child command, cleanup.

Tiers, strongest first (chosen once per process by :func:`detect_tiers`):

``bwrap``
    Drop to a per-slot uid (when root), rlimits, then bubblewrap: every namespace unshared, only
    /usr, the stdlib and the provided packages (with their dependencies) mounted read-only,
    private /proc, /dev and /tmp, die-with-parent.
    The worker adds the seccomp deny-list inside as a second layer.
``seccomp``
    For machines without user namespaces (Docker, Gradescope) and a root grader: per-slot uid,
    rlimits, net/IPC/UTS namespaces where permitted, the worker's seccomp deny-list and, where the
    kernel has it, a Landlock read allow-list. Afterwards every slot-uid process is killed and
    every slot-uid file in /tmp, /var/tmp and /dev/shm deleted.
``rlimits``
    A non-root grader without namespaces: rlimits, cleanup by session, seccomp/Landlock when the
    kernel allows them unprivileged, and a loud warning. Never used when the grader is root.

Student code never runs as uid 0: a root grader that cannot switch to a slot uid refuses to run.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import hashlib
import importlib.util
import json
import marshal
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.files import write_atomic

try:  # POSIX only. Without them no tier can run (see platform_problem), but Limits and
    # SandboxError stay importable: the self-check imports this module on Windows too.
    import fcntl
    import grp
    import pwd
    import resource
except ImportError:
    fcntl = grp = pwd = resource = None  # type: ignore[assignment]

from .runtime import (
    GRADER_MODULES,
    ChildRuntime,
    RuntimeSetupError,
    find_child_python,
    private_dir,
    probe_runtime,
    runtime_cache_key,
)

TIERS = ("bwrap", "seccomp", "rlimits")
#: The self-check's tier where none of TIERS can run: a plain process (harness/local.py).
LOCAL_TIER = "local"
SLOT_UID_BASE = 61000
MAX_SLOTS = 32
WORKER_SOURCE = Path(__file__).with_name("worker.py")
#: The worker's names in a stage: its bytecode where the child's Python can run the grader's
#: (see :func:`worker_program`), else its source. A student's file never takes either name.
WORKER_NAMES = ("worker.pyc", "worker.py")
#: The file name the worker's bytecode is compiled under (its tracebacks and frames show it).
WORKER_CODE_NAME = "<bpgrade worker>"
SANDBOX_STAGE = "/sandbox"
# matplotlib's config dir in the child: a directory of bwrap's own (the tier with a mount
# namespace), else one beside the stage (see ``Sandbox._stage_mplconfig``).
MPLCONFIG_INSIDE = "/var/cache/matplotlib"
MPLCONFIG_SUFFIX = ".mpl"
STAGE_PREFIX = "bpgrade-stage-"
SECCOMP_ARCHES = ("x86_64", "aarch64")
CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS = 0x40000000, 0x08000000, 0x04000000
CLEANUP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
SYSTEM_SITE_GLOBS = (
    "/usr/lib/python3/dist-packages",
    "/usr/lib/python3*/site-packages",
    "/usr/lib/python3*/dist-packages",
    "/usr/local/lib/python3*/site-packages",
    "/usr/local/lib/python3*/dist-packages",
)
RLIMITS_WARNING = (
    "WARNING: sandbox tier 'rlimits' - no uid separation or namespaces; student code runs as the "
    "grader's own user and can read everything that user can read"
)
CHILD_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/nonexistent",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    # One BLAS thread keeps RLIMIT_AS meaningful (OpenBLAS maps a buffer per thread).
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except (OSError, TypeError):  # Windows: no C library of the process to load by name None
    _LIBC = None
#: What every tier calls in the grader (forks, sessions, uids, process groups).
POSIX_CALLS = ("fork", "geteuid", "setsid", "killpg")


class SandboxError(RuntimeError):
    """The requested isolation cannot be provided; grading must not proceed."""


def platform_problem() -> str | None:
    """Why no tier can run on this machine whatever is installed; None on a usable Linux.

    The tiers are built from Linux namespaces, seccomp, Landlock, ``prctl`` and ``/proc``; on
    Windows and macOS the self-check runs the student's code as a plain local process instead.
    """
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform})"
    modules = {"fcntl": fcntl, "grp": grp, "pwd": pwd, "resource": resource}
    missing = [name for name, module in modules.items() if module is None]
    missing += [f"os.{call}" for call in POSIX_CALLS if not hasattr(os, call)]
    missing += ["libc"] if _LIBC is None else []
    if missing:
        return f"this Python has no {', '.join(missing)}"
    return None


@dataclass(frozen=True)
class Limits:
    """Time and resource limits for one submission.

    Parameters
    ----------
    start_timeout : float
        Seconds for the worker to start (interpreter + numpy import).
    load_timeout : float
        Seconds for executing the student's module.
    call_timeout : float
        Default per-call timeout when ``call`` gets none.
    total_budget : float
        Wall seconds for everything a submission does (start, load, calls, restarts).
    memory_bytes : int
        ``RLIMIT_AS`` of the child.
    cpu_seconds : int
        ``RLIMIT_CPU`` of one worker process.
    nproc : int
        ``RLIMIT_NPROC`` (per slot uid).
    fsize_bytes : int
        ``RLIMIT_FSIZE``; also the size of bwrap's private /tmp.
    nofile : int
        ``RLIMIT_NOFILE``.
    max_result_bytes : int
        Largest result (sum of float64 outputs) accepted from one call.
    max_stderr_bytes : int
        Student output kept (the rest is read and discarded).
    """

    start_timeout: float = 20.0
    load_timeout: float = 10.0
    call_timeout: float = 10.0
    total_budget: float = 120.0
    memory_bytes: int = 1 << 30
    cpu_seconds: int = 150
    nproc: int = 64
    fsize_bytes: int = 16 << 20
    nofile: int = 64
    max_result_bytes: int = 64 << 20
    max_stderr_bytes: int = 64 << 10


# --------------------------------------------------------------------------- slots


@dataclass
class Slot:
    """One concurrent grading slot: its own uid/gid (so ``RLIMIT_NPROC`` and cleanup are per slot)."""

    index: int
    uid: int
    gid: int
    lock_fd: int = -1

    def release(self) -> None:
        """Give the slot back (the flock dies with the fd)."""
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1


def _lock_dir() -> str:
    try:
        return private_dir()
    except RuntimeSetupError as exc:
        raise SandboxError(str(exc)) from None


def _uid_unused(uid: int) -> bool:
    """No passwd/group entry: the uid belongs to nobody else on this machine."""
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return False
        except KeyError:
            pass
    return True


def acquire_slot() -> Slot:
    """Reserve a free slot uid (flock across grader processes); kill its stale processes.

    Returns
    -------
    Slot

    Raises
    ------
    SandboxError
        All slots busy.
    """
    lock_dir = _lock_dir()
    for index in range(MAX_SLOTS):
        uid = SLOT_UID_BASE + index
        if not _uid_unused(uid):
            continue
        fd = os.open(
            os.path.join(lock_dir, f"slot-{index}.lock"),
            os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
            0o600,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        kill_uid_processes(uid)  # leftovers of a grader that died mid-run
        _remove_stale_stages(uid)
        return Slot(index, uid, uid, fd)
    raise SandboxError(f"all {MAX_SLOTS} sandbox slots are busy")


def _remove_stale_stages(gid: int) -> None:
    """Delete stage dirs of this slot left by a grader that was killed (we hold the slot now)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if name.startswith(STAGE_PREFIX):
            path = os.path.join(base, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and info.st_gid == gid:
                shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- process cleanup


def _proc_entries() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _status_uids(pid: int) -> set[int]:
    """uids of a live process; empty for zombies (they cannot run, and SIGKILL cannot reap them)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return set()
                if line.startswith("Uid:"):
                    return {int(x) for x in line.split()[1:]}
    except (OSError, ValueError, IndexError):
        pass
    return set()


def _session_and_group(pid: int) -> tuple[int, int]:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return -1, -1
        return int(fields[3]), int(fields[2])
    except (OSError, ValueError, IndexError):
        return -1, -1


def pids_of_uid(uid: int) -> list[int]:
    """Pids whose real, effective or saved uid is ``uid``.

    Parameters
    ----------
    uid : int

    Returns
    -------
    list of int
    """
    return [pid for pid in _proc_entries() if uid in _status_uids(pid)]


def _has_token(pid: int, token: bytes) -> bool:
    """Whether a process still carries the run's environment marker (forks and setsid keep it)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return token in fh.read().split(b"\0")
    except OSError:
        return False


def pids_of_session(sid: int, token: str | None = None) -> list[int]:
    """Pids in session/process group ``sid`` or carrying ``BPGRADE_RUN=token`` in their environment.

    Parameters
    ----------
    sid : int
        The worker's pid (``start_new_session`` makes it the session and group id).
    token : str, optional
        The run marker; catches ``setsid`` daemons that left the session.

    Returns
    -------
    list of int
    """
    marker = f"BPGRADE_RUN={token}".encode() if token else None
    me = os.getpid()
    found = []
    for pid in _proc_entries():
        if pid == me:
            continue
        if sid in _session_and_group(pid) or (
            marker and _status_uids(pid) and _has_token(pid, marker)
        ):
            found.append(pid)
    return found


def _kill_until_gone(find: Any, rounds: int = 200) -> int:
    """SIGKILL whatever ``find()`` returns until it returns nothing (fork bombs respawn)."""
    killed = 0
    for _ in range(rounds):
        pids = find()
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.002)
    return killed


def kill_uid_processes(uid: int) -> int:
    """Kill every process of a slot uid (never call with a real user's uid).

    Parameters
    ----------
    uid : int

    Returns
    -------
    int
        Signals sent.
    """
    if uid < SLOT_UID_BASE or uid >= SLOT_UID_BASE + MAX_SLOTS:
        raise ValueError(f"refusing to kill processes of non-slot uid {uid}")
    return _kill_until_gone(lambda: pids_of_uid(uid))


def kill_session(sid: int, token: str | None = None) -> int:
    """Kill every process in the worker's session/group or carrying its run marker (non-root tiers)."""
    return _kill_until_gone(lambda: pids_of_session(sid, token))


def remove_uid_files(uid: int, roots: tuple[str, ...] = CLEANUP_DIRS) -> list[str]:
    """Delete everything owned by a slot uid under the shared temporary directories.

    Parameters
    ----------
    uid : int
    roots : tuple of str

    Returns
    -------
    list of str
        Paths removed.
    """
    removed: list[str] = []
    for root in roots:
        _remove_owned(root, uid, removed, depth=0)
    return removed


def _remove_owned(directory: str, uid: int, removed: list[str], depth: int) -> None:
    if depth > 4:
        return
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid == uid:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                try:
                    os.unlink(entry.path)
                except OSError:
                    continue
            removed.append(entry.path)
        elif stat.S_ISDIR(info.st_mode) and _slot_may_write(info, uid):
            _remove_owned(entry.path, uid, removed, depth + 1)


def _slot_may_write(info: os.stat_result, uid: int) -> bool:
    """A slot uid (no supplementary groups, gid == uid) can only create entries in such dirs."""
    return bool(info.st_mode & stat.S_IWOTH or (info.st_gid == uid and info.st_mode & stat.S_IWGRP))


# --------------------------------------------------------------------------- spawning


def _set_rlimits(limits: Limits, nproc: int) -> None:
    for res, value in (
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.fsize_bytes),
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, nproc),
    ):
        resource.setrlimit(res, (value, value))
    # SIGXCPU at the soft limit, SIGKILL one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    # Exactly the grader's own nice value may be regained (RLIMIT_NICE n allows nice >= 20 - n),
    # never a better one: a zygote can then undo a nice value or SCHED_IDLE put on it.
    ceiling = 20 - os.getpriority(os.PRIO_PROCESS, 0)
    try:
        resource.setrlimit(resource.RLIMIT_NICE, (ceiling, ceiling))
    except (ValueError, OSError):
        pass  # a lower hard limit, no CAP_SYS_RESOURCE: such a zygote is rebuilt, not restored


def _make_preexec(limits: Limits, slot: Slot | None, unshare_flags: int, nproc: int) -> Any:
    """Build the function run between fork and exec. Keep it tiny: the parent may have threads."""
    prctl = _LIBC.prctl
    unshare = _LIBC.unshare

    def preexec() -> None:
        _set_rlimits(limits, nproc)
        if unshare_flags and unshare(unshare_flags) != 0:
            raise OSError(ctypes.get_errno(), "unshare failed")
        if slot is not None:
            os.setgroups([])
            os.setresgid(slot.gid, slot.gid, slot.gid)
            os.setresuid(slot.uid, slot.uid, slot.uid)
        # After the uid change: changing credentials clears PDEATHSIG.
        prctl(1, signal.SIGKILL, 0, 0, 0)

    return preexec


@dataclass
class Stage:
    """The directory the child sees: ``worker.py``, the student's source and, per worker, a
    working folder with the submission's other files (``w-<random>/``), nothing else.

    The working folder is the worker's current directory and the first entry of its ``sys.path``
    (so ``from utils import helper`` and ``np.load('data.npy')`` work). It and everything in it
    are the grader's and only readable by the slot (read-only under bubblewrap), and each
    :meth:`write_source` makes a new one under a new random name, so a zygote's next fork never
    sees the previous submission's folder.
    """

    path: Path
    source_name: str
    workdir_name: str = ""
    worker_name: str = "worker.py"

    def inside(self, tier: str) -> tuple[str, str]:
        """Paths of (worker, source) as the child sees them."""
        base = SANDBOX_STAGE if tier == "bwrap" else str(self.path)
        return f"{base}/{self.worker_name}", f"{base}/{self.source_name}"

    def workdir_inside(self, tier: str) -> str:
        """The working folder as the child sees it ("" before any :meth:`write_source`)."""
        if not self.workdir_name:
            return ""
        base = SANDBOX_STAGE if tier == "bwrap" else str(self.path)
        return f"{base}/{self.workdir_name}"

    def write_source(
        self,
        source: str | bytes,
        filename: str,
        slot: Slot | None,
        files: dict[str, bytes] | None = None,
    ) -> None:
        """Put a student's module (and its other files) in the stage, replacing the previous
        submission's (a zygote's stage serves one submission after another). Only the slot's
        group may read them; nobody but the grader may write.

        Raises
        ------
        ValueError
            A key of ``files`` is not a safe relative POSIX path (see
            :func:`autograder.intake.checked_files`).
        """
        checked = _checked(files or {})  # before anything of the old one is gone
        self.clear_source()
        name = os.path.basename(filename)
        # Never over the worker: a zygote rebooted later would run the student's file as worker.py.
        self.source_name = name if name and name not in WORKER_NAMES else "nn.py"
        target = self.path / self.source_name
        target.write_bytes(source.encode("utf-8") if isinstance(source, str) else bytes(source))
        _grant(target, slot, directory=False)
        self.workdir_name = f"w-{secrets.token_hex(8)}"
        _write_tree(self.path / self.workdir_name, checked, slot)

    def clear_source(self) -> None:
        """Delete the student's module and working folder (the stage keeps the worker)."""
        if self.source_name and self.source_name not in WORKER_NAMES:
            (self.path / self.source_name).unlink(missing_ok=True)
        if self.workdir_name:
            shutil.rmtree(self.path / self.workdir_name, ignore_errors=True)
            self.workdir_name = ""

    @property
    def mplconfig(self) -> Path:
        """matplotlib's config dir in the tiers without a mount namespace: beside the stage (whose
        only file between submissions is the worker), removed and swept with it."""
        return self.path.with_name(self.path.name + MPLCONFIG_SUFFIX)


def _checked(files: dict[str, bytes]) -> list[tuple[tuple[str, ...], bytes]]:
    """:func:`autograder.intake.checked_files`, imported only when there are files: a zygote's
    stage has none, and it is staged on a cold command's path to its first worker."""
    if not files:
        return []
    from autograder.intake import checked_files

    return checked_files(files)


def _grant(path: Path, slot: Slot | None, directory: bool) -> None:
    """Readable by the slot's group (or, without a slot, by the owner only); writable by no one
    but a root grader. Without a slot the worker runs as the grader's own uid: its seccomp
    deny-list (no chmod, no write) is then what keeps the files read-only."""
    if slot is not None:
        os.chown(path, -1, slot.gid)
        path.chmod(0o750 if directory else 0o640)
    else:
        path.chmod(0o700 if directory else 0o400)


def _write_tree(root: Path, files: list[tuple[tuple[str, ...], bytes]], slot: Slot | None) -> None:
    """Create ``root`` (new) and the files in it; nothing in it can be a link (all are made here,
    with O_EXCL | O_NOFOLLOW, in folders only the grader can write)."""
    root.mkdir(mode=0o700)
    made = [root]
    for parts, data in files:
        folder = root
        for part in parts[:-1]:
            folder = folder / part
            if folder not in made:
                folder.mkdir(mode=0o700)
                made.append(folder)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(folder / parts[-1], flags, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _grant(folder / parts[-1], slot, directory=False)
    for folder in made:  # last: a folder the owner cannot write would refuse the files above
        _grant(folder, slot, directory=True)


def machine() -> str:
    """The hardware name (``x86_64``), as :func:`platform.machine` says it on POSIX; importing
    :mod:`platform` would cost a cold command its time on the way to its zygote."""
    return os.uname().machine if hasattr(os, "uname") else ""


@functools.lru_cache(maxsize=4)
def _bwrap_features(bwrap: str) -> frozenset[str]:
    """The optional flags ``bwrap`` knows, from its ``--help``: asked once per binary (its path,
    size and time), then read from the private state directory."""
    try:
        info = os.stat(bwrap)
        key = [bwrap, info.st_size, info.st_mtime_ns]
        name = f"bwrap-{hashlib.sha256(bwrap.encode()).hexdigest()[:16]}.json"
        cache = os.path.join(_lock_dir(), name)
    except (OSError, SandboxError):
        return _ask_bwrap_features(bwrap) or frozenset()
    try:
        with open(cache) as fh:
            data = json.load(fh)
        if data["key"] == key:
            return frozenset(str(flag) for flag in data["features"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    features = _ask_bwrap_features(bwrap)
    if features is None:  # not asked at all: ask again next time, never remember "none"
        return frozenset()
    with contextlib.suppress(OSError):
        write_atomic(cache, json.dumps({"key": key, "features": sorted(features)}))
    return features


def _ask_bwrap_features(bwrap: str) -> frozenset[str] | None:
    """The flags from ``bwrap --help``; None if it could not be run."""
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if "--unshare" not in done.stdout:
        return None  # not bubblewrap's usage text: a failed start, not an old bwrap
    return frozenset(
        flag for flag in ("--size", "--disable-userns", "--remount-ro") if flag in done.stdout
    )


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _site_of(entry: str) -> str:
    """The site-packages directory holding a provided entry (``__pycache__`` files included)."""
    parent = os.path.dirname(entry)
    return os.path.dirname(parent) if os.path.basename(parent) == "__pycache__" else parent


@dataclass
class Sandbox:
    """One isolation configuration; spawns workers and cleans up after them.

    Parameters
    ----------
    tier : str
        ``"auto"``, ``"bwrap"``, ``"seccomp"`` or ``"rlimits"``.
    seccomp : bool, optional
        Install the seccomp deny-list in the worker; default: whenever the arch is supported
        (required in the ``seccomp`` tier).
    landlock : bool, optional
        Install a Landlock read allow-list; default: in non-bwrap tiers when the kernel has it.
    python : str, optional
        Child interpreter (default :func:`find_child_python`).
    """

    tier: str = "auto"
    seccomp: bool | None = None
    landlock: bool | None = None
    python: str | None = None
    runtime: ChildRuntime = field(init=False)
    layers: dict[str, str] = field(init=False, default_factory=dict)
    warnings: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        problem = platform_problem()
        if problem is not None:
            raise SandboxError(problem)
        root = os.geteuid() == 0
        try:
            self.runtime = probe_runtime(self.python or find_child_python(dropping_privileges=root))
        except RuntimeSetupError as exc:
            raise SandboxError(str(exc)) from None
        requested = self.tier
        if requested == "auto":
            self.tier = choose_tier(self.runtime.python)
        elif requested not in TIERS:
            raise ValueError(f"unknown sandbox tier {requested!r}")
        elif requested == "rlimits" and root:
            raise SandboxError(
                "refusing tier 'rlimits' as root: student code must not run as uid 0"
            )
        self._resolve_layers()

    # ------------------------------------------------------------------ configuration

    def _resolve_layers(self) -> None:
        root = os.geteuid() == 0
        arch_ok = machine() in SECCOMP_ARCHES
        if self.seccomp is None:
            self.seccomp = arch_ok
        if self.tier == "seccomp" and not (self.seccomp and arch_ok):
            raise SandboxError(
                f"tier 'seccomp' needs a supported arch ({', '.join(SECCOMP_ARCHES)})"
            )
        if self.landlock is None:
            self.landlock = self.tier != "bwrap" and landlock_abi() > 0
        self.unshare_flags = 0
        if self.tier == "seccomp" and root and _can_unshare():
            self.unshare_flags = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        self.drop_uid = root
        self.layers = {
            "uid": "per-slot uid" if root else "grader's own uid",
            "rlimits": "AS, CPU, NPROC, FSIZE, NOFILE, CORE",
            "namespaces": self._namespaces_text(),
            "seccomp": "requested" if self.seccomp else "off",
            "landlock": "requested" if self.landlock else "off",
        }
        if self.tier == "rlimits":
            self.warnings.append(RLIMITS_WARNING)
        elif self.tier == "seccomp":
            self.warnings.append(
                "sandbox tier 'seccomp': no mount namespace; files readable by every user stay readable"
                + ("" if self.landlock else " (no Landlock on this kernel)")
            )
        if self.tier != "bwrap" and not self.seccomp:
            self.warnings.append(
                "WARNING: no seccomp filter: the submission may fork, write files and open sockets"
            )
        if self.runtime.missing:
            self.warnings.append(
                f"the child runtime lacks {', '.join(self.runtime.missing)}, which it should "
                "provide: run `bpgrade setup` (as root)"
            )

    def _namespaces_text(self) -> str:
        if self.tier == "bwrap":
            return "all (user, pid, net, ipc, uts, cgroup, mount)"
        if self.unshare_flags:
            return "net, ipc, uts"
        return "none"

    def worker_config(self, stage: Stage, limits: Limits, zygote: bool = False) -> dict[str, Any]:
        """The JSON the worker reads from ``argv[1]``."""
        # A zygote's workers share its sandbox one after another: only the deny-list (no fork,
        # no signal to others, no file written) keeps one submission from reaching the next.
        require = ["seccomp"] if self.tier == "seccomp" or zygote else []
        return {
            "zygote": zygote,
            "path": self.runtime.package_sites,
            # What student code may import from site-packages, and what feedback says is there.
            "importable": self.runtime.importable,
            "provided": self.runtime.modules,
            "reserved": sorted(GRADER_MODULES),  # never a placeholder: importing them fails
            "seccomp": bool(self.seccomp),
            "landlock": bool(self.landlock),
            "landlock_paths": [
                str(stage.path),
                str(stage.mplconfig),
                *self.runtime.package_dirs,
                *self.runtime.stdlib_paths,
            ],
            "ppid": None if self.tier == "bwrap" else os.getpid(),
            "max_result_bytes": limits.max_result_bytes,
            "require": require,
        }

    def bwrap_args(
        self, stage: Stage, limits: Limits, features: frozenset[str], token: str = ""
    ) -> list[str]:
        """bubblewrap arguments: read-only /usr, stdlib and the provided packages only; everything
        unshared."""
        args = [
            _bwrap_path() or "bwrap",
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        if "--disable-userns" in features:
            args.append("--disable-userns")
        for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(name):
                args += ["--symlink", os.readlink(name), name]
            elif os.path.isdir(name):
                args += ["--ro-bind", name, name]
        for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
            args += ["--ro-bind-try", name, name]
        bound = ["/usr"]
        for prefix in self.runtime.prefixes + [
            os.path.dirname(os.path.realpath(self.runtime.python))
        ]:
            if not _under(prefix, bound):
                args += ["--ro-bind", prefix, prefix]
                bound.append(prefix)
        args += self._mask_site_dirs(bound, features)
        args += ["--proc", "/proc", "--dev", "/dev"]
        if "--size" in features:
            args += ["--size", str(limits.fsize_bytes)]
        args += ["--tmpfs", "/tmp", "--ro-bind", str(stage.path), SANDBOX_STAGE, "--chdir", "/tmp"]
        args += self._mplconfig_args()
        for key, value in self._child_env(token, stage).items():
            args += ["--setenv", key, value]
        return args

    def _child_env(self, token: str, stage: Stage | None = None) -> dict[str, str]:
        """The child's whole environment: the runtime's (``[runtime] env``), then the sandbox's
        own, which wins (one BLAS thread keeps RLIMIT_AS meaningful)."""
        env = {**self.runtime.env, **CHILD_ENV}
        if self._wants_mplconfig and stage is not None:
            env["MPLCONFIGDIR"] = MPLCONFIG_INSIDE if self.tier == "bwrap" else str(stage.mplconfig)
        # The marker lets non-root cleanup find setsid daemons that left the worker's session.
        return {**env, "BPGRADE_RUN": token}

    @property
    def _wants_mplconfig(self) -> bool:
        """matplotlib is provided: it needs a config dir it may write to, or it fails at import."""
        return "matplotlib" in self.runtime.importable

    def _mplconfig_files(self) -> list[str]:
        """The prebuilt config files (font cache, matplotlibrc) made by ``bpgrade setup``."""
        source = self.runtime.mplconfig
        if not source or not os.path.isdir(source):
            return []  # matplotlib then rebuilds its font cache in memory at each import
        paths = (os.path.join(source, name) for name in sorted(os.listdir(source)))
        return [p for p in paths if os.path.isfile(p) and not os.path.islink(p)]

    def _mplconfig_args(self) -> list[str]:
        """A matplotlib config dir the child owns (so matplotlib accepts it; the seccomp layer
        still forbids writing) showing the runtime's prebuilt font cache read-only."""
        if not self._wants_mplconfig:
            return []
        args = ["--dir", MPLCONFIG_INSIDE]
        for path in self._mplconfig_files():
            args += ["--ro-bind", path, f"{MPLCONFIG_INSIDE}/{os.path.basename(path)}"]
        return args

    def _mask_site_dirs(self, bound: list[str], features: frozenset[str]) -> list[str]:
        """Hide every site-packages dir (the grader's packages may live there) but the entries of
        the provided packages and their dependencies, each bound read-only where it lives."""
        args: list[str] = []
        site = self.runtime.site_dir
        provided = self.runtime.package_dirs
        # System-wide site dirs too: a root grader may have pip-installed bpgrade there.
        system_sites = {
            os.path.realpath(p) for pattern in SYSTEM_SITE_GLOBS for p in glob.glob(pattern)
        }
        placed: set[str] = set()
        for directory in sorted(set(self.runtime.site_dirs) | system_sites | {site}):
            if not os.path.isdir(directory):
                continue
            mine = [p for p in provided if _site_of(p) == directory]
            placed.update(mine)
            binds = [arg for p in mine for arg in ("--ro-bind", p, p)]
            if _under(directory, bound):
                args += ["--tmpfs", directory, *binds]
                if "--remount-ro" in features:
                    args += ["--remount-ro", directory]
            else:
                args += binds
        return args + [arg for p in provided if p not in placed for arg in ("--ro-bind", p, p)]

    def command(
        self, stage: Stage, limits: Limits, token: str = "", zygote: bool = False
    ) -> list[str]:
        """The full argv that starts the worker (or a zygote of workers) for this tier."""
        worker, _ = stage.inside(self.tier)
        python = [
            self.runtime.python,
            "-I",
            "-S",
            "-B",
            worker,
            json.dumps(self.worker_config(stage, limits, zygote)),
        ]
        if self.tier == "bwrap":
            return (
                self.bwrap_args(stage, limits, _bwrap_features(_bwrap_path() or "bwrap"), token)
                + python
            )
        return python

    # ------------------------------------------------------------------ lifecycle

    def make_stage(
        self,
        source: str | bytes,
        filename: str,
        slot: Slot | None,
        files: dict[str, bytes] | None = None,
    ) -> Stage:
        """Write the worker (:func:`worker_program`) and the student source to a fresh directory
        only the slot can read.

        Parameters
        ----------
        source : str or bytes
        filename : str
            Base name for the student module (e.g. ``nn.py``).
        slot : Slot or None
        files : dict of str to bytes, optional
            The submission's other files (relative POSIX path -> bytes) for the working folder.

        Returns
        -------
        Stage
        """
        path = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX))
        worker_name, program = worker_program(self.runtime.magic)
        worker = path / worker_name
        worker.write_bytes(program)
        if slot is not None:
            # Only this slot's group may read it: other slots (other students) may not.
            os.chown(worker, -1, slot.gid)
            worker.chmod(0o640)
            os.chown(path, -1, slot.gid)
            path.chmod(0o750)
        stage = Stage(path, "", worker_name=worker_name)
        if self.tier != "bwrap" and self._wants_mplconfig:
            self._stage_mplconfig(stage.mplconfig, slot)
        stage.write_source(source, filename, slot, files)
        return stage

    def _stage_mplconfig(self, target: Path, slot: Slot | None) -> None:
        """Without a mount namespace, matplotlib's config dir is a copy of the prebuilt one that
        the slot's group may write to: matplotlib accepts only such a directory, and the seccomp
        layer still forbids every write. Owned by the grader, like the stage, so a killed
        grader's copy is swept with its stage."""
        target.mkdir(mode=0o700)
        for path in self._mplconfig_files():
            copy = target / os.path.basename(path)
            shutil.copyfile(path, copy)
            copy.chmod(0o644)
        if slot is not None:
            os.chown(target, -1, slot.gid)
            target.chmod(0o770)

    def spawn(
        self, stage: Stage, limits: Limits, slot: Slot | None, *, control: int | None = None
    ) -> subprocess.Popen[bytes]:
        """Start the worker: pipes on fds 0/1/2, a new session, rlimits, the slot uid.

        Parameters
        ----------
        stage : Stage
        limits : Limits
        slot : Slot or None
            Required when the grader is root.
        control : int, optional
            A Unix socket: start a zygote (see :mod:`autograder.harness.zygote`) that talks on it
            as fds 0 and 1, instead of a worker on pipes.

        Returns
        -------
        subprocess.Popen
        """
        if os.geteuid() == 0 and slot is None:
            raise SandboxError("refusing to run student code as root without a slot uid")
        nproc = limits.nproc
        if slot is None:
            # NPROC counts every process of the grader's uid; leave room for them.
            nproc += count_uid_processes(os.geteuid())
        token = secrets.token_hex(8)
        zygote = control is not None
        proc = subprocess.Popen(
            self.command(stage, limits, token, zygote),
            stdin=control if zygote else subprocess.PIPE,
            stdout=control if zygote else subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
            start_new_session=True,
            cwd=str(stage.path) if self.tier != "bwrap" else "/",
            env=self._child_env(token, stage),
            preexec_fn=_make_preexec(
                limits, slot if self.drop_uid else None, self.unshare_flags, nproc
            ),
        )
        proc.bpgrade_token = token  # type: ignore[attr-defined]
        return proc

    def cleanup(self, proc: subprocess.Popen[bytes] | None, slot: Slot | None) -> None:
        """Kill every process the worker may have left and (slot tiers) its files."""
        if proc is not None:
            for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
                try:
                    kill()
                except OSError:
                    pass
            if slot is None:
                kill_session(proc.pid, getattr(proc, "bpgrade_token", None))
        if slot is not None:
            if proc is not None:
                # The worker's own exit first: what it leaves of the slot uid is then mostly gone
                # already, and one look through /proc finds the rest (a look costs ~2 ms).
                _await_exit(proc, 0.05)
            kill_uid_processes(slot.uid)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if slot is not None and self.tier != "bwrap":
            remove_uid_files(slot.uid)

    @staticmethod
    def remove_stage(stage: Stage) -> None:
        """Delete the stage directory (and matplotlib's config dir beside it)."""
        shutil.rmtree(stage.path, ignore_errors=True)
        shutil.rmtree(stage.mplconfig, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        """Active layers and warnings of this configuration (for reports and ``bpgrade doctor``)."""
        return {
            "tier": self.tier,
            "python": self.runtime.python,
            "python_version": self.runtime.version,
            "numpy_version": self.runtime.numpy_version,
            "provided": list(self.runtime.modules),
            "layers": dict(self.layers),
            "warnings": list(self.warnings),
        }


def worker_program(magic: str) -> tuple[str, bytes]:
    """The worker as a stage holds it: ``("worker.pyc", bytecode)`` for a child whose bytecode
    ``magic`` (hex, from its probe) is the grader's own, else ``("worker.py", source)``.

    Compiling the worker's 1,900 lines takes a child about 15 ms, on every zygote and every fresh
    worker, and the child cannot cache it (``-B``, a read-only stage). Python runs a ``.pyc``
    given as its script, so the grader compiles it once and keeps it in its private directory.
    """
    source = WORKER_SOURCE.read_bytes()
    if magic != importlib.util.MAGIC_NUMBER.hex():
        return "worker.py", source
    return "worker.pyc", _worker_bytecode(source)


@functools.lru_cache(maxsize=2)
def _worker_bytecode(source: bytes) -> bytes:
    """``source`` as an unchecked hash-based ``.pyc`` (PEP 552), from the private cache if there."""
    digest = importlib.util.source_hash(source)
    magic = importlib.util.MAGIC_NUMBER
    try:
        cached = os.path.join(private_dir(), f"worker-{magic.hex()}-{digest.hex()}.pyc")
    except RuntimeSetupError:
        cached = None
    if cached is not None:
        try:
            with open(cached, "rb") as fh:
                program = fh.read()
            if program[:4] == magic and program[8:16] == digest:
                return program
        except OSError:
            pass
    code = compile(source, WORKER_CODE_NAME, "exec", dont_inherit=True)
    flags = (0b11).to_bytes(4, "little")  # hash-based, not checked against a source file
    program = magic + flags + digest + marshal.dumps(code)
    if cached is not None:
        for stale in glob.glob(os.path.join(os.path.dirname(cached), "worker-*.pyc")):
            with contextlib.suppress(OSError):  # an older worker's: one file per grader, not more
                os.unlink(stale)
        with contextlib.suppress(OSError):
            write_atomic(cached, program)
    return program


def _await_exit(proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Return once ``proc`` has exited (not reaped) or ``seconds`` have passed.

    Woken by a pidfd the moment it exits; ``Popen.wait(timeout)`` would poll with sleeps that
    cost every cold grade a few ms at its close.
    """
    if proc.returncode is not None:
        return  # reaped already: its pid may be someone else's now
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # before Linux 5.3 or Python 3.9
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pass
        return
    try:
        select.select([fd], [], [], seconds)
    finally:
        os.close(fd)


def count_uid_processes(uid: int) -> int:
    """Processes of ``uid`` including zombies (they still count against ``RLIMIT_NPROC``)."""
    count = 0
    for pid in _proc_entries():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += 1
        except OSError:
            pass
    return count


def _bwrap_path() -> str | None:
    for candidate in ("/usr/bin/bwrap", shutil.which("bwrap")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def landlock_abi() -> int:
    """Landlock ABI version of the running kernel (0 if absent).

    Returns
    -------
    int
    """
    syscall = _LIBC.syscall
    syscall.restype = ctypes.c_long
    abi = syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(abi), 0)


@functools.lru_cache(maxsize=1)
def _can_unshare() -> bool:
    """Whether a root child may create net/IPC/UTS namespaces (needs CAP_SYS_ADMIN)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        ok = _LIBC.unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) == 0
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


# --------------------------------------------------------------------------- detection


def _probe(tier: str, python: str) -> tuple[bool, str, dict[str, str]]:
    """Start a real worker in ``tier`` and wait for its ``ready`` frame."""
    from .protocol import ProtocolError, decode_frame  # numpy: only ``bpgrade doctor`` probes

    slot = None
    try:
        sandbox = Sandbox(tier=tier, python=python)
    except SandboxError as exc:
        return False, str(exc), {}
    limits = Limits()
    root = os.geteuid() == 0
    try:
        slot = acquire_slot() if root else None
        stage = sandbox.make_stage("", "nn.py", slot)
        try:
            proc = sandbox.spawn(stage, limits, slot)
            try:
                out, err = proc.communicate(b"", timeout=limits.start_timeout)
            except subprocess.TimeoutExpired:
                return False, "worker did not start in time", {}
            finally:
                sandbox.cleanup(proc, slot)
        finally:
            sandbox.remove_stage(stage)
        try:
            header, _ = decode_frame(out)
        except ProtocolError:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return False, f"worker failed to start: {tail[0][:200]}", {}
        if header.get("status") != "ok":
            return False, f"worker refused to start: {header.get('layers')}", {}
        return True, "ok", {k: str(v) for k, v in header.get("layers", {}).items()}
    except (OSError, SandboxError, subprocess.SubprocessError) as exc:
        return False, f"{type(exc).__name__}: {exc}", {}
    finally:
        if slot is not None:
            slot.release()


def _quick_probe(tier: str, python: str) -> tuple[bool, str]:
    """Cheap start-up check (~20 ms): can the slot uid run the child python (under bwrap)?

    The worker's own ``ready`` frame verifies the filters later and fails closed.
    """
    try:
        sandbox = Sandbox(tier=tier, python=python)
    except SandboxError as exc:
        return False, str(exc)
    limits = Limits()
    root = os.geteuid() == 0
    slot = None
    try:
        slot = acquire_slot() if root else None
        stage = sandbox.make_stage("", "nn.py", slot)
        try:
            cmd = [sandbox.runtime.python, "-I", "-S", "-c", "pass"]
            if tier == "bwrap":
                cmd = (
                    sandbox.bwrap_args(stage, limits, _bwrap_features(_bwrap_path() or "bwrap"))
                    + cmd
                )
            proc = subprocess.run(
                cmd,
                capture_output=True,
                timeout=limits.start_timeout,
                cwd=str(stage.path) if tier != "bwrap" else "/",
                env=dict(CHILD_ENV),
                preexec_fn=_make_preexec(limits, slot, sandbox.unshare_flags, limits.nproc + 64),
                check=False,
            )
        finally:
            sandbox.remove_stage(stage)
            if slot is not None:
                kill_uid_processes(slot.uid)
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return False, f"exit {proc.returncode}: {tail[0][:200]}"
        return True, "ok"
    except (OSError, SandboxError, subprocess.SubprocessError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        if slot is not None:
            slot.release()


@functools.lru_cache(maxsize=4)
def choose_tier(python: str) -> str:
    """The strongest tier that works here (quick probes, first success wins; cached).

    The choice is also kept on disk, keyed by what decides it (interpreter, kernel, bwrap, user
    namespace settings, uid): a fresh ``bpgrade grade`` then skips the probes (about 40 ms). A
    worker that then fails to start calls :func:`forget_tier_choice`.

    Parameters
    ----------
    python : str
        Child interpreter.

    Returns
    -------
    str

    Raises
    ------
    SandboxError
        No tier can run student code (e.g. a root grader that cannot switch uid).
    """
    cached = _cached_tier(python)
    if cached is not None:
        return cached
    reasons = []
    for tier in TIERS:
        reason = _static_reason(tier)
        if reason is None:
            ok, reason = _quick_probe(tier, python)
            if ok:
                _store_tier(python, tier)
                return tier
        reasons.append(f"{tier}: {reason}")
    raise SandboxError(f"no sandbox tier can run student code here ({'; '.join(reasons)})")


USERNS_SETTINGS = (
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/user/max_user_namespaces",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
)


def _tier_key(python: str) -> list[object]:
    """Everything the tier choice depends on; any change forces new probes."""
    bwrap = _bwrap_path()
    key: list[object] = [
        *runtime_cache_key(python),
        os.geteuid(),
        machine(),
        os.uname().release,
        bwrap,
        os.stat(bwrap).st_mtime_ns if bwrap else 0,
    ]
    for setting in USERNS_SETTINGS:
        try:
            with open(setting) as fh:
                key.append(fh.read().strip())
        except OSError:
            key.append(None)
    return key


def _tier_cache_path(python: str) -> str:
    return os.path.join(
        _lock_dir(), f"tier-{hashlib.sha256(python.encode()).hexdigest()[:16]}.json"
    )


def _cached_tier(python: str) -> str | None:
    try:
        with open(_tier_cache_path(python)) as fh:
            data = json.load(fh)
        if data.get("key") == _tier_key(python) and data.get("tier") in TIERS:
            return data["tier"]
    except (OSError, ValueError, AttributeError, SandboxError):
        pass
    return None


def _store_tier(python: str, tier: str) -> None:
    try:
        write_atomic(_tier_cache_path(python), json.dumps({"key": _tier_key(python), "tier": tier}))
    except (OSError, SandboxError):
        pass


def forget_tier_choice(python: str) -> None:
    """Drop the remembered tier (memory and disk): the next :func:`choose_tier` probes again.

    Parameters
    ----------
    python : str
        Child interpreter.
    """
    choose_tier.cache_clear()
    try:
        os.unlink(_tier_cache_path(python))
    except (OSError, SandboxError):
        pass


def _static_reason(tier: str) -> str | None:
    """Why ``tier`` cannot work here without even trying, or None."""
    root = os.geteuid() == 0
    if tier == "bwrap" and _bwrap_path() is None:
        return "bubblewrap not installed (apt-get install bubblewrap, or run `bpgrade setup`)"
    if tier == "seccomp":
        if not root:
            return "needs a root grader to switch to a slot uid"
        if machine() not in SECCOMP_ARCHES:
            return f"no seccomp syscall table for arch {machine()}"
    if tier == "rlimits" and root:
        return "refused as root: student code must not run as uid 0"
    return None


def detect_tiers(python: str | None = None) -> dict[str, dict[str, Any]]:
    """Probe every tier once (cached): which can run a worker here, and why not.

    Parameters
    ----------
    python : str, optional
        Child interpreter; default :func:`find_child_python`.

    Returns
    -------
    dict
        ``{tier: {"available": bool, "reason": str, "layers": {...}}}``.
    """
    return _detect_tiers(python or find_child_python())


@functools.lru_cache(maxsize=4)
def _detect_tiers(python: str) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = {}
    for tier in TIERS:
        reason = _static_reason(tier)
        if reason is None:
            ok, reason, layers = _probe(tier, python)
        else:
            ok, layers = False, {}
        report[tier] = {"available": ok, "reason": reason, "layers": layers}
    return report


def describe(tier: str = "auto") -> dict[str, Any]:
    """Everything ``bpgrade doctor`` prints: chosen tier, active layers, why others are off.

    Parameters
    ----------
    tier : str
        Tier to describe (``"auto"`` picks the strongest available).

    Returns
    -------
    dict
    """
    info: dict[str, Any] = {"grader_uid": os.geteuid(), "arch": machine()}
    try:
        python = find_child_python()
        info["child_python"] = python
        info["tiers"] = detect_tiers(python)
        sandbox = Sandbox(tier=tier, python=python)
        info.update(sandbox.describe())
        info["landlock_abi"] = landlock_abi()
        info["bwrap"] = _bwrap_path()
    except (SandboxError, RuntimeSetupError) as exc:
        info["error"] = str(exc)
    return info
