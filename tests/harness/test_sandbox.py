"""Tier detection, slot uids, stage permissions, the bwrap command and the non-root ``rlimits`` tier."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import marshal
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.harness import runtime, sandbox
from autograder.harness.runner import SandboxedSubmission
from autograder.harness.sandbox import Sandbox, SandboxError
from autograder.spec import load_spec

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
            assert names == sorted(["nn.py", stage.workdir_name, stage.worker_name])
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


@pytest.mark.parametrize(
    ("magic", "staged"),
    [
        (importlib.util.MAGIC_NUMBER.hex(), "worker.pyc"),
        ("0d0d0d0a", "worker.py"),  # another Python's bytecode
        ("", "worker.py"),  # a runtime whose probe did not record it
    ],
)
def test_a_stage_holds_the_worker_as_bytecode_only_for_a_child_that_can_run_it(magic, staged):
    """Compiling the worker costs every zygote ~15 ms; the grader compiles it once instead."""
    source = sandbox.WORKER_SOURCE.read_bytes()
    name, program = sandbox.worker_program(magic)
    assert name == staged
    if staged == "worker.py":
        assert program == source
    else:
        assert program[:4] == importlib.util.MAGIC_NUMBER
        assert program[8:16] == importlib.util.source_hash(source)
        code = compile(source, sandbox.WORKER_CODE_NAME, "exec", dont_inherit=True)
        assert marshal.loads(program[16:]) == code


def test_worker_bytecode_is_kept_privately_replacing_older_and_damaged_copies():
    source = sandbox.WORKER_SOURCE.read_bytes()
    magic, digest = importlib.util.MAGIC_NUMBER, importlib.util.source_hash(source)
    kept = Path(runtime.private_dir()) / f"worker-{magic.hex()}-{digest.hex()}.pyc"
    older = kept.with_name(f"worker-{magic.hex()}-{'0' * 16}.pyc")
    older.write_bytes(b"an earlier grader's worker")
    kept.unlink(missing_ok=True)
    sandbox._worker_bytecode.cache_clear()
    first = sandbox._worker_bytecode(source)
    assert kept.read_bytes() == first and stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert not older.exists()
    kept.write_bytes(b"damaged")
    sandbox._worker_bytecode.cache_clear()
    again = sandbox._worker_bytecode(source)
    assert marshal.loads(again[16:]) == marshal.loads(first[16:])
    assert kept.read_bytes() == again


def test_the_child_runtimes_probe_records_its_bytecode_magic():
    """Without it every worker would start from source (the slow path)."""
    sb = Sandbox(tier="auto")
    assert len(bytes.fromhex(sb.runtime.magic)) == 4


def test_a_probe_cached_before_the_magic_was_recorded_is_made_again(tmp_path):
    python, _ = _fake_runtime(tmp_path)
    manifest = runtime.runtime_manifest(python)
    cache = Path(runtime._probe_cache_path(python))
    try:
        runtime._store_probe(python, manifest, {"numpy_dir": str(tmp_path)}, [])
        assert runtime._cached_probe(python, manifest) is None
        info = {"numpy_dir": str(tmp_path), "magic": "a70d0d0a"}
        runtime._store_probe(python, manifest, info, [])
        assert runtime._cached_probe(python, manifest)["info"] == info
    finally:
        cache.unlink(missing_ok=True)


def test_bwrap_is_asked_for_its_features_once_per_binary(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'usage: --unshare-all --size --remount-ro'\n")
    fake.chmod(0o755)
    asked = []
    ask = sandbox._ask_bwrap_features
    monkeypatch.setattr(sandbox, "_ask_bwrap_features", lambda b: asked.append(b) or ask(b))
    name = f"bwrap-{hashlib.sha256(str(fake).encode()).hexdigest()[:16]}.json"
    kept = Path(runtime.private_dir()) / name
    try:
        for _ in range(2):  # two processes: the second reads the first one's answer
            sandbox._bwrap_features.cache_clear()
            assert sandbox._bwrap_features(str(fake)) == {"--size", "--remount-ro"}
        assert asked == [str(fake)]
        fake.write_text("#!/bin/sh\necho 'usage: --unshare-all --size --disable-userns'\n")
        sandbox._bwrap_features.cache_clear()
        assert sandbox._bwrap_features(str(fake)) == {"--size", "--disable-userns"}
        assert len(asked) == 2
    finally:
        sandbox._bwrap_features.cache_clear()
        kept.unlink(missing_ok=True)


def test_a_bwrap_that_did_not_answer_is_asked_again(monkeypatch, tmp_path):
    """Remembering "no features" after a failed start would drop --disable-userns for good."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    name = f"bwrap-{hashlib.sha256(str(fake).encode()).hexdigest()[:16]}.json"
    kept = Path(runtime.private_dir()) / name
    try:
        sandbox._bwrap_features.cache_clear()
        assert sandbox._bwrap_features(str(fake)) == frozenset()
        assert not kept.exists()
    finally:
        sandbox._bwrap_features.cache_clear()
        kept.unlink(missing_ok=True)


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


