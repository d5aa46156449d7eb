"""bpgrade child worker: runs ONE student's code and answers the parent's requests.

This file is copied into a stage directory and run as ``python -I -S -B worker.py CONFIG_JSON``
by an unprivileged uid. It imports only the standard library and numpy, never ``autograder``
or ``bpnet_ref``. Everything here is untrusted once student code has run: the parent
validates every byte it receives, so this file only has to be *correct*, not tamper-proof.

Start-up order matters:
1. move the protocol pipes (fds 0 and 1) to private fds, point fd 0 at /dev/null and fd 1 at
   fd 2, so ``print`` goes to stderr (drained and capped by the parent, never parsed);
2. import numpy (needs files, threads and mmap that the filters below would forbid);
3. rlimit/PDEATHSIG self-checks, Landlock read allow-list, seccomp deny-list;
4. send ``ready`` and serve ``load`` / ``call`` / ``ping`` requests forever.

With ``"zygote": true`` in the config, steps 3-4 happen in a fork instead: the process keeps
numpy loaded, never runs student code, and serves ``fork`` / ``reap`` requests from the parent on a
Unix socket (fds 0 and 1). Each ``fork`` brings the three pipes of one submission's worker
(SCM_RIGHTS); the forked worker takes them, drops everything else of the zygote (fd 0 too: it
opens a /dev/null of its own), and goes through steps 3-4 exactly like a freshly started worker
(the parent then requires the seccomp layer, so the worker can neither fork, nor signal the
zygote, nor write a file, nor change anyone's scheduling). ``reap`` kills every other process the
zygote can signal (only its sandbox: a pid namespace or a slot uid) and waits until none is left,
so nothing of one submission survives into the next; then the zygote checks that its scheduling
state (policy, nice, affinity, I/O priority, rlimits) is still the one it started with, puts it
back where it can, and otherwise reports itself unclean so that the parent rebuilds it.
"""

import ast
import builtins
import ctypes
import errno
import json
import math
import os
import re
import signal
import struct
import sys
import time
import types
import warnings

try:  # POSIX only, and used only by the zygote: the self-check's local worker runs on Windows too
    import fcntl
    import resource
except ImportError:
    fcntl = resource = None

MAGIC = b"AGF1"
NPY_MAGIC = b"\x93NUMPY"
MAX_REQUEST_HEADER = 8 * 1024 * 1024
MAX_REQUEST_BLOBS = 256
MAX_MESSAGE = 500
REQ_DTYPES = {"<f8": "float64", "<i8": "int64", "|b1": "bool"}

CONFIG = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
MAX_RESULT_BYTES = int(CONFIG.get("max_result_bytes", 64 * 1024 * 1024))


# --------------------------------------------------------------------------- fds


def setup_fds():
    """Keep the protocol pipes on private fds; stdin <- /dev/null, stdout -> stderr."""
    req = os.dup(0)
    resp = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return req, resp


REQ_FD, RESP_FD = setup_fds()
WORKER_PID = os.getpid()

for _entry in CONFIG.get("path", []):
    sys.path.append(_entry)

import numpy as np  # noqa: E402  (must come after the fd shuffle and sys.path set-up)

# --------------------------------------------------------------------------- libc helpers

try:
    LIBC = ctypes.CDLL(None, use_errno=True)
    LIBC.syscall.restype = ctypes.c_long
    LIBC.prctl.argtypes = [
        ctypes.c_int,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
except (OSError, TypeError, AttributeError):
    # Not Linux (Windows has no CDLL(None), macOS no prctl): only the self-check's local worker
    # runs here, and its config asks for no Landlock, seccomp or zygote.
    LIBC = None
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


def parent_death_guard():
    """Die with the grader even where no bwrap --die-with-parent exists (set after uid drop)."""
    if LIBC is not None:  # elsewhere the worker ends when the parent closes its request pipe
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    expected = CONFIG.get("ppid")
    if expected and os.getppid() != expected:
        os._exit(70)


# --------------------------------------------------------------------------- Landlock

# Per-arch numbers are identical for the Landlock syscalls (asm-generic block).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_ABI1_ALL = (1 << 13) - 1
LL_REFER, LL_TRUNCATE, LL_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
LL_NET_BIND_TCP, LL_NET_CONNECT_TCP = 1, 2
LL_SCOPE_ABSTRACT_UNIX, LL_SCOPE_SIGNAL = 1, 2


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1  # the kernel struct is __attribute__((packed))
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_read_paths():
    """Paths the child may still read: stdlib, numpy, and directories of mapped libraries."""
    paths = set(CONFIG.get("landlock_paths", []))
    # Not the whole site-packages from CONFIG["path"]: it may hold the grader's own packages.
    site = set(CONFIG.get("path", []))
    for entry in sys.path:
        if entry and entry not in site and os.path.isdir(entry):
            paths.add(entry)
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) == 6 else ""
                directory = os.path.dirname(name)
                if name.startswith("/") and os.path.exists(name) and directory not in site:
                    paths.add(directory)
    except OSError:
        pass
    for extra in ("/etc/ld.so.cache", "/dev/null", "/dev/urandom", "/dev/zero"):
        paths.add(extra)
    return sorted(p for p in paths if os.path.exists(p))


def install_landlock():
    """Restrict file access to a read-only allow-list (and TCP/signals where the ABI allows)."""
    abi = LIBC.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return f"unavailable (errno {ctypes.get_errno()})"
    fs = LL_ABI1_ALL
    if abi >= 2:
        fs |= LL_REFER
    if abi >= 3:
        fs |= LL_TRUNCATE
    if abi >= 5:
        fs |= LL_IOCTL_DEV
    attr = _RulesetAttr(fs, 0, 0)
    size = 8
    if abi >= 4:
        attr.net, size = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP, 16
    if abi >= 6:
        attr.scoped, size = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL, 24
    ruleset = LIBC.syscall(
        SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        return f"create_ruleset failed (errno {ctypes.get_errno()})"
    read_dir = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR
    for path in landlock_read_paths():
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        allowed = read_dir if os.path.isdir(path) else LL_EXECUTE | LL_READ_FILE
        rule = _PathBeneath(allowed, fd)
        LIBC.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0)
        os.close(fd)
    LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    rc = LIBC.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0))
    os.close(ruleset)
    if rc != 0:
        return f"restrict_self failed (errno {ctypes.get_errno()})"
    return f"active (ABI {abi})"


