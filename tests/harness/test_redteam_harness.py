"""Red team at the harness level: hostile submissions against SandboxedSubmission, in every tier.

Each case states what it expects (call or load status) and the fixture then checks that no
slot-uid process, slot-uid file or stage directory survived. Cases marked ``hides_files`` need a
layer that hides world-readable files (bwrap's mount namespace or Landlock); a tier without one
skips them with that reason (that is a known gap, not a pass).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import resource
import socket
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import autograder
from autograder.harness.runner import CallOutcome, SandboxedSubmission
from autograder.harness.sandbox import Limits

from .conftest import FAST, ROOT_TIERS, TIER_REPORT, tier_params

REPO = str(Path(autograder.__file__).resolve().parents[1])
PLANTED = ("numpy.py", "sitecustomize.py", "usercustomize.py", "evil.pth")
MiB = 1 << 20


@dataclass
class Attack:
    """One hostile submission and what the harness must make of it."""

    name: str
    source: str
    expect: tuple[str, ...]
    at_import: bool = False
    n_outputs: int = 1
    timeout: float = 1.0
    limits: dict = field(default_factory=dict)
    check: Callable[[CallOutcome, SandboxedSubmission, dict], None] | None = None
    hides_files: bool = False


def _no_secret(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert "TOPSECRET" not in (out.error_message or "") and "TOPSECRET" not in sub.stderr
    assert out.value is None or not np.any(np.asarray(out.value) == 4242)


def _type_is(name: str) -> Callable:
    def check(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
        assert out.error_type == name, out

    return check


def _value_is(expected: float) -> Callable:
    def check(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
        assert out.status == "ok" and float(out.value) == expected, out

    return check


def _flood_bounded(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert sub.stderr_total >= 100 * MiB
    assert len(sub.stderr.encode()) <= sub.limits.max_stderr_bytes + 16


def _no_canary_hit(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert ctx["canary"].received == [], ctx["canary"].received


def _no_host_file(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert not os.path.exists(ctx["marker"])


def _plain_ndarray(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert type(out.value) is np.ndarray and out.value.dtype == np.float64
    assert not np.array_equal(out.value, np.ones(3))


def _parent_numpy_intact(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert not np.allclose(np.zeros(2), np.ones(2))


def _nothing_planted(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    for name in PLANTED:
        for directory in ("/tmp", "/var/tmp", "/dev/shm", str(sub._stage.path)):
            path = os.path.join(directory, name)
            assert not os.path.exists(path) or path in ctx["preexisting"], path


FORGE = r"""
import json, os, struct, sys
def frame(header, blobs=()):
    body = json.dumps(header).encode()
    out = b"AGF1" + struct.pack("<II", len(body), len(blobs)) + body
    for b in blobs:
        out += struct.pack("<I", len(b)) + b
    return out
def npy(text, payload=b""):
    head = text.encode()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + payload
def stolen_id():
    f = sys._getframe()
    while f is not None:
        if "req" in f.f_locals and isinstance(f.f_locals["req"], dict):
            return f.f_locals["req"].get("id")
        f = f.f_back
def spray(data):
    for fd in range(3, 40):
        try:
            os.write(fd, data)
        except OSError:
            pass
"""


def _all_denied(at_least: int) -> Callable:
    """The attack returns one errno per attempt (0: it worked): all EPERM, from the deny-list."""

    def check(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
        errnos = list(np.atleast_1d(out.value))
        assert len(errnos) >= at_least and set(errnos) == {float(errno.EPERM)}, errnos

    return check


# Helpers for the scheduling and signal-owner attacks: ``attempts(f, targets)`` is the errno of
# each ``f(target)`` (0 if it worked). Targets: the worker itself and its parent (the zygote).
SCHED = r"""
import ctypes, fcntl, os, platform, signal, struct
LIBC = ctypes.CDLL(None, use_errno=True)
NR = {"x86_64": {"sched_setattr": 314, "ioprio_set": 251},
      "aarch64": {"sched_setattr": 274, "ioprio_set": 30}}[platform.machine()]
