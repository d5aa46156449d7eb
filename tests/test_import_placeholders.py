"""Imports the grader does not provide cost nothing unless a graded function uses them.

End to end through ``grade_submission`` and the real sandbox: a correct ``nn.py`` with a stray
import scores 100; a graded function that really uses a missing module loses that part, with
feedback naming the module, read from the source, on public and hidden cases alike, and never the
student's own text on hidden ones. Then the static reading itself (``autograder.imports``), and
the red team: placeholders abused to smuggle data or reach the grader.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from autograder.cases import HIDDEN, PUBLIC, build_cases, resolve_secret
from autograder.grading import grade_submission
from autograder.imports import import_facts, missing_module_message, runtime_module_exists
from autograder.spec import RuntimeSpec, SpecError, import_name, load_spec

ROOT = Path(__file__).resolve().parents[1]
CORRECT = (ROOT / "examples" / "submissions" / "correct.py").read_text()
SPEC = load_spec()
PROVIDED = SPEC.runtime.modules


def _grade(tmp_path: Path, source: str, student_id: str = "alice", lang: str = "en"):
    path = tmp_path / "nn.py"
    path.write_text(source)
    return grade_submission(path, student_id=student_id, secret=b"k", lang=lang)


def _with(source: str, function: str, body: str) -> str:
    """The correct submission with ``function`` replaced by ``body`` (a whole def)."""
    pattern = re.compile(rf"^def {function}\(.*?(?=^def |\Z)", re.S | re.M)
    assert pattern.search(source), function
    return pattern.sub(body.strip() + "\n\n\n", source, count=1)


def _part(report, part_id):
    return next(p for p in report.parts if p.part == part_id)


# --------------------------------------------------------------------------- messy but correct

TORCH_NET = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(400, 25)
        self.out = nn.Linear(25, 10)

    def forward(self, x):
        return torch.sigmoid(self.out(torch.sigmoid(self.hidden(x))))
"""

PLOT_HELPER = """
def plotCost(J_history):
    plt.figure()
    plt.plot(J_history)
    plt.xlabel("iteration")
    plt.show()
"""

TQDM_DESCENT = """
def gradientDescent(costFunction, initial_params, alpha, num_iters):
    params = np.array(initial_params, dtype=float)
    J_history = np.zeros(num_iters)
    for i in tqdm(range(num_iters), desc="training"):
        J_history[i], grad = costFunction(params)
        params = params - alpha * grad
    return params, J_history
"""

# matplotlib looks IPython up in sys.modules when it makes a figure: the placeholder must look
# absent to it, not raise.
PLOTTING_DESCENT = """
def gradientDescent(costFunction, initial_params, alpha, num_iters):
    params = np.array(initial_params, dtype=float)
    J_history = np.zeros(num_iters)
    for i in range(num_iters):
        J_history[i], grad = costFunction(params)
        params = params - alpha * grad
    fig = plt.figure()
    plt.plot(J_history)
    plt.close(fig)
    return params, J_history
"""

ANNOTATED_DELTA = """
def squaredErrorDelta(a_out: pd.DataFrame | np.ndarray, Y: pd.DataFrame | None = None) -> pd.Series:
    return (a_out - Y) * a_out * (1 - a_out)
"""

# The student's own fallback for a missing package must run: no placeholder for a guarded import.
FALLBACK = """
try:
    import cupy as xp
except ImportError:
    import numpy as xp


def sigmoid(z):
    return 1.0 / (1.0 + xp.exp(-xp.asarray(z, dtype=float)))
"""