# --------------------------------------------------------------------------- seccomp

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Denied unconditionally -> EPERM. Names missing on an arch are simply absent from its table.
DENY_NAMES = (
    "fork vfork execve execveat ptrace process_vm_readv process_vm_writev mount umount2 "
    "pivot_root chroot unshare setns bpf io_uring_setup io_uring_enter io_uring_register "
    "keyctl add_key request_key perf_event_open userfaultfd kcmp pidfd_open pidfd_getfd "
    "pidfd_send_signal tkill rt_sigqueueinfo rt_tgsigqueueinfo setpgid setsid setpriority "
    "creat unlink unlinkat rename renameat renameat2 rmdir mkdir mkdirat mknod mknodat link "
    "linkat symlink symlinkat chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat "
    "truncate ftruncate utime utimes utimensat futimesat setxattr lsetxattr fsetxattr "
    "removexattr lremovexattr fremovexattr swapon swapoff reboot init_module finit_module "
    "delete_module kexec_load kexec_file_load acct settimeofday clock_settime "
    "name_to_handle_at open_by_handle_at open_tree move_mount fsopen fsconfig fsmount fspick "
    "mount_setattr mq_open msgget semget shmget move_pages migrate_pages "
    # Scheduling of this or another process of the uid (the zygote): a fork inherits it.
    "sched_setscheduler sched_setparam sched_setattr sched_setaffinity ioprio_set"
).split()
SYSCALLS = {
    "x86_64": dict(
        open=2,
        ioctl=16,
        fcntl=72,
        shmget=29,
        socket=41,
        clone=56,
        fork=57,
        vfork=58,
        execve=59,
        kill=62,
        semget=64,
        msgget=68,
        truncate=76,
        ftruncate=77,
        rename=82,
        mkdir=83,
        rmdir=84,
        creat=85,
        link=86,
        unlink=87,
        symlink=88,
        chmod=90,
        fchmod=91,
        chown=92,
        fchown=93,
        lchown=94,
        ptrace=101,
        setpgid=109,
        setsid=112,
        rt_sigqueueinfo=129,
        utime=132,
        mknod=133,
        setpriority=141,
        sched_setparam=142,
        sched_setscheduler=144,
        pivot_root=155,
        chroot=161,
        acct=163,
        settimeofday=164,
        mount=165,
        umount2=166,
        swapon=167,
        swapoff=168,
        reboot=169,
        init_module=175,
        delete_module=176,
        setxattr=188,
        lsetxattr=189,
        fsetxattr=190,
        removexattr=197,
        lremovexattr=198,
        fremovexattr=199,
        tkill=200,
        sched_setaffinity=203,
        clock_settime=227,
        tgkill=234,
        utimes=235,
        mq_open=240,
        kexec_load=246,
        add_key=248,
        request_key=249,
        keyctl=250,
        ioprio_set=251,
        ioprio_get=252,
        migrate_pages=256,
        openat=257,
        mkdirat=258,
        mknodat=259,
        fchownat=260,
        futimesat=261,
        unlinkat=263,
        renameat=264,
        linkat=265,
        symlinkat=266,
        fchmodat=268,
        unshare=272,
        move_pages=279,
        utimensat=280,
        rt_tgsigqueueinfo=297,
        perf_event_open=298,
        prlimit64=302,
        prctl=157,
        name_to_handle_at=303,
        open_by_handle_at=304,
        setns=308,
        process_vm_readv=310,
        process_vm_writev=311,
        kcmp=312,
        finit_module=313,
        sched_setattr=314,
        sched_getattr=315,
        renameat2=316,
        kexec_file_load=320,
        bpf=321,
        execveat=322,
        userfaultfd=323,
        socketpair=53,
        pidfd_send_signal=424,
        io_uring_setup=425,
        io_uring_enter=426,
        io_uring_register=427,
        open_tree=428,
        move_mount=429,
        fsopen=430,
        fsconfig=431,
        fsmount=432,
        fspick=433,
        pidfd_open=434,
        clone3=435,
        openat2=437,
        pidfd_getfd=438,
        mount_setattr=442,
        fchmodat2=452,
        seccomp=317,
    ),
    "aarch64": dict(
        setxattr=5,
        lsetxattr=6,
        fsetxattr=7,
        removexattr=14,
        lremovexattr=15,
        fremovexattr=16,
        fcntl=25,
        ioctl=29,
        ioprio_set=30,
        ioprio_get=31,
        mknodat=33,
        mkdirat=34,
        unlinkat=35,
        symlinkat=36,
        linkat=37,
        renameat=38,
        umount2=39,
        mount=40,
        pivot_root=41,
        truncate=45,
        ftruncate=46,
        chroot=51,
        fchmod=52,
        fchmodat=53,
        fchownat=54,
        fchown=55,
        openat=56,
        utimensat=88,
        acct=89,
        unshare=97,
        kexec_load=104,
        init_module=105,
        delete_module=106,
        clock_settime=112,
        ptrace=117,
        sched_setparam=118,
        sched_setscheduler=119,
        sched_setaffinity=122,
        kill=129,
        tkill=130,
        tgkill=131,
        rt_sigqueueinfo=138,
        setpriority=140,
        reboot=142,
        setpgid=154,
        setsid=157,
        settimeofday=170,
        mq_open=180,
        msgget=186,
        semget=190,
        shmget=194,
        socket=198,
        socketpair=199,
        add_key=217,
        request_key=218,
        keyctl=219,
        clone=220,
        execve=221,
        swapon=224,
        swapoff=225,
        migrate_pages=238,
        move_pages=239,
        rt_tgsigqueueinfo=240,
        perf_event_open=241,
        prlimit64=261,
        prctl=167,
        name_to_handle_at=264,
        open_by_handle_at=265,
        setns=268,
        process_vm_readv=270,
        process_vm_writev=271,
        kcmp=272,
        finit_module=273,
        sched_setattr=274,
        sched_getattr=275,
        renameat2=276,
        seccomp=277,
        bpf=280,
        execveat=281,
        userfaultfd=282,
        kexec_file_load=294,
        pidfd_send_signal=424,
        io_uring_setup=425,
        io_uring_enter=426,
        io_uring_register=427,
        open_tree=428,
        move_mount=429,
        fsopen=430,
        fsconfig=431,
        fsmount=432,
        fspick=433,
        pidfd_open=434,
        clone3=435,
        openat2=437,
        pidfd_getfd=438,
        mount_setattr=442,
        fchmodat2=452,
    ),
}

BPF_LD_W_ABS, BPF_JEQ_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x45, 0x06
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
CLONE_THREAD = 0x00010000
# O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND: any open that could change a file.
OPEN_WRITE_MASK = 0x1 | 0x2 | 0x40 | 0x200 | 0x400
# ioctls that type into a terminal, or make a file signal its owner (FIOASYNC = O_ASYNC; the
# owner setters are those of sockets): same numbers on x86_64 and aarch64.
TIOCSTI, TIOCLINUX, FIOASYNC, FIOSETOWN, SIOCSPGRP = 0x5412, 0x541C, 0x5452, 0x8901, 0x8902
# fcntl commands that aim a signal at a process (an owner, its signal) or register one for a
# lease or a directory change; and O_ASYNC (signal the owner on I/O) through F_SETFL.
F_SETFL, F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY = 4, 8, 10, 15, 1024, 1026
O_ASYNC = 0o20000
PR_SCHED_CORE = 62  # core-scheduling cookies, which a fork inherits
X32_BIT = 0x40000000


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _ins(code, k, jt=0, jf=0):
    return (code, jt, jf, k & 0xFFFFFFFF)


def _arg(i):
    return _ins(BPF_LD_W_ABS, 16 + 8 * i)  # low 32 bits of args[i] (little-endian)


def _nr():
    return _ins(BPF_LD_W_ABS, 0)


def _errno(code):
    return _ins(BPF_RET_K, RET_ERRNO | code)


def _deny_if_in(values, code, tail):
    """``if acc in values: return errno code``; else run ``tail``.

    ``tail`` must return on every path; it may reach the deny, which follows it, by jumping
    past its own last instruction.
    """
    n = len(values)
    tests = [_ins(BPF_JEQ_K, v, n - 1 - i + len(tail), 0) for i, v in enumerate(values)]
    return tests + list(tail) + [_errno(code)]


def _block(nr, body):
    """``if nr == NR: body (which must return on every path); reload nr afterwards``."""
    return [_ins(BPF_JEQ_K, nr, 0, len(body))] + body


