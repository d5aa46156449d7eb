"""The self-check on a machine without the sandbox (Windows, macOS), simulated on this Linux machine.

A throw-away virtual environment of this interpreter gets a ``sitecustomize.py`` that makes
``fcntl``, ``resource``, ``pwd`` and ``grp`` unimportable and deletes ``os.fork``, ``os.geteuid``,
``os.setsid`` and their POSIX-only friends. It sits in the environment's ``site-packages`` rather
than on ``PYTHONPATH`` so that it also holds in the children: the self-check's worker runs with
``python -I`` (which ignores ``PYTHONPATH``) but still runs ``site``. A ``.pth`` file puts this
checkout and the test interpreter's packages (numpy) on its path.

In that interpreter, read as a specification:
* the grader, ``bpgrade check`` and the released ``check.py`` import;
* ``python check.py nn.py`` passes every public part of the solution, says once that there is no
  sandbox, and gives every buggy example the per-part verdict the sandboxed grader gives it;
* ``check("part")`` on a script's functions (the notebook path) passes;
* ``bpgrade check`` falls back the same way, in both languages; ``bpgrade grade`` never does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import autograder
from autograder.grading import grade_submission
from autograder.messages import msg
from autograder.release import LANGS, build_release, load_homework

ROOT = Path(autograder.__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submissions"
HOMEWORK, SPEC = load_homework("backprop")
BLOCKED_MODULES = ("fcntl", "resource", "pwd", "grp")
REMOVED_CALLS = ("fork", "forkpty", "geteuid", "getuid", "setsid", "setuid", "killpg", "getpgid")

SITECUSTOMIZE = f'''\
"""Make this interpreter look non-POSIX: what Windows lacks and the grader could reach for."""
import os
import sys
from importlib.abc import MetaPathFinder

BLOCKED = frozenset({BLOCKED_MODULES!r})


class _Blocked(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
for _name in BLOCKED:
    sys.modules.pop(_name, None)
for _name in {REMOVED_CALLS!r}:
    if hasattr(os, _name):
        delattr(os, _name)
'''

PROBE = f"""\
import json, os
result = {{}}
for name in {BLOCKED_MODULES!r}:
    try:
        __import__(name)
        result[name] = "importable"
    except ModuleNotFoundError:
        result[name] = "blocked"
for name in {REMOVED_CALLS!r}:
    result["os." + name] = "present" if hasattr(os, name) else "removed"
print(json.dumps(result))
"""
PROBED = {**dict.fromkeys(BLOCKED_MODULES, "blocked")}
PROBED |= {f"os.{name}": "removed" for name in REMOVED_CALLS}


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> str:
    """A non-POSIX-looking interpreter that sees this checkout and the test packages."""
    env_dir = tmp_path_factory.mktemp("nonposix") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120
    )
    executable = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(executable), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    packages = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    Path(site, "bpgrade_checkout.pth").write_text("\n".join([str(ROOT), *packages]) + "\n")
    Path(site, "sitecustomize.py").write_text(SITECUSTOMIZE)
    return str(executable)


def run(python: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [python, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def solution_py() -> str:
    return build_release(HOMEWORK.source, SPEC, ["en"], solution=True)["en/nn.py"]


def folder_with(tmp_path: Path, lang: str, nn_py: str) -> Path:
    """A student's folder: the released check.py of ``lang`` and their nn.py."""
    released = HOMEWORK.out / lang / "check.py"
    (tmp_path / "check.py").write_text(released.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "nn.py").write_text(nn_py, encoding="utf-8")
    return tmp_path


_ROW = re.compile(r"^([✓✗]) (\w+)\s+(\d+\.\d\d)/(\S+)\s+(\d+)/(\d+)\b.*$", re.M)
_TOTAL = {"en": "TOTAL", "zh": "总分"}


def table(text: str) -> dict[str, tuple[str, float]]:
    """The printed per-part table: ``{part: (mark, score)}``."""
    return {part: (mark, float(score)) for mark, part, score, *_ in _ROW.findall(text)}


def total(text: str, lang: str) -> str:
    found = re.search(rf"^\s+{_TOTAL[lang]}\s+(\S+)$", text, re.M)
    assert found, text
    return found.group(1)