MESSY_CORRECT = {
    "unused import pandas": "import pandas as pd\n" + CORRECT,
    "unused import torch": "import torch\n" + CORRECT,
    "torch.nn and a class Net(nn.Module) never instantiated": CORRECT + TORCH_NET,
    "matplotlib.pyplot with an ungraded plotting helper": (
        "import matplotlib.pyplot as plt\n" + CORRECT + PLOT_HELPER
    ),
    "tqdm in the graded training loop (provided, so it runs)": (
        "from tqdm import tqdm\n" + _with(CORRECT, "gradientDescent", TQDM_DESCENT)
    ),
    "unused from sklearn.datasets import load_digits": (
        "from sklearn.datasets import load_digits\n" + CORRECT
    ),
    "the released handout's own imports": (
        "import os\nfrom collections.abc import Callable\nimport matplotlib.pyplot as plt\n"
        "from scipy.optimize import minimize\nfrom sklearn.datasets import load_digits\n" + CORRECT
    ),
    "a missing decorator on an ungraded helper": (
        "import numba\n" + CORRECT + "\n@numba.jit\ndef fast_sum(x):\n    return x.sum()\n"
    ),
    "IPython imported, a graded function draws a figure": (
        "from IPython.display import display\nimport matplotlib.pyplot as plt\n"
        + _with(CORRECT, "gradientDescent", PLOTTING_DESCENT)
    ),
    "annotations naming a missing module": (
        "import pandas as pd\n" + _with(CORRECT, "squaredErrorDelta", ANNOTATED_DELTA)
    ),
    "a fallback for a missing package": _with(CORRECT, "sigmoid", FALLBACK),
    "a wildcard import of a missing module": "from pylab_extras import *\n" + CORRECT,
}


@pytest.mark.parametrize("source", MESSY_CORRECT.values(), ids=MESSY_CORRECT.keys())
def test_a_stray_import_costs_nothing(tmp_path, source):
    report = _grade(tmp_path, source)
    failed = {c.case_id: c.message for p in report.parts for c in p.cases if not c.passed}
    assert (report.score, report.error, failed) == (100, None, {})


# --------------------------------------------------------------------------- really used

# (graded function replaced, its new body, the module the feedback must name). Each replaced
# function is graded by one part only and called by no other graded function.
USES_MISSING = {
    "pandas.DataFrame in the body": (
        "squaredErrorDelta",
        "import pandas as pd\n\n\ndef squaredErrorDelta(a_out, Y):\n"
        "    return pd.DataFrame((a_out - Y) * a_out * (1 - a_out)).values\n",
        "pandas",
    ),
    "an import inside the function": (
        "squaredErrorDelta",
        "def squaredErrorDelta(a_out, Y):\n    import torch\n"
        "    return torch.as_tensor((a_out - Y) * a_out * (1 - a_out)).numpy()\n",
        "torch",
    ),
    "through a module-level helper": (
        "squaredErrorDelta",
        "import jax.numpy as jnp\n\n\ndef _delta(a, y):\n    return jnp.asarray((a - y) * a * (1 - a))\n\n\n"
        "def squaredErrorDelta(a_out, Y):\n    return _delta(a_out, Y)\n",
        "jax",
    ),
    "a subclass of torch.nn.Module instantiated": (
        "randInitializeWeights",
        "import torch.nn as nn\n\n\nclass Init(nn.Module):\n    pass\n\n\n"
        "def randInitializeWeights(L_in, L_out, epsilon_init=0.12):\n    Init()\n"
        "    return np.random.rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init\n",
        "torch",
    ),
    "a missing decorator on the graded function": (
        "squaredErrorDelta",
        "import numba\n\n\n@numba.jit\ndef squaredErrorDelta(a_out, Y):\n"
        "    return (a_out - Y) * a_out * (1 - a_out)\n",
        "numba",
    ),
    "a name bound at module level from a missing module": (
        "squaredErrorDelta",
        "import polars\n\nFrame = polars.DataFrame\n\n\ndef squaredErrorDelta(a_out, Y):\n"
        "    return Frame((a_out - Y) * a_out * (1 - a_out))\n",
        "polars",
    ),
    "a misspelt submodule of a provided package": (
        "gradientDescent",
        "def gradientDescent(costFunction, initial_params, alpha, num_iters):\n"
        "    from scipy.optimise import minimize\n"
        "    return minimize(costFunction, initial_params), np.zeros(num_iters)\n",
        "scipy.optimise",
    ),
}

