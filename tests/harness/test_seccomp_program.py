"""The worker's seccomp deny-list, run on a classic-BPF interpreter for every supported arch.

The red-team suites check the filter live on this machine's arch; this checks the program itself
(including aarch64's numbers) for the rules that look at arguments: which scheduling calls, fcntl
commands, ioctls and prctl options are refused, and that their neighbours are not.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parents[2] / "autograder" / "harness" / "worker.py"
ALLOW = "allow"
EPERM = f"errno {errno.EPERM}"

# Importing worker.py moves fds 0 and 1 (it is a child's entry point): build the programs in a
# child and have it answer on the fd it kept the original stdout as.
# The path goes in the code: the worker reads its argv[1] as its configuration.
_DUMP = """
import importlib.util, json, os
spec = importlib.util.spec_from_file_location("worker", PATH)
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
out = {arch: {"table": table, "program": worker.seccomp_program(arch, 4242),
              "audit": worker.AUDIT_ARCH[arch]} for arch, table in worker.SYSCALLS.items()}
data = json.dumps(out).encode()
while data:
    data = data[os.write(worker.RESP_FD, data):]
"""


@pytest.fixture(scope="module")
def programs() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP.replace("PATH", repr(str(WORKER)))],
        capture_output=True,
        timeout=60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return json.loads(proc.stdout)


def run_filter(program: list, audit: int, nr: int, args: tuple[int, ...]) -> str:
    """Classic BPF as seccomp runs it: loads of seccomp_data words, JEQ/JSET jumps, returns."""
    data = {0: nr, 4: audit}
    for i, value in enumerate(args):
        data[16 + 8 * i] = value & 0xFFFFFFFF  # low word: what the filter reads
        data[20 + 8 * i] = value >> 32
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            acc, pc = data.get(k, 0), pc + 1
        elif code == 0x15:  # BPF_JMP | BPF_JEQ | BPF_K
            pc += 1 + (jt if acc == k else jf)
        elif code == 0x45:  # BPF_JMP | BPF_JSET | BPF_K
            pc += 1 + (jt if acc & k else jf)
        elif code == 0x06:  # BPF_RET | BPF_K
            if k == 0x7FFF0000:
                return ALLOW
            assert k & 0xFFFF0000 == 0x00050000, hex(k)
            return f"errno {k & 0xFFFF}"
        else:
            raise AssertionError(f"unexpected BPF instruction {code:#x}")


F_SETFL, O_ASYNC, O_NONBLOCK = 4, 0o20000, 0o4000
CASES = [
    # scheduling of itself or of another process of its uid (the zygote): a fork inherits it
    ("sched_setscheduler", (0, 5, 0), EPERM),
    ("sched_setparam", (0, 0), EPERM),
    ("sched_setattr", (0, 0, 0), EPERM),
    ("sched_setaffinity", (0, 8, 0), EPERM),
    ("ioprio_set", (1, 0, 3 << 13), EPERM),
    ("setpriority", (0, 0, 19), EPERM),
    # reading it stays allowed (the zygote restores what it read at start)
    ("sched_getattr", (0, 0, 56, 0), ALLOW),
    ("ioprio_get", (1, 0), ALLOW),
    # fcntl: whatever aims a signal at a process, or registers one
    ("fcntl", (3, 8, 1), EPERM),  # F_SETOWN
    ("fcntl", (3, 10, 9), EPERM),  # F_SETSIG
    ("fcntl", (3, 15, 0), EPERM),  # F_SETOWN_EX
    ("fcntl", (3, 1024, 0), EPERM),  # F_SETLEASE
    ("fcntl", (3, 1026, 0), EPERM),  # F_NOTIFY
    ("fcntl", (0, (1 << 32) | 8, 1), EPERM),  # the kernel reads the command's low word only
    ("fcntl", (0, F_SETFL, O_ASYNC), EPERM),
    ("fcntl", (0, F_SETFL, O_ASYNC | O_NONBLOCK), EPERM),
    ("fcntl", (0, F_SETFL, O_NONBLOCK), ALLOW),
    ("fcntl", (0, 3, 0), ALLOW),  # F_GETFL
    ("fcntl", (0, 9, 0), ALLOW),  # F_GETOWN
    ("fcntl", (0, 0, 10), ALLOW),  # F_DUPFD
    ("fcntl", (0, 6, 0), ALLOW),  # F_SETLK: a lock dies with the worker's own fd
    ("fcntl", (0, 1031, 1 << 20), ALLOW),  # F_SETPIPE_SZ
    # ioctl: typing into a terminal; O_ASYNC and socket owners by another name
    ("ioctl", (0, 0x5412, 0), EPERM),  # TIOCSTI
    ("ioctl", (0, 0x541C, 0), EPERM),  # TIOCLINUX
    ("ioctl", (0, 0x5452, 0), EPERM),  # FIOASYNC
    ("ioctl", (0, 0x8901, 0), EPERM),  # FIOSETOWN
    ("ioctl", (0, 0x8902, 0), EPERM),  # SIOCSPGRP
    ("ioctl", (0, 0x541B, 0), ALLOW),  # FIONREAD
    ("ioctl", (0, 0x5421, 0), ALLOW),  # FIONBIO
    # prctl: keep dying with the grader; no core-scheduling cookie
    ("prctl", (1, 0), EPERM),  # PR_SET_PDEATHSIG
    ("prctl", (62, 1), EPERM),  # PR_SCHED_CORE
    ("prctl", (15, 0), ALLOW),  # PR_SET_NAME
]


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
@pytest.mark.parametrize(
    ("name", "args", "expected"),
    CASES,
    ids=[f"{name}-{args[1] if name in ('fcntl', 'ioctl') else args[0]}" for name, args, _ in CASES],
)
def test_filter_verdict(programs, arch, name, args, expected):
    prog = programs[arch]
    assert run_filter(prog["program"], prog["audit"], prog["table"][name], args) == expected


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_every_jump_lands_inside_the_program(programs, arch):
    program = programs[arch]["program"]
    for pc, (code, jt, jf, _) in enumerate(program):
        if code in (0x15, 0x45):
            assert pc + 1 + max(jt, jf) < len(program), pc
    assert program[-1] == [0x06, 0, 0, 0x7FFF0000]  # what no rule denies is allowed
