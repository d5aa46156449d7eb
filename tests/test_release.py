"""The homework release: solutions/backprop/backprop.py -> assignments/backprop/{en,zh}/.

Read as a specification:
* the committed release is exactly what ``bpgrade release`` builds (no drift), in both languages;
* it holds no solution code and no hidden cases;
* solution markers are validated (unbalanced, nested, malformed -> a clear MarkerError);
* the notebook is valid nbformat v4 with stable ids and our metadata under ``metadata["backprop"]``;
* the solution module is standalone and agrees with bpnet_ref on random inputs;
* every stub raises NotImplementedError;
* the released notebook, with the solution filled in, runs through a real Jupyter kernel;
* graded end to end: the solution scores full marks, the stubs score 0 with "not implemented".
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import io
import os
import re
import sys
import tokenize
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

import autograder
import bpnet_ref as ref
from autograder.release import (
    LANGS,
    MarkerError,
    SourceError,
    build_release,
    diff_release,
    load_homework,
    markers,
    write_release,
)
from autograder.release.source import parse_source, read_source

HOMEWORK, SPEC = load_homework("backprop")
ROOT = Path(autograder.__file__).resolve().parents[1]
PART_IDS = [p.id for p in SPEC.parts]
FUNCTIONS = sorted({p.function for p in SPEC.parts})
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def student_files() -> dict[str, str]:
    return build_release(HOMEWORK.source, SPEC)


@pytest.fixture(scope="module")
def solution_files() -> dict[str, str]:
    return build_release(HOMEWORK.source, SPEC, solution=True)


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sol(tmp_path_factory, solution_files):
    """The solution module (en/nn.py of the instructor build), imported from a temp file."""
    path = tmp_path_factory.mktemp("solution") / "nn.py"
    path.write_text(solution_files["en/nn.py"], encoding="utf-8")
    return _import(path, "bpgrade_solution_nn")


@pytest.fixture(scope="module")
def stub(tmp_path_factory, student_files):
    path = tmp_path_factory.mktemp("stub") / "nn.py"
    path.write_text(student_files["en/nn.py"], encoding="utf-8")
    return _import(path, "bpgrade_stub_nn")


# ---------------------------------------------------------------------------------------------
# The release as files
# ---------------------------------------------------------------------------------------------


def test_committed_release_has_not_drifted(student_files):
    """assignments/backprop/ must be regenerated (`bpgrade release`) whenever the source changes."""
    assert diff_release(student_files, HOMEWORK.out) == []


def test_release_command_writes_checks_and_detects_drift(tmp_path):
    from autograder.commands import release

    parser = argparse.ArgumentParser()
    release.add_parser(parser.add_subparsers())

    def run(*argv: str) -> int:
        args = parser.parse_args(["release", *argv])
        return args.func(args)

    assert run("--out", str(tmp_path)) == 0
    assert run("--out", str(tmp_path), "--check") == 0
    (tmp_path / "zh" / "nn.py").write_text("# edited by hand\n", encoding="utf-8")
    (tmp_path / "en" / "stray.py").write_text("", encoding="utf-8")
    assert run("--out", str(tmp_path), "--check") == 1
    assert run("--out", str(tmp_path)) == 0  # rewrites nn.py and removes the stray file
    assert not (tmp_path / "en" / "stray.py").exists()
    assert run("--out", str(tmp_path), "--check") == 0
    assert run("--solution") == 2  # never written to assignments/ by default


def test_release_is_deterministic():
    assert build_release(HOMEWORK.source, SPEC) == build_release(HOMEWORK.source, SPEC)


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_has_its_own_folder(student_files, lang):
    expected = {
        f"{lang}/{name}"
        for name in ("nn.py", "backprop.ipynb", "check.py", "submit.py", "README.md")
    }
    assert expected <= set(student_files)
    assert f'LANG = "{lang}"' in student_files[f"{lang}/check.py"].replace("'", '"')


@pytest.mark.parametrize("lang", LANGS)
def test_single_language_release(lang):
    files = build_release(HOMEWORK.source, SPEC, [lang])
    assert {Path(rel).parts[0] for rel in files} == {lang}


@pytest.mark.parametrize("lang", LANGS)
def test_handout_is_in_its_language(student_files, lang):
    nb = nbformat.reads(student_files[f"{lang}/backprop.ipynb"], as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    with_cjk = [bool(CJK.search(text)) for text in markdown]
    if lang == "zh":
        assert sum(with_cjk) >= 0.9 * len(markdown)
        assert CJK.search(student_files["zh/README.md"])
    else:
        assert not any(with_cjk)
        assert not CJK.search(student_files["en/README.md"])
    assert nb.metadata["backprop"] == {"homework": "backprop", "lang": lang, "variant": "student"}


# Slide-deck cross-references and English asides copied from the lecture: they mean nothing in a
# notebook ("see the next page") or are half-translated.
SLIDE_LEFTOVERS = [
    ("zh", "求导见下一页"),
    ("zh", "求导见下下页"),
    ("zh", "下一页"),
    ("zh", "（add "),
    ("zh", "(add $a_0"),
    ("en", "next page"),
    ("en", "next slide"),
]


@pytest.mark.parametrize("lang, phrase", SLIDE_LEFTOVERS)
def test_handout_has_no_slide_leftovers(student_files, lang, phrase):
    nb = nbformat.reads(student_files[f"{lang}/backprop.ipynb"], as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert phrase not in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("variant", ["student", "solution"])
def test_notebook_is_valid_nbformat_v4(student_files, solution_files, lang, variant):
    files = student_files if variant == "student" else solution_files
    nb = nbformat.reads(files[f"{lang}/backprop.ipynb"], as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    for cell in nb.cells:
        assert "backprop" in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("part", PART_IDS)
def test_every_part_has_a_check_cell_and_states_its_points(student_files, lang, part):
    nb = nbformat.reads(student_files[f"{lang}/backprop.ipynb"], as_version=4)
    points = SPEC.part(part).points
    checks = [c for c in nb.cells if c.metadata["backprop"].get("role") == "check"]
    mine = [c for c in checks if c.metadata["backprop"]["part"] == part]
    assert len(mine) == 1
    assert mine[0].metadata["backprop"]["points"] == points
    assert f'check("{part}")' in mine[0].source
    heading = [
        c.source
        for c in nb.cells
        if c.cell_type == "markdown" and c.metadata["backprop"].get("part") == part
    ][0]
    assert f"{points:g}" in heading.splitlines()[0]
    readme = student_files[f"{lang}/README.md"]
    assert re.search(rf"\| `{part}` \|.*\| {points:g} \|", readme)


@pytest.mark.parametrize("lang", LANGS)
def test_handout_total_is_the_spec_total(student_files, lang):
    assert f"**{SPEC.max_score:g}**" in student_files[f"{lang}/README.md"]


@pytest.mark.parametrize("lang", LANGS)
def test_module_cells_name_the_parts_they_define(student_files, lang):
    nb = nbformat.reads(student_files[f"{lang}/backprop.ipynb"], as_version=4)
    covered = {
        p
        for c in nb.cells
        if c.metadata["backprop"].get("role") == "module"
        for p in c.metadata["backprop"]["parts"]
    }
    assert covered == set(PART_IDS)


# ---------------------------------------------------------------------------------------------
# No solution and no hidden case in the release
# ---------------------------------------------------------------------------------------------


def _solution_lines() -> list[str]:
    lines = []
    for cell in read_source(HOMEWORK.source):
        if cell.kind == "code":
            lines += [ln.strip() for ln in markers.solution_text(cell.text)]
    return [ln for ln in lines if len(ln) >= 8 and not ln.startswith("#")]


def _names(code: str) -> set[str]:
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return {t.string for t in tokens if t.type == tokenize.NAME}


def _solution_only_names() -> set[str]:
    """Identifiers used inside solution regions and nowhere else in the source."""
    inside, outside = set(), set()
    for cell in read_source(HOMEWORK.source):
        if cell.kind != "code":
            outside |= set(re.findall(r"\w+", cell.text))
            continue
        solution = "\n".join(markers.solution_text(cell.text))
        inside |= _names(solution)
        stub = markers.strip_solutions(cell.text, "en")
        outside |= _names(stub)
    return inside - outside


def _released_code(files: dict[str, str], lang: str) -> str:
    nb = nbformat.reads(files[f"{lang}/backprop.ipynb"], as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    return "\n".join([files[f"{lang}/nn.py"], *cells])


def test_the_source_has_solution_regions_to_strip():
    assert len(_solution_lines()) > 40
    assert {"errstate", "a_list", "z_list", "grads"} <= _solution_only_names()


@pytest.mark.parametrize("lang", LANGS)
def test_no_solution_line_leaks(student_files, lang):
    code = _released_code(student_files, lang)
    leaked = [line for line in _solution_lines() if line in code]
    assert leaked == []


@pytest.mark.parametrize("lang", LANGS)
def test_no_solution_only_identifier_leaks(student_files, lang):
    names = _names(_released_code(student_files, lang))
    assert names & _solution_only_names() == set()


@pytest.mark.parametrize("lang", LANGS)
def test_no_markers_and_no_hidden_cases_in_the_release(student_files, lang):
    for rel, text in student_files.items():
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, rel
        for secret_word in ("homeworks.backprop.cases", "build_cases", "hidden_cases", "bpnet_ref"):
            assert secret_word not in text, (rel, secret_word)
    assert sorted(p.name for p in (HOMEWORK.out / lang).iterdir() if p.is_file()) == [
        "README.md",
        "backprop.ipynb",
        "check.py",
        "nn.py",
        "submit.py",
    ]


# ---------------------------------------------------------------------------------------------
# Markers and source format
# ---------------------------------------------------------------------------------------------

GOOD = """\
def f(x):
    y = 1
    ### BEGIN SOLUTION
    return x + y
    ### END SOLUTION


