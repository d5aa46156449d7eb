"""``Zygote``: one sandboxed, numpy-loaded process that forks a fresh worker per submission.

What these tests hold the zygote to:

* it exists only where a reap is confined (a pid namespace or a slot uid);
* one zygote serves many submissions, each in a fresh fork with its own random stream;
* nothing of a submission A reaches the next submission B on the same zygote: not a patched
  module, not its output, not a process, not a file, not a fd of the zygote; and when A breaks
  the zygote (possible only without seccomp), B gets a new one and is still graded correctly;
* a zygote killed or hung between submissions is replaced; closing it leaves nothing behind.

Configurations: the two root tiers as deployed, plus ``bwrap`` with seccomp switched off (what A
can do when it *can* fork, signal and write files: only the zygote's reap and the bubblewrap
namespaces stand between A and B) and ``seccomp`` without Landlock (so that /proc can be read and
a refusal there comes from the zygote's own protection, not from the Landlock allow-list).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import string
import threading
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from autograder.grading import grade_submission
from autograder.harness import runner, sandbox, zygote
from autograder.harness.runner import CallOutcome, SandboxedSubmission
from autograder.harness.sandbox import Limits, Sandbox, SandboxError
from autograder.harness.zygote import Zygote, shared_zygote

from .conftest import FAST, TIER_REPORT, tier_params, uid_files

ROOT = os.geteuid() == 0
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"
needs_root = pytest.mark.skipif(not ROOT, reason="slot uids (and the seccomp tier) need root")

#: name -> (tier, extra Sandbox arguments)
CONFIGS: dict[str, tuple[str, dict]] = {
    "bwrap": ("bwrap", {}),
    "seccomp": ("seccomp", {}),
    "bwrap-noseccomp": ("bwrap", {"seccomp": False}),
    "seccomp-nolandlock": ("seccomp", {"landlock": False}),
}
ROOT_CONFIGS = ("bwrap", "seccomp")


def _skip_marks(config: str) -> list:
    tier = CONFIGS[config][0]
    info = TIER_REPORT[tier]
    if not info["available"]:
        return [pytest.mark.skip(reason=f"tier {tier}: {info['reason']}")]
    if tier == "seccomp" and not ROOT:  # pragma: no cover - the seccomp tier is root-only
        return [pytest.mark.skip(reason="the seccomp tier needs root")]
    return []


def config_params(configs: tuple[str, ...]) -> list:
    """One param per configuration, skipped like :func:`tier_params` where its tier is missing."""
    return [pytest.param(c, marks=_skip_marks(c), id=c) for c in configs]


# --------------------------------------------------------------------------- helpers


def _wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _pids(z: Zygote) -> set[int]:
    """Host pids of every process of the zygote's slot uid."""
    return set(sandbox.pids_of_uid(z.slot.uid))


