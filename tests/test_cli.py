"""``bpgrade`` on the command line: exit codes, text and Gradescope JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORRECT = ROOT / "examples" / "submissions" / "correct.py"


def bpgrade(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def results_json(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cli") / "results.json"
    done = bpgrade(
        "grade", str(CORRECT), "--student-id", "s1", "--format", "json", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def test_json_has_gradescopes_top_level_fields(results_json):
    assert {"score", "execution_time", "output", "tests"} <= set(results_json)
    assert results_json["score"] == 100 and isinstance(results_json["execution_time"], float)


def test_json_tests_have_gradescopes_fields(results_json):
    for test in results_json["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert 0 <= test["score"] <= test["max_score"]
    assert sum(t["max_score"] for t in results_json["tests"]) == 100


def test_text_format_is_a_per_part_table():
    done = bpgrade("grade", str(CORRECT))
    assert done.returncode == 0
    assert "TOTAL" in done.stdout and "100.00/100" in done.stdout and "nnGrad" in done.stdout


@pytest.mark.parametrize("content", [b"", b"\x00\xff", b"def f(:\n"])
def test_broken_submission_still_exits_0_with_a_score_of_0(tmp_path, content):
    path = tmp_path / "nn.py"
    path.write_bytes(content)
    done = bpgrade("grade", str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 0


def test_missing_path_exits_nonzero_with_the_reason(tmp_path):
    done = bpgrade("grade", str(tmp_path / "typo.py"))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_unloadable_submission_states_the_reason_once():
    done = bpgrade("grade", str(ROOT / "README.md"))
    assert done.returncode == 0 and done.stdout.count("unsupported file type") == 1


def test_grader_failure_exits_nonzero_with_the_reason(tmp_path):
    bad = tmp_path / "spec.toml"
    bad.write_text("not toml [")
    done = bpgrade("grade", str(CORRECT), "--spec", str(bad))
    assert done.returncode == 2 and "cannot read spec" in done.stderr


def test_python_dash_m_and_the_script_are_the_same_command():
    assert bpgrade("--help").stdout.startswith("usage: bpgrade")


def test_check_runs_only_public_cases():
    stubs = ROOT / "assignments" / "backprop" / "en" / "nn.py"
    done = bpgrade("check", str(stubs))
    assert done.returncode == 0
    assert "[public]" in done.stdout and "[hidden]" not in done.stdout


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_check_tier_local_runs_the_public_cases_as_a_plain_process(lang):
    from autograder.messages import msg

    done = bpgrade("check", str(CORRECT), "--tier", "local", "--lang", lang)
    assert done.returncode == 0, done.stderr
    assert (
        msg("text_title", lang, submission=CORRECT, student="self-check", tier="local")
        in done.stdout
    )
    assert "100.00/100" in done.stdout
    hidden = msg("visibility_hidden", lang)
    assert done.stdout.count(msg("local_tier", lang)) == 1 and f"[{hidden}]" not in done.stdout


def test_grade_offers_no_local_tier():
    done = bpgrade("grade", str(CORRECT), "--tier", "local")
    assert done.returncode == 2 and "invalid choice: 'local'" in done.stderr


def test_no_zygote_is_booted_for_tier_local():
    from autograder.commands.common import boot_zygote

    assert boot_zygote("local") is None


def test_demo_grades_the_bundled_examples_and_names_their_mistakes():
    done = bpgrade("demo")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("correct.py") and "100.00/100" in line for line in lines)
    assert done.stdout.count("named mistake:") >= 4
    assert "bias column" in done.stdout


def test_grading_imports_nothing_heavy():
    """Start-up is part of every grading's latency: scipy.special alone once cost 1 s. A correct
    submission never needs the catalogue of mistakes either."""
    code = (
        "import sys\n"
        "from autograder.cli import build_parser\n"
        "build_parser('grade')\n"
        "from autograder.grading import grade_submission\n"
        f"grade_submission({str(CORRECT)!r}, student_id='x')\n"
        "heavy = ('nbformat', 'matplotlib', 'scipy', 'sklearn', 'autograder.release', "
        "'autograder.batch', 'autograder.homeworks.backprop.misconceptions')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["grade", "check"])
def test_single_submission_commands_boot_the_sandbox_before_importing_numpy(command):
    """The sandbox (one zygote, spawned once) starts before the grader imports numpy, so that both
    numpy imports overlap: most of a cold command's latency. Nor does it wait for what only
    reading a spec or a submission needs (a TOML parser, the messages, the intake)."""
    code = (
        "import sys\n"
        "from autograder.harness import sandbox\n"
        "seen = []\n"
        "spawn = sandbox.Sandbox.spawn\n"
        "late = ('numpy', 'tomllib', 'platform', 'autograder.messages', 'autograder.intake')\n"
        "def spy(self, *args, **kwargs):\n"
        "    seen.append(sorted(m for m in late if m in sys.modules))\n"
        "    return spawn(self, *args, **kwargs)\n"
        "sandbox.Sandbox.spawn = spy\n"
        "from autograder.cli import main\n"
        f"rc = main([{command!r}, {str(CORRECT)!r}])\n"
        "print(rc, seen)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 [[]]"


def test_doctor_says_how_workers_start():
    from autograder.harness.sandbox import Sandbox
    from autograder.harness.zygote import Zygote

    done = bpgrade("doctor")
    assert done.returncode == 0, done.stderr
    workers = [line for line in done.stdout.splitlines() if line.strip().startswith("workers")]
    expected = "zygote" if Zygote.supported(Sandbox()) else "per submission"
    assert len(workers) == 1 and expected in workers[0], done.stdout


def test_a_notebook_kernel_checks_through_one_zygote():
    """The released check.py's ``check("part")`` forks each call's worker from the zygote the
    kernel keeps (booted once, by ``make_checker``), instead of booting a sandbox per call."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'assignments' / 'backprop' / 'en')!r})\n"
        "import check as released\n"
        "namespace = {'__name__': '__main__'}\n"
        f"exec(compile(open({str(CORRECT)!r}).read(), {str(CORRECT)!r}, 'exec'), namespace)\n"
        "check = released.make_checker(namespace)\n"
        "zygote = released.kernel_zygote()\n"
        "if zygote is None:\n"
        "    print('no zygote'); sys.exit(0)\n"
        "passed = [released.check_part(p, namespace) for p in ('sigmoid', 'nnGrad')]\n"
        "print(passed, zygote.boots, zygote.forks)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    last = done.stdout.strip().splitlines()[-1]
    if last == "no zygote":
        pytest.skip("no sandbox zygote on this machine")
    assert last == "[True, True] 1 2", done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "given", "expected"),
    [
        (["grade", "nn.py"], {}, "1"),
        (["check", "nn.py"], {}, "1"),
        (["grade-all", "subs/"], {}, "1"),
        (["serve", "course/"], {}, "1"),
        (["grade", "nn.py"], {"OPENBLAS_NUM_THREADS": "4"}, "4"),  # the caller's choice wins
        (["release"], {}, None),  # builds and runs notebooks: their training may use every core
        (["similarity", "subs/"], {}, None),
    ],
)
def test_grading_commands_run_with_one_blas_thread(argv, given, expected):
    """The grader's own math is small; a BLAS thread pool would spin on the sandbox's core."""
    from autograder.cli import grading_environment

    environ = dict(given)
    grading_environment(argv, environ)
    assert environ.get("OPENBLAS_NUM_THREADS") == expected
    if expected == "1":
        assert environ["OMP_NUM_THREADS"] == environ["MKL_NUM_THREADS"] == "1"