def g(x):
    ### BEGIN SOLUTION stub=pass
    x = x * 2
    ### END SOLUTION
    return x
"""


def test_strip_replaces_regions_with_stub_blocks():
    out = markers.strip_solutions(GOOD, "en")
    assert "return x + y" not in out and "x = x * 2" not in out
    assert "raise NotImplementedError('f: not implemented yet" in out
    assert "    pass" in out
    assert out.count(markers.START_LINE["en"]) == 2 and out.count(markers.END_LINE["en"]) == 2
    namespace: dict = {}
    exec(compile(out, "<stub>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="f: not implemented"):
        namespace["f"](1)
    assert namespace["g"](3) == 3  # stub=pass: the code after the region still runs


def test_keep_drops_only_the_marker_lines():
    out = markers.keep_solutions(GOOD)
    assert "BEGIN SOLUTION" not in out and "END SOLUTION" not in out
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["f"](1) == 2 and namespace["g"](3) == 6


@pytest.mark.parametrize(
    "code, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n### END SOLUTION\n", "without a matching"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION\n",
            "nested",
        ),
        ("def f():\n    ### BEGIN SOLUTION\n    x = 1\n### END SOLUTION\n", "indented differently"),
        ("### BEGIN SOLUTION\n\n### END SOLUTION\n", "empty solution region"),
        ("# BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "malformed solution marker"),
        ("### BEGIN SOLUTION\nx = 1\n## END SOLUTION\n", "malformed solution marker"),
        ("### BEGIN SOLUTION stub=skip\nx = 1\n### END SOLUTION\n", "unknown marker option"),
    ],
    ids=[
        "unclosed",
        "end-only",
        "nested",
        "indent",
        "empty",
        "malformed-begin",
        "malformed-end",
        "option",
    ],
)
def test_bad_markers_are_clear_errors(code, message):
    with pytest.raises(MarkerError, match=message) as info:
        markers.find_regions(code, where="hw.py", first_line=10)
    assert re.search(r"hw\.py:1\d", str(info.value))  # names the file and line


def _source_with(extra: str) -> str:
    return HOMEWORK.source.read_text(encoding="utf-8") + "\n" + extra


@pytest.mark.parametrize(
    "extra, error, message",
    [
        ('# %% [markdown] lang="en"\n# ### BEGIN SOLUTION\n', MarkerError, "only allowed in code"),
        ('# %% role="check" part="sigmoid"\ncheck("sigmoid")\n', SourceError, "second check cell"),
        ('# %% role="check" part="nope"\ncheck("nope")\n', SourceError, "not in the spec"),
        ('# %% role="module"\n### BEGIN SOLUTION\nx = 1\n', MarkerError, "never closed"),
    ],
)
def test_source_errors_are_reported(tmp_path, extra, error, message):
    source = tmp_path / "backprop.py"
    source.write_text(_source_with(extra), encoding="utf-8")
    with pytest.raises(error, match=message):
        build_release(source, SPEC)


@pytest.mark.parametrize(
    "text, message",
    [
        ('# %% role="modul"\nx = 1\n', "role 'modul'"),
        ('# %% [markdown] lang="fr"\n# bonjour\n', "lang='fr'"),
        ('# %% role="check"\ncheck()\n', "needs part"),
        ("# %% colour=red\nx = 1\n", "unknown cell option"),
        ("# %% [markdown]\nnot a comment\n", "must start with '# '"),
        ("# %% [raw]\nx\n", "unknown cell kind"),
    ],
)
def test_malformed_cells_are_rejected(text, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        parse_source(text, where="hw.py")


def test_a_part_without_check_cell_is_rejected(tmp_path):
    text = HOMEWORK.source.read_text(encoding="utf-8").replace('check("predict")', "pass")
    text = text.replace('# %% role="check" part="predict"', '# %% role="notebook"')
    source = tmp_path / "backprop.py"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match="no check cell.*predict"):
        build_release(source, SPEC)


def test_write_release_leaves_hidden_files_alone(tmp_path, student_files):
    checkpoints = tmp_path / "en" / ".ipynb_checkpoints"
    checkpoints.mkdir(parents=True)
    (tmp_path / "en" / ".keep").write_text("")
    write_release(student_files, tmp_path)
    assert checkpoints.is_dir() and (tmp_path / "en" / ".keep").exists()
    assert diff_release(student_files, tmp_path) == []


# ---------------------------------------------------------------------------------------------
# The solution module is standalone and right (compared with bpnet_ref, in the tests only)
# ---------------------------------------------------------------------------------------------


def test_solution_module_is_standalone_numpy(solution_files):
    tree = ast.parse(solution_files["en/nn.py"])
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"numpy", "collections"}
    assert solution_files["en/nn.py"] == solution_files["zh/nn.py"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_solution_and_stub_define_the_api(sol, stub, function):
    import inspect

    assert callable(getattr(sol, function)) and callable(getattr(stub, function))
    assert inspect.signature(getattr(sol, function)) == inspect.signature(getattr(stub, function))
    signature = SPEC.part(next(p.id for p in SPEC.parts if p.function == function)).signature
    params = [p.strip().split("=")[0] for p in signature[signature.index("(") + 1 : -1].split(",")]
    assert list(inspect.signature(getattr(sol, function)).parameters) == params


RNG_SEEDS = [0, 1, 2, 3]


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_sigmoid_and_gradient(sol, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 5, size=(4, 3))
    z[0, :] = [-800.0, 800.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # large |z| must not warn (overflow in exp)
        np.testing.assert_allclose(sol.sigmoid(z), ref.sigmoid(z), rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        sol.sigmoidGradient(z), ref.sigmoid_gradient(z), rtol=1e-10, atol=1e-300
    )
    assert sol.sigmoid(0.0) == 0.5 and np.shape(sol.sigmoid(0.0)) == ()


def test_sigmoid_gradient_published_values(sol):
    got = sol.sigmoidGradient(np.array([-1, -0.5, 0, 0.5, 1]))
    np.testing.assert_allclose(
        got, [0.1966119332, 0.2350037122, 0.25, 0.2350037122, 0.1966119332], atol=1e-10
    )


def test_rand_initialize_weights(sol):
    np.random.seed(7)
    W = sol.randInitializeWeights(10, 5)
    np.random.seed(7)
    assert np.array_equal(W, sol.randInitializeWeights(10, 5))
    assert W.shape == (5, 11) and np.all(np.abs(W) <= 0.12)
    big = sol.randInitializeWeights(200, 100, epsilon_init=0.5)
    assert np.all(np.abs(big) <= 0.5) and abs(big.mean()) < 0.02 and big.std() > 0.25


def _net(rng, sizes, m, column=False):
    params = ref.unroll(
        [rng.normal(0, 1, size=(b, a + 1)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    )
    X = rng.normal(0, 1, size=(m, sizes[0]))
    y = rng.integers(0, sizes[-1], size=m)
    return params, X, (y.reshape(-1, 1) if column else y)


THREE_LAYER = [((3, 5, 3), 7, 0.0, False), ((2, 4, 4), 16, 1.5, True), ((6, 2, 2), 1, 3.0, False)]


@pytest.mark.parametrize("sizes, m, lam, column", THREE_LAYER)
def test_nn_cost_function_matches_reference(sol, sizes, m, lam, column):
    params, X, y = _net(np.random.default_rng(m), sizes, m, column)
    J, grad = sol.nnCostFunction(params, *sizes, X, y, lam)
    J_ref, grad_ref = ref.nn_cost_function(params, sizes, X, y, lam)
    assert isinstance(J, float)
    np.testing.assert_allclose(J, J_ref, rtol=1e-10)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-12)
    assert grad.shape == params.shape


@pytest.mark.parametrize("lam, J_expected", [(0.0, 7.40696985607), (4.0, 19.4736365227)])
def test_nn_cost_function_on_the_mosher_forum_case(sol, lam, J_expected):
    Theta1 = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
    Theta2 = np.array([[0.7, 1.1, 1.5], [0.8, 1.2, 1.6], [0.9, 1.3, 1.7], [1.0, 1.4, 1.8]])
    X = np.cos(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    y = np.array([3, 1, 2])  # Octave's [4; 2; 3], 0-based
    J, _ = sol.nnCostFunction(ref.unroll([Theta1, Theta2]), 2, 2, 4, X, y, lam)
    assert J == pytest.approx(J_expected, rel=1e-10)


@pytest.mark.parametrize("sizes", [(4, 3), (3, 5, 2), (3, 5, 4, 3), (2, 3, 3, 4, 2)])
@pytest.mark.parametrize("lam", [0.0, 1.2])
def test_deep_cost_function_matches_reference(sol, sizes, lam):
    params, X, y = _net(np.random.default_rng(len(sizes)), list(sizes), 6)
    J, grad = sol.nnCostFunctionDeep(params, list(sizes), X, y, lam)
    J_ref, grad_ref = ref.nn_cost_function(params, sizes, X, y, lam)
    np.testing.assert_allclose(J, J_ref, rtol=1e-10)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_squared_error_delta_matches_reference(sol, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.01, 0.99, size=(5, 3))
    Y = np.eye(3)[rng.integers(0, 3, size=5)]
    np.testing.assert_allclose(sol.squaredErrorDelta(a, Y), ref.output_delta(a, Y, "squared_error"))


@pytest.mark.parametrize("sizes", [(4, 3), (3, 5, 2), (3, 5, 4, 3)])
def test_squared_error_cost_matches_reference(sol, sizes):
    params, X, y = _net(np.random.default_rng(10 + len(sizes)), list(sizes), 5, column=True)
    E, grad = sol.squaredErrorCostFunction(params, list(sizes), X, y)
    E_ref, grad_ref = ref.nn_cost_function(params, sizes, X, y, 0.0, loss="squared_error")
    np.testing.assert_allclose(E, E_ref, rtol=1e-10)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("returns_tuple", [False, True])
def test_numerical_gradient_matches_reference(sol, returns_tuple):
    rng = np.random.default_rng(5)
    A = rng.normal(size=(6, 6))

    def J(t):
        cost = 0.5 * t @ A @ t + np.sum(np.sin(t))
        return (cost, None) if returns_tuple else cost

    theta = rng.normal(size=6)
    before = theta.copy()
    got = sol.computeNumericalGradient(J, theta)
    np.testing.assert_allclose(got, ref.numerical_gradient(J, theta), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, 0.5 * (A + A.T) @ theta + np.cos(theta), rtol=1e-6)
    assert np.array_equal(theta, before)
    e_big = sol.computeNumericalGradient(J, theta, e=1e-2)
    np.testing.assert_allclose(e_big, ref.numerical_gradient(J, theta, 1e-2), rtol=1e-9)


def test_numerical_gradient_checks_backprop(sol):
    params, X, y = _net(np.random.default_rng(3), [3, 5, 3], 5)
    _, grad = sol.nnCostFunction(params, 3, 5, 3, X, y, 1.0)
    num = sol.computeNumericalGradient(lambda p: sol.nnCostFunction(p, 3, 5, 3, X, y, 1.0), params)
    assert ref.relative_difference(num, grad) < 1e-9


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_predict_matches_reference(sol, seed):
    rng = np.random.default_rng(seed)
    params, X, _ = _net(rng, [4, 6, 5], 20)
    Theta1, Theta2 = ref.roll(params * 2.0, [4, 6, 5])
    got = sol.predict(Theta1, Theta2, X)
    assert got.shape == (20,) and np.issubdtype(got.dtype, np.integer)
    np.testing.assert_array_equal(got, ref.predict([Theta1, Theta2], X))


@pytest.mark.parametrize("num_iters", [0, 1, 25])
def test_gradient_descent_history_is_the_cost_before_each_step(sol, num_iters):
    params, X, y = _net(np.random.default_rng(9), [3, 4, 3], 8)

    def cost(p):
        return ref.nn_cost_function(p, (3, 4, 3), X, y, 0.5)

    before = params.copy()
    got, history = sol.gradientDescent(cost, params, 0.8, num_iters)
    assert np.array_equal(params, before)  # the caller's array is not modified
    expected, p = [], params.copy()
    for _ in range(num_iters):
        J, g = cost(p)
        expected.append(J)
        p = p - 0.8 * g
    assert history.shape == (num_iters,)
    np.testing.assert_allclose(history, expected, rtol=1e-12)
    np.testing.assert_allclose(got, p, rtol=1e-12)
    if num_iters > 1:
        assert history[-1] < history[0]


# ---------------------------------------------------------------------------------------------
# The stubs fail gracefully, part by part
# ---------------------------------------------------------------------------------------------


def _stub_calls():
    params, X, y = _net(np.random.default_rng(0), [2, 3, 2], 4)
    return {
        "sigmoid": lambda m: m.sigmoid(np.zeros(3)),
        "sigmoidGradient": lambda m: m.sigmoidGradient(np.zeros(3)),
        "randInitializeWeights": lambda m: m.randInitializeWeights(2, 3),
        "nnCostFunction": lambda m: m.nnCostFunction(params, 2, 3, 2, X, y, 0.0),
        "nnCostFunctionDeep": lambda m: m.nnCostFunctionDeep(params, [2, 3, 2], X, y),
        "squaredErrorDelta": lambda m: m.squaredErrorDelta(np.full((2, 2), 0.5), np.eye(2)),
        "squaredErrorCostFunction": lambda m: m.squaredErrorCostFunction(params, [2, 3, 2], X, y),
        "computeNumericalGradient": lambda m: m.computeNumericalGradient(np.sum, np.zeros(2)),
        "predict": lambda m: m.predict(*ref.roll(params, [2, 3, 2]), X),
        "gradientDescent": lambda m: m.gradientDescent(lambda p: (0.0, p), np.zeros(2), 0.1, 3),
    }


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_stub_raises_not_implemented(stub, sol, function):
    call = _stub_calls()[function]
    with pytest.raises(NotImplementedError, match=function):
        call(stub)
    call(sol)  # and the same call works on the solution


# ---------------------------------------------------------------------------------------------
# The released notebook, solution filled in, through a real Jupyter kernel
# ---------------------------------------------------------------------------------------------


def _filled_notebook(student_files, solution_files, lang) -> nbformat.NotebookNode:
    """The released notebook with every cell the student edits replaced by the solution's."""
    nb = nbformat.reads(student_files[f"{lang}/backprop.ipynb"], as_version=4)
    solved = nbformat.reads(solution_files[f"{lang}/backprop.ipynb"], as_version=4)
    by_id = {c.id: c for c in solved.cells}
    for cell in nb.cells:
        if cell.metadata["backprop"].get("solution"):
            cell.source = by_id[cell.id].source
    return nb