def _argv(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().split(b"\0")
    except OSError:
        return []


def _zygote_python(z: Zygote) -> int:
    """Host pid of the zygote's python process (under bwrap it is not ``z._proc``)."""
    found = [
        pid
        for pid in _pids(z)
        if os.path.basename(_argv(pid)[0]).startswith(b"python")
        and b"worker.py" in b"".join(_argv(pid))
    ]
    assert len(found) == 1, f"expected the zygote alone, found {found}"
    return found[0]


def run(z: Zygote | None, source: str, function: str, *args, timeout: float = 5.0, **kw):
    """Load ``source`` as one submission on ``z``, call ``function(*args)``; return (outcome, sub)."""
    with SandboxedSubmission(source, limits=FAST, zygote=z, **kw) as sub:
        out = sub.call(function, list(args), {}, timeout=timeout)
    return out, sub


def settle(z: Zygote) -> set[int]:
    """Serve one harmless submission; return the pids left afterwards: the zygote's own."""
    out, _ = run(z, "def f():\n    return 1.0\n", "f")
    assert out.status == "ok" and float(out.value) == 1.0, (out, z.stderr)
    pids = _pids(z)
    assert pids, "the zygote runs no process"
    return pids


@pytest.fixture
def make_zygote():
    """``make_zygote(config, limits=FAST, start=True)`` -> a Zygote; all are closed at teardown and
    must then leave no slot-uid process, no slot-uid file and no stage directory.

    The leftover check runs inside ``Slot.release`` (before another grader may take the uid).
    """
    made: list[Zygote] = []
    problems: list[str] = []

    def make(config: str, limits: Limits = FAST, start: bool = True) -> Zygote:
        tier, extra = CONFIGS[config]
        z = Zygote(Sandbox(tier=tier, **extra), limits=limits)
        slot = z.slot
        if slot is not None:
            release = slot.release

            def checked_release() -> None:
                if sandbox.pids_of_uid(slot.uid):
                    problems.append(f"slot-uid processes survived: {sandbox.pids_of_uid(slot.uid)}")
                if uid_files(slot.uid):
                    problems.append(f"slot-uid files survived: {uid_files(slot.uid)}")
                release()

            slot.release = checked_release
        made.append(z)
        if start:
            z.start()
        return z

    yield make
    for z in made:
        z.close()
    for z in made:
        assert not z.alive and not z.stage.path.exists()
    assert problems == []


VICTIM = """
import numpy as np

def grade(x):
    return 1.0 / (1.0 + np.exp(-x))
"""


def grade_victim(z: Zygote, probe: str = "") -> tuple[SandboxedSubmission, CallOutcome | None]:
    """Submission B: must be graded correctly; ``probe()`` (if given) reports what B can see."""
    x = np.linspace(-3.0, 3.0, 7)
    with SandboxedSubmission(VICTIM + probe, limits=FAST, zygote=z) as sub:
        out = sub.call("grade", [x], {}, timeout=5)
        assert out.status == "ok", (out, z.stderr)
        np.testing.assert_allclose(out.value, 1.0 / (1.0 + np.exp(-x)), rtol=1e-12)
        seen = sub.call("probe", [], {}, timeout=5) if probe else None
        assert sub.restarts == 0
    return sub, seen


# --------------------------------------------------------------------------- where zygotes exist


@pytest.mark.parametrize(
    ("tier", "drop_uid", "seccomp", "supported"),
    [
        ("bwrap", True, True, True),  # pid namespace (and a slot uid)
        ("bwrap", False, True, True),  # pid namespace: a non-root grader too
        ("seccomp", True, True, True),  # a slot uid no one else uses
        ("seccomp", False, True, False),  # kill(-1) would reach the grader's own processes
        ("rlimits", False, True, False),
        ("bwrap", True, False, False),  # without the deny-list a worker could fork or plant files
        ("seccomp", True, False, False),
    ],
)
def test_supported_only_where_a_reap_is_confined(tier, drop_uid, seccomp, supported):
    fake = types.SimpleNamespace(tier=tier, drop_uid=drop_uid, seccomp=seccomp)
    assert Zygote.supported(fake) is supported


@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_supported_for_real_root_tiers(config):
    tier, extra = CONFIGS[config]
    assert Zygote.supported(Sandbox(tier=tier, **extra)) is True


@needs_root
@pytest.mark.parametrize("config", config_params(("bwrap-noseccomp",)))
def test_without_seccomp_each_submission_gets_its_own_worker(config, leftovers):
    """No zygote without the deny-list: a submission then boots a worker of its own, as before."""
    tier, extra = CONFIGS[config]
    sb = Sandbox(tier=tier, **extra)
    with pytest.raises(SandboxError, match="no zygote"):
        Zygote(sb)
    with leftovers.track(SandboxedSubmission(VICTIM, limits=FAST, sandbox=sb)) as sub:
        out = sub.call("grade", [0.0], {}, timeout=5)
        assert sub._zygote is None
    assert out.status == "ok" and float(out.value) == 0.5, out


def test_unsupported_sandbox_is_refused_before_taking_a_slot(monkeypatch):
    def no_slot():
        raise AssertionError("a refused zygote must not take a slot")

    monkeypatch.setattr(zygote, "acquire_slot", no_slot)
    with pytest.raises(SandboxError, match="no zygote in tier 'rlimits'"):
        Zygote(types.SimpleNamespace(tier="rlimits", drop_uid=False))


@pytest.mark.skipif(not ROOT, reason="only a root grader refuses the rlimits tier outright")
def test_rlimits_zygote_refused_as_root():
    with pytest.raises(SandboxError, match="root"):
        Zygote(tier="rlimits")


def _in_fresh_thread(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a new thread (a fresh thread-local zygote cache); return or re-raise."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_shared_zygote_is_none_where_unsupported(monkeypatch):
    monkeypatch.setattr(
        zygote, "Sandbox", lambda tier: types.SimpleNamespace(tier=tier, drop_uid=False)
    )
    assert _in_fresh_thread(lambda: shared_zygote("rlimits")) is None


@pytest.mark.skipif(not ROOT, reason="only a root grader refuses the rlimits tier outright")
def test_shared_zygote_rlimits_as_root_raises():
    with pytest.raises(SandboxError, match="root"):
        _in_fresh_thread(lambda: shared_zygote("rlimits"))


@pytest.mark.parametrize("tier", tier_params(("bwrap",)))
def test_shared_zygote_one_per_thread_tier_and_limits(tier):
    def body() -> tuple[bool, bool, bool, str, str]:
        a = shared_zygote(tier)
        b = shared_zygote(tier)
        c = shared_zygote(tier, Limits(memory_bytes=2 << 30))
        try:
            out, _ = run(a, "def f():\n    return 3.0\n", "f")
            return a is b, a is not c, a.matches(Limits()), out.status, a.tier
        finally:
            a.close()
            c.close()
            zygote._THREAD.__dict__.pop("zygotes", None)

    same, distinct, matches, status, used = _in_fresh_thread(body)
    assert (same, distinct, matches, status, used) == (True, True, True, "ok", tier)


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ({"call_timeout": 0.1, "load_timeout": 0.5, "total_budget": 3.0}, True),  # timers
        ({"memory_bytes": 2 << 30}, False),
        ({"cpu_seconds": 5}, False),
        ({"nproc": 8}, False),
        ({"fsize_bytes": 1 << 20}, False),
        ({"nofile": 32}, False),
        ({"max_result_bytes": 1 << 20}, False),
    ],
    ids=lambda v: str(v) if isinstance(v, bool) else "-".join(v),
)
@pytest.mark.parametrize("config", config_params(("bwrap",)))
def test_submission_refuses_a_zygote_with_other_resource_limits(
    config, change, accepted, make_zygote
):
    z = make_zygote(config, start=False)
    limits = dataclasses.replace(FAST, **change)
    if accepted:
        SandboxedSubmission("x = 1\n", limits=limits, zygote=z).close()
    else:
        with pytest.raises(ValueError, match="resource limits"):
            SandboxedSubmission("x = 1\n", limits=limits, zygote=z)


# --------------------------------------------------------------------------- reuse


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_one_zygote_serves_many_submissions(config, make_zygote):
    z = make_zygote(config)
    for k in range(1, 5):
        out, sub = run(z, f"def f(x):\n    return x * {k}\n", "f", np.arange(3.0))
        assert out.status == "ok", out
        np.testing.assert_array_equal(out.value, np.arange(3.0) * k)
        assert sub.tier == CONFIGS[config][0]
    assert (z.boots, z.forks, z.alive) == (1, 4, True)


