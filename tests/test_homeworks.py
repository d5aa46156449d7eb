"""A homework is its own files: the grader core and the harness know none of them by name.

The homework declares the helpers the worker may substitute and the callable kinds it builds (its
``support.py``, shipped to the worker as source text); every command takes ``--homework`` or infers
it from the submission's functions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder import homeworks
from autograder.spec import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[1]
CORE = [
    *sorted((ROOT / "autograder" / "harness").glob("*.py")),
    ROOT / "autograder" / "grading.py",
    ROOT / "autograder" / "checks.py",
    ROOT / "autograder" / "scoring.py",
]


def _graded_names() -> list[tuple[str, str]]:
    return sorted(
        {(hw, name) for hw in homeworks.homework_names() for name in homeworks.graded_functions(hw)}
    )


@pytest.mark.parametrize(("homework", "function"), _graded_names())
def test_the_core_names_no_homework_function(homework, function):
    pattern = re.compile(rf"\b{re.escape(function)}\b")
    named = [p.name for p in CORE if pattern.search(p.read_text(encoding="utf-8"))]
    assert named == [], f"{homework}'s {function} is named in {named}"


@pytest.mark.parametrize("homework", homeworks.homework_names())
def test_a_homework_support_module_declares_what_its_spec_uses(homework):
    spec = homeworks.load_homework(homework)
    functions = {p.function for p in spec.parts}
    assert spec.support.helpers <= functions  # a helper replaces a graded function of that name
    if spec.support.helpers or spec.support.callables:
        assert "import autograder" not in spec.support.source  # the worker has no grader


@pytest.mark.parametrize(
    ("body", "helpers", "callables"),
    [
        ("", frozenset(), frozenset()),
        ("HELPERS = {'f': f}\n", frozenset({"f"}), frozenset()),
        ("CALLABLES = {'k': g}\nHELPERS = {}\n", frozenset(), frozenset({"k"})),
    ],
)
def test_support_tables_are_read_without_running_the_module(tmp_path, body, helpers, callables):
    (tmp_path / "support.py").write_text("raise SystemExit\n" + body, encoding="utf-8")
    spec_file = tmp_path / "spec.toml"
    text = (ROOT / "autograder/homeworks/backprop/spec.toml").read_text(encoding="utf-8")
    spec_file.write_text(text, encoding="utf-8")
    spec = load_spec(spec_file)
    assert (spec.support.helpers, spec.support.callables) == (helpers, callables)


@pytest.mark.parametrize(
    "body",
    ["HELPERS = dict(f=f)\n", "HELPERS = {name: f}\n", "CALLABLES = {'not a name': g}\n", "def ("],
)
def test_a_support_module_the_parent_cannot_read_is_a_spec_error(tmp_path, body):
    (tmp_path / "support.py").write_text(body, encoding="utf-8")
    text = (ROOT / "autograder/homeworks/backprop/spec.toml").read_text(encoding="utf-8")
    (tmp_path / "spec.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError):
        load_spec(tmp_path / "spec.toml")


def test_an_unknown_homework_is_a_clear_error():
    with pytest.raises(SpecError, match="unknown homework 'nope'; known: .*backprop"):
        homeworks.load_homework("nope")