SELF_AND_PARENT = (0, os.getpid(), os.getppid())
def attempt(f, *args):
    try:
        f(*args)
        return 0.0
    except OSError as exc:
        return float(exc.errno)
def attempts(f, targets):
    return [attempt(f, t) for t in targets]
def syscall(name, *args):
    return 0 if LIBC.syscall(NR[name], *args) == 0 else ctypes.get_errno()
def raising(name):
    def call(*args):
        code = syscall(name, *args)
        if code:
            raise OSError(code, name)
    return call
def open_fds():
    # stdin/stdout/stderr and the protocol pipes: every fd the worker holds
    return [fd for fd in range(64) if attempt(fcntl.fcntl, fd, fcntl.F_GETFD) == 0.0]
"""

ATTACKS = [
    # ---------------------------------------------------------------- hangs
    Attack("loop_at_import", "while True:\n    pass\n", ("timeout",), at_import=True, timeout=0.5),
    Attack(
        "loop_in_function",
        "def attack():\n    while True:\n        pass\n",
        ("timeout",),
        timeout=0.5,
    ),
    Attack(
        "sleep", "import time\ndef attack():\n    time.sleep(1000)\n", ("timeout",), timeout=0.5
    ),
    Attack(
        "ignore_sigterm_sigalrm",
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "signal.alarm(1)\ndef attack():\n    while True:\n        pass\n",
        ("timeout",),
    ),
    Attack(
        "read_stdin",
        "import os, sys\ndef attack():\n    return len(sys.stdin.read()) + len(os.read(0, 10))\n",
        ("ok",),
        check=_value_is(0.0),
    ),
    # ---------------------------------------------------------------- exhaustion
    Attack(
        "alloc_6GB",
        "def attack():\n    return len(bytearray(6 << 30))\n",
        ("exception",),
        check=_type_is("MemoryError"),
    ),
    Attack(
        "numpy_alloc_32GB",
        "import numpy as np\ndef attack():\n    return np.ones(4 << 30)\n",
        ("exception",),
        check=_type_is("MemoryError"),
    ),
    Attack(
        "return_800MB",
        "import numpy as np\ndef attack():\n    return np.zeros(100_000_000)\n",
        ("bad_result",),
        limits={"memory_bytes": 3 << 30},
        timeout=10,
    ),
    Attack(
        "return_over_result_cap",
        "import numpy as np\ndef attack():\n    return np.zeros(1_000_000)\n",
        ("bad_result",),
        limits={"max_result_bytes": 1 << 20},
    ),
    Attack(
        "fork_bomb",
        "import os\ndef attack():\n    while True:\n        os.fork()\n",
        ("exception", "timeout", "crash"),
    ),
    Attack(
        "thread_bomb",
        "import threading, time\ndef attack():\n    n = 0\n    try:\n        for _ in range(10000):\n"
        "            threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n            n += 1\n"
        "    except RuntimeError:\n        pass\n    return n\n",
        ("ok", "exception", "timeout"),
        timeout=5,
    ),
    Attack(
        "setsid_daemon",
        "import os, time\ndef attack():\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(100)\n        os._exit(0)\n"
        "    return 1.0\n",
        ("exception", "ok"),
    ),
    Attack(
        "subprocess_daemon",
        "import subprocess\ndef attack():\n    subprocess.Popen(['sleep', '100'], start_new_session=True)\n    return 1.0\n",
        ("exception", "ok"),
    ),
    Attack(
        "recursion_bomb",
        "import sys\nsys.setrecursionlimit(10**7)\ndef r(n):\n    return r(n + 1) + 1\ndef attack():\n    return r(0)\n",
        ("crash", "exception", "timeout"),  # 3.11+ frames live on the heap: may hit AS or the clock
        timeout=2,
    ),
    Attack(
        "stdout_flood_300MB",
        "import sys\ndef attack():\n    chunk = 'x' * (1 << 20)\n    for _ in range(300):\n        sys.stdout.write(chunk)\n    return 1.0\n",
        ("ok", "timeout"),
        timeout=15,
        check=_flood_bounded,
    ),
    Attack(
        "stderr_flood_300MB",
        "import os\ndef attack():\n    chunk = b'y' * (1 << 20)\n    for _ in range(300):\n        os.write(2, chunk)\n    return 1.0\n",
        ("ok", "timeout"),
        timeout=15,
        check=_flood_bounded,
    ),
    Attack(
        "fill_disk_2GB",
        "import os\ndef attack():\n    with open(os.path.join('/tmp', 'fill.bin'), 'wb') as fh:\n        for _ in range(2048):\n"
        "            fh.write(b'z' * (1 << 20))\n",
        ("exception",),
    ),
    # ---------------------------------------------------------------- crashes and broken code
    Attack(
        "sys_exit_in_function",
        "import sys\ndef attack():\n    print('10 passed')\n    sys.exit(0)\n",
        ("exception",),
        check=_type_is("SystemExit"),
    ),
    Attack(
        "sys_exit_at_import",
        "print('10 passed')\nimport sys\nsys.exit(0)\n",
        ("exception",),
        at_import=True,
    ),
    Attack("os_exit", "import os\ndef attack():\n    os._exit(0)\n", ("crash",)),
    Attack(
        "segfault", "import ctypes\ndef attack():\n    return ctypes.string_at(0)\n", ("crash",)
    ),
    Attack("abort", "import os\ndef attack():\n    os.abort()\n", ("crash",)),
    Attack("syntax_error", "def attack(:\n    pass\n", ("exception",), at_import=True),
    # An unprovided module binds a placeholder: it fails the load only when used at import.
    Attack(
        "missing_module",
        "import tensorflow_not_here\ntensorflow_not_here.config.run()\n",
        ("exception",),
        at_import=True,
        check=_type_is("ModuleNotFoundError"),
    ),
    Attack(
        "missing_module_used_in_function",
        "import tensorflow_not_here as tf\ndef attack():\n    return tf.zeros(3)\n",
        ("exception",),
        check=_type_is("ModuleNotFoundError"),
    ),
    Attack(
        "nan_inf",
        "import numpy as np\ndef attack():\n    return np.array([np.nan, np.inf])\n",
        ("ok",),
    ),
    Attack(
        "wrong_type_str",
        "def attack():\n    return 'abc'\n",
        ("bad_result",),
        check=_type_is("str"),
    ),
    Attack("complex_result", "def attack():\n    return 1 + 2j\n", ("bad_result",)),
    Attack("wrong_arity", "def attack():\n    return (1.0,)\n", ("bad_result",), n_outputs=2),
    Attack(
        "close_protocol_fds",
        "import os\nfor fd in range(3, 40):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n",
        ("crash",),
        at_import=True,
    ),
    # ---------------------------------------------------------------- faking the score
    Attack(
        "fake_results_output",
        "print('{\"score\": 100, \"tests\": []}')\ndef attack():\n    print('All 10 tests passed. Score: 100/100')\n    return 1.0\n",
        ("ok",),
    ),
    Attack(
        "write_results_file",
        "def attack():\n    with open('$marker', 'w') as fh:\n        fh.write('{\"score\": 100}')\n    return 1.0\n",
        ("exception", "ok"),
        check=_no_host_file,
    ),
    Attack(
        "forged_frame_at_import",
        FORGE + "spray(frame({'id': '0' * 32, 'status': 'ok'}))\n",
        ("protocol_error",),
        at_import=True,
    ),
    Attack(
        "forged_frame_stolen_id_wrong_shape",
        FORGE
        + "def attack():\n    spray(frame({'id': stolen_id(), 'status': 'ok', 'value': {'$nd': 0}}, [npy(\"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }\")]))\n    return 1.0\n",
        ("protocol_error",),
    ),
    Attack(
        "forged_pickle_npy",
        FORGE
        + "import pickle, os\nclass P:\n    def __reduce__(self):\n        return (os.system, ('touch $marker',))\n"
        "def attack():\n    spray(frame({'id': stolen_id(), 'status': 'ok', 'value': {'$nd': 0}}, [npy(\"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\", pickle.dumps(P()))]))\n    return 1.0\n",
        ("protocol_error",),
        check=_no_host_file,
    ),
    Attack(
        "forged_huge_length",
        FORGE
        + "import struct\ndef attack():\n    spray(b'AGF1' + struct.pack('<II', 2, 1) + b'{}' + struct.pack('<I', 800 << 20))\n    return 1.0\n",
        ("protocol_error",),
    ),
    Attack(
        "pickle_reduce_result",
        "import os\nclass P:\n    def __reduce__(self):\n        return (os.system, ('touch $marker',))\ndef attack():\n    return P()\n",
        ("bad_result",),
        check=_no_host_file,
    ),
    Attack(
        "eq_always_true",
        "class X:\n    def __eq__(self, o):\n        return True\ndef attack():\n    return X()\n",
        ("bad_result",),
        check=_type_is("object"),
    ),
    Attack(
        "ndarray_subclass",
        "import numpy as np\nclass M(np.ndarray):\n    def __eq__(self, o):\n        return True\n"
        "def attack():\n    return np.arange(3.0).view(M)\n",
        ("ok",),
        check=_plain_ndarray,
    ),
    Attack(
        "monkeypatch_numpy_unittest_math",
        "import numpy as np, unittest, math, builtins\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
        "unittest.TestCase.assertEqual = lambda *a, **k: None\nmath.isclose = lambda *a, **k: True\nbuiltins.abs = lambda x: 0\n"
        "def attack():\n    return np.zeros(2)\n",
        ("ok",),
        check=_parent_numpy_intact,
    ),
    Attack(
        "exception_class_name_leak",
        "def attack():\n    raise type('LEAK_4242', (ValueError,), {})('x')\n",
        ("exception",),
        check=_type_is("ValueError"),
    ),
    Attack(
        "result_type_name_leak",
        "def attack():\n    return type('LEAK_4242', (), {})()\n",
        ("bad_result",),
        check=_type_is("object"),
    ),
    # ---------------------------------------------------------------- reaching what is hidden
    Attack(
        "import_bpnet_ref",
        "def attack():\n    import bpnet_ref\n    return 1.0\n",
        ("exception",),
        check=_type_is("ModuleNotFoundError"),
    ),
    Attack(
        "import_grader_from_repo",
        "import sys\nsys.path.insert(0, '$repo')\ndef attack():\n    import autograder.harness.protocol, bpnet_ref\n    return 1.0\n",
        ("exception",),
        hides_files=True,
    ),
    Attack(
        "read_0600_secret",
        "def attack():\n    return len(open('$secret').read())\n",
        ("exception",),
        check=_no_secret,
    ),
    Attack(
        "list_repo_dir",
        "import os\ndef attack():\n    return len(os.listdir('$repo'))\n",
        ("exception",),
        hides_files=True,
    ),
    Attack(
        "proc_parent_environ",
        "def attack():\n    return len(open('/proc/$ppid/environ', 'rb').read())\n",
        ("exception",),
    ),
    Attack(
        "proc_parent_cmdline",
        "def attack():\n    return len(open('/proc/$ppid/cmdline', 'rb').read())\n",
        ("exception",),
        hides_files=True,
    ),
    Attack(
        "gc_and_frames_for_secrets",
        "import gc, sys\ndef attack():\n    hits = [o for o in gc.get_objects() if isinstance(o, (str, bytes)) and 'TOPSECRET' in str(o)[:10000]]\n"
        "    f = sys._getframe()\n    while f is not None:\n        hits += [v for v in f.f_locals.values() if 'expected' in str(v)[:1000]]\n        f = f.f_back\n"
        "    return float(len(hits))\n",
        ("ok",),
        check=_value_is(0.0),
    ),
    # A placeholder's methods live in the worker: from them a submission reaches the worker's
    # globals, which it could reach anyway (sys.modules['__main__']) and which hold no secret.
    Attack(
        "placeholder_globals_read_secret",
        "import pandas as pd\ndef attack():\n    g = type(pd.DataFrame).__getattr__.__globals__\n"
        "    fd = g['os'].open('$secret', g['os'].O_RDONLY)\n    return float(len(g['os'].read(fd, 100)))\n",
        ("exception",),
        check=_no_secret,
    ),
    Attack(
        "placeholder_gc_walk_for_secrets",
        "import gc\nimport torch\ndef attack():\n    g = type(torch.nn).__getattr__.__globals__\n"
        "    needle = ''.join(('TOP', 'SECRET'))  # not folded into a constant\n"
        "    seen = [g, g['CONFIG'], g['PLACEHOLDERS'], *gc.get_referents(g), *gc.get_objects()]\n"
        "    seen = [o for o in seen if isinstance(o, (str, bytes, dict, list, tuple))]\n"
        "    return float(len([o for o in seen if needle in str(o)[:100000]]))\n",
        ("ok",),
        check=_value_is(0.0),
    ),
    Attack(
        "network_tcp_canary",
        "import socket\ndef attack():\n    s = socket.create_connection(('127.0.0.1', $tcp_port), timeout=0.5)\n    s.sendall(b'LEAK')\n    return 1.0\n",
        ("exception",),
        check=_no_canary_hit,
    ),
    Attack(
        "network_udp_canary",
        "import socket\ndef attack():\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.sendto(b'LEAK', ('127.0.0.1', $udp_port))\n    return 1.0\n",
        ("exception",),
        check=_no_canary_hit,
    ),
    Attack(
        "kill_grader",
        "import os, signal\ndef attack():\n    os.kill($ppid, signal.SIGKILL)\n",
        ("exception",),
    ),
    Attack(
        "kill_everything",
        "import os, signal\ndef attack():\n    os.kill(-1, signal.SIGKILL)\n",
        ("exception",),
    ),
    # A fork inherits its zygote's scheduling: none of it may change, for itself or the zygote.
    Attack(
        "sched_setscheduler_idle",
        SCHED
        + "def attack():\n    return attempts(lambda t: os.sched_setscheduler(t, os.SCHED_IDLE, os.sched_param(0)), SELF_AND_PARENT)"
        "\n",
        ("ok",),
        check=_all_denied(3),
    ),
    Attack(
        "sched_setparam",
        SCHED
        + "def attack():\n    return attempts(lambda t: os.sched_setparam(t, os.sched_param(0)), SELF_AND_PARENT)\n",
        ("ok",),
        check=_all_denied(3),
    ),
    Attack(
        "sched_setattr_idle_and_uclamp",
        SCHED
        + "def attack():\n    idle = struct.pack('<IIQiIQQQII', 56, 5, 0, 0, 0, 0, 0, 0, 0, 0)\n"
        "    clamp = struct.pack('<IIQiIQQQII', 56, 0, 0x18 | 0x40, 0, 0, 0, 0, 0, 0, 0)\n"
        "    return [attempt(raising('sched_setattr'), t, attr, 0) for t in SELF_AND_PARENT for attr in (idle, clamp)]\n",
        ("ok",),
        check=_all_denied(6),
    ),
    Attack(
        "sched_setaffinity_one_cpu",
        SCHED + "def attack():\n    one = {min(os.sched_getaffinity(0))}\n"
        "    return attempts(lambda t: os.sched_setaffinity(t, one), SELF_AND_PARENT)\n",
        ("ok",),
        check=_all_denied(3),
    ),
    Attack(
        "ioprio_set_idle",
        SCHED + "def attack():\n    idle = 3 << 13\n"
        "    return attempts(lambda t: raising('ioprio_set')(1, t, idle), SELF_AND_PARENT) + [\n"
        "        attempt(raising('ioprio_set'), 2, os.getpgrp(), idle), attempt(raising('ioprio_set'), 3, os.getuid(), idle)]\n",
        ("ok",),
        check=_all_denied(5),
    ),
    Attack(
        "setpriority_plus_19",
        SCHED
        + "def attack():\n    return attempts(lambda t: os.setpriority(os.PRIO_PROCESS, t, 19), SELF_AND_PARENT) + [\n"
        "        attempt(os.setpriority, os.PRIO_PGRP, 0, 19), attempt(os.setpriority, os.PRIO_USER, os.getuid(), 19)]\n",
        ("ok",),
        check=_all_denied(5),
    ),
    # A file owned by the zygote signals it on I/O (SIGIO, or any signal F_SETSIG picks).
    Attack(
        "fcntl_setown_every_fd",
        SCHED
        + "def attack():\n    return [attempt(fcntl.fcntl, fd, fcntl.F_SETOWN, t) for fd in open_fds() for t in (os.getppid(), -os.getpgrp())]\n",
        ("ok",),
        check=_all_denied(10),
    ),
    Attack(
        "fcntl_setown_ex_every_fd",
        SCHED + "def attack():\n    owner = struct.pack('ii', 1, os.getppid())  # F_OWNER_PID\n"
        "    return [attempt(fcntl.fcntl, fd, 15, owner) for fd in open_fds()]\n",
        ("ok",),
        check=_all_denied(5),
    ),
    Attack(
        "fcntl_setsig_every_fd",
        SCHED
        + "def attack():\n    return [attempt(fcntl.fcntl, fd, fcntl.F_SETSIG, signal.SIGKILL) for fd in open_fds()]\n",
        ("ok",),
        check=_all_denied(5),
    ),
    Attack(
        "o_async_every_fd",
        SCHED + "def attack():\n    on = struct.pack('i', 1)\n"
        "    return [attempt(fcntl.fcntl, fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC | os.O_NONBLOCK)\n"
        "            for fd in open_fds()] + [attempt(fcntl.ioctl, fd, 0x5452, on) for fd in open_fds()]  # FIOASYNC\n",
        ("ok",),
        check=_all_denied(10),
    ),
    Attack(
        "lease_and_dnotify",
        SCHED + "import numpy\ndef attack():\n    package = os.path.dirname(numpy.__file__)\n"
        "    directory = os.open(package, os.O_RDONLY | os.O_DIRECTORY)\n"
        "    module = os.open(numpy.__file__, os.O_RDONLY)\n"
        "    return [attempt(fcntl.fcntl, directory, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT),\n"
        "            attempt(fcntl.fcntl, module, fcntl.F_SETLEASE, fcntl.F_RDLCK)]\n",
        ("ok",),
        check=_all_denied(2),
    ),
    Attack(
        "unset_pdeathsig_and_ptrace_grader",
        "import ctypes\ndef attack():\n    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    return float(libc.prctl(1, 0, 0, 0, 0) + libc.ptrace(16, $ppid, 0, 0))\n",
        ("ok",),
        check=_value_is(-2.0),
    ),
    # ---------------------------------------------------------------- tampering
    Attack(
        "plant_modules",
        "import os\ndef attack():\n    n = 0\n    for d in ('.', '/tmp', '/var/tmp', '/dev/shm', os.path.dirname(os.path.abspath(__file__))):\n"
        "        for name in " + repr(PLANTED) + ":\n            try:\n"
        "                with open(os.path.join(d, name), 'w') as fh:\n                    fh.write('raise SystemExit(3)')\n                n += 1\n"
        "            except OSError:\n                pass\n    return float(n)\n",
        ("ok",),
        check=_nothing_planted,
    ),
    Attack(
        "clear_environ_path_chdir_at_import",
        "import os, sys\nos.environ.clear()\nsys.path.clear()\nos.chdir('/')\nsys.modules.pop('json', None)\n"
        "def attack():\n    return 1.0\n",
        ("ok",),
    ),
]


class Canary:
    """Loopback TCP and UDP listeners that record anything they receive."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
                self.received.append(b"tcp-connect:" + conn.recv(100))
                conn.close()
            except OSError:
                pass
            try:
                self.received.append(self.udp.recv(100))
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.tcp.close()
        self.udp.close()


