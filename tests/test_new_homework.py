"""``bpgrade new-homework NAME`` writes a homework that passes its own tests at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import autograder
from autograder.cli import GraderError
from autograder.commands.new_homework import scaffold

ROOT = Path(autograder.__file__).resolve().parents[1]


def _run(args: list[str], root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(root)])}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, cwd=root, env=env
    )


def test_the_scaffold_passes_its_own_tests_and_releases(tmp_path):
    done = _run(["-m", "autograder", "new-homework", "mylab", "--root", str(tmp_path)], tmp_path)
    assert done.returncode == 0, done.stderr
    tests = tmp_path / "tests" / "test_homework_mylab.py"
    done = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout
    done = _run(["-m", "autograder", "release", "mylab", "--root", str(tmp_path)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "assignments" / "mylab" / "en" / "mylab.ipynb").is_file()


@pytest.mark.parametrize("name", ["MyLab", "1lab", "my-lab", "class", ""])
def test_a_name_that_is_not_a_module_name_is_refused(tmp_path, name):
    with pytest.raises(GraderError, match="lower-case"):
        scaffold(name, tmp_path)


def test_existing_files_are_kept_unless_forced(tmp_path):
    scaffold("mylab", tmp_path)
    with pytest.raises(GraderError, match="exists"):
        scaffold("mylab", tmp_path)
    assert scaffold("mylab", tmp_path, force=True)