def seccomp_program(arch, pid):
    """Build the BPF deny-list for ``arch``; ``pid`` is the worker's own pid (may signal itself)."""
    table = SYSCALLS[arch]
    allow = _ins(BPF_RET_K, RET_ALLOW)
    prog = [
        _ins(BPF_LD_W_ABS, 4),
        _ins(BPF_JEQ_K, AUDIT_ARCH[arch], 1, 0),
        _ins(BPF_RET_K, RET_KILL_PROCESS),  # i386/x32 entry points: never legitimate here
        _nr(),
    ]
    if arch == "x86_64":
        prog += [_ins(BPF_JSET_K, X32_BIT, 0, 1), _errno(errno.EPERM)]
    # threads only: clone without CLONE_THREAD is a fork
    prog += _block(
        table["clone"], [_arg(0), _ins(BPF_JSET_K, CLONE_THREAD, 0, 1), allow, _errno(errno.EPERM)]
    )
    prog += _block(table["clone3"], [_errno(errno.ENOSYS)])  # glibc falls back to clone
    prog += _block(table["openat2"], [_errno(errno.ENOSYS)])  # flags live in a struct
    prog += _block(
        table["openat"],
        [_arg(2), _ins(BPF_JSET_K, OPEN_WRITE_MASK, 0, 1), _errno(errno.EACCES), allow],
    )
    if "open" in table:
        prog += _block(
            table["open"],
            [_arg(1), _ins(BPF_JSET_K, OPEN_WRITE_MASK, 0, 1), _errno(errno.EACCES), allow],
        )
    own = [_ins(BPF_JEQ_K, pid, 2, 0), _ins(BPF_JEQ_K, 0, 1, 0), _errno(errno.EPERM), allow]
    prog += _block(table["kill"], [_arg(0)] + own)
    prog += _block(
        table["tgkill"], [_arg(0), _ins(BPF_JEQ_K, pid, 1, 0), _errno(errno.EPERM), allow]
    )
    prog += _block(table["prlimit64"], [_arg(0)] + own)
    # PR_SET_PDEATHSIG: the worker must keep dying with the grader.
    prog += _block(
        table["prctl"],
        [_arg(0)] + _deny_if_in((PR_SET_PDEATHSIG, PR_SCHED_CORE), errno.EPERM, [allow]),
    )
    prog += _block(
        table["ioctl"],
        [_arg(1)]
        + _deny_if_in((TIOCSTI, TIOCLINUX, FIOASYNC, FIOSETOWN, SIOCSPGRP), errno.EPERM, [allow]),
    )
    # A file whose owner is the zygote would signal it on I/O, past the kill rule above.
    setfl = [
        _ins(BPF_JEQ_K, F_SETFL, 0, 2),
        _arg(2),
        _ins(BPF_JSET_K, O_ASYNC, 1, 0),  # to the deny after this tail
        allow,
    ]
    prog += _block(
        table["fcntl"],
        [_arg(1)]
        + _deny_if_in((F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY), errno.EPERM, setfl),
    )
    for name in ("socket", "socketpair"):
        prog += _block(table[name], [_errno(errno.EACCES)])
    for name in DENY_NAMES:
        if name in table:
            prog.append(_ins(BPF_JEQ_K, table[name], 0, 1))
            prog.append(_errno(errno.EPERM))
    prog.append(allow)
    return prog


def install_seccomp():
    """Install the deny-list on every thread (TSYNC); returns a status string."""
    arch = os.uname().machine
    if arch not in SYSCALLS:
        return f"unsupported arch {arch}"
    prog = seccomp_program(arch, os.getpid())
    filters = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), filters)
    if LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"no_new_privs failed (errno {ctypes.get_errno()})"
    rc = LIBC.syscall(
        SYSCALLS[arch]["seccomp"], 1, 1, ctypes.byref(fprog)
    )  # SET_MODE_FILTER, TSYNC
    if rc != 0:
        return f"seccomp failed (errno {ctypes.get_errno()})"
    return f"active ({len(prog)} instructions)"


# --------------------------------------------------------------------------- frames


def read_exact(n):
    chunks = []
    while n:
        chunk = os.read(REQ_FD, min(n, 1 << 20))
        if not chunk:
            os._exit(0)  # parent closed the pipe: nothing left to do
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_request():
    magic, hlen, nblobs = struct.unpack("<4sII", read_exact(12))
    if magic != MAGIC or hlen > MAX_REQUEST_HEADER or nblobs > MAX_REQUEST_BLOBS:
        os._exit(71)
    header = json.loads(read_exact(hlen))
    blobs = []
    for _ in range(nblobs):
        (length,) = struct.unpack("<I", read_exact(4))
        blobs.append(read_npy(read_exact(length)))  # read-only; decode() makes private copies
    return header, blobs


def write_all(data):
    view = memoryview(data)
    while view:
        written = os.write(RESP_FD, view[: 1 << 20])
        view = view[written:]


def send(header, arrays=()):
    if os.getpid() != WORKER_PID:
        os._exit(0)  # a forked copy unwinding into the worker: only the worker itself may answer
    body = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    parts = [struct.pack("<4sII", MAGIC, len(body), len(arrays)), body]
    for arr in arrays:
        blob = write_npy(arr)
        parts += [struct.pack("<I", len(blob)), blob]
    write_all(b"".join(parts))


def write_npy(arr):
    arr = np.asarray(arr, dtype="<f8", order="C")  # not ascontiguousarray: 0-d must stay 0-d
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': " + repr(tuple(arr.shape)) + ", }"
    pad = -(len(NPY_MAGIC) + 4 + len(text) + 1) % 64
    head = (text + " " * pad + "\n").encode("latin1")
    return NPY_MAGIC + b"\x01\x00" + struct.pack("<H", len(head)) + head + arr.tobytes()


# The header the parent's write_npy writes, read in ~3 µs (literal_eval takes ~50, for every
# array of every call); any other header still goes through literal_eval.
NPY_DIM = r"(?:0|[1-9][0-9]{0,19})"  # a Python int literal: no leading zero
NPY_HEADER = re.compile(
    r"\{'descr': '([<>|=][a-z][0-9]{1,2})', 'fortran_order': False, "
    rf"'shape': \((|{NPY_DIM},|{NPY_DIM}(?:, {NPY_DIM})+)\), \}} *\n?"
)


def read_npy(data):
    (hlen,) = struct.unpack("<H", bytes(data[8:10]))
    text = bytes(data[10 : 10 + hlen]).decode("latin1")
    found = NPY_HEADER.fullmatch(text)
    if found is not None:
        descr, shape = found.group(1), tuple(int(d) for d in found.group(2).split(",") if d)
    else:
        meta = ast.literal_eval(text)
        descr, shape = meta["descr"], tuple(meta["shape"])
    dtype = np.dtype(REQ_DTYPES[descr])
    count = math.prod(shape)
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=10 + hlen)
    return arr.reshape(shape)


# --------------------------------------------------------------------------- values


# The homework's support module (see protocol.Support): its known-correct helpers and the
# builders of the functions the parent describes. The parent sends its source with every ``load``.
SUPPORT = {"helpers": {}, "callables": {}}


def load_support(spec):
    """Run the homework's support source (text from the parent, never pickled code)."""
    SUPPORT["helpers"], SUPPORT["callables"] = {}, {}
    if not spec:
        return
    module = types.ModuleType("bpgrade_support")
    filename = spec.get("filename", "support.py")
    exec(compile(spec["source"], filename, "exec", dont_inherit=True), module.__dict__)
    SUPPORT["helpers"] = dict(getattr(module, "HELPERS", {}))
    SUPPORT["callables"] = dict(getattr(module, "CALLABLES", {}))


def build_callable(kind, params):
    """Build the function the parent described (code never crosses the pipe)."""
    return SUPPORT["callables"][kind](params)


def decode(node, arrays):
    if isinstance(node, list):
        return [decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    ((tag, inner),) = node.items()
    if tag == "$nd":
        return np.array(arrays[inner])  # a private, writable copy
    if tag == "$float":
        return float(inner)
    if tag == "$tuple":
        return tuple(decode(v, arrays) for v in inner)
    if tag == "$dict":
        return {k: decode(v, arrays) for k, v in inner.items()}
    if tag == "$callable":
        return build_callable(inner["kind"], decode(inner["params"], arrays))
    raise ValueError(f"unknown tag {tag!r}")


class BadResult(Exception):
    pass


def to_float_array(value):
    """Convert one student result; numpy-side tricks stay in this process."""
    if isinstance(value, (PlaceholderType, PlaceholderModule)):
        raise missing_module_error(*_placeholder_names(value))
    try:
        # Warnings become errors: a complex result would otherwise silently lose its imaginary part.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            arr = np.asarray(value, dtype=np.float64)
        if arr.nbytes > MAX_RESULT_BYTES:  # before the private copy below doubles it
            raise BadResult("result too large")
        arr = np.array(arr, dtype=np.float64, order="C", copy=True)
    except (BadResult, ModuleNotFoundError):
        raise  # the latter: a placeholder of a missing module was returned (see op_call)
    except BaseException:  # noqa: BLE001 - any failure is the student's
        raise BadResult(type(value).__name__) from None
    if type(arr) is not np.ndarray or arr.ndim > 4:
        raise BadResult(f"{type(value).__name__} with {getattr(arr, 'ndim', -1)} dimensions")
    return arr


def convert(value, n_outputs):
    if n_outputs == 1:
        outputs = [to_float_array(value)]
    else:
        if not isinstance(value, (tuple, list)):
            raise BadResult(f"{type(value).__name__} instead of {n_outputs} values")
        items = list(value)
        if len(items) != n_outputs:
            raise BadResult(f"{type(value).__name__} of length {len(items)}")
        outputs = [to_float_array(v) for v in items]
    if sum(a.nbytes for a in outputs) > MAX_RESULT_BYTES:
        raise BadResult("result too large")
    return outputs


def builtin_name(exc):
    """Name of the nearest built-in exception class (student class names can smuggle data)."""
    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
    return "Exception"


def message_of(exc):
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001
        text = "<unprintable>"
    return text[:MAX_MESSAGE]


# --------------------------------------------------------------------------- working folder, scratch

# Imported here rather than at the top: this section stands on its own.
import io  # noqa: E402
import stat as stat_mode  # noqa: E402

SCRATCH_BYTES = 16 * 1024 * 1024
SCRATCH_ENTRIES = 4096
REAL = {}  # the os and io functions the scratch space replaces, as they were


def enter_workdir(workdir):
    """Work in the submission's folder: its data files by relative path, its modules importable
    (first on ``sys.path``, as for ``python nn.py``)."""
    if not workdir:
        return
    os.chdir(workdir)
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)


