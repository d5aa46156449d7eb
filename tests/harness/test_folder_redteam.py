"""Red team against the working folder and the scratch space (issue 12), in both root tiers.

A submission now brings files (read-only, in a working folder of its own) and may write scratch
files (in memory, capped). What these tests hold it to:

* nothing it writes - in the scratch space or, if it could, on the real file system - is seen by
  the next submission on the same zygote, and its working folder is gone when it closes;
* the scratch space is capped (ENOSPC), also against handles kept open on removed files;
* no link can be made out of the working folder, and no submitted file can be changed;
* writes outside the working folder stay denied as before.
"""

from __future__ import annotations

import dataclasses
import os
import string

import numpy as np
import pytest

from autograder.harness import sandbox
from autograder.harness.runner import CallOutcome, SandboxedSubmission
from autograder.harness.zygote import Zygote

from .conftest import FAST, ROOT_TIERS, tier_params, uid_files

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the root tiers need root"),
    pytest.mark.timeout(120),
]
DATA = {"ex4data1.txt": b"1 2 3\n", "pkg/__init__.py": b"", "pkg/helper.py": b"K = 7\n"}


@pytest.fixture
def zygote(request):
    """A started zygote of ``tier``; closed at teardown, leaving no process, file or stage."""
    made: list[Zygote] = []
    problems: list[str] = []

    def make(tier: str) -> Zygote:
        z = Zygote(tier=tier, limits=FAST)
        release = z.slot.release

        def checked_release() -> None:
            problems.extend(f"process {p}" for p in sandbox.pids_of_uid(z.slot.uid))
            problems.extend(f"file {f}" for f in uid_files(z.slot.uid))
            release()

        z.slot.release = checked_release
        made.append(z)
        z.start()
        return z

    yield make
    for z in made:
        z.close()
        assert not z.stage.path.exists()
    assert problems == []


def _call(z: Zygote | None, source: str, function: str = "attack", tier: str = "bwrap", **kw):
    """Load ``source`` (with DATA beside it) and call ``function()``; return (outcome, sub)."""
    with SandboxedSubmission(
        source, files=kw.pop("files", DATA), limits=FAST, zygote=z, tier=tier, **kw
    ) as sub:
        loaded = sub.load()
        assert loaded.status == "ok", (loaded, sub.stderr)
        out = sub.call(function, [], {}, timeout=10)
    return out, sub


def _values(out: CallOutcome) -> list[float]:
    assert out.status == "ok", out
    return list(np.atleast_1d(out.value))


# --------------------------------------------------------------------------- A cannot reach B

PLANT = """
import os
def attack():
    done = []
    with open('planted.py', 'w') as fh:          # scratch: in memory
        fh.write('PLANTED = 1')
    os.makedirs('cache', exist_ok=True)
    open('cache/state.txt', 'w').write('from A')
    for target in ('../planted.py', '/tmp/$name', '$stage/planted.py'):
        try:
            open(target, 'w').write('from A')
            done.append(target)
        except OSError:
            pass
    try:
        os.open('real.txt', os.O_WRONLY | os.O_CREAT, 0o644)
        done.append('os.open')
    except OSError:
        pass
    print('CWD', os.getcwd(), 'DONE', done, flush=True)
    return [float(os.path.exists('planted.py')), float(len(done))]
"""