@pytest.fixture(scope="module", params=LANGS)
def executed_notebook(request, tmp_path_factory, student_files, solution_files):
    nbclient = pytest.importorskip("nbclient")
    lang = request.param
    folder = tmp_path_factory.mktemp(f"notebook-{lang}")
    for name in ("check.py", "submit.py"):
        (folder / name).write_text(student_files[f"{lang}/{name}"], encoding="utf-8")
    nb = _filled_notebook(student_files, solution_files, lang)
    mp = pytest.MonkeyPatch()
    mp.setenv("BPGRADE_FAST", "1")  # short training loops; the kernel inherits the environment
    for name in ("BPGRADE_SERVER", "BPGRADE_TOKEN"):  # the submit cell must submit nowhere
        mp.delenv(name, raising=False)
    # check("part") in the kernel must grade with the autograder under test, not an installed one.
    mp.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    try:
        nbclient.NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        mp.undo()
    path = folder / "backprop.ipynb"
    nbformat.write(nb, path)
    return lang, nb, path


def _outputs_text(nb) -> str:
    return "\n".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )


def test_filled_notebook_runs_without_errors(executed_notebook):
    _, nb, _ = executed_notebook
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    text = _outputs_text(nb)
    assert "(CHECK!)" not in text and text.count("(ok)") == 2  # checkNNGradients at λ=0 and λ=3
    assert "conjugate gradient" in text and "test" in text
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 2  # the digits and the learning curves