class ScratchFile(io.RawIOBase):
    """One open in-memory file of the scratch space (it shares the bytes with other handles)."""

    def __init__(self, scratch, key, name, mode, readable, writable, append):
        super().__init__()
        self._scratch, self._buf = scratch, scratch.files[key]
        self._readable, self._writable, self._append = readable, writable, append
        self._pos = len(self._buf) if append else 0
        self.name, self.mode = name, mode
        scratch.opened(self._buf)

    def close(self):
        if not self.closed:
            self._scratch.closed(self._buf)
        super().close()

    def readable(self):
        return self._readable

    def writable(self):
        return self._writable

    def seekable(self):
        return True

    def _check(self, allowed, what):
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if not allowed:
            raise io.UnsupportedOperation(what)

    def readinto(self, b):
        self._check(self._readable, "read")
        view = memoryview(b).cast("B")
        n = max(0, min(len(view), len(self._buf) - self._pos))
        view[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        return n

    def write(self, b):
        self._check(self._writable, "write")
        data = memoryview(b).tobytes()
        if self._append:
            self._pos = len(self._buf)
        end = self._pos + len(data)
        self._scratch.reserve(end - len(self._buf), self.name)
        if self._pos > len(self._buf):
            self._buf.extend(bytes(self._pos - len(self._buf)))
        self._buf[self._pos : end] = data
        self._pos = end
        return len(data)

    def seek(self, pos, whence=0):
        self._check(True, "seek")
        base = {0: 0, 1: self._pos, 2: len(self._buf)}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence ({whence})")
        if base + pos < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        self._pos = base + pos
        return self._pos

    def tell(self):
        self._check(True, "tell")
        return self._pos

    def truncate(self, size=None):
        self._check(self._writable, "truncate")
        size = self._pos if size is None else size.__index__()
        if size < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        grow = size - len(self._buf)
        self._scratch.reserve(grow, self.name)
        if grow > 0:
            self._buf.extend(bytes(grow))
        else:
            del self._buf[size:]
        return size


def _oserror(code, path, extra=""):
    cls = {
        errno.ENOENT: FileNotFoundError,
        errno.EEXIST: FileExistsError,
        errno.EISDIR: IsADirectoryError,
        errno.ENOTDIR: NotADirectoryError,
        errno.EACCES: PermissionError,
    }.get(code, OSError)
    return cls(code, os.strerror(code) + extra, path)


def _parse_mode(mode):
    """(readable, writable, append, create, truncate, exclusive) of an ``open`` mode."""
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    kinds = [c for c in mode if c in "rwxa"]
    if len(set(mode)) != len(mode) or set(mode) - set("rwxabt+") or len(kinds) != 1:
        raise ValueError(f"invalid mode: '{mode}'")
    if "b" in mode and "t" in mode:
        raise ValueError("can't have text and binary mode at once")
    kind, plus = kinds[0], "+" in mode
    return (
        kind == "r" or plus,
        kind != "r" or plus,
        kind == "a",
        kind != "r",
        kind == "w",
        kind == "x",
    )


def _writes(mode):
    return isinstance(mode, str) and any(c in mode for c in "wxa+")


class Scratch:
    """In-memory files for student code under the working folder (see :func:`install_scratch`).

    Keys are normalised absolute paths under ``root``; there are no links in the working folder,
    so a lexical ``normpath`` decides containment. The submission's own files there are
    read-only: a write to one is ``PermissionError``, a new name is a scratch file.
    """

    def __init__(self, root, cap):
        self.root, self.cap = root, cap
        self.files = {}  # key -> bytearray
        self.dirs = set()  # folders made by the student (scratch only)
        # Bytes of every file still reachable: by name, or removed but still open (like an
        # unlinked file on disk, it keeps its space until its last handle is closed).
        self.used = 0
        self.handles = {}  # id(bytearray) -> open handles
        self.unlinked = {}  # id(bytearray) -> bytearray removed while open

    # -------------------------------------------------------------- paths

    def key(self, path):
        """The scratch key of a path under the working folder, else None (the real OS decides)."""
        if path is None or isinstance(path, int):
            return None
        try:
            text = os.fspath(path)
            text = os.fsdecode(text) if isinstance(text, bytes) else text
            if "\0" in text:
                return None
            full = os.path.normpath(os.path.join(os.getcwd(), text))
        except (TypeError, ValueError, OSError):
            return None
        inside = full == self.root or full.startswith(self.root.rstrip(os.sep) + os.sep)
        return full if inside else None

    @staticmethod
    def real(full):
        try:
            return REAL["lstat"](full)
        except (OSError, ValueError):
            return None

    def is_dir(self, full):
        info = self.real(full)
        return full in self.dirs or (info is not None and stat_mode.S_ISDIR(info.st_mode))

    def known(self, full):
        return full in self.files or full in self.dirs

    def reserve(self, grow, name):
        """Count ``grow`` more bytes (negative frees); ENOSPC past the cap."""
        if grow > 0 and self.used + grow > self.cap:
            extra = f" (scratch files are limited to {self.cap / 2**20:g} MiB in all)"
            raise _oserror(errno.ENOSPC, name, extra)
        self.used += grow

    def opened(self, buf):
        self.handles[id(buf)] = self.handles.get(id(buf), 0) + 1

    def closed(self, buf):
        left = self.handles.pop(id(buf), 1) - 1
        if left > 0:
            self.handles[id(buf)] = left
        elif id(buf) in self.unlinked:
            self.used -= len(self.unlinked.pop(id(buf)))

    def unlink(self, full):
        """Forget the file at ``full``; its space is free once no handle has it open."""
        buf = self.files.pop(full)
        if self.handles.get(id(buf)):
            self.unlinked[id(buf)] = buf
        else:
            self.used -= len(buf)

    def check_new(self, full, name):
        """A new entry may be made at ``full``: its folder exists and there is room for it."""
        parent = os.path.dirname(full)
        if parent in self.files:
            raise _oserror(errno.ENOTDIR, name)
        if not self.is_dir(parent):
            raise _oserror(errno.ENOENT, name)
        if len(self.files) + len(self.dirs) >= SCRATCH_ENTRIES:
            raise _oserror(errno.ENOSPC, name, f" (at most {SCRATCH_ENTRIES} scratch files)")

    def check_writable(self, full, name):
        """Writing at ``full`` must not touch a real file or folder of the submission."""
        info = self.real(full)
        if (info is not None and stat_mode.S_ISDIR(info.st_mode)) or full in self.dirs:
            raise _oserror(errno.EISDIR, name)
        if info is not None:
            raise _oserror(errno.EACCES, name, " (the submitted files are read-only)")

    # -------------------------------------------------------------- io.open

    def open(
        self,
        file,
        mode="r",
        buffering=-1,
        encoding=None,
        errors=None,
        newline=None,
        closefd=True,
        opener=None,
    ):
        full = self.key(file) if opener is None else None
        if full is None or not (_writes(mode) or self.known(full)):
            return REAL["open"](file, mode, buffering, encoding, errors, newline, closefd, opener)
        readable, writable, append, create, truncate, exclusive = _parse_mode(mode)
        name = os.fspath(file)
        if full in self.dirs:
            raise _oserror(errno.EISDIR, name)
        if full in self.files:
            if exclusive:
                raise _oserror(errno.EEXIST, name)
            if truncate:
                self.reserve(-len(self.files[full]), name)
                del self.files[full][:]
        else:
            self.check_writable(full, name)
            if not create:
                raise _oserror(errno.ENOENT, name)
            self.check_new(full, name)
            self.files[full] = bytearray()
        raw = ScratchFile(self, full, name, mode, readable, writable, append)
        return _wrap(raw, mode, buffering, encoding, errors, newline)

    # -------------------------------------------------------------- os

    def stat_result(self, full):
        now = int(time.time())
        uid, gid = getattr(os, "getuid", int)(), getattr(os, "getgid", int)()
        if full in self.files:
            mode, size = stat_mode.S_IFREG | 0o644, len(self.files[full])
        else:
            mode, size = stat_mode.S_IFDIR | 0o755, 0
        return os.stat_result((mode, 0, 0, 1, uid, gid, size, now, now, now))

    def stat(self, path, *, dir_fd=None, follow_symlinks=True):
        full = self.key(path) if dir_fd is None else None
        if full is not None and self.known(full):
            return self.stat_result(full)
        return REAL["stat"](path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)

    def lstat(self, path, *, dir_fd=None):
        full = self.key(path) if dir_fd is None else None
        if full is not None and self.known(full):
            return self.stat_result(full)
        return REAL["lstat"](path, dir_fd=dir_fd)

    def remove(self, path, *, dir_fd=None):
        full = self.key(path) if dir_fd is None else None
        if full in self.dirs:
            raise _oserror(errno.EISDIR, os.fspath(path))
        if full is not None and full in self.files:
            self.unlink(full)
            return None
        return REAL["remove"](path, dir_fd=dir_fd)

    def mkdir(self, path, mode=0o777, *, dir_fd=None):
        full = self.key(path) if dir_fd is None else None
        if full is None:
            return REAL["mkdir"](path, mode, dir_fd=dir_fd)
        name = os.fspath(path)
        if self.known(full) or self.real(full) is not None:
            raise _oserror(errno.EEXIST, name)
        self.check_new(full, name)
        self.dirs.add(full)
        return None

    def rmdir(self, path, *, dir_fd=None):
        full = self.key(path) if dir_fd is None else None
        if full is None or full not in self.dirs:
            return REAL["rmdir"](path, dir_fd=dir_fd)
        if any(os.path.dirname(k) == full for k in (*self.files, *self.dirs)):
            raise _oserror(errno.ENOTEMPTY, os.fspath(path))
        self.dirs.discard(full)
        return None

    def listdir(self, path=None):
        target = "." if path is None else path
        full = self.key(target)
        if full is None:
            return REAL["listdir"](path)
        if full in self.files:
            raise _oserror(errno.ENOTDIR, os.fspath(target))
        names = [] if full in self.dirs else REAL["listdir"](target)
        extra = sorted(
            os.path.basename(k) for k in (*self.files, *self.dirs) if os.path.dirname(k) == full
        )
        if isinstance(os.fspath(target), bytes):
            extra = [os.fsencode(n) for n in extra]
        return names + extra

    def move(self, real_name, src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        """``os.rename``/``os.replace`` of a scratch file to a new name in the scratch space."""
        old = self.key(src) if src_dir_fd is None else None
        if old is None or old not in self.files:
            return REAL[real_name](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        new = self.key(dst) if dst_dir_fd is None else None
        name = os.fspath(dst)
        if new is None:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), os.fspath(src), None, name)
        if new == old:
            return None
        self.check_writable(new, name)
        if new in self.files:
            self.unlink(new)
        else:
            self.check_new(new, name)
        self.files[new] = self.files.pop(old)
        return None


def _wrap(raw, mode, buffering, encoding, errors, newline):
    """Buffer and decode a scratch file the way ``io.open`` does a real one."""
    binary = "b" in mode
    if buffering == 0:
        if not binary:
            raise ValueError("can't have unbuffered text I/O")
        return raw
    size = io.DEFAULT_BUFFER_SIZE if buffering in (-1, 1) else buffering
    if "+" in mode:
        buffer = io.BufferedRandom(raw, size)
    elif raw.writable():
        buffer = io.BufferedWriter(raw, size)
    else:
        buffer = io.BufferedReader(raw, size)
    if binary:
        return buffer
    text = io.TextIOWrapper(buffer, encoding, errors, newline, line_buffering=buffering == 1)
    text.mode = mode
    return text


def install_scratch(cap):
    """Send the student's file writes under the working folder to memory, at most ``cap`` bytes.

    The seccomp deny-list forbids every write to a real file, so scratch files are in-memory
    ones: ``open``/``io.open`` for writing (and reading back), and ``os.stat``/``lstat`` (so
    ``os.path.exists``/``isfile``/``getsize`` and ``pathlib``'s checks), ``os.remove``/``unlink``,
    ``os.mkdir``/``makedirs``/``rmdir``, ``os.listdir`` and ``os.rename``/``replace`` see them.
    Everything built on ``open`` works too: ``np.save``/``np.load``/``np.savetxt``/``np.loadtxt``,
    ``scipy.io.savemat``, ``pickle.dump`` to an opened file, ``json``, ``logging.FileHandler``.
    ``os.open``, ``os.scandir``/``glob`` and ``tempfile`` are not covered (``os.open`` for writing
    stays denied). Paths outside the working folder are the real file system's (denied). The
    space dies with the worker process, so nothing reaches the next submission or the grader.
    """
    scratch = Scratch(os.getcwd(), cap)
    REAL.update(
        open=builtins.open,
        stat=os.stat,
        lstat=os.lstat,
        remove=os.remove,
        mkdir=os.mkdir,
        rmdir=os.rmdir,
        listdir=os.listdir,
        rename=os.rename,
        replace=os.replace,
    )
    builtins.open = io.open = scratch.open
    os.stat, os.lstat, os.listdir = scratch.stat, scratch.lstat, scratch.listdir
    os.remove = os.unlink = scratch.remove
    os.mkdir, os.rmdir = scratch.mkdir, scratch.rmdir
    os.rename = lambda src, dst, **kw: scratch.move("rename", src, dst, **kw)
    os.replace = lambda src, dst, **kw: scratch.move("replace", src, dst, **kw)
    # Modules imported before this point kept a reference to the real open.
    datasource = sys.modules.get("numpy.lib._datasource")
    openers = getattr(getattr(datasource, "_file_openers", None), "_file_openers", None)
    if isinstance(openers, dict) and openers.get(None) is REAL["open"]:
        openers[None] = scratch.open
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.FileHandler._builtin_open = staticmethod(scratch.open)
    return scratch


def prepare_files(req):
    """Enter the working folder and install the scratch space (once per worker)."""
    if STATE.get("scratch") is None:
        enter_workdir(req.get("workdir"))
        cap = req.get("scratch_bytes")
        STATE["scratch"] = install_scratch(cap if isinstance(cap, int) else SCRATCH_BYTES)


def _site_exit(code=None):
    raise SystemExit(code)


def provide_site_builtins():
    """``exit()`` and ``quit()``, which ``site`` adds and ``-S`` leaves out; scripts end with them."""
    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, _site_exit)


