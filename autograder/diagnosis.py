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

Cost. Variants read only trusted inputs, and public cases are the same for every student: what a
mistake computes on a public case (:func:`alternatives`) is worked out once per process and
remembered, so a ``grade-all`` job or a grader service pays for it once, not once per buggy
submission. Hidden cases differ per student and are computed afresh.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import math
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.cases import PUBLIC, Case
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
    ways : tuple of callable, optional
        One mistake that students write in several ways, each a ``variant``: it matches when any
        way that changes the case reproduces the value, and changes nothing when none does.
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
    ways: tuple[Callable[[Case], Any], ...] = ()

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
    key = _public_key(case)
    value = _plain_scalars(value)
    right = _student_halves(case, value)
    for mc in catalog:
        if case.part not in mc.parts:
            continue
        try:
            matched = _matches(mc, case, value, key, right)
        except Exception:  # a variant that cannot apply to this case's shape explains nothing
            matched = False
        if matched is None:
            found.unaffected.append(mc.tag)
        elif matched:
            found.matched.append(mc)
    return found


def _plain_scalars(value: Any) -> Any:
    """``value`` with each 0-d float64 array of a tuple (the J the harness sends) as a float.

    Every check and :func:`_close` judge both the same way (one float64 formula, finite data);
    as floats, J is compared in Python and ``check_scalar`` can be skipped (:func:`_close_decides`)
    for each of the part's variants instead of running ``allclose`` on two 0-d arrays.
    """
    if not isinstance(value, tuple):
        return value
    return tuple(
        float(v) if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == np.float64 else v
        for v in value
    )


def diagnose(case: Case, value: Any, catalog: list[Misconception]) -> list[Misconception]:
    """The misconceptions whose variant reproduces ``value`` on ``case``."""
    return examine(case, value, catalog).matched


def _matches(
    mc: Misconception,
    case: Case,
    value: Any,
    key: bytes | None,
    right: Callable[[int], bool] | None,
) -> bool | None:
    if mc.matcher is not None:
        verdict = mc.matcher(case, value)
        return None if verdict is None else bool(verdict)
    alts = _remembered_alternatives(mc, case, key)
    if alts is None:
        raise ValueError(f"{mc.tag} does not apply to {case.case_id}")
    if not alts:
        return None
    return any(variant_matches(case, alt, value, right=right) for alt in alts)


def alternatives(mc: Misconception, case: Case) -> list[Any]:
    """What ``mc`` computes on ``case``, one value per way of writing it that changes the case.

    An empty list means the mistake changes nothing here (the case neither confirms nor refutes
    it). Raises when a way cannot apply to the case; the mistake then explains nothing.
    """
    ways = mc.ways or ((mc.variant,) if mc.variant is not None else ())
    computed = [way(case) for way in ways]
    return [alt for alt in computed if not unchanged(case, alt)]


# Public cases are generated from a fixed seed: every student's are the same, so what each mistake
# computes on them is kept for the life of the process (the catalogue is small and fixed; the cap is
# only a guard against a spec whose public cases keep changing). The key is the case's content, not
# its id: a case is rebuilt for each submission. Values here come from trusted inputs only.
_PUBLIC_ALTERNATIVES: dict[tuple[int, bytes], tuple[Misconception, list[Any] | None]] = {}
_PUBLIC_LIMIT = 20_000
_PUBLIC_LOCK = threading.Lock()


def _remembered_alternatives(mc: Misconception, case: Case, key: bytes | None) -> list[Any] | None:
    """:func:`alternatives`, remembered for public cases; ``None`` when ``mc`` cannot apply."""
    if key is None:
        try:
            return alternatives(mc, case)
        except Exception:  # noqa: BLE001 - a way that cannot apply explains nothing
            return None
    # The Misconception is stored with its value so that its id cannot be reused while cached.
    hit = _PUBLIC_ALTERNATIVES.get((id(mc), key))
    if hit is not None and hit[0] is mc:
        return hit[1]
    try:
        alts = alternatives(mc, case)
    except Exception:  # noqa: BLE001 - remembered too: it fails the same way for everyone
        alts = None
    with _PUBLIC_LOCK:  # grade-all's thread pool shares this process
        if len(_PUBLIC_ALTERNATIVES) >= _PUBLIC_LIMIT:
            _PUBLIC_ALTERNATIVES.clear()
        _PUBLIC_ALTERNATIVES[(id(mc), key)] = (mc, alts)
    return alts