# The parts that lose their points when a function breaks: its own, and those whose graded
# function calls it in the correct submission (squaredErrorCostFunction calls squaredErrorDelta).
# Part ids are the function names here.
LOST_PARTS = {
    "squaredErrorDelta": ("squaredErrorDelta", "squaredErrorCostFunction"),
    "randInitializeWeights": ("randInitializeWeights",),
    "gradientDescent": ("gradientDescent",),
}


@pytest.mark.parametrize("function, body, module", USES_MISSING.values(), ids=USES_MISSING.keys())
def test_a_graded_function_using_a_missing_module_loses_its_parts_only(
    tmp_path, function, body, module
):
    report = _grade(tmp_path, _with(CORRECT, function, body))
    lost = [_part(report, part) for part in LOST_PARTS[function]]
    assert [p.score for p in lost] == [0] * len(lost)
    assert report.score == 100 - sum(p.points for p in lost), report
    for part in lost:
        assert {c.visibility for c in part.cases} == {PUBLIC, HIDDEN}
        for case in part.cases:
            assert case.category == "exception" and "ModuleNotFoundError" in case.message
            assert f"{part.part}() uses {module}," in case.message, case.message
            assert "numpy, scipy, matplotlib, tqdm, sklearn" in case.message
            if case.visibility == HIDDEN:
                # The child's own text ("... your code used pandas.DataFrame ...") never shows.
                assert "Details" not in case.message and "your code used" not in case.message


def test_public_cases_add_the_childs_own_words(tmp_path):
    function, body, _ = USES_MISSING["pandas.DataFrame in the body"]
    report = _grade(tmp_path, _with(CORRECT, function, body))
    public = [c for c in _part(report, "squaredErrorDelta").cases if c.visibility == PUBLIC]
    assert public and all("your code used pandas.DataFrame" in c.message for c in public)


def test_the_message_is_in_the_students_language(tmp_path):
    function, body, _ = USES_MISSING["an import inside the function"]
    report = _grade(tmp_path, _with(CORRECT, function, body), lang="zh")
    case = next(c for c in _part(report, "squaredErrorDelta").cases if c.visibility == HIDDEN)
    assert case.message.startswith(
        "抛出了 ModuleNotFoundError 异常：squaredErrorDelta() 用到了 torch"
    )


@pytest.mark.parametrize("uses_pandas", [False, True], ids=["unused", "used by a graded function"])
def test_notebooks_get_the_same_placeholders(tmp_path, uses_pandas):
    """The notebook policy wraps kept imports in ``try/except ImportError: pass``: that is no
    fallback, so pandas still binds a placeholder (not a NameError later)."""
    import nbformat

    function, body, _ = USES_MISSING["pandas.DataFrame in the body"]
    code = _with(CORRECT, function, body) if uses_pandas else "import pandas as pd\n" + CORRECT
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell("pd.DataFrame()")]
    path = tmp_path / "backprop.ipynb"
    path.write_text(nbformat.writes(nb))
    report = grade_submission(path, student_id="nb", secret=b"k")
    if not uses_pandas:
        assert (report.score, report.error) == (100, None)
        return
    lost = _part(report, "squaredErrorDelta")
    assert lost.score == 0 and all(
        "squaredErrorDelta() uses pandas," in c.message for c in lost.cases
    )