@pytest.fixture(scope="module")
def canary():
    server = Canary()
    yield server
    server.close()


def _hides_files(tier: str) -> bool:
    layers = TIER_REPORT.get(tier, {}).get("layers", {})
    return tier == "bwrap" or str(layers.get("landlock", "")).startswith("active")


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_attack(tier, attack, canary, secret_file, leftovers, capfd):
    if attack.hides_files and not _hides_files(tier):
        pytest.skip(
            f"tier {tier} has no mount namespace or Landlock: world-readable files stay readable"
        )
    marker = f"/tmp/bpgrade-redteam-{uuid.uuid4().hex}"
    ctx = {
        "canary": canary,
        "marker": marker,
        "preexisting": {
            os.path.join(d, n)
            for d in ("/tmp", "/var/tmp", "/dev/shm")
            for n in PLANTED
            if os.path.exists(os.path.join(d, n))
        },
    }
    source = string.Template(attack.source).safe_substitute(
        marker=marker,
        repo=REPO,
        secret=secret_file,
        ppid=os.getpid(),
        tcp_port=canary.tcp.getsockname()[1],
        udp_port=canary.udp.getsockname()[1],
    )
    source += "\ndef ok():\n    return 42.0\n"
    limits: Limits = dataclasses.replace(
        FAST, load_timeout=attack.timeout if attack.at_import else 5.0, **attack.limits
    )
    rss_before = max(_rss_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    with leftovers.track(SandboxedSubmission(source, tier=tier, limits=limits)) as sub:
        loaded = sub.load()
        if attack.at_import:
            out = loaded
        else:
            assert loaded.status == "ok", loaded
            out = sub.call("attack", [], {}, n_outputs=attack.n_outputs, timeout=attack.timeout)
        assert out.status in attack.expect, out
        if attack.check is not None:
            attack.check(out, sub, ctx)
        if loaded.status == "ok":
            # The harness recovered: the next function still runs (after a restart if needed).
            after = sub.call("ok", [], {}, timeout=5)
            assert after.status == "ok" and float(after.value) == 42.0, after
        else:
            assert sub.call("ok", [], {}, timeout=5).status == "load_failed"
    rss_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert rss_growth_mib < 100, f"parent RSS grew by {rss_growth_mib:.0f} MiB"
    captured = capfd.readouterr()
    assert (
        "passed" not in captured.out and "xxxx" not in captured.out and "yyyy" not in captured.out
    )
    assert not os.path.exists(marker)
    _nothing_planted(out, sub, ctx)


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_slots_cannot_touch_each_other(tier, leftovers):
    """Two concurrent submissions get different uids; one cannot signal or read the other."""
    victim_src = (
        "import os, time\ndef pid():\n    return float(os.getpid())\ndef ok():\n    return 42.0\n"
    )
    with leftovers.track(SandboxedSubmission(victim_src, tier=tier, limits=FAST)) as victim:
        assert victim.load().status == "ok"
        victim_stage = str(victim._stage.path)
        attacker_src = (
            "import os, signal\ndef attack():\n    n = 0\n    for pid in range(2, 1 << 16):\n        try:\n"
            "            os.kill(pid, signal.SIGKILL)\n            n += 1\n        except OSError:\n            pass\n"
            f"    try:\n        os.listdir({victim_stage!r})\n        n += 1000\n    except OSError:\n        pass\n"
            "    return float(n)\n"
        )
        with leftovers.track(SandboxedSubmission(attacker_src, tier=tier, limits=FAST)) as attacker:
            assert attacker._slot.uid != victim._slot.uid
            out = attacker.call("attack", [], {}, timeout=10)
            assert out.status in ("ok", "crash"), out
            if out.status == "ok":
                assert (
                    float(out.value) <= 1.0
                )  # at most itself... which it did not survive otherwise
        assert victim.call("ok", [], {}, timeout=5).status == "ok"
        assert victim.restarts == 0