CHILD = os.path.join(runtime.DEFAULT_CHILD_PREFIX, "bin", "python")
needs_child = pytest.mark.skipif(not os.path.exists(CHILD), reason="no child venv")


@pytest.mark.skipif(not ROOT, reason="idempotence check needs root")
@needs_child
def test_setup_is_idempotent_and_records_what_it_provides():
    log = runtime.setup_child_runtime(install_bwrap=False)
    assert any("already" in line for line in log)
    manifest = runtime.runtime_manifest(CHILD)
    assert manifest["modules"] == list(load_spec().runtime.modules)
    assert manifest["env"]["MPLBACKEND"] == "Agg" and os.path.isdir(manifest["mplconfig"])


@needs_child
def test_setup_installs_exactly_the_unsatisfied_requirements():
    """What a rerun of ``bpgrade setup`` installs into an existing runtime: what it lacks."""
    wanted = ("numpy>=1", "numpy>=999", "no-such-distribution-xyz", "tqdm>=4")
    assert runtime._unsatisfied(CHILD, wanted) == ["numpy>=999", "no-such-distribution-xyz"]


def _fake_runtime(tmp_path: Path) -> tuple[str, Path]:
    """A venv-shaped prefix: bin/python (this interpreter) and an empty site-packages."""
    (tmp_path / "bin").mkdir()
    python = tmp_path / "bin" / "python"
    python.symlink_to(sys.executable)
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    return str(python), site


@pytest.mark.parametrize("change", ["package added", "package removed", "manifest written"])
def test_runtime_cache_key_notices_new_packages(tmp_path, change):
    """The cached probe (and the tier choice, keyed on the same) is redone after setup."""
    python, site = _fake_runtime(tmp_path)
    (site / "old").mkdir()
    os.utime(site, ns=(1, 1))
    before = runtime.runtime_cache_key(python)
    if change == "package added":
        (site / "tqdm").mkdir()
    elif change == "package removed":
        (site / "old").rmdir()
    else:
        (tmp_path / runtime.MANIFEST).write_text('{"packages": ["tqdm"]}')
    assert runtime.runtime_cache_key(python) != before


def test_a_runtime_without_manifest_provides_the_default_spec(tmp_path):
    python, _ = _fake_runtime(tmp_path)
    manifest = runtime.runtime_manifest(python)
    assert manifest["modules"] == list(load_spec().runtime.modules)
    assert manifest["mplconfig"] is None
    (tmp_path / runtime.MANIFEST).write_text(
        json.dumps({"packages": ["tqdm"], "env": {"X": "1"}, "mplconfig": str(tmp_path)})
    )
    manifest = runtime.runtime_manifest(python)
    assert manifest["modules"] == ["numpy", "scipy", "tqdm"]
    assert (manifest["env"], manifest["mplconfig"]) == ({"X": "1"}, str(tmp_path))


def test_a_runtime_lacking_a_provided_package_says_to_run_setup(monkeypatch):
    real = runtime.probe_runtime(runtime.find_child_python())
    lacking = dataclasses.replace(real, missing=["pandas"])
    monkeypatch.setattr(sandbox, "probe_runtime", lambda python: lacking)
    warnings = Sandbox(tier="auto").warnings
    assert any("lacks pandas" in w and "bpgrade setup" in w for w in warnings), warnings