# --------------------------------------------------------------------------- import placeholders
#
# A module the grader does not provide must cost nothing until a graded function uses it: an
# unused ``import pandas`` or a plotting helper built on ``torch`` is common in correct homework.
# A finder at the END of ``sys.meta_path`` (every real module wins) binds, for an import made by
# student code, a placeholder module. Its attributes are placeholder classes, so ``isinstance(x,
# pd.DataFrame)`` is False and ``class Net(nn.Module)`` defines a class that is itself a
# placeholder: it can be defined but not instantiated. Student code that USES a placeholder
# (calls it, computes with it, iterates, indexes, converts it, asks its truth value, ``with``)
# gets ModuleNotFoundError naming the module and what the grader provides. Libraries that probe
# ``sys.modules`` for optional packages (matplotlib, scipy and sklearn all do) see an absent,
# inert module instead: falsy, empty, and every operation on it gives another placeholder.
# Applying a placeholder as a bare decorator (``@numba.jit``) leaves a function that raises the
# same error when it is called. The parent never trusts this error's text for hidden cases: it
# names the module from the submission's source. The grader's own packages (CONFIG["reserved"])
# are never stood in for: importing them fails at once.

IMPORT_MACHINERY = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
PLACEHOLDERS = {
    "provided": (),
    "roots": (),
    "worker": "",
    "library": {},
    "sources": {},
    "guarded": {},
    "reserved": frozenset(),
    "installed": False,
}


