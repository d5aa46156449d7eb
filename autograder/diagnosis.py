"""Naming the student's mistake: misconception variants, evaluated in the trusted parent.

A homework ships a catalogue of :class:`Misconception` records. Each is a small variant of the
reference that computes what a submission with that one bug would return on a case's inputs. When a
case fails, every variant for its part is checked against the student's value with the part's own
check and tolerance; a match names the mistake. Variants read only the case's trusted inputs, so
naming a mistake on a hidden case reveals no expected value. For checks that score a tuple in halves
(``cost_and_gradient``, ``descent``) each half is matched on its own, so two mistakes in one call
(one in J, one in the gradient) are both named; see :func:`variant_matches`.

A case's diagnosis is evidence for its part, not a verdict on its own: on a small case two different
mistakes can give the same value. :func:`examine` therefore also says which of the part's mistakes
change nothing on the case, and the grader names a mistake for a part only when it explains every
failing case it could have caused (``autograder.grading._part_misconceptions``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.cases import Case
from autograder.checks import check_scalar, check_vector, run_check


@dataclass(frozen=True)
class Misconception:
    """One classic bug.

    Attributes
    ----------
    tag : str
        A stable identifier, e.g. ``"bias_regularized"`` (used in gradebooks).
    parts : tuple of str
        The part ids whose cases it can explain.
    title : dict
        ``{"en": ..., "zh": ...}``: what the student did, as a noun phrase.
    variant : callable, optional
        ``variant(case) -> value`` shaped like ``case.expected``, or ``None`` when the bug makes no
        difference on this case. The student's value is then checked against it.
    matcher : callable, optional
        ``matcher(case, value) -> bool | None`` for bugs a single expected value cannot describe (a
        random initialisation drawn from the wrong interval, say); ``None`` when the bug makes no
        difference on this case.
    """

    tag: str
    parts: tuple[str, ...]
    title: dict[str, str]
    variant: Callable[[Case], Any] | None = None
    matcher: Callable[[Case, Any], bool] | None = None

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]


def load_catalog(module_name: str | None) -> list[Misconception]:
    """The homework's ``CATALOG``; an absent module means no diagnosis, not an error."""
    if not module_name:
        return []
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return []
    return list(getattr(module, "CATALOG", []))


@dataclass
class Diagnosis:
    """What the catalogue says about one failed case.

    Attributes
    ----------
    matched : list of Misconception
        The mistakes whose variant reproduces the student's value.
    unaffected : list of str
        Tags of the part's mistakes that change nothing on this case (a regularization bug at
        λ = 0): the case neither confirms nor refutes them.
    """

    matched: list[Misconception] = field(default_factory=list)
    unaffected: list[str] = field(default_factory=list)


def examine(case: Case, value: Any, catalog: list[Misconception]) -> Diagnosis:
    """Match ``value`` on ``case`` against every mistake of the case's part."""
    found = Diagnosis()
    for mc in catalog:
        if case.part not in mc.parts:
            continue
        try:
            matched = _matches(mc, case, value)
        except Exception:  # a variant that cannot apply to this case's shape explains nothing
            matched = False
        if matched is None:
            found.unaffected.append(mc.tag)
        elif matched:
            found.matched.append(mc)
    return found


def diagnose(case: Case, value: Any, catalog: list[Misconception]) -> list[Misconception]:
    """The misconceptions whose variant reproduces ``value`` on ``case``."""
    return examine(case, value, catalog).matched


def _matches(mc: Misconception, case: Case, value: Any) -> bool | None:
    if mc.matcher is not None:
        verdict = mc.matcher(case, value)
        return None if verdict is None else bool(verdict)
    alt = mc.variant(case) if mc.variant is not None else None
    if unchanged(case, alt):
        return None
    return variant_matches(case, alt, value)


# Checks that grade a tuple in independently scored halves: half i is element i, judged by the check
# function given. A mistake may explain one half while a second mistake spoils the other (J not divided
# by m *and* the bias regularized in the gradient), so each half is matched on its own.
COMPONENTS: dict[str, tuple[Callable[..., Any], ...]] = {
    "cost_and_gradient": (check_scalar, check_vector),
    "descent": (check_vector, check_vector),
}

# Checks that judge only one element of a tuple value (nnCost and nnGrad share one call's (J, grad)).
LOOKS_AT = {"cost": 0, "gradient": 1}


def variant_matches(case: Case, alt: Any, value: Any) -> bool:
    """Whether the student's ``value`` is what the mistake computing ``alt`` would return.

    For a single-value check: ``value`` passes the case's check against ``alt``. For a check in
    :data:`COMPONENTS`: the variant reproduces at least one half the student got wrong, and agrees
    with the student on every half the student got right (so a mistake that would also have spoiled
    a correct half is not blamed).

    Parameters
    ----------
    case : Case
    alt : object or None
        The variant's value, shaped like ``case.expected``; ``None`` matches nothing.
    value : object
        What the student returned.
    """
    if alt is None:
        return False
    tol = case.tolerance
    halves = COMPONENTS.get(case.check)
    if halves is None:
        k = LOOKS_AT.get(case.check)
        near = _close(alt, value, tol) if k is None else _close(alt[k], value[k], tol)
        return near and run_check(case.check, alt, value, tolerance=tol).passed
    explained = False
    for i, check in enumerate(halves):
        student_right = _agrees(check, case.expected[i], value[i], tol)
        variant_agrees = _agrees(check, alt[i], value[i], tol)
        if student_right and not variant_agrees:
            return False
        explained = explained or (variant_agrees and not student_right)
    return explained


def unchanged(case: Case, alt: Any) -> bool:
    """Whether a mistake whose variant computes ``alt`` makes no difference the check can see.

    ``None`` (the variant's own "no difference") and a value the case's check cannot tell from the
    reference are both unchanged; a property check (``uniform_init``) has no value to compare.
    """
    if alt is None:
        return True
    if isinstance(case.expected, dict):
        return False
    halves = COMPONENTS.get(case.check)
    if halves is None:
        return variant_matches(case, alt, case.expected)
    tol = case.tolerance
    return all(_agrees(check, case.expected[i], alt[i], tol) for i, check in enumerate(halves))


def _agrees(check: Callable[..., Any], ref: Any, data: Any, tol: dict) -> bool:
    # The check functions take the tolerances only; the part's float32 policy is run_check's.
    rtol, atol = tol["rtol"], tol["atol"]
    return _close(ref, data, tol) and check("", ref, data, rtol=rtol, atol=atol).passed


def _close(ref: Any, data: Any, tol: dict) -> bool:
    """A cheap necessary condition for any check to pass: same number of values, all close.

    Most variants are far from the student's value; rejecting them here skips the check's failure
    path, which renders both arrays for its (unused) public message.
    """
    if isinstance(ref, tuple):
        return (
            isinstance(data, tuple)
            and len(data) == len(ref)
            and all(_close(r, d, tol) for r, d in zip(ref, data, strict=True))
        )
    if isinstance(ref, dict):  # property checks (uniform_init) carry no comparable value
        return True
    try:
        r = np.asarray(ref, dtype=float).ravel()
        d = np.asarray(data, dtype=float).ravel()
    except (TypeError, ValueError):
        return True  # let the check itself decide
    if r.size != d.size:
        return False
    # allclose's own formula, without isclose's inf/nan bookkeeping: this runs for every variant
    # of every failed case, and NaN compares False here as it does there.
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.all(np.abs(d - r) <= tol["atol"] + tol["rtol"] * np.abs(r)))