def _public_key(case: Case) -> bytes | None:
    """A digest of everything a variant may read on a public case; ``None`` for hidden cases.

    It covers the part, the check and its tolerance (:func:`unchanged` depends on them), the inputs
    and the expected value, so two cases share what their mistakes compute only if they are the
    same case. A case that cannot be serialised is simply not remembered.
    """
    if case.visibility != PUBLIC:
        return None
    content = (
        case.part,
        case.check,
        sorted(case.tolerance.items()),
        case.args,
        case.kwargs,
        case.context,
        case.expected,
    )
    try:
        blob = pickle.dumps(content, protocol=4)  # our own trusted objects; never unpickled
    except Exception:  # noqa: BLE001
        return None
    return hashlib.blake2b(blob, digest_size=20).digest()


def _student_halves(case: Case, value: Any) -> Callable[[int], bool] | None:
    """For a check in :data:`COMPONENTS`: whether the student got half ``i`` right, worked out
    once per case rather than once per variant (it does not depend on the variant)."""
    halves = COMPONENTS.get(case.check)
    if halves is None:
        return None
    tol = case.tolerance

    @functools.cache
    def right(i: int) -> bool:
        return _agrees(halves[i], case.expected[i], value[i], tol)

    return right


# Checks that grade a tuple in independently scored halves: half i is element i, judged by the check
# function given. A mistake may explain one half while a second mistake spoils the other (J not divided
# by m *and* the bias regularized in the gradient), so each half is matched on its own.
COMPONENTS: dict[str, tuple[Callable[..., Any], ...]] = {
    "cost_and_gradient": (check_scalar, check_vector),
    "descent": (check_vector, check_vector),
}

# Checks that judge only one element of a tuple value (nnCost and nnGrad share one call's (J, grad)).
LOOKS_AT = {"cost": 0, "gradient": 1}


def variant_matches(
    case: Case, alt: Any, value: Any, *, right: Callable[[int], bool] | None = None
) -> bool:
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
    right : callable, optional
        ``right(i)``: whether the student got half ``i`` right, if already known (see
        :func:`examine`); computed here otherwise.
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
        student_right = right(i) if right else _agrees(check, case.expected[i], value[i], tol)
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
    if not _close(ref, data, tol):
        return False
    return _close_decides(check, ref, data) or check("", ref, data, rtol=rtol, atol=atol).passed


def _close_decides(check: Callable[..., Any], ref: Any, data: Any) -> bool:
    """Whether, :func:`_close` having passed, the check is sure to pass too (and can be skipped).

    True for a finite reference given in the form the check wants: two floats for
    ``check_scalar``, two 1-d arrays of one length for ``check_vector``. Both checks then test
    exactly what ``_close`` tested (finite data, ``allclose``'s formula); this runs for every
    variant that agrees with the student on half of a ``(J, grad)`` pair.
    """
    if check is check_scalar:
        return isinstance(ref, float) and isinstance(data, float) and math.isfinite(ref)
    if check is check_vector:
        return (
            isinstance(ref, np.ndarray)
            and isinstance(data, np.ndarray)
            and ref.ndim == data.ndim == 1
            and ref.dtype == data.dtype == np.float64
            and bool(np.isfinite(ref).all())
        )
    return False


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
    if isinstance(ref, float) and isinstance(data, float):  # J: the same formula, in Python
        return bool(abs(data - ref) <= tol["atol"] + tol["rtol"] * abs(ref))
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
        return bool((np.abs(d - r) <= tol["atol"] + tol["rtol"] * np.abs(r)).all())
