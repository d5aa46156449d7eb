"""``bpgrade new-homework NAME``: the files of a new homework, which pass their own tests at once.

It writes, under ``--root`` (default: this repository)::

    autograder/homeworks/NAME/spec.toml          the parts, points, checks and limits
    autograder/homeworks/NAME/cases.py           case generators (public and hidden cases)
    autograder/homeworks/NAME/misconceptions.py  the catalogue of classic mistakes
    autograder/homeworks/NAME/support.py         helpers the worker may substitute (source text)
    solutions/NAME/NAME.py                       the instructor source, en + zh, marked regions
    tests/test_homework_NAME.py                  the homework's own tests

The homework has one part, ``square(x)``, and one named mistake; docs/writing-a-homework.md says
how to grow it (with ``logreg`` as the worked example). Outside this repository, put ``--root`` on
``PYTHONPATH``: ``autograder.homeworks`` also finds ``ROOT/autograder/homeworks/NAME``.
"""

from __future__ import annotations

import argparse
import keyword
import re
import string
from pathlib import Path

from autograder.cli import GraderError

REPO_ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("new-homework", help="scaffold a new homework that passes its own tests")
    p.add_argument("name", help="the homework's name: lower-case letters, digits and '_'")
    p.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="where to write (default: %(default)s)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


def scaffold(name: str, root: Path, *, force: bool = False) -> list[Path]:
    """Write the homework's files; return their paths.

    Raises
    ------
    GraderError
        A bad name, or a file that exists already (without ``force``).
    """
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise GraderError(f"homework name {name!r}: lower-case letters, digits and '_'")
    files = {
        Path("autograder", "homeworks", name, "spec.toml"): SPEC,
        Path("autograder", "homeworks", name, "cases.py"): CASES,
        Path("autograder", "homeworks", name, "misconceptions.py"): MISCONCEPTIONS,
        Path("autograder", "homeworks", name, "support.py"): SUPPORT,
        Path("solutions", name, f"{name}.py"): SOLUTION,
        Path("tests", f"test_homework_{name}.py"): TESTS,
    }
    clashes = [rel for rel in files if (root / rel).exists()]
    if clashes and not force:
        raise GraderError(f"{root / clashes[0]} exists (--force overwrites)")
    written = []
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(template).substitute(name=name), encoding="utf-8")
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    for path in scaffold(args.name, args.root, force=args.force):
        print(f"wrote {path}")
    print(
        f"next: pytest tests/test_homework_{args.name}.py, then bpgrade release {args.name}"
        " (see docs/writing-a-homework.md)"
    )
    return 0


SPEC = """\
# The $name homework (made by `bpgrade new-homework`; see docs/writing-a-homework.md).

[assignment]
name = "$name"
title = { en = "$name", zh = "$name" }
cases_module = "autograder.homeworks.$name.cases"
misconceptions_module = "autograder.homeworks.$name.misconceptions"
module_name = "$name.py"
support = "support.py"
call_timeout_s = 2.0
time_budget_s = 20.0
load_timeout_s = 5.0

[runtime]
packages = ["numpy>=1.26"]

[[parts]]
id = "square"
function = "square"
signature = "square(x)"
title = { en = "Elementwise square", zh = "逐元素平方" }
points = 100
check = "array"
rtol = 1e-9
atol = 1e-12
public_cases = 1
hidden_cases = 2
generator = "square_cases"
"""

CASES = '''\
"""Case generators of the $name homework: ``gen(rng, visibility, count) -> list[CaseDraft]``.

Public cases are fixed; hidden cases come from the per-student ``rng``. Expected values are
computed here, in the trusted parent, and never reach the student's process.
"""

from __future__ import annotations

import numpy as np

from autograder.cases import PUBLIC, CaseDraft


def square_cases(rng, visibility, count):
    if visibility == PUBLIC:
        x = np.array([-2.0, 0.5, 3.0])
        return [CaseDraft([x], x**2, "x = [-2, 0.5, 3]")][:count]
    drafts = []
    for i in range(count):
        x = rng.normal(0, 2, size=int(rng.integers(2, 8)) if i % 2 == 0 else (2, 3))
        drafts.append(CaseDraft([x], x**2, "hidden: vector" if i % 2 == 0 else "hidden: matrix"))
    return drafts
'''

