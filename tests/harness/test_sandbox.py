"""Tier detection, slot uids, stage permissions, the bwrap command and the non-root ``rlimits`` tier."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.harness import runtime, sandbox
from autograder.harness.runner import SandboxedSubmission
from autograder.harness.runtime import CHILD_IMPORTABLE
from autograder.harness.sandbox import Sandbox, SandboxError

from .conftest import FAST, TIER_REPORT, tier_params

ROOT = os.geteuid() == 0
REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534


def test_detect_tiers_report_shape():
    report = sandbox.detect_tiers()
    assert set(report) == set(sandbox.TIERS)
    for info in report.values():
        assert isinstance(info["available"], bool) and info["reason"]
    if ROOT:
        assert not report["rlimits"]["available"] and "root" in report["rlimits"]["reason"]


def test_describe_for_doctor():
    info = sandbox.describe()
    assert "tiers" in info and info["grader_uid"] == os.geteuid()
    if "error" not in info:
        assert info["tier"] in sandbox.TIERS and info["layers"]["rlimits"]


@pytest.mark.skipif(not ROOT, reason="needs a root grader")
def test_rlimits_refused_as_root():
    with pytest.raises(SandboxError, match="root"):
        Sandbox(tier="rlimits")
    with pytest.raises(ValueError):
        Sandbox(tier="docker")


@pytest.mark.parametrize("tier", tier_params(("bwrap", "seccomp")))
def test_layers_reported_by_worker(tier):
    with SandboxedSubmission("x = 1\n", tier=tier, limits=FAST) as sub:
        assert sub.load().status == "ok"
        assert sub.layers.get("seccomp", "").startswith("active")
        if tier == "seccomp" and sandbox.landlock_abi() > 0:
            assert sub.layers.get("landlock", "").startswith("active")


@pytest.mark.skipif(not ROOT, reason="slot uids need root")
def test_stage_is_private_to_the_slot():
    sb = Sandbox(tier="auto")
    slot = sandbox.acquire_slot()
    try:
        stage = sb.make_stage("x = 1\n", "nn.py", slot)
        try:
            info = stage.path.stat()
            assert stat.S_IMODE(info.st_mode) == 0o750 and info.st_gid == slot.gid
            names = sorted(p.name for p in stage.path.iterdir())
            assert names == ["nn.py", stage.workdir_name, "worker.py"]  # + the working folder
            for item in stage.path.iterdir():
                assert stat.S_IMODE(item.stat().st_mode) == (0o750 if item.is_dir() else 0o640)
                assert item.stat().st_gid == slot.gid
        finally:
            sb.remove_stage(stage)
        assert not stage.path.exists()
    finally:
        slot.release()


@pytest.mark.skipif(not ROOT, reason="slot uids need root")
def test_slots_are_distinct_and_unused():
    a, b = sandbox.acquire_slot(), sandbox.acquire_slot()
    try:
        assert a.uid != b.uid and sandbox.SLOT_UID_BASE <= min(a.uid, b.uid)
        for slot in (a, b):
            with pytest.raises(KeyError):
                __import__("pwd").getpwuid(slot.uid)
    finally:
        a.release()
        b.release()


def test_kill_refuses_non_slot_uid():
    with pytest.raises(ValueError):
        sandbox.kill_uid_processes(0)


@pytest.mark.skipif(not TIER_REPORT["bwrap"]["available"], reason=TIER_REPORT["bwrap"]["reason"])
def test_bwrap_command_hides_site_packages_and_unshares():
    sb = Sandbox(tier="bwrap")
    stage = sandbox.Stage(Path("/tmp/stage-x"), "nn.py")
    cmd = sb.command(stage, FAST, "tok")
    joined = " ".join(cmd)
    for flag in (
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop ALL",
    ):
        assert flag in joined
    assert "--tmpfs /tmp" in joined and "--ro-bind /tmp/stage-x /sandbox" in joined
    assert cmd[-5:-1] == ["-I", "-S", "-B", "/sandbox/worker.py"]
    site = sb.runtime.site_dir
    assert f"--tmpfs {site}" in joined or site not in sb.runtime.site_dirs
    assert str(REPO) not in joined


def test_runtime_discovery(monkeypatch, tmp_path):
    monkeypatch.setenv(runtime.ENV_VAR, "/custom/python")
    assert runtime.find_child_python() == "/custom/python"
    monkeypatch.delenv(runtime.ENV_VAR)
    found = runtime.find_child_python()
    assert found in (os.path.join(runtime.DEFAULT_CHILD_PREFIX, "bin", "python"), sys.executable)
    info = runtime.probe_runtime(found)
    assert info.numpy_dir.endswith("numpy") and info.stdlib_paths


def test_runtime_probe_error_mentions_setup(tmp_path):
    with pytest.raises(runtime.RuntimeSetupError, match="bpgrade setup"):
        runtime.probe_runtime(str(tmp_path / "no-python"))


def test_readable_by_others(tmp_path):
    private = tmp_path / "p"
    private.mkdir(mode=0o700)
    (private / "f").write_text("x")
    assert not runtime.readable_by_others(private / "f")
    assert runtime.readable_by_others("/usr/bin/env")


@pytest.mark.skipif(ROOT, reason="setup refuses only non-root")
def test_setup_requires_root():  # pragma: no cover - CI runs as root
    with pytest.raises(runtime.RuntimeSetupError):
        runtime.setup_child_runtime("/tmp/x")


@pytest.mark.skipif(not ROOT, reason="idempotence check needs root")
@pytest.mark.skipif(not os.path.exists("/opt/bpgrade/child/bin/python"), reason="no child venv")
def test_setup_is_idempotent():
    log = runtime.setup_child_runtime(install_bwrap=False)
    assert any("already" in line for line in log)


# ----------------------------------------------------------------------------- rlimits tier

RLIMITS_CASES = [
    {"name": "timeout", "source": "def attack():\n    while True:\n        pass\n", "timeout": 0.5},
    {"name": "crash", "source": "import os\ndef attack():\n    os._exit(1)\n", "timeout": 1},
    {
        "name": "fork_bomb",
        "source": "import os\ndef attack():\n    while True:\n        os.fork()\n",
        "timeout": 1,
    },
    {
        "name": "setsid_daemon",
        "source": "import os, time\ndef attack():\n    if os.fork() == 0:\n        if os.fork() == 0:\n            os.setsid()\n"
        "            time.sleep(60)\n        os._exit(0)\n    return 1.0\n",
        "timeout": 1,
    },
    {"name": "import_reference", "source": "def attack():\n    import bpnet_ref\n", "timeout": 1},
    {
        "name": "read_root_secret",
        "source": "def attack():\n    return len(open('/root/.bash_history').read())\n",
        "timeout": 1,
    },
    {
        "name": "flood",
        "source": "import sys\ndef attack():\n    sys.stdout.write('x' * (20 << 20))\n    return 1.0\n",
        "timeout": 5,
    },
]


def _run_as_nobody(cases: list[dict]) -> dict:
    python = runtime.find_child_python()

    def drop() -> None:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)

    proc = subprocess.run(
        [python, "-I", str(Path(__file__).with_name("rlimits_driver.py")), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(REPO)},
        preexec_fn=drop,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def rlimits_results():
    if not ROOT:
        pytest.skip("the rlimits tier test drives a non-root grader via setresuid (needs root)")
    if not runtime.readable_by_others(REPO / "autograder" / "harness" / "runner.py"):
        pytest.skip(f"{REPO} is not readable by uid {NOBODY}")
    try:
        python = runtime.find_child_python()
    except runtime.RuntimeSetupError as exc:
        pytest.skip(str(exc))
    if not runtime.readable_by_others(python):
        pytest.skip(f"{python} is not readable by uid {NOBODY}")
    cases = [dict(c, layers=layers) for layers in (False, True) for c in RLIMITS_CASES]
    return _run_as_nobody(cases)


@pytest.mark.parametrize("layers", [False, True], ids=["bare", "with-seccomp-landlock"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("timeout", {"timeout"}),
        ("crash", {"crash"}),
        ("fork_bomb", {"exception", "timeout", "crash"}),
        ("setsid_daemon", {"ok", "exception"}),
        ("import_reference", {"exception"}),
        ("read_root_secret", {"exception"}),
        ("flood", {"ok"}),
    ],
)
def test_rlimits_tier_as_non_root(rlimits_results, name, expected, layers):
    result = rlimits_results[name + ("+layers" if layers else "")]
    assert result["tier"] == "rlimits"
    assert any("WARNING" in w for w in result["warnings"]), "the weak tier must warn loudly"
    assert result["status"] in expected, result
    assert result["ok_after"], "the harness did not recover"
    assert result["left"] == [], "processes survived the rlimits tier cleanup"
    if layers:
        assert result["layers"].get("seccomp", "").startswith("active")


@pytest.mark.parametrize("tier", tier_params(("bwrap", "seccomp")))
def test_child_sees_only_stdlib_numpy_and_scipy(tier):
    """Site directories (where a grader's packages may be installed) are hidden or empty, but for
    the packages student code may import (numpy, scipy and their bundled libraries)."""
    source = (
        "import os, sys\ndef listing(path):\n    try:\n        return sorted(os.listdir(path))\n"
        "    except OSError:\n        return None\ndef probe(paths, allowed):\n"
        "    import json, random, decimal, numpy.random\n"
        "    return [float(len([n for n in listing(p) or [] if n not in allowed])) for p in paths]\n"
    )
    with SandboxedSubmission(source, tier=tier, limits=FAST) as sub:
        rt = sub.sandbox.runtime
        sites = [d for d in rt.site_dirs if os.path.isdir(d) and d != rt.site_dir]
        out = sub.call("probe", [[rt.site_dir, *sites], list(CHILD_IMPORTABLE)], {}, timeout=5)
        assert out.status == "ok", out
        assert list(out.value) == [0.0] * (1 + len(sites))


@pytest.mark.skipif(not ROOT, reason="slot uids need root")
def test_stale_stage_of_a_killed_grader_is_swept():
    slot = sandbox.acquire_slot()
    try:
        stale = Path(sandbox.tempfile.mkdtemp(prefix=sandbox.STAGE_PREFIX))
        os.chown(stale, -1, slot.gid)
        other = Path(sandbox.tempfile.mkdtemp(prefix=sandbox.STAGE_PREFIX))  # another slot's
        sandbox._remove_stale_stages(slot.gid)
        assert not stale.exists() and other.exists()
        other.rmdir()
    finally:
        slot.release()