@needs_root
@pytest.mark.parametrize(
    "draw",
    [
        "np.random.rand(4)",  # numpy's global stream: inherited from the zygote unless reseeded
        "np.random.default_rng().random(4)",
        "[random.random() for _ in range(4)]",
    ],
    ids=["numpy-global", "numpy-default_rng", "stdlib-random"],
)
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_each_fork_draws_a_fresh_random_stream(config, draw, make_zygote):
    z = make_zygote(config)
    source = f"import random\nimport numpy as np\ndef f():\n    return {draw}\n"
    first, _ = run(z, source, "f")
    second, _ = run(z, source, "f")
    assert first.status == second.status == "ok", (first, second)
    assert not np.array_equal(first.value, second.value)
    assert z.forks == 2


# --------------------------------------------------------------------------- isolation A -> B


@dataclass
class Attack:
    """What submission A does on a zygote, and what the next submission B must (not) see.

    ``source`` is A's module; its ``attack()`` is called. ``probe`` is appended to B's module;
    ``probe()`` must return ``seen``. ``$``-placeholders are filled from the test's context
    (``$planted``: a fresh file name).
    """

    name: str
    configs: tuple[str, ...]
    source: str
    expect: tuple[str, ...]
    probe: str = ""
    seen: list[float] | None = None
    check_a: Callable[[CallOutcome, SandboxedSubmission, dict], None] | None = None