@pytest.mark.skipif(
    importlib.util.find_spec("pandas") is None, reason="needs pandas installed for the grader"
)
@pytest.mark.parametrize("uses_pandas", [False, True], ids=["unused", "used by a graded function"])
def test_the_local_self_check_agrees_with_the_grader(tmp_path, uses_pandas):
    """Where no sandbox exists the self-check runs the student's own interpreter, which has pandas
    here: it must not import it for real, or it would pass what the grader fails."""
    function, body, _ = USES_MISSING["pandas.DataFrame in the body"]
    path = tmp_path / "nn.py"
    path.write_text(_with(CORRECT, function, body) if uses_pandas else "import pandas\n" + CORRECT)
    kw = {"student_id": "alice", "secret": b"k", "visibility": (PUBLIC,)}
    local = grade_submission(path, tier="local", **kw)
    sandboxed = grade_submission(path, **kw)
    assert local.tier == "local" and sandboxed.tier != "local"
    assert [(p.part, p.score) for p in local.parts] == [(p.part, p.score) for p in sandboxed.parts]
    assert local.score == (100 - 15 if uses_pandas else 100)


def test_a_module_used_at_import_is_named_and_the_definitions_still_graded(tmp_path):
    report = _grade(tmp_path, "import pandas as pd\nFRAME = pd.DataFrame()\n" + CORRECT)
    assert (report.score, report.error) == (100, None)
    (warning,) = [w for w in report.warnings if "top-level code" in w]
    assert "No module named 'pandas'" in warning and "pandas.DataFrame" in warning


# --------------------------------------------------------------------------- red team

SMUGGLE = {
    "hidden inputs in a dynamically imported module name": (
        "def squaredErrorDelta(a_out, Y):\n    import importlib\n"
        "    name = 'LEAK_' + '_'.join(f'{v:.4f}' for v in np.ravel(a_out)[:4]).replace('.', 'p')\n"
        "    return importlib.import_module(name).run()\n"
    ),
    "hidden inputs in a placeholder attribute": (
        "import pandas as pd\n\n\ndef squaredErrorDelta(a_out, Y):\n"
        "    return getattr(pd, 'LEAK ' + ' '.join(f'{v:.4f}' for v in np.ravel(a_out)[:4]))()\n"
    ),
    "the worker's list of provided modules rewritten through a placeholder": (
        "import pandas as pd\n\n\ndef squaredErrorDelta(a_out, Y):\n"
        "    g = type(pd.DataFrame).__call__.__globals__\n"
        "    g['PLACEHOLDERS']['provided'] = ('LEAK',) + tuple(f'{v:.4f}' for v in np.ravel(a_out)[:4])\n"
        "    return pd.DataFrame(a_out)\n"
    ),
    "a hand-raised ModuleNotFoundError": (
        "def squaredErrorDelta(a_out, Y):\n"
        "    raise ModuleNotFoundError('LEAK ' + ' '.join(f'{v:.4f}' for v in np.ravel(a_out)[:4]),"
        " name='LEAK')\n"
    ),
    "a returned placeholder whose name carries data": (
        "import pandas as pd\n\n\ndef squaredErrorDelta(a_out, Y):\n"
        "    return getattr(pd, 'LEAK_' + str(int(np.ravel(a_out)[0] * 1e4)))\n"
    ),
}


@pytest.mark.parametrize("body", SMUGGLE.values(), ids=SMUGGLE.keys())
def test_a_placeholder_cannot_carry_hidden_inputs_into_feedback(tmp_path, body):
    report = _grade(tmp_path, _with(CORRECT, "squaredErrorDelta", body))
    attacked = [_part(report, part) for part in LOST_PARTS["squaredErrorDelta"]]
    assert report.score == 100 - sum(p.points for p in attacked)
    hidden = [c for p in attacked for c in p.cases if c.visibility == HIDDEN]
    text = " ".join(c.message + c.label for c in hidden)
    assert "ModuleNotFoundError" in text and "LEAK" not in text
    secret, _ = resolve_secret(b"k")
    cases = build_cases(SPEC, secret=secret, student_id="alice", visibility=(HIDDEN,))
    for case in (c for c in cases if c.part in LOST_PARTS["squaredErrorDelta"]):
        for value in np.ravel(case.args[0])[:4]:
            assert f"{value:.4f}" not in text and str(int(value * 1e4)) not in text