def test_run_all_never_submits(executed_notebook):
    """The last cell imports submit() and holds the call commented out: the student submits on
    purpose (an attempt limit must not be spent by Run All), and the cell runs without error."""
    lang, nb, _ = executed_notebook
    last = nb.cells[-1]
    assert '# submit("backprop.ipynb")' in last.source
    assert "from submit import submit" in last.source
    assert [o for o in last.outputs if o.output_type in ("error", "stream")] == []


def _check_cell_outputs(nb) -> dict[str, str]:
    """What each ``check("part")`` cell printed, by part."""
    return {
        c.metadata["backprop"]["part"]: "".join(
            o.get("text", "") for o in c.outputs if o.output_type == "stream"
        )
        for c in nb.cells
        if c.metadata["backprop"].get("role") == "check"
    }


_ROW = re.compile(r"^([✓✗]) (\w+)\s+(\d+\.\d\d)/(\S+)\s+(\d+)/(\d+)$", re.M)
_TOTAL_WORD = {"en": "TOTAL", "zh": "总分"}
_HIDDEN_NOTE = {"en": "The final grade also uses hidden cases.", "zh": "最终成绩还会使用隐藏用例。"}


@pytest.mark.parametrize("part", PART_IDS)
def test_each_check_cell_passes_its_part_with_full_public_marks(executed_notebook, part):
    """check("part") grades the kernel's functions on that part's public cases only: one row,
    passed, every case passed, the part's full points, and the TOTAL equal to them."""
    lang, nb, _ = executed_notebook
    text = _check_cell_outputs(nb)[part]
    points = SPEC.part(part).points
    rows = _ROW.findall(text)
    assert len(rows) == 1, text
    mark, name, score, max_score, passed, cases = rows[0]
    assert (mark, name, score, max_score) == ("✓", part, f"{points:.2f}", f"{points:g}"), text
    assert passed == cases and int(cases) >= 1, text
    total = re.search(rf"^\s+{_TOTAL_WORD[lang]}\s+(\S+)/(\S+)$", text, re.M)
    assert total and total.groups() == (f"{points:.2f}", f"{points:g}"), text
    assert not re.search(r"^error:", text, re.M), text  # the module loaded
    assert text.rstrip().endswith(_HIDDEN_NOTE[lang]), text


