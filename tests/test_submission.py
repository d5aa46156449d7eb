"""Turning files into source: what is accepted, what each broken input says, the notebook policy."""

import json

import nbformat
import pytest

from autograder.submission import SubmissionError, load_source, notebook_to_source


def _notebook(*cells: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb)


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("nn.py", b"", "empty"),
        ("nn.py", b"\x00\x01\x02binary", "binary"),
        ("nn.py", b"x = '\xff\xfe'", "UTF-8"),
        ("nn.ipynb", b"{not json", "not valid JSON"),
        ("nn.txt", b"print(1)", "unsupported file type"),
        ("nn.ipynb", json.dumps({"cells": "oops"}).encode(), "notebook"),
        ("nn.ipynb", json.dumps({"nbformat": 4, "cells": "oops"}).encode(), "not a list"),
        ("nn.ipynb", b"[1, 2]", "not an object"),
    ],
)
def test_broken_files_get_a_clear_message(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=fragment):
        load_source(path)


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "nn.py"
    with path.open("wb") as f:
        f.truncate(100 * 2**20)
    with pytest.raises(SubmissionError, match="MiB"):
        load_source(path)


@pytest.mark.parametrize("files, fragment", [([], "no .py"), (["a.py", "b.py"], "several")])
def test_folder_must_hold_one_candidate(tmp_path, files, fragment):
    for f in files:
        (tmp_path / f).write_text("x = 1\n")
    with pytest.raises(SubmissionError, match=fragment):
        load_source(tmp_path)


def test_folder_prefers_nn_py(tmp_path):
    (tmp_path / "helper.py").write_text("x = 1\n")
    (tmp_path / "nn.py").write_text("y = 2\n")
    assert load_source(tmp_path).code == "y = 2\n"


def test_notebook_keeps_definitions_and_drops_runs():
    text = _notebook(
        "import numpy as np\n%matplotlib inline\n!pip install foo",
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
        "input_layer_size = 400\nz = np.array([1.0, 2.0])",
        "for i in range(10**9):\n    pass",
        "theta = sigmoid(z)\nprint(theta)",
        "from scipy import optimize\nres = optimize.minimize(sigmoid, 0)",
        "%%time\ndef never(): pass",
    )
    code, warnings = notebook_to_source(text)
    namespace: dict = {}
    exec(code, namespace)
    assert callable(namespace["sigmoid"]) and namespace["input_layer_size"] == 400
    assert "range(10 ** 9)" not in code and "theta" not in code and "minimize" not in code
    assert "never" not in namespace and warnings == []


def test_notebook_cell_with_syntax_error_is_skipped_with_warning():
    code, warnings = notebook_to_source(_notebook("def f(:\n  pass", "def g():\n    return 1"))
    assert "def g" in code and warnings and "cell 1" in warnings[0]


def test_notebook_tolerates_missing_plotting_imports():
    code, _ = notebook_to_source(
        _notebook("import matplotlib_that_does_not_exist as plt\ndef f():\n    return 1")
    )
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["f"]() == 1


def test_notebook_assignment_reading_a_dropped_name_does_not_break_loading():
    text = _notebook(
        "from sklearn.datasets import load_digits\ndigits = load_digits()",
        "X, y = digits.data / 16.0, digits.target",
        "def f():\n    return 2",
    )
    code, _ = notebook_to_source(text)
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["f"]() == 2 and "X" not in namespace


def test_notebook_imports_used_only_by_dropped_cells_are_dropped():
    text = _notebook(
        "import numpy as np\nfrom scipy import optimize\nimport matplotlib.pyplot as plt",
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
        "res = optimize.minimize(sigmoid, 0)\nplt.plot([1, 2])",
    )
    code, _ = notebook_to_source(text)
    assert "import numpy as np" in code
    assert "optimize" not in code and "matplotlib" not in code


# --------------------------------------------------------------------------- conversion work caps

DEF = "def f():\n    return 1"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "nested more than 64 levels"),
        ('{"cells": [' + "[]," * 300_000 + "[]]}", "more than 250000 values"),
        ('{"cells": [' + "{}," * 300_000 + "{}]}", "more than 250000 values"),
        (_notebook(*["x = 1"] * 2_001), "more than 2000 code cells"),
    ],
    ids=["arrays deep", "objects deep", "arrays wide", "objects wide", "too many cells"],
)
def test_a_notebook_over_a_json_cap_is_refused_before_parsing(text, fragment):
    with pytest.raises(SubmissionError, match=fragment):
        notebook_to_source(text)