def test_the_grader_cannot_be_imported_even_as_a_placeholder(tmp_path):
    body = (
        "def squaredErrorDelta(a_out, Y):\n    import bpnet_ref\n"
        "    return (a_out - Y) * a_out * (1 - a_out)\n"
    )
    part = _part(_grade(tmp_path, _with(CORRECT, "squaredErrorDelta", body)), "squaredErrorDelta")
    assert part.score == 0
    assert all("squaredErrorDelta() uses bpnet_ref" in c.message for c in part.cases)


# --------------------------------------------------------------------------- reading the source

FACTS = [
    # (source, function, modules it uses)
    ("import pandas as pd\ndef f():\n    return pd.DataFrame()\n", "f", ("pandas",)),
    ("import pandas as pd\ndef f():\n    return 1\n", "f", ()),
    ("import torch.nn as nn\nclass N(nn.Module):\n    pass\ndef f():\n    return N()\n", "f",
     ("torch",)),
    ("from tqdm import tqdm\nimport numpy as np\ndef f():\n    return tqdm(np.zeros(2))\n", "f", ()),
    ("def g():\n    import jax\ndef f():\n    return g()\n", "f", ("jax",)),
    ("import a_pkg\nX = a_pkg.x\nY = X\ndef f():\n    return Y\n", "f", ("a_pkg",)),
    ("try:\n    import cupy as xp\nexcept ImportError:\n    import numpy as xp\n"
     "def f():\n    return xp.zeros(1)\n", "f", ()),
    ("try:\n    import cupy as xp\nexcept ImportError:\n    pass\ndef f():\n    return xp.zeros(1)\n",
     "f", ("cupy",)),
    ("import importlib\ndef f():\n    return importlib.import_module('pandas')\n", "f",
     ("pandas",)),
    ("from . import helper\ndef f():\n    return helper.x\n", "f", ()),
    ("import os, collections.abc, math\ndef f():\n    return os.sep\n", "f", ()),
    ("import bpnet_ref\ndef f():\n    return bpnet_ref.sigmoid\n", "f", ("bpnet_ref",)),
    ("import utils\ndef f():\n    return utils.g()\n", "f", ("utils",)),
    ("def f(:\n", "f", ()),
]  # fmt: skip


@pytest.mark.parametrize("source, function, modules", FACTS)
def test_import_facts(source, function, modules):
    assert import_facts(source, PROVIDED).used_by(function) == modules


def test_a_submissions_own_modules_are_never_reported():
    facts = import_facts(
        "import utils\ndef f():\n    return utils.g()\n", PROVIDED, local=["utils"]
    )
    assert (facts.missing, facts.used_by("f")) == ((), ())


def test_missing_submodules_of_provided_packages_are_found_in_the_runtime(tmp_path):
    package = tmp_path / "scipy"
    (package / "optimize").mkdir(parents=True)
    (package / "special.py").write_text("")
    exists = runtime_module_exists([str(package)])
    source = (
        "import scipy.optimize, scipy.special\nfrom scipy.optimise import minimize\n"
        "def f():\n    return minimize\n"
    )
    facts = import_facts(source, PROVIDED, exists=exists)
    assert (facts.missing, facts.used_by("f")) == (("scipy.optimise",), ("scipy.optimise",))


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import pandas\ndef f():\n    pandas.x()\n", "f() uses pandas, which"),
        ("import pandas\ndef g():\n    pandas.x()\ndef f():\n    return 1\n", "imports pandas"),
        ("def f():\n    return 1\n", "uses a module the grader does not provide"),
    ],
)
def test_the_message_names_what_the_source_shows(source, expected):
    text = missing_module_message(import_facts(source, PROVIDED), "f", "en")
    assert expected in text and "it provides numpy, scipy" in text


# --------------------------------------------------------------------------- the spec