def missing_module_error(module, used=None):
    """The ModuleNotFoundError a use of a placeholder raises (English; the parent translates)."""
    provided = ", ".join(PLACEHOLDERS["provided"]) or "numpy"
    detail = f"; your code used {used}" if used and used != module else ""
    return ModuleNotFoundError(
        f"No module named {module!r}: the grader does not provide it{detail}. "
        f"It provides {provided} and the Python standard library.",
        name=module,
    )


def _is_library_file(filename):
    """Whether code from ``filename`` belongs to the stdlib, a provided package or this worker."""
    known = PLACEHOLDERS["library"].get(filename)
    if known is None:
        known = (
            filename.startswith("<frozen ")
            or filename == PLACEHOLDERS["worker"]
            or any(filename.startswith(root) for root in PLACEHOLDERS["roots"])
        )
        PLACEHOLDERS["library"][filename] = known
    return known


def _student_frame(depth):
    """Whether the frame ``depth`` levels above the caller runs student code."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:
        return False
    return not _is_library_file(frame.f_code.co_filename)


def _importing_student_frame():
    """The student frame whose import is being resolved, or None (a library's probe)."""
    frame = sys._getframe(2)
    skip = PLACEHOLDERS.get("import_module")
    # Not <frozen importlib.util>: a find_spec() probe must see the module absent.
    while frame is not None and (
        frame.f_code.co_filename in IMPORT_MACHINERY or frame.f_code is skip
    ):
        frame = frame.f_back
    if frame is None or _is_library_file(frame.f_code.co_filename):
        return None
    return frame


IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
TRY_NODES = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)


def _guarded_lines(filename):
    """Lines of the imports in ``filename`` that have a fallback: inside a ``try`` whose handler
    for a failed import does more than ``pass`` (``except ImportError: import numpy as xp``).
    Those get the real ModuleNotFoundError, so the student's fallback runs."""
    known = PLACEHOLDERS["guarded"].get(filename)
    if known is None:
        known = frozenset()
        try:
            path = PLACEHOLDERS["sources"].get(filename, filename)
            with REAL.get("open", open)(path, "rb") as fh:  # not the student's scratch space
                tree = ast.parse(fh.read())
        except (OSError, SyntaxError, ValueError):
            tree = None
        if tree is not None:
            known = frozenset(
                line
                for node in ast.walk(tree)
                if isinstance(node, TRY_NODES) and any(_falls_back(h) for h in node.handlers)
                for stmt in node.body
                for inner in ast.walk(stmt)
                if isinstance(inner, (ast.Import, ast.ImportFrom))
                for line in range(inner.lineno, (inner.end_lineno or inner.lineno) + 1)
            )
        PLACEHOLDERS["guarded"][filename] = known
    return known


def _falls_back(handler):
    def names(node):
        if isinstance(node, ast.Tuple):
            return [n for elt in node.elts for n in names(elt)]
        return [getattr(node, "id", None) or getattr(node, "attr", None)]

    catches = handler.type is None or any(n in IMPORT_ERRORS for n in names(handler.type))
    trivial = all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in handler.body
    )
    return catches and not trivial


def _placeholder_names(obj):
    """``(missing module, what was used)`` of a placeholder module or class."""
    if isinstance(obj, PlaceholderModule):
        return _missing_root(obj.__name__), obj.__name__
    module, used = type.__getattribute__(obj, "__placeholder__")
    if "__placeholder__" not in type.__getattribute__(obj, "__dict__"):
        used = f"{type.__getattribute__(obj, '__qualname__')}, a subclass of {used}"
    return module, used


def _missing_root(name):
    """The outermost missing package of ``name`` (``torch`` for ``torch.nn``)."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        if isinstance(sys.modules.get(".".join(parts[:i])), PlaceholderModule):
            return ".".join(parts[:i])
    return name


def _placeholder_class(module, used):
    name = used.rsplit(".", 1)[-1]
    namespace = {"__placeholder__": (module, used), "__module__": module, "__qualname__": name}
    return PlaceholderType(name, (), namespace)


def _inert(self, *args, **kwargs):
    """What an operation on a placeholder gives a library: another placeholder."""
    return _placeholder_class(*_placeholder_names(self))


def _refuse(self, *args, **kwargs):
    """A number or an array from a placeholder: nothing sensible exists, even for a library."""
    raise missing_module_error(*_placeholder_names(self))


def _raising_stub(function, module, used):
    """A function decorated by a placeholder: defined, and raising when it is called."""

    def stub(*args, **kwargs):
        raise missing_module_error(module, f"{used} on {function.__name__}()")

    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(stub, attr, getattr(function, attr, None))
    stub.__wrapped__ = function
    return stub


def _call(self, *args, **kwargs):
    if not _student_frame(1):
        return _inert(self)
    if len(args) == 1 and not kwargs and isinstance(args[0], types.FunctionType):
        return _raising_stub(args[0], *_placeholder_names(self))
    raise missing_module_error(*_placeholder_names(self))


def _use(name, for_library):
    """A special method that raises for student code and gives libraries ``for_library`` (a value,
    or a function of the placeholder and the arguments)."""

    def method(self, *args, **kwargs):
        if _student_frame(1):
            raise missing_module_error(*_placeholder_names(self))
        if callable(for_library):
            return for_library(self, *args, **kwargs)
        return for_library

    method.__name__ = method.__qualname__ = name
    return method


_OPERATORS = (
    "add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod divmod rdivmod pow "
    "rpow matmul rmatmul and rand xor rxor lshift rlshift rshift rrshift lt le gt ge neg pos abs "
    "invert getitem round trunc floor ceil enter"
).split()
# Not __or__/__ror__: ``pd.DataFrame | None`` in an annotation is no use of pandas.
_SPECIAL = {
    **{f"__{name}__": _use(f"__{name}__", _inert) for name in _OPERATORS},
    **{
        f"__{name}__": _use(f"__{name}__", _refuse)
        for name in "int float complex index array bytes".split()
    },
    "__bool__": _use("__bool__", False),
    # A length or items would make numpy (or the worker's result conversion) read a placeholder
    # as an empty sequence: refuse them to everyone.
    "__len__": _use("__len__", _refuse),
    "__iter__": _use("__iter__", _refuse),
    "__contains__": _use("__contains__", False),
    "__setitem__": _use("__setitem__", None),
    "__delitem__": _use("__delitem__", None),
    "__exit__": _use("__exit__", False),
    "__call__": _call,
}


class PlaceholderType(type):
    """The class of every placeholder class (attributes of a missing module, and subclasses)."""

    def __getattr__(cls, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # protocols and introspection see a plain class
        module, used = type.__getattribute__(cls, "__placeholder__")
        child = _placeholder_class(module, f"{used}.{attr}")
        type.__setattr__(cls, attr, child)
        return child

    def __instancecheck__(cls, obj):
        return False

    def __repr__(cls):
        return "<placeholder for {1} (module {0!r} is not provided by the grader)>".format(
            *_placeholder_names(cls)
        )


class PlaceholderModule(types.ModuleType):
    """Stands in for a module the grader does not provide (see the section comment)."""

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        child = _placeholder_class(_missing_root(self.__name__), f"{self.__name__}.{attr}")
        setattr(self, attr, child)
        return child

    def __mro_entries__(self, bases):
        return (_placeholder_class(_missing_root(self.__name__), self.__name__),)

    def __repr__(self):
        return f"<placeholder for module {self.__name__!r} (not provided by the grader)>"


for _name, _method in _SPECIAL.items():
    setattr(PlaceholderType, _name, _method)
    setattr(PlaceholderModule, _name, _method)


class PlaceholderFinder:
    """Last finder on ``sys.meta_path``: a placeholder for what no other finder found."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in PLACEHOLDERS["reserved"]:
            return None
        parent = sys.modules.get(fullname.rpartition(".")[0]) if "." in fullname else None
        if not isinstance(parent, PlaceholderModule):
            frame = _importing_student_frame()
            if frame is None:
                return None  # a library probing for an optional package must see it absent
            if frame.f_lineno in _guarded_lines(frame.f_code.co_filename):
                return None  # the student wrote a fallback for this import: let it run
        import importlib.machinery

        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        return PlaceholderModule(spec.name)

    def exec_module(self, module):
        pass

    def invalidate_caches(self):
        pass