# ---------------------------------------------------------------------------------------------
# End to end through the grader (needs the lead's autograder.grading.grade_submission)
# ---------------------------------------------------------------------------------------------


def _grade_submission():
    grading = pytest.importorskip("autograder.grading", reason="the grader core is not there yet")
    return grading.grade_submission


def test_solution_module_scores_full_marks(tmp_path, solution_files):
    grade = _grade_submission()
    path = tmp_path / "nn.py"
    path.write_text(solution_files["en/nn.py"], encoding="utf-8")
    report = grade(path, student_id="release-test")
    failed = [(c.case_id, c.message) for p in report.parts for c in p.cases if not c.passed]
    assert failed == [] and report.score == report.max_score == SPEC.max_score


def test_executed_solution_notebook_scores_full_marks(executed_notebook):
    grade = _grade_submission()
    lang, _, path = executed_notebook
    report = grade(path, student_id="release-test", lang=lang)
    failed = [(c.case_id, c.message) for p in report.parts for c in p.cases if not c.passed]
    assert failed == [] and report.score == SPEC.max_score


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["nn.py", "backprop.ipynb"])
def test_unmodified_stubs_score_zero_with_not_implemented(tmp_path, student_files, lang, name):
    grade = _grade_submission()
    path = tmp_path / name
    path.write_text(student_files[f"{lang}/{name}"], encoding="utf-8")
    report = grade(path, student_id="release-test", lang=lang)
    assert report.score == 0 and report.error is None
    categories = {c.category for p in report.parts for c in p.cases}
    assert categories == {"not_implemented"}