PROBE = """
import os, sys
def probe():
    sys.path_importer_cache.clear()
    try:
        import planted
        imported = 1.0
    except ImportError:
        imported = 0.0
    return [imported, float(os.path.exists('planted.py')), float(os.path.exists('cache')),
            float(os.path.exists('$a_cwd')), float(os.path.exists('/tmp/$name')),
            float(sorted(os.listdir('.')) == ['ex4data1.txt', 'pkg'])]
"""


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_files_planted_by_a_are_invisible_to_b(tier, zygote, tmp_path):
    z = zygote(tier)
    ctx = {"name": f"bpgrade-planted-{os.getpid()}", "stage": str(z.stage.path)}
    out, a = _call(z, string.Template(PLANT).substitute(ctx), tier=tier)
    assert _values(out) == [1.0, 0.0], a.stderr  # its scratch file exists for A; nothing else
    a_cwd = a.stderr.split("CWD ", 1)[1].split()[0]
    assert os.path.basename(a_cwd).startswith("w-")
    # A is closed: its working folder is gone from the stage, nothing was written for real.
    assert sorted(os.listdir(z.stage.path)) == [z.stage.worker_name]
    assert not os.path.exists(f"/tmp/{ctx['name']}")
    out, b = _call(z, string.Template(PROBE).substitute(ctx, a_cwd=a_cwd), "probe", tier=tier)
    assert _values(out) == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0], b.stderr
    assert z.boots == 1 and z.forks == 2


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_each_fork_gets_a_new_working_folder(tier, zygote):
    """A restart (after a timeout) forks again: the old folder is deleted at the reap, the new
    fork gets a new one with the submission's own files, the scratch files are gone."""
    z = zygote(tier)
    source = (
        "import os\nopen('mine.txt', 'w').write('x')\n"
        "def spin():\n    while True:\n        pass\n"
        "def where():\n    print('CWD', os.getcwd(), flush=True)\n"
        "    return [float(os.path.exists('mine.txt')), float(os.path.exists('ex4data1.txt'))]\n"
    )
    with SandboxedSubmission(source, files=DATA, limits=FAST, zygote=z) as sub:
        first = _values(sub.call("where", [], {}, timeout=5))
        assert sub.call("spin", [], {}, timeout=0.5).status == "timeout"
        # reaped: its folder is gone
        assert sorted(os.listdir(z.stage.path)) == [z.stage.worker_name]
        second = _values(sub.call("where", [], {}, timeout=5))
        folders = [line.split()[1] for line in sub.stderr.splitlines() if line.startswith("CWD")]
    assert first == second == [1.0, 1.0]  # re-created by the reloaded module, not left over
    assert len(set(folders)) == 2 and sub.restarts == 1


# --------------------------------------------------------------------------- the scratch cap

CAP = """
import errno, os
def attack():
    seen = []
    try:
        with open('big.bin', 'wb') as fh:
            fh.write(b'x' * (4 << 20))
            fh.write(b'x' * ($cap << 20))
    except OSError as exc:
        seen.append(float(exc.errno == errno.ENOSPC))
    keep = open('kept.bin', 'wb', buffering=0)
    try:                                  # a removed file keeps its space while it is open
        keep.write(b'k' * ($cap - 5 << 20))
        os.remove('kept.bin')
        open('more.bin', 'wb', buffering=0).write(b'm' * (4 << 20))
        seen.append(0.0)
    except OSError as exc:
        seen.append(float(exc.errno == errno.ENOSPC))
    keep.close()                          # ... and frees it when the last handle closes
    os.remove('big.bin')
    open('more.bin', 'wb', buffering=0).write(b'm' * (4 << 20))
    try:
        for i in range(100000):
            open(f'f{i}', 'w').close()
        seen.append(0.0)
    except OSError as exc:
        seen.append(float(exc.errno == errno.ENOSPC))
    return seen
"""


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_huge_scratch_files_hit_the_cap(tier, zygote):
    z = zygote(tier)
    cap = FAST.fsize_bytes >> 20
    out, _ = _call(z, string.Template(CAP).substitute(cap=cap), tier=tier)
    assert _values(out) == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_scratch_cap_follows_the_limits(tier):
    """Without a zygote too; the cap is ``Limits.fsize_bytes``."""
    limits = dataclasses.replace(FAST, fsize_bytes=1 << 20)
    source = "def attack():\n    open('x', 'wb').write(b'0' * (2 << 20))\n"
    with SandboxedSubmission(source, tier=tier, limits=limits) as sub:
        out = sub.call("attack", [], {}, timeout=5)
    assert out.status == "exception" and out.error_type == "OSError", out
    assert "No space left on device" in out.error_message and "1 MiB" in out.error_message