def _value(expected: list[float]) -> Callable:
    def check(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
        np.testing.assert_array_equal(np.atleast_1d(out.value), expected)

    return check


def _error(name: str) -> Callable:
    def check(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
        assert out.error_type == name, out

    return check


def _printed(out: CallOutcome, sub: SandboxedSubmission, ctx: dict) -> None:
    assert "LEAK-A" in sub.stderr, "the attack did not even print"


_SEEN_NOTHING = (
    "def probe():\n    import os\n    return [float(os.path.exists(p)) for p in {paths}]\n"
)


def _probe_exists(*paths: str) -> str:
    return _SEEN_NOTHING.format(paths=repr(list(paths)))


ATTACKS = [
    Attack(
        "monkeypatch_numpy_at_import",
        ("bwrap", "seccomp"),
        "import builtins, math\nimport numpy as np\n"
        "np.allclose = lambda *a, **k: True\nnp.exp = lambda x: np.zeros_like(x)\n"
        "math.isclose = lambda *a, **k: True\nbuiltins.abs = lambda x: 0\n"
        "def attack():\n"
        "    return [float(np.allclose(0.0, 1.0)), float(np.exp(1.0)), float(math.isclose(0, 1)), float(abs(-3))]\n",
        ("ok",),
        probe="import math\ndef probe():\n"
        "    return [float(np.allclose(0.0, 1.0)), float(np.exp(1.0)), float(math.isclose(0, 1)), float(abs(-3))]\n",
        seen=[0.0, float(np.e), 0.0, 3.0],
        check_a=_value([1.0, 0.0, 1.0, 0.0]),
    ),
    Attack(
        "print_flood_and_printing_thread",
        ("bwrap", "seccomp"),
        "import os, sys, threading, time\nprint('LEAK-A import ' * 2000)\n"
        "def spam():\n    while True:\n        print('LEAK-A thread', flush=True)\n        time.sleep(0.001)\n"
        "threading.Thread(target=spam, daemon=True).start()\n"
        "def attack():\n    os.write(2, b'LEAK-A raw ' * 20000)\n    sys.stdout.write('LEAK-A unflushed')\n"
        "    time.sleep(0.05)\n    return 1.0\n",
        ("ok",),
        check_a=_printed,
    ),
    Attack(
        "kill_zygote_denied",
        ("bwrap", "seccomp"),
        "import os\ndef attack():\n    os.kill(os.getppid(), 9)\n    return 1.0\n",
        ("exception",),
        check_a=_error("PermissionError"),
    ),
    Attack(
        "kill_everything_denied",
        ("bwrap", "seccomp"),
        "import os\ndef attack():\n    os.kill(-1, 9)\n    return 1.0\n",
        ("exception",),
        check_a=_error("PermissionError"),
    ),
    Attack(
        "fork_daemon_denied",
        ("bwrap", "seccomp"),
        "import os, time\ndef attack():\n    pid = os.fork()\n    if pid == 0:\n        os.setsid()\n"
        "        time.sleep(100)\n        os._exit(0)\n    return float(pid)\n",
        ("exception",),
        check_a=_error("PermissionError"),
    ),
    Attack(
        "plant_tmp_denied",
        ("bwrap", "seccomp"),
        "def attack():\n    with open('$planted', 'w') as fh:\n        fh.write('from A')\n    return 1.0\n",
        ("exception",),
        probe=_probe_exists("$planted"),
        seen=[0.0],
        check_a=_error("PermissionError"),
    ),
]


def _attack_params() -> list:
    params = []
    for attack in ATTACKS:
        for config in attack.configs:
            marks = _skip_marks(config)
            params.append(pytest.param(config, attack, marks=marks, id=f"{attack.name}-{config}"))
    return params


@needs_root
@pytest.mark.parametrize(("config", "attack"), _attack_params())
def test_nothing_of_a_reaches_b(config, attack, make_zygote):
    z = make_zygote(config)
    baseline = settle(z)
    ctx = {"baseline": baseline, "planted": f"/tmp/bpgrade-zygote-planted-{uuid.uuid4().hex}"}
    with SandboxedSubmission(
        string.Template(attack.source).safe_substitute(ctx), limits=FAST, zygote=z
    ) as a:
        assert a.load().status == "ok", a.stderr
        out = a.call("attack", [], {}, timeout=5)
        ctx["pids_during_a"] = _pids(z)
        assert out.status in attack.expect, out
        if attack.check_a is not None:
            attack.check_a(out, a, ctx)
    # A is closed: only the zygote's own processes are left.
    assert _pids(z) == baseline
    assert not os.path.exists(ctx["planted"])

    b, seen = grade_victim(z, string.Template(attack.probe).safe_substitute(ctx))
    assert "LEAK-A" not in b.stderr and b.stderr_total == 0, b.stderr[:200]
    if attack.probe:
        assert seen is not None and seen.status == "ok", seen
        np.testing.assert_array_equal(np.atleast_1d(seen.value), attack.seen)
    assert (z.boots, z.forks, z.alive) == (1, 3, True)


@needs_root
@pytest.mark.parametrize("config", config_params(("bwrap", "seccomp-nolandlock")))
def test_worker_holds_only_its_own_pipes(config, make_zygote):
    """B's fds: stdin on /dev/null, stdout and stderr on its stderr pipe, the two protocol pipes
    (and, while listing, the listing's own fd). No socket: the zygote's control socket is gone."""
    z = make_zygote(config)
    settle(z)
    probe = (
        "import json, os\ndef probe():\n    fds = {}\n    for fd in os.listdir('/proc/self/fd'):\n"
        "        try:\n            fds[fd] = os.readlink(f'/proc/self/fd/{fd}')\n"
        "        except OSError:\n            fds[fd] = None\n"
        "    print(json.dumps(fds), flush=True)\n    return [0.0]\n"
    )
    sub, seen = grade_victim(z, probe)
    assert seen.status == "ok", seen
    fds = json.loads(sub.stderr)
    assert not [t for t in fds.values() if t and t.startswith("socket:")], fds
    open_fds = {int(fd): target for fd, target in fds.items() if target is not None}
    assert len(fds) <= len(open_fds) + 1, fds  # at most the listing's own (now closed) fd
    assert sorted(open_fds)[:3] == [0, 1, 2] and len(open_fds) == 5, fds
    assert open_fds[0] == "/dev/null" and open_fds[1] == open_fds[2], fds
    protocol = [open_fds[fd] for fd in sorted(open_fds)[3:]]
    assert all(t.startswith("pipe:") for t in protocol + [open_fds[2]]), fds
    assert len(set(protocol + [open_fds[2]])) == 3, fds


@needs_root
@pytest.mark.parametrize("config", config_params(("bwrap", "seccomp-nolandlock")))
def test_worker_shares_no_writable_memory_with_the_zygote(config, make_zygote):
    z = make_zygote(config)
    probe = (
        "def probe():\n    with open('/proc/self/maps') as fh:\n"
        "        shared = [line.split()[1] for line in fh if line.split()[1][3] == 's']\n"
        "    return [float(len([p for p in shared if 'w' in p]))]\n"
    )
    _, seen = grade_victim(z, probe)
    assert seen.status == "ok" and list(np.atleast_1d(seen.value)) == [0.0], seen


@needs_root
@pytest.mark.parametrize("config", config_params(("bwrap", "seccomp-nolandlock")))
def test_zygote_is_not_dumpable(config, make_zygote):
    """A worker (same uid as its zygote) cannot open the zygote's memory, environ, maps or fds;
    it can open its own, so the refusals come from the zygote, not from a missing /proc."""
    z = make_zygote(config)
    probe = (
        "import os\ndef opens(path, listing=False):\n    try:\n        if listing:\n"
        "            os.listdir(path)\n        else:\n            open(path, 'rb').close()\n"
        "        return 1.0\n    except OSError:\n        return 0.0\n"
        "def probe():\n    z = f'/proc/{os.getppid()}'\n    with open(z + '/cmdline', 'rb') as fh:\n"
        "        is_zygote = float(b'\"zygote\": true' in fh.read())\n"
        "    return [is_zygote, opens('/proc/self/mem'), opens('/proc/self/environ'),\n"
        "            opens(z + '/mem'), opens(z + '/environ'), opens(z + '/maps'), opens(z + '/fd', True)]\n"
    )
    _, seen = grade_victim(z, probe)
    assert seen.status == "ok", seen
    assert list(np.atleast_1d(seen.value)) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


# --------------------------------------------------------------------------- failures and restarts


@needs_root
@pytest.mark.parametrize("victim", ["python", "sandbox"], ids=["zygote-python", "zygote-proc"])
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_zygote_killed_between_submissions_is_rebuilt(config, victim, make_zygote):
    """Killed from outside (the python process, or the process the Zygote started: bwrap's under
    bubblewrap) while idle: once it is gone, the next submission boots a new zygote."""
    z = make_zygote(config)
    settle(z)
    os.kill(_zygote_python(z) if victim == "python" else z._proc.pid, signal.SIGKILL)
    assert _wait_until(lambda: not _pids(z)), "the sandbox did not go away"
    grade_victim(z)
    assert (z.boots, z.forks) == (2, 2)


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_zygote_dying_at_the_fork_is_rebuilt(config, make_zygote, monkeypatch):
    """The zygote dies right when a submission asks for a fork (frozen, then killed, around the
    request so the timing is deterministic): that submission must still be graded."""
    z = make_zygote(config, dataclasses.replace(FAST, start_timeout=2.0))
    settle(z)
    send_fork = z._send_fork
    python = _zygote_python(z)
    armed = [True]

    def dying_send_fork():
        if not armed:  # a retry, on a new zygote, goes through untouched
            return send_fork()
        armed.clear()
        os.kill(python, signal.SIGSTOP)
        try:
            return send_fork()
        finally:
            os.kill(python, signal.SIGKILL)

    monkeypatch.setattr(z, "_send_fork", dying_send_fork)
    # A failed start makes the runner forget the machine's remembered tier: keep the real one.
    forgotten: list[str] = []
    monkeypatch.setattr(runner, "forget_tier_choice", forgotten.append)
    with SandboxedSubmission(
        VICTIM, limits=dataclasses.replace(FAST, start_timeout=2.0), zygote=z
    ) as b:
        out = b.call("grade", [0.0], {}, timeout=5)
    assert out.status == "ok" and float(out.value) == 0.5, out
    assert z.boots == 2 and forgotten == []


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_timeout_kills_the_worker_and_next_call_forks_again(config, make_zygote):
    z = make_zygote(config)
    baseline = settle(z)
    source = "def spin():\n    while True:\n        pass\ndef ok():\n    return 7.0\n"
    with SandboxedSubmission(source, limits=FAST, zygote=z) as a:
        out = a.call("spin", [], {}, timeout=0.5)
        assert out.status == "timeout", out
        assert _pids(z) == baseline, "the spinning worker survived its timeout"
        again = a.call("ok", [], {}, timeout=5)
        assert again.status == "ok" and float(again.value) == 7.0, again
        assert a.restarts == 1
    grade_victim(z)
    assert (z.boots, z.forks) == (1, 4)


# --------------------------------------------------------------------------- closing


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_stage_keeps_no_source_between_submissions(config, make_zygote):
    z = make_zygote(config)
    out, _ = run(z, "SECRET_OF_A = 1\ndef f():\n    return 1.0\n", "f", filename="student_a.py")
    assert out.status == "ok", out
    assert sorted(os.listdir(z.stage.path)) == [z.stage.worker_name]


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_close_leaves_nothing(config, make_zygote):
    z = make_zygote(config)
    settle(z)
    uid, stage = z.slot.uid, z.stage.path
    problems: list[str] = []
    release = z.slot.release

    def checked_release() -> None:  # before the uid can go to another grader
        problems.extend(f"process {pid}" for pid in sandbox.pids_of_uid(uid))
        problems.extend(f"file {path}" for path in uid_files(uid))
        problems.extend(["stage"] if stage.exists() else [])
        release()

    z.slot.release = checked_release
    z.close()
    assert problems == []
    assert not z.alive and z.slot.lock_fd == -1
    z.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        z.fork("x = 1\n", "nn.py")
    assert z.reap() is None


@needs_root
@pytest.mark.parametrize("function", ["ok", "spin"], ids=["after-a-call", "after-a-timeout"])
@pytest.mark.parametrize("tier", tier_params(ROOT_CONFIGS))
def test_private_zygote_is_closed_with_its_submission(tier, function, leftovers):
    source = "def spin():\n    while True:\n        pass\ndef ok():\n    return 7.0\n"
    with leftovers.track(SandboxedSubmission(source, tier=tier, limits=FAST)) as sub:
        z = sub._zygote
        assert z is not None and sub._owns_zygote
        assert sub.call(function, [], {}, timeout=0.5).status in ("ok", "timeout")
        assert z.alive and z.boots == 1
    assert z._closed and not z.alive and not z.stage.path.exists()


# --------------------------------------------------------------------------- grading


@pytest.fixture(scope="module")
def grading_zygotes():
    """One zygote per tier, shared by the grading cases (so the second one reuses it)."""
    made: dict[str, Zygote] = {}
    yield lambda tier: made.setdefault(tier, Zygote(tier=tier))
    for z in made.values():
        z.close()


@pytest.mark.parametrize("example", ["correct.py", "forgot_sigmoid_gradient.py"])
@pytest.mark.parametrize("tier", tier_params(ROOT_CONFIGS))
def test_grading_through_a_zygote_gives_the_same_scores(tier, example, grading_zygotes):
    path = EXAMPLES / example
    z = grading_zygotes(tier)
    forks = z.forks
    fresh = grade_submission(path, student_id="s1", secret=b"k", tier=tier)
    forked = grade_submission(path, student_id="s1", secret=b"k", zygote=z)
    assert z.forks == forks + 1 and z.boots == 1
    assert (forked.tier, forked.error) == (fresh.tier, fresh.error) == (tier, None)
    assert [(p.part, p.score) for p in forked.parts] == [(p.part, p.score) for p in fresh.parts]
    assert forked.score == fresh.score
    assert (fresh.score == fresh.max_score) == (example == "correct.py")


@pytest.mark.parametrize(
    ("filename", "staged_as"),
    [
        ("nn.py", "nn.py"),
        ("backprop.py", "backprop.py"),
        ("worker.py", "nn.py"),
        ("worker.pyc", "nn.py"),
        ("", "nn.py"),
    ],
)
def test_a_submission_never_replaces_the_worker_in_the_stage(tmp_path, filename, staged_as):
    """A zygote's stage serves one submission after another; worker.py must stay the grader's."""
    (tmp_path / "worker.py").write_text("# the grader's worker\n")
    stage = sandbox.Stage(tmp_path, "")
    stage.write_source("x = 1\n", filename, None)
    assert stage.source_name == staged_as
    assert (tmp_path / staged_as).read_text() == "x = 1\n"
    assert (tmp_path / "worker.py").read_text() == "# the grader's worker\n"
    stage.clear_source()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["worker.py"]


@needs_root
@pytest.mark.parametrize("config", config_params(("bwrap-noseccomp",)))
def test_a_forked_worker_without_seccomp_is_refused(config, monkeypatch, make_zygote):
    """Even if a zygote were made without the deny-list, its workers must not run student code:
    the forked worker's ``ready`` requires an active seccomp layer."""
    monkeypatch.setattr(Zygote, "supported", staticmethod(lambda sandbox: True))
    monkeypatch.setattr(runner, "forget_tier_choice", lambda python: None)
    z = make_zygote(config)
    with SandboxedSubmission(VICTIM, limits=FAST, zygote=z) as sub:
        with pytest.raises(SandboxError, match="refused to start"):
            sub.call("grade", [0.0], {}, timeout=5)


# --------------------------------------------------------------------------- scheduling and fd 0

#: What a fork inherits that A could have changed, as B sees it. B returns the values (its stderr
#: is not used: what a worker prints last may be cut off when it is reaped).
SCHED_KEYS = (
    "policy",
    "priority",
    "nice",
    "ioprio",
    "util_min",
    "util_max",
    "fd0_is_dev_null",
    "fd0_flags",
    "fd0_owner",
    "fd0_signal",
    "dev_null_flock_free",
    "dev_null_ofd_lock_free",
)
SCHED_PROBE = r"""
import ctypes, fcntl, os, platform, stat, struct

def probe():
    libc = ctypes.CDLL(None, use_errno=True)
    ioprio_get, sched_getattr = {"x86_64": (252, 315), "aarch64": (31, 275)}[platform.machine()]
    attr = ctypes.create_string_buffer(56)
    util = [-1, -1]
    if libc.syscall(sched_getattr, 0, attr, 56, 0) == 0:
        util = list(struct.unpack_from("<II", attr.raw, 48))
    fd0, null = os.fstat(0), os.stat("/dev/null")
    fresh = os.open("/dev/null", os.O_RDONLY)  # a description of B's own, to test the inode
    try:
        fcntl.flock(fresh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        flock_free = 1
    except OSError:
        flock_free = 0
    wanted = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
    ofd_lock = struct.unpack("hhqqi", fcntl.fcntl(fresh, 36, wanted))[0]  # F_OFD_GETLK
    values = [
        os.sched_getscheduler(0),
        os.sched_getparam(0).sched_priority,
        os.getpriority(os.PRIO_PROCESS, 0),
        libc.syscall(ioprio_get, 1, 0),
        *util,
        stat.S_ISCHR(fd0.st_mode) and fd0.st_rdev == null.st_rdev,
        fcntl.fcntl(0, fcntl.F_GETFL) & (os.O_NONBLOCK | os.O_APPEND | os.O_ASYNC),
        fcntl.fcntl(0, fcntl.F_GETOWN),
        fcntl.fcntl(0, fcntl.F_GETSIG),
        flock_free,
        ofd_lock == fcntl.F_UNLCK,
    ]
    return [float(v) for v in values] + [float(cpu) for cpu in sorted(os.sched_getaffinity(0))]
"""

#: A tries every scheduling change on itself and its zygote (each errno: all must be EPERM), then
#: puts flags and locks on its fd 0 (allowed: they must stay A's).
SCHED_ATTACK = r"""
import ctypes, fcntl, os, platform, signal, struct

def attack():
    libc = ctypes.CDLL(None, use_errno=True)
    ioprio_set, sched_setattr = {"x86_64": (251, 314), "aarch64": (30, 274)}[platform.machine()]
    def attempt(f, *args):
        try:
            f(*args)
            return 0.0
        except OSError as exc:
            return float(exc.errno)
    def raw(nr, *args):
        return 0.0 if libc.syscall(nr, *args) == 0 else float(ctypes.get_errno())
    one_cpu = {min(os.sched_getaffinity(0))}
    idle = struct.pack("<IIQiIQQQII", 56, 5, 0, 0, 0, 0, 0, 0, 0, 0)
    denied = []
    for target in (0, os.getppid()):
        denied += [
            attempt(os.sched_setscheduler, target, os.SCHED_IDLE, os.sched_param(0)),
            attempt(os.sched_setparam, target, os.sched_param(0)),
            raw(sched_setattr, target, idle, 0),
            attempt(os.sched_setaffinity, target, one_cpu),
            attempt(os.setpriority, os.PRIO_PROCESS, target, 19),
            raw(ioprio_set, 1, target, 3 << 13),
        ]
    for fd in [fd for fd in range(64) if attempt(fcntl.fcntl, fd, fcntl.F_GETFD) == 0.0]:
        denied += [  # stdin, stdout, stderr and the protocol pipes
            attempt(fcntl.fcntl, fd, fcntl.F_SETOWN, os.getppid()),
            attempt(fcntl.fcntl, fd, fcntl.F_SETSIG, signal.SIGKILL),
            attempt(fcntl.fcntl, fd, 15, struct.pack("ii", 1, os.getppid())),  # F_SETOWN_EX
            attempt(fcntl.fcntl, fd, fcntl.F_SETFL, os.O_ASYNC),
        ]
    allowed = [
        attempt(fcntl.flock, 0, fcntl.LOCK_EX),
        attempt(fcntl.fcntl, 0, 37, struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0)),  # F_OFD_SETLK
        attempt(fcntl.lockf, 0, fcntl.LOCK_SH),
        attempt(fcntl.fcntl, 0, fcntl.F_SETFL, os.O_NONBLOCK | os.O_APPEND),
    ]
    return denied + allowed
"""
SCHED_ATTACK_DENIED = 2 * 6 + 5 * 4  # two targets; five fds (0, 1, 2 and two protocol pipes)


def _own_sched_state() -> dict:
    """This test process's scheduling state: the grader's, which every submission must get."""
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    ioprio_get = {"x86_64": 252, "aarch64": 31}[platform.machine()]
    return {
        "policy": os.sched_getscheduler(0),
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "affinity": sorted(os.sched_getaffinity(0)),
        "ioprio": libc.syscall(ioprio_get, 1, 0),
    }


def _probe_state(z: Zygote) -> dict:
    _, seen = grade_victim(z, SCHED_PROBE)
    assert seen is not None and seen.status == "ok", seen
    values = [int(v) for v in np.atleast_1d(seen.value)]
    fixed, cpus = values[: len(SCHED_KEYS)], values[len(SCHED_KEYS) :]
    return {**dict(zip(SCHED_KEYS, fixed, strict=True)), "affinity": cpus}


CLEAN_FD0 = {
    "fd0_is_dev_null": 1,
    "fd0_flags": 0,
    "fd0_owner": 0,
    "fd0_signal": 0,
    "dev_null_flock_free": 1,
    "dev_null_ofd_lock_free": 1,
}


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_scheduling_and_fd0_of_a_never_reach_b(config, make_zygote):
    """A (SCHED_IDLE, one CPU, nice 19, idle I/O, signal owners; flags and locks on fd 0) is
    followed by B on the same zygote: B runs exactly as the first submission did, with the
    grader's policy, and a fresh fd 0."""
    z = make_zygote(config)
    first = _probe_state(z)
    grader = _own_sched_state()
    assert {k: first[k] for k in grader} == grader
    assert (first["policy"], first["priority"]) == (os.SCHED_OTHER, 0)
    assert {k: first[k] for k in CLEAN_FD0} == CLEAN_FD0
    with SandboxedSubmission(SCHED_ATTACK, limits=FAST, zygote=z) as a:
        out = a.call("attack", [], {}, timeout=5)
    assert out.status == "ok", (out, a.stderr)
    tried = list(np.atleast_1d(out.value))
    assert tried == [1.0] * SCHED_ATTACK_DENIED + [0.0] * 4, tried  # EPERM; then A's own fd 0
    assert _probe_state(z) == first
    assert (z.boots, z.forks) == (1, 3)


UNSUPPORTED = 3  # exit status of the changing process: the kernel lacks the feature


def _uclamp_max_0(pid: int) -> None:
    import ctypes
    import platform
    import struct

    libc = ctypes.CDLL(None, use_errno=True)
    number = {"x86_64": 314, "aarch64": 274}[platform.machine()]
    keep_all_clamp_max = 0x08 | 0x10 | 0x40
    attr = struct.pack("<IIQiIQQQII", 56, 0, keep_all_clamp_max, 0, 0, 0, 0, 0, 0, 0)
    if libc.syscall(number, pid, attr, 0) != 0:
        os._exit(UNSUPPORTED)  # no uclamp in this kernel (EOPNOTSUPP) or no sched_setattr


def _ioprio_idle(pid: int) -> None:
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall({"x86_64": 251, "aarch64": 30}[platform.machine()], 1, pid, 3 << 13) == 0


def _can_regain_nice(pid: int) -> bool:
    """Whether the zygote's RLIMIT_NICE lets it return to the grader's nice by itself (the
    sandbox raises it where it may: a root grader without CAP_SYS_RESOURCE may not)."""
    with open(f"/proc/{pid}/limits") as fh:
        soft = next(line for line in fh if line.startswith("Max nice priority")).split()[3]
    return soft == "unlimited" or int(soft) >= 20 - os.getpriority(os.PRIO_PROCESS, 0)


def _lower_nofile(pid: int) -> None:
    import resource

    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft - 1, hard - 1))


