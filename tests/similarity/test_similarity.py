"""``bpgrade similarity``: planted copies rank at the top, independent work is never flagged.

Corpora:

- the independent solutions in tests/fixtures/similarity/independent/ (four styles of ex4) and
  planted copies of them (tests/similarity/planted.py: renamed, reordered, re-commented,
  ``np.dot`` written ``@``);
- the bug zoo (tests/zoo/submissions, 50 files) and its correct alternatives (tests/zoo/correct,
  10 files). These are NOT independent texts: every one is tests/zoo/correct/vectorized.py with
  one function changed, so they are copies of that file by construction. Independent of each
  other they are only once that shared base is subtracted, which is what boilerplate is for
  (given as ``--boilerplate``, or dropped as code most of the class shares).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from autograder.batch.discover import discover
from autograder.cli import main
from autograder.similarity import Document, find_similar, read_class

sys.path.insert(0, str(Path(__file__).parent))
import planted  # noqa: E402

pytest.importorskip("copydetect")

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "tests" / "zoo"
ZOO_BASE = ZOO / "correct" / "vectorized.py"


def _class(folder: Path) -> list[Document]:
    return read_class([(s.student_id, s.path) for s in discover(folder).submissions])


@pytest.fixture(scope="module")
def planted_class(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("planted")
    planted.write_planted(folder)
    return folder


@pytest.fixture(scope="module")
def zoo_class(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zoo")
    for path in sorted((ZOO / "submissions").glob("*.py")):
        shutil.copy(path, folder / f"bug_{path.name}")
    for path in sorted((ZOO / "correct").glob("*.py")):
        shutil.copy(path, folder / f"ok_{path.name}")
    return folder


def _pairs(result) -> set[frozenset]:
    return {frozenset({p.a, p.b}) for p in result.pairs if p.flagged}


def test_planted_copies_rank_at_the_top_and_only_they_are_flagged(planted_class):
    result = find_similar(_class(planted_class))
    top = [frozenset({p.a, p.b}) for p in result.pairs[: len(planted.COPY_PAIRS)]]
    assert set(top) == planted.COPY_PAIRS
    assert _pairs(result) == planted.COPY_PAIRS


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"boilerplate": [ZOO_BASE]}, "their shared base given as boilerplate"),
        ({}, "their shared base is what most of the class wrote (dropped as common)"),
    ],
)
def test_the_zoo_and_the_correct_alternatives_stay_below_the_flag(zoo_class, options, why):
    result = find_similar(_class(zoo_class), **options)
    assert _pairs(result) == set(), why


def test_without_subtracting_their_base_the_zoo_files_are_copies(zoo_class):
    result = find_similar(_class(zoo_class), common=None)
    # One line changed out of ~120: the detector is right to call them copies.
    assert len(_pairs(result)) > 1000


def test_planted_copies_among_the_zoo_still_rank_first(zoo_class, planted_class, tmp_path):
    shutil.copytree(zoo_class, tmp_path / "all")
    shutil.copytree(planted_class, tmp_path / "all", dirs_exist_ok=True)
    result = find_similar(_class(tmp_path / "all"))
    top = [frozenset({p.a, p.b}) for p in result.pairs[: len(planted.COPY_PAIRS)]]
    assert set(top) == planted.COPY_PAIRS == _pairs(result)


TINY_A = (
    "import numpy as np\ndef sigmoidGradient(z):\n    g = 1/(1+np.exp(-z))\n    return g*(1-g)\n"
)
TINY_B = (
    "import numpy as np\ndef sigmoidGradient(t):\n    s = 1/(1+np.exp(-t))\n    return s*(1-s)\n"
)


def test_a_short_function_alone_is_never_flagged():
    [pair] = find_similar([Document("a", TINY_A), Document("b", TINY_B)]).pairs
    assert pair.score == 1.0  # identical once names are normalised ...
    assert not pair.flagged  # ... but far shorter than the minimum shared run


def test_a_notebook_is_compared_by_its_code_cells(planted_class, tmp_path):
    """A student who pastes a classmate's code into a notebook is found like a .py copy."""
    code = planted.source("b_example_loop")
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# My homework"]}] + [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": [chunk]}
        for chunk in code.split("\n\n\n")
    ]  # fmt: skip
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    folder = tmp_path / "class"
    shutil.copytree(planted_class, folder)
    (folder / "notebook_student.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    flagged = _pairs(find_similar(_class(folder)))
    assert frozenset({"b_example_loop", "notebook_student"}) in flagged


def test_the_starter_code_alone_is_not_similarity(tmp_path):
    starter = (ROOT / "assignments" / "backprop" / "en" / "nn.py").read_text(encoding="utf-8")
    result = find_similar([Document("a", starter), Document("b", starter)])
    assert result.pairs == []


def test_the_command_writes_the_report_and_pairs_json(planted_class, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["similarity", str(planted_class), "--out", str(out)]) == 0
    pairs = json.loads((out / "pairs.json").read_text(encoding="utf-8"))
    assert all(set(p) == {"a", "b", "score", "longest", "flagged"} for p in pairs)
    assert [p["score"] for p in pairs if p["flagged"]] == sorted(
        (p["score"] for p in pairs if p["flagged"]), reverse=True
    )
    pages = [out / "index.html", *sorted((out / "pairs").glob("*.html"))]
    assert len(pages) > 1
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "Similarity, not a verdict." in html
        assert "<script" not in html and "Content-Security-Policy" in html
    assert "5 flagged" in capsys.readouterr().out


def test_student_text_is_escaped(tmp_path):
    from autograder.report.similarity import write_report

    evil = planted.source("a_vectorized_dot") + "\n# </code><script>alert(1)</script>\n"
    docs = [Document("<img src=x onerror=alert(1)>", evil), Document("b", evil)]
    write_report(find_similar(docs), tmp_path)
    for page in tmp_path.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script>" not in html and "<img src=x" not in html


def test_the_class_report_links_to_the_similarity_report(planted_class, tmp_path):
    from autograder.batch.classreport import write_class_report
    from autograder.spec import load_spec

    out = tmp_path / "graded"
    assert main(["similarity", str(planted_class), "--out", str(out / "similarity")]) == 0
    html = write_class_report([], load_spec(), out).read_text(encoding="utf-8")
    assert '<a href="../similarity/index.html">' in html and "5 flagged pair(s)" in html
    bare = write_class_report([], load_spec(), tmp_path / "other").read_text(encoding="utf-8")
    assert "similarity/index.html" not in bare