def test_the_default_runtime_covers_the_handout():
    """What the released handout imports (nn.py and the notebook) is provided, plus tqdm."""
    handout = ROOT / "assignments" / "backprop" / "en"
    sources = [(handout / "nn.py").read_text()]
    notebook = json.loads((handout / "backprop.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            text = "".join(cell["source"])
            sources.append("\n".join(line for line in text.splitlines() if "import" in line))
    imported = import_facts("\n".join(s.strip() for s in sources), PROVIDED)
    assert set(imported.missing) <= {"check"}  # the notebook's own check.py, beside it
    assert {"matplotlib", "scipy", "sklearn"} <= {
        name.partition(".")[0]
        for name in re.findall(r"(?:from|import) ([\w.]+)", "\n".join(sources))
    }
    assert {"numpy", "scipy", "matplotlib", "sklearn", "tqdm"} <= set(PROVIDED)


def _spec_with_runtime(tmp_path: Path, runtime_toml: str) -> Path:
    text = (ROOT / "autograder" / "homeworks" / "backprop" / "spec.toml").read_text()
    text = re.sub(r"^\[runtime\]\n(?:[^\[\n].*\n)*", runtime_toml, text, flags=re.M)
    path = tmp_path / "spec.toml"
    path.write_text(text)
    support = ROOT / "autograder" / "homeworks" / "backprop" / "support.py"  # named beside it
    (tmp_path / "support.py").write_bytes(support.read_bytes())
    return path


def test_a_runtime_table_is_read_with_numpy_and_scipy_always_added(tmp_path):
    spec = load_spec(
        _spec_with_runtime(tmp_path, '[runtime]\npackages = ["scikit-learn>=1.3", "tqdm"]\n')
    )
    assert spec.runtime.packages == ("numpy>=1.26", "scipy>=1.11", "scikit-learn>=1.3", "tqdm")
    assert spec.runtime.modules == ("numpy", "scipy", "sklearn", "tqdm")
    assert RuntimeSpec().modules == ("numpy", "scipy")  # a spec without [runtime]
    assert [import_name(p) for p in ("Pillow", "python-dateutil", "PyYAML")] == [
        "PIL",
        "dateutil",
        "yaml",
    ]


@pytest.mark.parametrize(
    "runtime_toml, error",
    [
        ('packages = ["pandas @ https://example.invalid/x.whl"]', "plain pip requirement"),
        ('packages = ["tqdm"]\nenv = { lower = "x" }', "env"),
        ('packages = ["tqdm"]\nextra = 1', "packages, modules and env only"),
        ('modules = ["not a module"]', "not a module name"),
        ('packages = "numpy"', "lists of strings"),
    ],
)
def test_a_bad_runtime_table_is_refused(tmp_path, runtime_toml, error):
    with pytest.raises(SpecError, match=error):
        load_spec(_spec_with_runtime(tmp_path, "[runtime]\n" + runtime_toml + "\n"))


# The parent names a missing module from the source; nothing in the source may steer the grader's
# own file-system look-ups (found by review: ``import_module("numpy./etc")`` was an existence
# oracle, and a NUL in the name crashed the grader).
@pytest.mark.parametrize(
    "name", ["numpy./etc", "numpy./root", "numpy./proc/x\x00/y", "numpy..", "numpy.a/b", "numpy."]
)
def test_runtime_lookups_take_module_names_only(name):
    from autograder.imports import runtime_module_exists

    exists = runtime_module_exists([os.path.dirname(np.__file__)])
    assert exists(name) is True  # not a module name: nothing is looked up, nothing reported


@pytest.mark.parametrize("name", ["numpy./etc", "numpy./proc/x\\x00/y", "../x", "a b"])
def test_dynamic_imports_of_non_module_names_are_ignored(name):
    from autograder.imports import import_facts

    source = f"import importlib\nif False:\n    importlib.import_module({name!r})\n"
    assert import_facts(source, ["numpy"]).missing == ()


def test_a_huge_source_is_not_parsed_by_the_grader_to_name_a_module():
    from autograder.imports import import_facts

    source = "import pandas\n" + "a = 1\n" * 400_000
    assert import_facts(source, ["numpy"]).missing == ()  # the generic message instead