def _as_uid(uid: int, gid: int, change: Callable[[int], None], pid: int) -> None:
    """Run ``change(pid)`` in a child with ``uid``: what a worker of the zygote's uid could do."""
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            change(pid)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) == UNSUPPORTED:
        pytest.skip("this kernel has no uclamp (sched_setattr with util clamps)")
    assert os.waitstatus_to_exitcode(status) == 0, "the change itself failed"


#: name -> (what is done to the zygote, whether it can be undone in place: else it is rebuilt)
OUTSIDE_CHANGES: dict[str, tuple[Callable[[int], None], Callable[[int], bool]]] = {
    "sched_idle": (
        lambda pid: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0)),
        _can_regain_nice,
    ),
    "nice_19": (lambda pid: os.setpriority(os.PRIO_PROCESS, pid, 19), _can_regain_nice),
    "one_cpu": (
        lambda pid: os.sched_setaffinity(pid, {min(os.sched_getaffinity(pid))}),
        lambda pid: True,
    ),
    "ioprio_idle": (_ioprio_idle, lambda pid: True),
    "uclamp_max_0": (_uclamp_max_0, lambda pid: True),
    # A user cannot clear SCHED_RESET_ON_FORK, nor raise a lowered hard limit: rebuilt.
    "reset_on_fork": (
        lambda pid: os.sched_setscheduler(
            pid, os.SCHED_OTHER | os.SCHED_RESET_ON_FORK, os.sched_param(0)
        ),
        lambda pid: False,
    ),
    "rlimit_nofile": (_lower_nofile, lambda pid: False),
}


