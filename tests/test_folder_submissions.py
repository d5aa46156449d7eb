"""Folder submissions and files, end to end through ``grade_submission`` and the real sandbox.

A correct solution split the way students split it (``nn.py`` importing ``utils.py``, data read at
import, a log written while training) scores full marks in every root tier; a helper named like a
real package shadows nothing the grader relies on.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from harness.conftest import TIER_REPORT, tier_params

from autograder.grading import grade_submission
from autograder.harness.zygote import Zygote

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[1]
CORRECT = (ROOT / "examples" / "submissions" / "correct.py").read_text()
TIERS = ("bwrap", "seccomp")
SIGMOID = re.compile(r"^def sigmoid\(.*?(?=^def )", re.S | re.M)
X_DATA = np.arange(12.0).reshape(3, 4) / 10


def _split_solution() -> dict[str, str]:
    """The correct solution with sigmoid moved to utils.py and imported from there."""
    helper = SIGMOID.search(CORRECT).group(0)
    nn = SIGMOID.sub("", CORRECT, count=1).replace(
        "import numpy as np\n", "import numpy as np\n\nfrom utils import sigmoid\n", 1
    )
    return {"nn.py": nn, "utils.py": "import numpy as np\n\n\n" + helper}


def _mat_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, arrays)
    return buf.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


def _grade(folder: Path, tier: str, **kw):
    return grade_submission(folder, student_id="alice", secret=b"k", tier=tier, **kw)


def _assert_full_marks(report) -> None:
    failing = [(c.case_id, c.message) for p in report.parts for c in p.cases if not c.passed]
    assert (report.score, report.error, failing) == (report.max_score, None, []), report.warnings


# --------------------------------------------------------------------------- helpers and data

LOADERS = {
    "np.load": (
        "X_DATA = np.load('data/ex4data1.npy')\n",
        {"data/ex4data1.npy": _npy_bytes(X_DATA)},
    ),
    "scipy.io.loadmat": (
        "import scipy.io\nX_DATA = scipy.io.loadmat('ex4data1.mat')['X']\n",
        {"ex4data1.mat": _mat_bytes(X=X_DATA)},
    ),
    "open-relative-to-__file__": (
        "import os\nwith open(os.path.join(os.path.dirname(__file__), 'labels.txt')) as fh:\n"
        "    LABELS = [int(v) for v in fh.read().split()]\nassert LABELS == [1, 2, 3]\n",
        {"labels.txt": b"1 2 3\n"},
    ),
}


def _loader_params() -> list:
    # No tier hides an installed module behind PermissionError: what is not provided is absent
    # (ImportError), so scipy.io's optional ``import threadpoolctl`` works everywhere.
    return [
        pytest.param(tier.values[0], name, marks=list(tier.marks), id=f"{tier.id}-{name}")
        for tier in tier_params(TIERS)
        for name in LOADERS
    ]


@pytest.mark.parametrize(("tier", "loader"), _loader_params())
def test_helper_module_and_data_read_at_import_score_100(tmp_path, tier, loader):
    code, data = LOADERS[loader]
    files = _split_solution()
    files["nn.py"] = files["nn.py"].replace(
        "from utils import sigmoid\n", f"from utils import sigmoid\n{code}"
    )
    report = _grade(_write(tmp_path, {**files, **data}), tier)
    _assert_full_marks(report)
    assert report.tier == tier and not [w for w in report.warnings if "skipped" in w]


@pytest.mark.parametrize("tier", tier_params(TIERS))
def test_main_file_is_chosen_by_the_graded_functions(tmp_path, tier):
    files = _split_solution()
    report = _grade(
        _write(tmp_path, {"hw4_solution.py": files["nn.py"], "utils.py": files["utils.py"]}), tier
    )
    _assert_full_marks(report)
    assert report.submission == str(tmp_path)


@pytest.mark.parametrize("tier", tier_params(TIERS))
def test_helper_package_in_a_subfolder_is_importable(tmp_path, tier):
    files = _split_solution()
    files["nn.py"] = files["nn.py"].replace(
        "from utils import sigmoid", "from lib.act import sigmoid"
    )
    files["lib/__init__.py"] = ""
    files["lib/act.py"] = files.pop("utils.py")
    _assert_full_marks(_grade(_write(tmp_path, files), tier))


# --------------------------------------------------------------------------- scratch writes

SCRATCH = {
    "log-at-import": ("with open('log.txt', 'w') as fh:\n    fh.write('training\\n')\n", None),
    "log-in-training-loop": (
        "",
        "        with open('train.log', 'a') as log:\n            log.write(f'{i} {J_history[i]}\\n')\n",
    ),
    "np.save-then-load-at-import": (
        "np.save('cache.npy', np.eye(3))\nassert np.load('cache.npy').sum() == 3\n",
        None,
    ),
    "logging-to-a-file": (
        "import logging\nlogging.basicConfig(filename='run.log', level=logging.INFO)\n"
        "logging.info('loaded')\n",
        None,
    ),
}


@pytest.mark.parametrize("variant", SCRATCH)
@pytest.mark.parametrize("tier", tier_params(TIERS))
def test_writing_scratch_files_scores_100(tmp_path, tier, variant):
    at_import, in_loop = SCRATCH[variant]
    source = CORRECT + "\n" + at_import
    if in_loop:
        source = source.replace(
            "        params = params - alpha * grad\n",
            "        params = params - alpha * grad\n" + in_loop,
        )
        assert in_loop in source
    report = _grade(_write(tmp_path, {"nn.py": source}), tier)
    _assert_full_marks(report)


# --------------------------------------------------------------------------- shadowing names

SHADOWS = {
    "numpy.py": "raise SystemExit('the student numpy.py ran')\n",
    "autograder.py": "raise SystemExit('the student autograder.py ran')\n",
    "worker.py": "raise SystemExit('the student worker.py ran')\n",
}


@pytest.fixture(scope="module")
def zygotes():
    made: dict[str, Zygote] = {}
    yield lambda tier: made.setdefault(tier, Zygote(tier=tier))
    for z in made.values():
        z.close()


@pytest.mark.parametrize("shadow", SHADOWS)
@pytest.mark.parametrize("tier", tier_params(TIERS))
def test_a_helper_named_like_a_package_shadows_nothing(tmp_path, tier, shadow, zygotes):
    """numpy is loaded before the folder is on sys.path; the grader never imports from it."""
    grader_numpy, grader_autograder = sys.modules["numpy"], sys.modules["autograder"]
    z = zygotes(tier)
    folder = _write(tmp_path / "a", {"nn.py": CORRECT, shadow: SHADOWS[shadow]})
    _assert_full_marks(grade_submission(folder, student_id="a", secret=b"k", zygote=z))
    assert sys.modules["numpy"] is grader_numpy and sys.modules["autograder"] is grader_autograder
    # The next submission on the same zygote sees nothing of the folder.
    probe = CORRECT + "\nimport os\nassert not os.path.exists('" + shadow + "'), os.listdir('.')\n"
    after = _write(tmp_path / "b", {"nn.py": probe})
    _assert_full_marks(grade_submission(after, student_id="b", secret=b"k", zygote=z))
    assert z.boots == 1


def test_folder_warnings_reach_the_report(tmp_path):
    if not any(TIER_REPORT[t]["available"] for t in TIER_REPORT):
        pytest.skip("no sandbox tier")
    folder = _write(tmp_path, {"nn.py": CORRECT})
    (folder / "data.txt").symlink_to("/etc/hostname")
    report = grade_submission(folder, student_id="alice", secret=b"k", lang="zh")
    assert report.score == report.max_score
    assert any("data.txt" in w and "符号链接" in w for w in report.warnings), report.warnings


@pytest.mark.parametrize("layout", ["file", "in-folder", "folder"])
def test_a_link_to_the_course_secret_is_never_read(tmp_path, layout):
    """Issue 13, item 1: nn.py -> the autograder's 0600 secret. The grader refuses to follow it
    and its text appears in no report."""
    from autograder.report import to_gradescope, to_text

    secret = tmp_path / "bpgrade_secret"
    secret.write_text("TOPSECRET-course-secret-5521")
    secret.chmod(0o600)
    sub = tmp_path / "submission"
    sub.mkdir()
    if layout == "folder":
        (tmp_path / "linked").symlink_to(sub)
        (sub / "nn.py").write_text(CORRECT)
        submitted = tmp_path / "linked"
    else:
        (sub / "nn.py").symlink_to(secret)
        submitted = sub / "nn.py" if layout == "file" else sub
    report = grade_submission(submitted, student_id="mallory", secret=b"k")
    assert report.score == 0 and "symbolic link" in report.error
    rendered = to_text(report) + str(to_gradescope(report)) + repr(report)
    assert "TOPSECRET" not in rendered