@pytest.mark.skipif(not TIER_REPORT["bwrap"]["available"], reason=TIER_REPORT["bwrap"]["reason"])
def test_bwrap_binds_exactly_the_provided_entries_into_site_packages():
    sb = Sandbox(tier="bwrap")
    cmd = sb.command(sandbox.Stage(Path("/tmp/stage-x"), "nn.py"), FAST, "tok")
    site = sb.runtime.site_dir
    bound = {cmd[i + 2] for i, arg in enumerate(cmd) if arg == "--ro-bind"}
    in_site = {p for p in bound if p.startswith(site + os.sep)}
    assert in_site == set(sb.runtime.package_dirs)
    names = {os.path.basename(p) for p in in_site}
    assert {"numpy", "scipy", "matplotlib", "tqdm", "sklearn", "PIL"} <= names
    assert not names & {"pip", "setuptools", "pkg_resources", "_distutils_hack"}


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
def test_child_sees_exactly_the_provided_packages(tier):
    """Site directories (where a grader's packages may be installed) are hidden or empty, but for
    the packages the runtime provides and their dependencies (with their bundled libraries)."""
    source = (
        "import os, sys\ndef listing(path):\n    try:\n        return sorted(os.listdir(path))\n"
        "    except OSError:\n        return None\ndef probe(paths, allowed):\n"
        "    import json, random, decimal, numpy.random\n"
        "    return [float(len([n for n in listing(p) or [] if n not in allowed])) for p in paths]\n"
    )
    with SandboxedSubmission(source, tier=tier, limits=FAST) as sub:
        rt = sub.sandbox.runtime
        allowed = [os.path.basename(p) for p in rt.package_dirs] + ["__pycache__"]
        sites = [d for d in rt.site_dirs if os.path.isdir(d) and d != rt.site_dir]
        out = sub.call("probe", [[rt.site_dir, *sites], allowed], {}, timeout=5)
        assert out.status == "ok", out
        assert list(out.value) == [0.0] * (1 + len(sites))


#: What is installed in the child runtime without being provided: pip and setuptools at least.
NOT_PROVIDED = ("pip", "setuptools", "pkg_resources", "_distutils_hack")


@pytest.mark.parametrize("tier", tier_params(("bwrap", "seccomp")))
def test_provided_modules_import_and_nothing_else_is_found(tier):
    """Every provided module imports; a package installed beside them but not provided is absent
    (``find_spec`` is None), in every tier, whether or not the kernel has Landlock."""
    source = (
        "import importlib, importlib.util\n"
        "def imports(names):\n"
        "    return [float(hasattr(importlib.import_module(n), '__file__')) for n in names]\n"
        "def found(names):\n"
        "    return [float(importlib.util.find_spec(n) is not None) for n in names]\n"
    )
    with SandboxedSubmission(source, tier=tier, limits=FAST) as sub:
        provided = sub.sandbox.runtime.modules
        assert {"numpy", "scipy", "matplotlib", "tqdm", "sklearn"} <= set(provided)
        out = sub.call("imports", [list(provided)], {}, timeout=10)
        assert out.status == "ok" and list(out.value) == [1.0] * len(provided), out
        out = sub.call("found", [list(NOT_PROVIDED)], {}, timeout=5)
        assert out.status == "ok" and list(out.value) == [0.0] * len(NOT_PROVIDED), out


#: Importing matplotlib.pyplot in the sandbox: it must not need a writable config dir or rebuild
#: its font cache (seconds), and must print nothing. Measured here: about 0.25 s.
MPL_SOURCE = (
    "import time\n_t = time.perf_counter()\nimport matplotlib.pyplot as plt\n"
    "SECONDS = time.perf_counter() - _t\n"
    "def seconds():\n    return SECONDS\n"
    "def png_bytes():\n    import io\n    fig = plt.figure()\n    plt.plot([1, 2, 3])\n"
    "    buf = io.BytesIO()\n    fig.savefig(buf, format='png')\n    return float(len(buf.getvalue()))\n"
    "def backend():\n    return float(plt.get_backend().lower() == 'agg')\n"
)


@pytest.mark.parametrize("tier", tier_params(("bwrap", "seccomp")))
def test_matplotlib_works_without_a_prebuilt_font_cache(tier, monkeypatch):
    """A runtime ``bpgrade setup`` did not make (a non-root grader's own interpreter): slower, as
    matplotlib rebuilds its font cache in memory, but no failure for want of a config dir."""
    real = runtime.probe_runtime(runtime.find_child_python())
    monkeypatch.setattr(
        sandbox, "probe_runtime", lambda python: dataclasses.replace(real, mplconfig=None)
    )
    with SandboxedSubmission(MPL_SOURCE, tier=tier, limits=FAST) as sub:
        assert sub.load().status == "ok", sub.stderr
        png = sub.call("png_bytes", [], {}, timeout=10)
        assert png.status == "ok" and float(png.value) > 1000, png


@pytest.mark.parametrize("tier", tier_params(("bwrap", "seccomp")))
def test_matplotlib_imports_quickly_and_quietly_with_agg(tier):
    with SandboxedSubmission(MPL_SOURCE, tier=tier, limits=FAST) as sub:
        assert sub.load().status == "ok", sub.stderr
        seconds = sub.call("seconds", [], {}, timeout=5)
        assert seconds.status == "ok" and float(seconds.value) < 1.5, seconds
        assert float(sub.call("backend", [], {}, timeout=5).value) == 1.0
        png = sub.call("png_bytes", [], {}, timeout=10)
        assert png.status == "ok" and float(png.value) > 1000, png
        assert sub.stderr == "", sub.stderr


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