@needs_root
@pytest.mark.parametrize("change", list(OUTSIDE_CHANGES))
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_zygote_undoes_scheduling_changed_while_a_runs(config, change, make_zygote):
    """The second layer, as if A had got past the deny-list: while A runs, its zygote's
    scheduling is changed by a process of the zygote's uid. Once A is reaped, the zygote puts
    back its starting state, or, where a user cannot, is rebuilt: B runs as the first did."""
    if change == "one_cpu" and len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU only: no smaller affinity to set")
    z = make_zygote(config)
    first = _probe_state(z)
    zygote_pid = _zygote_python(z)
    apply, in_place = OUTSIDE_CHANGES[change]
    expected_boots = 1 if in_place(zygote_pid) else 2
    with SandboxedSubmission("def f():\n    return 1.0\n", limits=FAST, zygote=z) as a:
        assert a.call("f", [], {}, timeout=5).status == "ok"
        _as_uid(z.slot.uid, z.slot.gid, apply, zygote_pid)
    assert _probe_state(z) == first
    assert (z.boots, z.forks) == (expected_boots, 3)
    # The zygote itself (the same one, or its replacement) is back as it started.
    now = _zygote_python(z)
    assert (now == zygote_pid) == (expected_boots == 1)
    assert os.sched_getscheduler(now) == first["policy"]
    assert os.getpriority(os.PRIO_PROCESS, now) == first["nice"]
    assert sorted(os.sched_getaffinity(now)) == first["affinity"]