class OnlyProvided:
    """A site-packages path finder limited to the provided top-level names.

    In the ``bwrap`` tier nothing else is even mounted; elsewhere a package that is installed but
    not provided would fail with PermissionError (Landlock) or import; this makes it absent.
    """

    def __init__(self, finder, names):
        self.finder, self.names = finder, frozenset(names)

    def find_spec(self, fullname, target=None):
        if fullname.partition(".")[0] not in self.names:
            return None
        return self.finder.find_spec(fullname, target)

    def invalidate_caches(self):
        self.finder.invalidate_caches()


def install_import_placeholders(req):
    """Let student code import what the grader does not provide (see the section comment).

    Parameters
    ----------
    req : dict
        The ``load`` request: ``path`` of the student's source and the ``filename`` it is
        compiled under (to read its import guards). ``CONFIG["provided"]`` names the modules the
        grader provides, for the error message.
    """
    if PLACEHOLDERS["installed"]:
        return
    import importlib

    PLACEHOLDERS["installed"] = True
    PLACEHOLDERS["provided"] = tuple(str(p) for p in CONFIG.get("provided", ()))
    PLACEHOLDERS["reserved"] = frozenset(str(p) for p in CONFIG.get("reserved", ()))
    if "path" in req:
        filename = req.get("filename", req.get("module", "nn") + ".py")
        PLACEHOLDERS["sources"][filename] = req["path"]
    # The name this file's code was compiled under: its path, or the grader's name for it when
    # the stage holds its bytecode (worker.pyc).
    PLACEHOLDERS["worker"] = install_import_placeholders.__code__.co_filename
    PLACEHOLDERS["import_module"] = importlib.import_module.__code__
    sites = [str(p) for p in CONFIG.get("path", [])]
    roots = {os.path.dirname(os.__file__), os.path.dirname(np.__file__), *sites}
    roots |= {os.path.realpath(r) for r in roots}
    PLACEHOLDERS["roots"] = tuple(r.rstrip(os.sep) + os.sep for r in roots if r)
    importable = CONFIG.get("importable")
    if importable:
        # The directories holding installed distributions (the sandbox: its site-packages; the
        # local self-check: every site directory of the student's own interpreter).
        restrict = {os.path.realpath(p) for p in CONFIG.get("restrict", sites)}
        for entry in list(sys.path):
            if entry and os.path.realpath(entry) in restrict:
                finder = _path_finder(entry)
                if finder is not None and not isinstance(finder, OnlyProvided):
                    sys.path_importer_cache[entry] = OnlyProvided(finder, importable)
    sys.meta_path.append(PlaceholderFinder())


def _path_finder(entry):
    """The path-entry finder of ``entry`` (as the import system would make it)."""
    finder = sys.path_importer_cache.get(entry)
    if finder is None:
        for hook in sys.path_hooks:
            try:
                return hook(entry)
            except ImportError:
                continue
    return finder


# --------------------------------------------------------------------------- requests

STATE = {"module": None}


