"""Seeded cases: reproducible per student, different between students, shared in public."""

import numpy as np
import pytest

from autograder.cases import HIDDEN, PUBLIC, build_cases, case_seed, resolve_secret
from autograder.spec import SpecError, load_spec

SPEC = load_spec()
SECRET = b"course-secret"


def _arrays(case):
    return [a for a in case.args if isinstance(a, np.ndarray)]


def _same_inputs(c1, c2) -> bool:
    a1, a2 = _arrays(c1), _arrays(c2)
    return len(a1) == len(a2) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a1, a2, strict=True)
    )


def test_spec_points_total_100():
    assert SPEC.max_score == 100


def test_regrade_reproduces_the_same_hidden_cases():
    first = build_cases(SPEC, secret=SECRET, student_id="alice", visibility=(HIDDEN,))
    again = build_cases(SPEC, secret=SECRET, student_id="alice", visibility=(HIDDEN,))
    assert all(_same_inputs(a, b) for a, b in zip(first, again, strict=True))


@pytest.mark.parametrize("other", [{"student_id": "bob"}, {"secret": b"another-course"}])
def test_hidden_cases_differ_by_student_and_secret(other):
    base = dict(secret=SECRET, student_id="alice")
    mine = build_cases(SPEC, visibility=(HIDDEN,), **base)
    theirs = build_cases(SPEC, visibility=(HIDDEN,), **{**base, **other})
    differing = [a.case_id for a, b in zip(mine, theirs, strict=True) if not _same_inputs(a, b)]
    assert len(differing) >= 0.8 * len(mine)


def test_public_cases_are_the_same_for_everyone():
    alice = build_cases(SPEC, secret=SECRET, student_id="alice", visibility=(PUBLIC,))
    bob = build_cases(SPEC, secret=b"x", student_id="bob", visibility=(PUBLIC,))
    assert all(_same_inputs(a, b) for a, b in zip(alice, bob, strict=True))


def test_public_and_hidden_seeds_are_separate():
    assert case_seed(SECRET, "backprop", "alice", "sigmoid", PUBLIC) != case_seed(
        SECRET, "backprop", "alice", "sigmoid", HIDDEN
    )


def test_every_part_has_public_and_hidden_cases():
    cases = build_cases(SPEC, secret=SECRET, student_id="alice")
    for part in SPEC.parts:
        mine = [c for c in cases if c.part == part.id]
        assert {c.visibility for c in mine} == {PUBLIC, HIDDEN}, part.id
        assert len(mine) == part.public_cases + part.hidden_cases


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_hidden_cases_always_include_the_edge_cases(student):
    cases = build_cases(SPEC, secret=SECRET, student_id=student, visibility=(HIDDEN,))
    nn = [c for c in cases if c.part == "nnCost"]
    assert any(c.context["X"].shape[0] == 1 for c in nn), "m = 1"
    assert any(c.context["layer_sizes"][-1] == 2 for c in nn), "K = 2"
    assert {c.context["lambda_"] == 0 for c in nn} == {True, False}, "λ = 0 and λ > 0"
    deep = [c for c in cases if c.part == "nnCostFunctionDeep"]
    assert any(len(c.context["layer_sizes"]) == 4 for c in deep), "the lecture's 4 layers"
    sig = [c for c in cases if c.part == "sigmoid"]
    assert any(np.max(np.abs(c.args[0])) > 30 for c in sig), "large |z|"


def test_public_cases_carry_the_published_ex4_values():
    cases = {
        c.case_id: c for c in build_cases(SPEC, secret=SECRET, student_id="a", visibility=(PUBLIC,))
    }
    np.testing.assert_allclose(
        cases["sigmoidGradient/public/0"].expected,
        [0.196612, 0.235004, 0.25, 0.235004, 0.196612],
        atol=5e-7,
    )
    assert cases["nnCost/public/0"].expected[0] == pytest.approx(7.40696985607, abs=1e-9)
    assert cases["nnCost/public/1"].expected[0] == pytest.approx(19.4736365227, abs=1e-9)