# --------------------------------------------------------------------------- cgroup plus load

CGROUP_DRIVER = Path(__file__).with_name("cgroup_driver.py")
#: A's module: at import, everything that slowed the next students down before the deny-list.
SLOW_EVERYONE_DOWN = r"""
import ctypes, os, platform
_libc = ctypes.CDLL(None, use_errno=True)
_ioprio_set = {"x86_64": 251, "aarch64": 30}[platform.machine()]
for _target in (0, os.getppid()):
    for _attack in (
        lambda: os.sched_setscheduler(_target, os.SCHED_IDLE, os.sched_param(0)),
        lambda: os.sched_setaffinity(_target, {min(os.sched_getaffinity(0))}),
        lambda: os.setpriority(os.PRIO_PROCESS, _target, 19),
    ):
        try:
            _attack()
        except OSError:
            pass
    _libc.syscall(_ioprio_set, 1, _target, 3 << 13)
"""
CGROUP_PARTS = "nnCost,nnGrad"  # the timed "large network" case, cost and gradient
CGROUP_VICTIMS = 2
CGROUP_LOAD_PER_CPU = 8  # busy loops per CPU: enough to starve a SCHED_IDLE worker


def _cpu_hierarchy() -> tuple[Path, str] | str:
    """A writable cgroup hierarchy with the cpu controller: (its root, "v2" or "v1"); else why not."""
    reasons = []
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split() for line in fh]
    for fields in mounts:
        after = fields[fields.index("-") + 1 :]
        root, fstype, options = Path(fields[4]), after[0], after[2].split(",")
        if fstype == "cgroup2":
            try:
                enabled = (root / "cgroup.subtree_control").read_text().split()
            except OSError as exc:
                reasons.append(f"{root}: {exc}")
                continue
            if "cpu" in enabled and os.access(root, os.W_OK):
                return root, "v2"
            reasons.append(f"{root} (v2): cpu controller not enabled for children")
        elif fstype == "cgroup" and "cpu" in options:
            if os.access(root, os.W_OK):
                return root, "v1"
            reasons.append(f"{root} (v1): not writable")
    return "; ".join(reasons) or "no cgroup hierarchy is mounted"