def test_check_script_prints_a_table_for_the_stubs(tmp_path, student_files):
    _grade_submission()
    import subprocess

    for rel in ("en/nn.py", "en/check.py"):
        (tmp_path / Path(rel).name).write_text(student_files[rel], encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the autograder under test, not an installed one
    done = subprocess.run(
        [sys.executable, "check.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "0.00/100" in done.stdout and "not implemented" in done.stdout
    assert all(part.id in done.stdout for part in SPEC.parts)


@pytest.mark.parametrize(("given", "seen"), [(None, "1"), ("4", "4")])
def test_check_script_runs_its_grader_with_one_blas_thread(
    tmp_path, student_files, monkeypatch, given, seen
):
    """As `bpgrade check` does: the student's own choice wins."""
    (tmp_path / "check.py").write_text(student_files["en/check.py"], encoding="utf-8")
    check = _import(tmp_path / "check.py", "released_check_blas")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    if given is not None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", given)
    found = {}

    def boot() -> None:
        found["threads"] = os.environ.get("OPENBLAS_NUM_THREADS")

    monkeypatch.setattr(check, "boot_sandbox", boot)
    monkeypatch.setattr(check, "grade_public", lambda *a, **k: None)
    assert check.main([str(tmp_path / "nn.py")]) == 2
    assert found["threads"] == seen