# --------------------------------------------------------------------------- links and data

ESCAPES = """
import os
def attempt(fn):
    try:
        fn()
        return 1.0
    except OSError:
        return 0.0
def attack():
    return [
        attempt(lambda: os.symlink('/etc/passwd', 'link')),
        attempt(lambda: os.symlink('..', 'up')),
        attempt(lambda: os.link('ex4data1.txt', 'hard')),
        attempt(lambda: open('link').read()),
        attempt(lambda: os.rename('ex4data1.txt', 'moved.txt')),
        attempt(lambda: os.remove('ex4data1.txt')),
        attempt(lambda: os.remove('pkg/helper.py')),
        attempt(lambda: open('ex4data1.txt', 'w')),
        attempt(lambda: open('ex4data1.txt', 'a')),
        attempt(lambda: open('ex4data1.txt', 'r+')),
        attempt(lambda: open('pkg/helper.py', 'wb')),
        attempt(lambda: os.open('ex4data1.txt', os.O_WRONLY)),
        attempt(lambda: os.chmod('ex4data1.txt', 0o666)),
        attempt(lambda: os.truncate('ex4data1.txt', 0)),
        attempt(lambda: open('pkg', 'w')),
        attempt(lambda: os.rmdir('pkg')),
        attempt(lambda: os.mkdir('pkg')),
        float(open('ex4data1.txt').read() == '1 2 3\\n'),
        float(__import__('pkg.helper').helper.K == 7),
    ]
"""


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_no_link_out_and_no_submitted_file_changes(tier, zygote):
    z = zygote(tier)
    out, sub = _call(z, ESCAPES, tier=tier)
    assert _values(out) == [0.0] * 17 + [1.0, 1.0], sub.stderr


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_working_folder_is_read_only_on_the_host(tier, zygote):
    """The stage copy belongs to the grader: the slot may read it, nobody else may write it."""
    z = zygote(tier)
    source = "def attack():\n    return 1.0\n"
    with SandboxedSubmission(source, files=DATA, limits=FAST, zygote=z) as sub:
        assert sub.call("attack", [], {}, timeout=5).status == "ok"
        folder = z.stage.path / z.stage.workdir_name
        modes = {p.relative_to(folder).as_posix(): p.stat() for p in folder.rglob("*")}
        for rel, info in modes.items():
            assert info.st_uid == 0 and info.st_gid == z.slot.gid, rel
            assert not info.st_mode & 0o022, (rel, oct(info.st_mode))
        assert (folder / "ex4data1.txt").read_bytes() == DATA["ex4data1.txt"]
    assert sorted(modes) == ["ex4data1.txt", "pkg", "pkg/__init__.py", "pkg/helper.py"]


# --------------------------------------------------------------------------- shadowing names

SHADOWS = {
    name: b"import os\nos.write(2, b'SHADOW-RAN')\nraise SystemExit(3)\n"
    for name in ("numpy.py", "autograder.py", "worker.py", "json.py", "warnings.py", "struct.py")
}
USES_NUMPY = """
import json, numpy as np
def attack():
    return np.asarray(json.loads('[1.5, 2.5]')) * np.ones(2)
"""


@pytest.mark.parametrize("tier", tier_params(ROOT_TIERS))
def test_helpers_named_like_modules_the_worker_uses_shadow_nothing(tier, zygote):
    """numpy, json, struct and warnings are loaded before the folder joins sys.path: the
    worker's answers (and the student's own imports of them) use the real modules."""
    z = zygote(tier)
    out, a = _call(z, USES_NUMPY, files=SHADOWS, tier=tier)
    assert _values(out) == [1.5, 2.5] and "SHADOW-RAN" not in a.stderr, a.stderr
    out, b = _call(
        z, "import os\ndef attack():\n    return float(len(os.listdir('.')))\n", tier=tier, files={}
    )
    assert _values(out) == [0.0] and z.boots == 1