class CpuCgroup:
    """A child cgroup limited to one CPU's worth of time, with CPU-burning load in it."""

    PERIOD_US = 100_000

    def __init__(self, root: Path, version: str) -> None:
        self.path = root / f"bpgrade-test-{uuid.uuid4().hex[:12]}"
        self.version = version
        self.path.mkdir()
        if version == "v2":
            (self.path / "cpu.max").write_text(f"{self.PERIOD_US} {self.PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(self.PERIOD_US))
        self.procs = self.path / "cgroup.procs"
        self.load: list = []

    def add_load(self, count: int) -> None:
        """``count`` busy loops in the cgroup (they join it themselves, before spinning)."""
        import subprocess
        import sys

        spin = f"open({str(self.procs)!r}, 'w').write(str(__import__('os').getpid()))\nwhile True:\n    pass\n"
        for _ in range(count):
            self.load.append(subprocess.Popen([sys.executable, "-c", spin]))
        pids = {str(p.pid) for p in self.load}
        assert _wait_until(lambda: pids <= set(self.procs.read_text().split()), 10), "no load"

    def close(self) -> None:
        for proc in self.load:
            proc.kill()
        for proc in self.load:
            proc.wait(10)
        # Whatever the driver left (it is killed on a timeout) must go before the cgroup can.
        assert _wait_until(lambda: not self.procs.read_text().split(), 10), self.procs.read_text()
        self.path.rmdir()


@pytest.fixture
def loaded_cpu_cgroup():
    """A cgroup with a one-CPU quota and busy loops in it; skipped where no cgroup with the cpu
    controller is writable here (cgroup v2 with ``cpu`` enabled for children, or v1 ``cpu``)."""
    if not ROOT:
        pytest.skip("creating a cgroup needs root")
    found = _cpu_hierarchy()
    if isinstance(found, str):
        pytest.skip(f"no writable cgroup with the cpu controller: {found}")
    group = CpuCgroup(*found)
    try:
        group.add_load(CGROUP_LOAD_PER_CPU * len(os.sched_getaffinity(0)))
        yield group
    finally:
        group.close()


@needs_root
@pytest.mark.parametrize("config", config_params(ROOT_CONFIGS))
def test_neighbours_keep_full_marks_in_a_loaded_cpu_cgroup(config, loaded_cpu_cgroup, tmp_path):
    """Where the harm shows: the grader in a CPU-limited cgroup with load (Docker, systemd).
    Before the deny-list, a student who made the zygote SCHED_IDLE, pinned and niced left the
    next correct students starved: timeouts, or "far too slow" on the timed large-network case
    (not on every run: a waking SCHED_IDLE task is starved only some of the time; two victims
    make it likely). Here every later correct student keeps full marks."""
    import subprocess
    import sys

    attacker = tmp_path / "attacker.py"
    attacker.write_text(SLOW_EVERYONE_DOWN)
    victims = [str(EXAMPLES / "correct.py")] * CGROUP_VICTIMS
    tier = CONFIGS[config][0]
    command = [sys.executable, "-I", str(CGROUP_DRIVER), str(loaded_cpu_cgroup.procs), tier]
    proc = subprocess.run(
        [*command, CGROUP_PARTS, str(attacker), *victims],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    reports = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(reports) == CGROUP_VICTIMS
    for report in reports:
        assert report["tier"] == tier and report["error"] is None, report
        assert report["failed"] == [], report["failed"]
        assert report["score"] == report["max_score"] > 0, report
        assert any("timed" in label for _, label, _ in report["cases"]), report["cases"]
        assert report["zygote_boots"] == 1  # the deny-list kept the zygote as it was