MISCONCEPTIONS = '''\
"""The $name homework's classic mistakes: each computes what one bug would return."""

from __future__ import annotations

import numpy as np

from autograder.diagnosis import Misconception

CATALOG = [
    Misconception(
        "square_doubled",
        ("square",),
        {"en": "2x instead of x²", "zh": "写成了 2x，而不是 x²"},
        variant=lambda case: 2 * np.asarray(case.args[0], dtype=float),
    ),
]


def by_tag():
    """The catalogue keyed by tag."""
    return {mc.tag: mc for mc in CATALOG}
'''

SUPPORT = '''\
"""What the $name homework gives the grading worker (sent as source text; numpy only).

HELPERS: known-correct versions of graded functions that other parts call; a part wrong only
because its helper is wrong is retried with these and told so. CALLABLES: ``kind -> build(params)``
for arguments that are functions. Neither may hold an expected value.
"""

HELPERS = {}
CALLABLES = {}
'''

SOLUTION = '''\
# ruff: noqa: E402
# Instructor source for the $name homework: `bpgrade release $name` builds
# assignments/$name/{en,zh}/ from it (see docs/writing-a-homework.md for the format).

# %% [markdown] role="readme" lang="en"
# # Homework: $name
#
# {{parts_table}}
#
# ## The grader's rules
#
# {{grader_rules}}
#
# ## Checking your work locally
#
# {{install}} Then: `python check.py`.
#
# ## Submitting
#
# {{submit}}

# %% [markdown] role="readme" lang="zh"
# # 作业：$name
#
# {{parts_table}}
#
# ## 评分规则
#
# {{grader_rules}}
#
# ## 在本地自测
#
# {{install}} 然后运行 `python check.py`。
#
# ## 提交作业
#
# {{submit}}

# %% role="module-only"
"""Homework: $name. 作业：$name。"""

# %% role="module"
import numpy as np

# %% role="notebook"
try:
    from check import make_checker

    check = make_checker(globals())
except ImportError:

    def check(part):
        print(f"[{part}] self-check unavailable: run this notebook next to check.py")

# %% [markdown] lang="en" part="square"
# ## {{title:square}} ({{points:square}} points)
#
# Implement `square(x)`: $$x^2$$ elementwise, for an array of any shape.

# %% [markdown] lang="zh" part="square"
# ## {{title:square}}（{{points:square}} 分）
#
# 实现 `square(x)`：逐元素计算 $$x^2$$，输入为任意形状的数组。


# %% role="module" part="square"
def square(x):
    """x ** 2, elementwise. 逐元素平方。"""
    x = np.asarray(x, dtype=float)
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION


# %% role="check" part="square"
check("square")
'''

TESTS = '''\
"""The $name homework passes its own tests: the reference solution earns every point, the
released stub none, and each catalogued mistake is caught and named (made by `bpgrade new-homework`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.cases import build_cases
from autograder.grading import grade_submission
from autograder.homeworks import load_homework
from autograder.release.build import build_release
from autograder.release.source import LANGS

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "$name" / "$name.py"
SPEC = load_homework("$name")
MODULE = SPEC.module_name
# (what the student wrote in square, the misconception tag the grader must name)
MISTAKES = [("return 2 * x", "square_doubled")]


def _grade(tmp_path: Path, text: str):
    path = tmp_path / MODULE
    path.write_text(text, encoding="utf-8")
    return grade_submission(path, spec=SPEC, student_id="self-test", secret=b"self-test")


def test_every_part_has_public_and_hidden_cases():
    cases = build_cases(SPEC, secret=b"s", student_id="a")
    assert {c.part for c in cases} == {p.id for p in SPEC.parts}


@pytest.mark.parametrize("lang", LANGS)
def test_the_solution_earns_every_point(tmp_path, lang):
    files = build_release(SOURCE, SPEC, [lang], solution=True)
    report = _grade(tmp_path, files[f"{lang}/{MODULE}"])
    assert report.error is None and report.score == report.max_score


@pytest.mark.parametrize("lang", LANGS)
def test_the_released_stub_earns_nothing(tmp_path, lang):
    files = build_release(SOURCE, SPEC, [lang])
    report = _grade(tmp_path, files[f"{lang}/{MODULE}"])
    assert report.error is None and report.score == 0


@pytest.mark.parametrize(("body", "tag"), MISTAKES)
def test_a_classic_mistake_is_caught_and_named(tmp_path, body, tag):
    text = "import numpy as np\\n\\n\\ndef square(x):\\n    x = np.asarray(x, dtype=float)\\n"
    report = _grade(tmp_path, text + f"    {body}\\n")
    assert report.score < report.max_score
    assert any(tag in p.misconceptions for p in report.parts)
'''