def test_brackets_inside_json_strings_do_not_count():
    text = '{"nbformat": 4, "cells": [], "x": "' + "[" * 100_000 + '\\"{"}'
    assert notebook_to_source(text) == ("\n", [])


@pytest.mark.parametrize(
    "cell, fragment",
    [
        ("a=1;" * (1 << 20), "code cell 1 is too large to read (4096 KiB"),
        ("a=1;" * 20_000, "code cell 1 is too large to read (80000 tokens"),
        ("x = " + "1+" * 900 + "1", "code cell 1 is nested too deeply"),  # unparse recursion
        ("x = " + "-" * 40_000 + "1", "code cell 1 is nested too deeply"),  # parser's own limit
        ("x = a" + "[0]" * 10_000, "code cell 1 is nested too deeply"),
        ("x = 1\0", "code cell 1 has a syntax error"),
    ],
    ids=["4 MiB of a=1;", "80,000 tokens", "deep sum", "unary chain", "subscripts", "NUL"],
)
def test_a_cell_over_a_cap_is_skipped_with_a_warning(cell, fragment):
    code, warnings = notebook_to_source(_notebook(cell, DEF))
    assert "def f" in code and any(fragment in w for w in warnings), warnings


def test_cells_past_the_notebooks_budget_are_skipped():
    code, warnings = notebook_to_source(_notebook(DEF, *["a=1;" * 12_000] * 10, "def g(): pass"))
    assert "def f" in code and "def g" not in code
    assert warnings == [
        "code cells from 6 on were skipped: the notebook holds more code than is graded "
        "(200000 in all)"
    ]


def test_a_bomb_costs_the_grader_little(tmp_path):
    import resource
    import time

    path = tmp_path / "nb.ipynb"
    path.write_text(_notebook("a=1;" * (1 << 20), *["a=1;" * 12_000] * 4, DEF))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    load_source(path)
    assert time.perf_counter() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 250 * 1024  # KiB


@pytest.mark.parametrize(
    "code",
    ["a=1;" * 20_000 + "\n" + DEF, "x = " + "1+" * 900 + "1\n" + DEF],
    ids=["too large", "too deep"],
)
def test_the_definitions_fallback_has_the_same_caps(code):
    from autograder.submission import module_definitions

    assert module_definitions(code) is None
    assert module_definitions(DEF + "\nraise SystemExit\n") == "# --- module ---\n" + DEF + "\n"


def test_messages_of_broken_notebooks_follow_the_language(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text("[" * 1000)
    with pytest.raises(SubmissionError, match="嵌套超过 64 层"):
        load_source(path, lang="zh")


# Imports are kept only where the graded functions reach them: an ungraded helper's heavy import
# (the handout's loadDigits() and scikit-learn: 0.6 s in the child) is not paid for.
HELPER = "from sklearn.datasets import load_digits\n\ndef loadDigits():\n    return load_digits()"
REACH = [
    # (cells, graded functions, import kept?)
    ((HELPER, "def sigmoid(z):\n    return z"), {"sigmoid"}, False),
    ((HELPER, "def sigmoid(z):\n    return loadDigits()"), {"sigmoid"}, True),
    ((HELPER, "SCALE = 2.0\ndef sigmoid(z):\n    return z * SCALE"), {"sigmoid"}, False),
    (
        (HELPER, "def f():\n    return loadDigits()\ndef sigmoid(z):\n    return f()"),
        {"sigmoid"},
        True,
    ),
    ((HELPER, "def sigmoid(z):\n    return z"), set(), True),  # graded functions unknown: keep
    (("from sklearn.datasets import load_digits as sigmoid",), {"sigmoid"}, True),
]


@pytest.mark.parametrize("cells, graded, kept", REACH)
def test_notebook_imports_follow_what_the_graded_functions_reach(cells, graded, kept):
    code, _ = notebook_to_source(_notebook(*cells), graded=graded)
    assert ("sklearn" in code) == kept, code


@pytest.mark.parametrize("cells, graded, kept", REACH)
def test_module_definitions_follow_the_same_reach(cells, graded, kept):
    from autograder.submission import module_definitions

    code = module_definitions("\n\n".join(cells) + "\nprint(1)\n", graded)
    assert ("sklearn" in code) == kept, code