def test_nn_cost_and_gradient_parts_share_one_call():
    cases = build_cases(SPEC, secret=SECRET, student_id="a")
    cost = {c.call_key for c in cases if c.part == "nnCost"}
    grad = {c.call_key for c in cases if c.part == "nnGrad"}
    assert cost == grad


def test_random_initialization_cases_call_twice_and_the_others_once():
    cases = build_cases(SPEC, secret=SECRET, student_id="a")
    calls = {c.case_id: c.calls for c in cases}
    init = [i for i in calls if i.startswith("randInitializeWeights/")]
    assert init and all(calls[i] == 2 for i in init)
    assert all(n == 1 for i, n in calls.items() if i not in init)


@pytest.mark.parametrize("env, expected_demo", [({}, True), ({"BPGRADE_SECRET": "s3cret"}, False)])
def test_secret_resolution(monkeypatch, env, expected_demo):
    monkeypatch.delenv("BPGRADE_SECRET", raising=False)
    monkeypatch.delenv("BPGRADE_SECRET_FILE", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert resolve_secret()[1] is expected_demo


def test_secret_file(monkeypatch, tmp_path):
    monkeypatch.delenv("BPGRADE_SECRET", raising=False)
    (tmp_path / "secret").write_text("from-file\n")
    monkeypatch.setenv("BPGRADE_SECRET_FILE", str(tmp_path / "secret"))
    assert resolve_secret() == (b"from-file", False)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("not toml [", "cannot read"),
        ('[assignment]\nname="x"\n', "missing field"),
        (
            '[assignment]\nname="x"\ncases_module="m"\n[[parts]]\nid="a"\nfunction="f"\npoints=1\n'
            'check="nope"\ngenerator="g"\n',
            "unknown check",
        ),
    ],
)
def test_bad_spec_is_reported(tmp_path, text, fragment):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=fragment):
        load_spec(path)


@pytest.mark.parametrize(
    ("seconds", "limit", "timings"),
    [
        (0.0002, 0.25, [1]),  # any ordinary machine: the floor wins, one timed call says so
        (0.004, 0.25, [1, 5]),  # too close to call on one timing: best of five decides
        (0.01, 0.5, [1, 5]),  # a slow machine: 50 × the reference's own time
    ],
)
def test_the_timed_case_limit_is_timed_only_as_far_as_it_matters(
    monkeypatch, seconds, limit, timings
):
    from autograder.homeworks.backprop import cases

    asked = []

    def reference_seconds(*args, repeats: int = 5) -> float:
        asked.append(repeats)
        return seconds

    monkeypatch.setattr(cases, "_reference_seconds", reference_seconds)
    assert cases._time_limit(None, [2, 2], None, None, 0.0) == pytest.approx(limit)
    assert asked == timings


def test_a_spec_edited_between_two_loads_is_read_again(tmp_path):
    """Parsed TOML is kept per content (a command reads a spec more than once): an edit is seen,
    and an edit that breaks the file is a SpecError, not the old spec."""
    from autograder.spec import DEFAULT_SPEC

    spec_file = tmp_path / "spec.toml"
    (tmp_path / "support.py").write_bytes((DEFAULT_SPEC.parent / "support.py").read_bytes())
    text = DEFAULT_SPEC.read_text(encoding="utf-8")
    spec_file.write_text(text, encoding="utf-8")
    first = load_spec(spec_file)
    assert load_spec(spec_file) == first
    spec_file.write_text(text.replace("points = 5", "points = 7", 1), encoding="utf-8")
    assert load_spec(spec_file).max_score == first.max_score + 2
    spec_file.write_text(text + "\n[[parts]\n", encoding="utf-8")
    with pytest.raises(SpecError):
        load_spec(spec_file)