# ---------------------------------------------------------------------------------------------
# The simulation itself
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [(), ("-I", "-B")], ids=["grader", "worker flags"])
def test_the_interpreter_looks_non_posix(python, tmp_path, flags):
    done = run(python, *flags, "-c", PROBE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == PROBED


@pytest.mark.parametrize(
    "module",
    ["autograder.grading", "autograder.commands.check", "autograder.cli", "autograder.selfcheck"],
)
def test_the_grader_imports(python, tmp_path, module):
    done = run(python, "-c", f"import {module}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("lang", LANGS)
def test_the_released_check_script_imports(python, tmp_path, lang, solution_py):
    folder = folder_with(tmp_path, lang, solution_py)
    done = run(python, "-c", "import check; check.make_checker({})", cwd=folder)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------
# python check.py nn.py
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_check_py_passes_every_public_part_of_the_solution(python, tmp_path, lang, solution_py):
    done = run(python, "check.py", "nn.py", cwd=folder_with(tmp_path, lang, solution_py))
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert rows == {p.id: ("✓", p.points) for p in SPEC.parts}, done.stdout
    assert total(done.stdout, lang) == f"{SPEC.max_score:.2f}/{SPEC.max_score:g}"
    title = msg("text_title", lang, submission="nn.py", student="self-check", tier="local")
    assert title in done.stdout
    assert done.stdout.count(msg("local_tier", lang)) == 1, done.stdout


#: The public parts each example loses, as the sandboxed grader scores them.
BUGGY = {
    "correct.py": {},
    "bias_regularized.py": {"nnGrad": 10.0, "nnCostFunctionDeep": 6.0},
    "forgot_sigmoid_gradient.py": {
        "nnGrad": 0.0,
        "nnCostFunctionDeep": 6.0,
        "squaredErrorCostFunction": 4.0,
    },
    "forward_difference.py": {"computeNumericalGradient": 0.0},
    "sigmoid_gradient_of_a.py": {
        "sigmoidGradient": 0.0,
        "nnGrad": 0.0,
        "nnCostFunctionDeep": 6.0,
        "squaredErrorCostFunction": 4.0,
    },
}


def test_every_example_is_in_the_table():
    assert sorted(BUGGY) == sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("example", sorted(BUGGY))
def test_check_py_fails_the_right_parts_of_buggy_files(python, tmp_path, example):
    source = (EXAMPLES / example).read_text(encoding="utf-8")
    done = run(python, "check.py", "nn.py", cwd=folder_with(tmp_path, "en", source))
    assert done.returncode == 0, done.stderr
    expected = {
        p.id: ("✗", BUGGY[example][p.id]) if p.id in BUGGY[example] else ("✓", p.points)
        for p in SPEC.parts
    }
    assert table(done.stdout) == expected, done.stdout


@pytest.mark.parametrize("example", sorted(BUGGY))
def test_the_sandboxed_grader_agrees_with_the_table(example):
    """The same verdict as ``bpgrade grade`` on the public cases, through the real sandbox."""
    from autograder.harness.sandbox import SandboxError

    try:
        report = grade_submission(EXAMPLES / example, visibility=("public",))
    except SandboxError as exc:  # pragma: no cover - machine-specific
        pytest.skip(f"no sandbox here: {exc}")
    assert report.tier != "local"
    lost = {p.part: p.score for p in report.parts if not p.passed}
    assert lost == BUGGY[example]


# ---------------------------------------------------------------------------------------------
# check("part") on a kernel's functions, and bpgrade check
# ---------------------------------------------------------------------------------------------


def test_check_part_on_a_scripts_functions_passes_every_part(python, tmp_path, solution_py):
    """The notebook path: functions defined in ``__main__``, checked one part at a time."""
    folder = folder_with(tmp_path, "en", solution_py)
    script = (
        "import os\n"
        "import json as unused_by_any_function\n"
        + solution_py
        + "\nfrom check import make_checker\n"
        + "check = make_checker(globals())\n"
        + "".join(f"check({p.id!r})\n" for p in SPEC.parts)
    )
    (folder / "kernel.py").write_text(script, encoding="utf-8")
    done = run(python, "kernel.py", cwd=folder)
    assert done.returncode == 0, done.stderr
    rows = _ROW.findall(done.stdout)  # one table per check, in order
    assert [row[:4] for row in rows] == [
        ("✓", p.id, f"{p.points:.2f}", f"{p.points:g}") for p in SPEC.parts
    ], done.stdout
    assert all(passed == cases for *_, passed, cases in rows)
    assert done.stdout.count(msg("local_tier", "en")) == len(SPEC.parts)


@pytest.mark.parametrize("lang", LANGS)
def test_bpgrade_check_falls_back_to_a_local_process(python, tmp_path, lang, solution_py):
    folder = folder_with(tmp_path, lang, solution_py)
    done = run(python, "-m", "autograder", "check", "nn.py", "--lang", lang, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert total(done.stdout, lang) == f"{SPEC.max_score:.2f}/{SPEC.max_score:g}"
    assert done.stdout.count(msg("local_tier", lang)) == 1, done.stdout


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (("grade", "nn.py"), "cannot sandbox student code: this Python has no fcntl"),
        (("check", "nn.py", "--tier", "bwrap"), "cannot run the self-check: this Python has no"),
    ],
    ids=["grade", "check --tier bwrap"],
)
def test_grading_and_a_named_tier_never_fall_back(python, tmp_path, solution_py, command, message):
    done = run(python, "-m", "autograder", *command, cwd=folder_with(tmp_path, "en", solution_py))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stdout == ""