def op_load(req):
    install_import_placeholders(req)
    name = req.get("module", "nn")
    start = time.perf_counter()
    try:
        load_support(req.get("support"))
        with open(req["path"], "rb") as fh:
            source = fh.read()
        prepare_files(req)
        provide_site_builtins()
        code = compile(source, req.get("filename", name + ".py"), "exec", dont_inherit=True)
        module = types.ModuleType(name)
        module.__file__ = req.get("filename", name + ".py")
        sys.modules[name] = module
        sys.modules["submission"] = module
        exec(code, module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import is a failed load too
        return {
            "status": "exception",
            "error_type": builtin_name(exc),
            "error_message": message_of(exc),
            "elapsed": time.perf_counter() - start,
        }, []
    STATE["module"] = module
    return {"status": "ok", "elapsed": time.perf_counter() - start}, []


def op_call(req, arrays):
    module = STATE["module"]
    if module is None:
        return {"status": "load_failed", "error_type": "not loaded"}, []
    func = module.__dict__.get(req["function"], None)
    if func is None:
        return {"status": "missing_function", "error_type": "missing_function"}, []
    if not callable(func):
        return {"status": "not_callable", "error_type": type(func).__name__}, []
    args = decode(req.get("args", []), arrays)
    kwargs = decode(req.get("kwargs", {"$dict": {}}), arrays)
    saved = {}
    for target, helper in (req.get("substitute") or {}).items():
        saved[target] = module.__dict__.get(target, saved)
        module.__dict__[target] = SUPPORT["helpers"][helper]
    start = time.perf_counter()
    try:
        value = func(*args, **kwargs)
        elapsed = time.perf_counter() - start
    except BaseException as exc:  # noqa: BLE001
        elapsed = time.perf_counter() - start
        return {
            "status": "exception",
            "error_type": builtin_name(exc),
            "error_message": message_of(exc),
            "elapsed": elapsed,
        }, []
    finally:
        for target, old in saved.items():
            if old is saved:
                module.__dict__.pop(target, None)
            else:
                module.__dict__[target] = old
    try:
        outputs = convert(value, int(req.get("n_outputs", 1)))
    except BadResult as exc:
        return {"status": "bad_result", "error_type": str(exc)[:100], "elapsed": elapsed}, []
    except ModuleNotFoundError as exc:
        return {
            "status": "exception",
            "error_type": builtin_name(exc),
            "error_message": message_of(exc),
            "elapsed": elapsed,
        }, []
    tree = (
        {"$nd": 0} if len(outputs) == 1 else {"$tuple": [{"$nd": i} for i in range(len(outputs))]}
    )
    return {"status": "ok", "value": tree, "elapsed": elapsed}, outputs


def flush_student_output():
    """Push buffered prints to fd 2 now; the worker is usually killed, never exits cleanly."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a student may have replaced or closed it
            pass


def serve():
    while True:
        req, arrays = read_request()
        op = req.get("op")
        if op == "load":
            reply, outputs = op_load(req)
        elif op == "call":
            reply, outputs = op_call(req, arrays)
        elif op == "ping":
            reply, outputs = {"status": "ok"}, []
        else:
            reply, outputs = {"status": "protocol_error", "error_type": "unknown op"}, []
        flush_student_output()
        reply["id"] = req.get("id")
        if not math.isfinite(reply.get("elapsed", 0.0)):
            reply["elapsed"] = 0.0
        send(reply, outputs)


def main():
    parent_death_guard()
    layers = {}
    if CONFIG.get("landlock"):
        layers["landlock"] = install_landlock()
    if CONFIG.get("seccomp"):
        layers["seccomp"] = install_seccomp()
    required = CONFIG.get("require", [])
    for name in required:
        if not layers.get(name, "").startswith("active"):
            send({"op": "ready", "status": "failed", "layers": layers})
            os._exit(72)
    send(
        {
            "op": "ready",
            "status": "ok",
            "layers": layers,
            "numpy": np.__version__,
            "pid": os.getpid(),
        }
    )
    serve()


# --------------------------------------------------------------------------- zygote

ZYGOTE_MESSAGE = 64 * 1024
FORK_FDS = 3  # request pipe (read end), response pipe (write end), stderr pipe (write end)
FIRST_PRIVATE_FD = 10


# What a fork inherits from its zygote besides memory: scheduling policy, nice value, uclamp,
# CPU affinity, I/O priority and rlimits. A submission must not be able to change them for the
# next one; the deny-list forbids it, and the zygote also puts back what it started with (or,
# where it cannot, exits so that the parent boots a clean one).
SCHED_ATTR_SIZE = 56  # struct sched_attr up to sched_util_max (Linux 5.3)
SCHED_FLAG_KEEP_ALL = 0x08 | 0x10  # keep policy and parameters: change only the clamps
SCHED_FLAG_UTIL_CLAMP = 0x20 | 0x40
IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_NONE = 0  # a new process's I/O priority: follows its nice value


class _SchedAttr(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("policy", ctypes.c_uint32),
        ("flags", ctypes.c_uint64),
        ("nice", ctypes.c_int32),
        ("priority", ctypes.c_uint32),
        ("runtime", ctypes.c_uint64),
        ("deadline", ctypes.c_uint64),
        ("period", ctypes.c_uint64),
        ("util_min", ctypes.c_uint32),
        ("util_max", ctypes.c_uint32),
    ]


def _sched_syscall(name, *args):
    """``syscall(name, *args)``; None where this arch has no number for it or it fails."""
    number = SYSCALLS.get(os.uname().machine, {}).get(name)
    if number is None:
        return None
    result = LIBC.syscall(number, *args)
    return None if result < 0 else result


def _util_clamps():
    attr = _SchedAttr()
    if _sched_syscall("sched_getattr", 0, ctypes.byref(attr), SCHED_ATTR_SIZE, 0) is None:
        return None
    return (attr.util_min, attr.util_max)


def sched_state():
    """The calling thread's scheduling state as a fork inherits it (a comparable dict)."""
    return {
        "policy": os.sched_getscheduler(0),  # with SCHED_RESET_ON_FORK, which a user cannot clear
        "priority": os.sched_getparam(0).sched_priority,
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "util": _util_clamps(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "ioprio": _sched_syscall("ioprio_get", IOPRIO_WHO_PROCESS, 0),
        "rlimits": [
            resource.getrlimit(getattr(resource, name))
            for name in sorted(dir(resource))
            if name.startswith("RLIMIT_")
        ],
    }


def restore_sched_state(original):
    """Put back the scheduling state the zygote started with; True if it now matches exactly.

    Undoing a raised nice value or SCHED_IDLE needs RLIMIT_NICE up to the grader's own nice
    (the sandbox sets it); rlimits are only compared: a lowered hard limit cannot be raised.
    """
    now = sched_state()
    if now == original:
        return True
    try:
        if (now["nice"], now["policy"], now["priority"]) != (
            original["nice"],
            original["policy"],
            original["priority"],
        ):
            os.setpriority(os.PRIO_PROCESS, 0, original["nice"])  # first: leaving SCHED_IDLE
            os.sched_setscheduler(  # needs a nice the rlimit allows
                0, original["policy"], os.sched_param(original["priority"])
            )
        if original["util"] is not None and now["util"] != original["util"]:
            attr = _SchedAttr(size=SCHED_ATTR_SIZE)
            attr.flags = SCHED_FLAG_KEEP_ALL | SCHED_FLAG_UTIL_CLAMP
            attr.util_min, attr.util_max = original["util"]
            _sched_syscall("sched_setattr", 0, ctypes.byref(attr), 0)
        if now["affinity"] != original["affinity"]:
            os.sched_setaffinity(0, original["affinity"])
        if now["ioprio"] != original["ioprio"]:
            # The default class first: it follows the (restored) nice value, as it did at start.
            _sched_syscall("ioprio_set", IOPRIO_WHO_PROCESS, 0, IOPRIO_CLASS_NONE)
            if sched_state()["ioprio"] != original["ioprio"] and original["ioprio"] is not None:
                _sched_syscall("ioprio_set", IOPRIO_WHO_PROCESS, 0, original["ioprio"])
    except (OSError, ValueError, OverflowError):
        pass
    return sched_state() == original


def zygote_send(control, message):
    control.send(json.dumps(message, separators=(",", ":")).encode())


def zygote_main():
    """Fork one worker per ``fork`` request; reap everything on ``reap``. Runs no student code."""
    import socket

    # Same-uid submissions must not read or write this process through /proc (ptrace rules).
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Every orphan of a submission is re-parented here, so ``reap`` can wait for all of them.
    LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    parent_death_guard()
    # numpy imports numpy.random lazily; almost every submission uses it, so load it once here.
    import numpy.random  # noqa: F401

    original = sched_state()  # what every fork must start with
    control = socket.socket(fileno=REQ_FD)
    zygote_send(control, {"op": "ready", "status": "ok", "numpy": np.__version__})
    current = None
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, ZYGOTE_MESSAGE, FORK_FDS)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the parent closed the socket
        try:
            req = json.loads(data)
        except ValueError:
            req = {}
        op = req.get("op") if isinstance(req, dict) else None
        # At once: a zygote a submission made SCHED_IDLE would otherwise reap and fork slowly.
        restore_sched_state(original)
        if op == "fork" and len(fds) == FORK_FDS:
            reap(None, 0.0)  # one submission at a time, whatever the parent forgot
            if not restore_sched_state(original):
                os._exit(75)  # cannot be made clean again: the parent boots a new zygote
            pid = os.fork()
            if pid == 0:
                become_worker(control, fds)  # never returns
            current = pid
            reply = {"op": "forked"}
        elif op == "reap":
            wait = req.get("wait", 0.0)
            status, clean = reap(current, float(wait) if isinstance(wait, (int, float)) else 0.0)
            # Nothing of the submission is left to change it again: clean means as at the start.
            clean = restore_sched_state(original) and clean
            current = None
            reply = {"op": "reaped", "status": status, "clean": clean}
        else:
            reply = {"op": "error"}
        for fd in fds:
            os.close(fd)
        zygote_send(control, reply)


def reap(current, wait):
    """Wait up to ``wait`` s for the current worker to exit, then kill and reap everything else.

    Returns ``(waitstatus of the current worker or None, whether no process is left)``.
    """
    status = None
    deadline = time.monotonic() + wait
    while current is not None:
        try:
            pid, st = os.waitpid(current, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            status, current = st, None
        elif time.monotonic() >= deadline:
            break
        else:
            time.sleep(0.002)
    for _ in range(2000):
        try:
            os.kill(-1, signal.SIGKILL)  # everything this uid may signal here, but not us
        except OSError:
            pass
        try:
            while True:
                pid, st = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                if pid == current:
                    status = st
        except ChildProcessError:
            return status, True
        time.sleep(0.001)
    return status, False


def become_worker(control, fds):
    """In the fork: keep only this submission's pipes, then start like a fresh worker."""
    global REQ_FD, RESP_FD, WORKER_PID
    zygote = os.getppid()
    control.detach()  # its fd is closed with the others below, not by a later garbage collection
    private = [fcntl.fcntl(fd, fcntl.F_DUPFD, FIRST_PRIVATE_FD) for fd in fds]
    req, resp, err = private
    os.dup2(err, 2)
    os.dup2(2, 1)
    keep = {0, 1, 2, req, resp}
    for fd in range(3, max(keep) + 1):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.closerange(max(keep) + 1, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 4096)
    # A /dev/null of its own on fd 0: flags and locks a submission puts on it die with it (the
    # zygote's is shared by every fork).
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    REQ_FD, RESP_FD, WORKER_PID = req, resp, os.getpid()
    # A session and group of its own: kill(0, ...) from the student then reaches only itself.
    os.setsid()
    LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as a freshly started worker (the zygote is not)
    CONFIG["ppid"] = zygote
    # The zygote's random state is shared by every fork: draw fresh entropy for each submission.
    np.random.seed()
    try:
        main()
    finally:
        os._exit(0)


if __name__ == "__main__":
    if CONFIG.get("zygote"):
        zygote_main()
    else:
        main()
