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
submission. Hidden cases differ per student and are computed afresh. On a small case most of the
cost is per-call overhead, not arithmetic: all of a case's variants are computed first, and their
comparisons with the reference and with the student's value are then made together, one numpy
operation per half (:class:`_Near`), with the same answers as one :func:`_close` at a time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import math
import pickle
import threading
from collections.abc import Callable, Collection
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
    refuted : list of str
        Tags of the mistakes compared here that neither reproduce the value nor are unaffected:
        the part can no longer name them (see ``grading._part_misconceptions``).
    """

    matched: list[Misconception] = field(default_factory=list)
    unaffected: list[str] = field(default_factory=list)
    refuted: list[str] = field(default_factory=list)


def examine(
    case: Case, value: Any, catalog: list[Misconception], *, refuted: Collection[str] = ()
) -> Diagnosis:
    """Match ``value`` on ``case`` against every mistake of the case's part.

    ``refuted`` lists mistakes an earlier failing case of the part already refuted: the part
    cannot name them whatever they do here, so they are not computed again (most of a buggy
    submission's diagnosis is its hidden cases, where nothing is remembered between students).
    """
    found = Diagnosis()
    mistakes = [mc for mc in catalog if case.part in mc.parts and mc.tag not in refuted]
    variants = [mc for mc in mistakes if mc.matcher is None]
    # By identity: a Misconception holds dicts, so it cannot be hashed itself.
    computed = dict(zip(map(id, variants), _case_alternatives(case, variants), strict=True))
    value = _plain_scalars(value)
    right = _student_halves(case, value)
    near = _Near(case.tolerance)
    _learn(near, case, [alt for alts in computed.values() for alt in alts or ()], value)
    for mc in mistakes:
        try:
            matched = _matches(mc, case, value, computed.get(id(mc)), right, near)
        except Exception:  # a variant that cannot apply to this case's shape explains nothing
            matched = False
        if matched is None:
            found.unaffected.append(mc.tag)
        elif matched:
            found.matched.append(mc)
        else:
            found.refuted.append(mc.tag)
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
    alts: list[Any] | None,
    right: Callable[[int], bool] | None,
    near: _Near,
) -> bool | None:
    if mc.matcher is not None:
        verdict = mc.matcher(case, value)
        return None if verdict is None else bool(verdict)
    if alts is None:
        raise ValueError(f"{mc.tag} does not apply to {case.case_id}")
    if not alts:
        return None
    return any(variant_matches(case, alt, value, right=right, near=near) for alt in alts)


def alternatives(mc: Misconception, case: Case) -> list[Any]:
    """What ``mc`` computes on ``case``, one value per way of writing it that changes the case.

    An empty list means the mistake changes nothing here (the case neither confirms nor refutes
    it). Raises when a way cannot apply to the case; the mistake then explains nothing.
    """
    return _changed(case, _computed(mc, case), _Near(case.tolerance))


def _computed(mc: Misconception, case: Case) -> list[Any]:
    """What each way of writing ``mc`` computes on ``case``, changed or not (may raise)."""
    ways = mc.ways or ((mc.variant,) if mc.variant is not None else ())
    return [way(case) for way in ways]


def _changed(case: Case, computed: list[Any], near: _Near) -> list[Any]:
    """The values of ``computed`` that the case's check can tell from the reference."""
    return [alt for alt in computed if not unchanged(case, alt, near=near)]


# Public cases are generated from a fixed seed: every student's are the same, so what each mistake
# computes on them is kept for the life of the process (the catalogue is small and fixed; the cap is
# only a guard against a spec whose public cases keep changing). The key is the case's content, not
# its id: a case is rebuilt for each submission. Values here come from trusted inputs only.
_PUBLIC_ALTERNATIVES: dict[tuple[int, bytes], tuple[Misconception, list[Any] | None]] = {}
_PUBLIC_LIMIT = 20_000
_PUBLIC_LOCK = threading.Lock()


def _case_alternatives(case: Case, mistakes: list[Misconception]) -> list[list[Any] | None]:
    """:func:`alternatives` of each of ``mistakes``, in order (``None`` where it cannot apply),
    remembered for public cases.

    Every variant is computed before any is compared with the reference, so that the comparisons
    of all of them are made together (:class:`_Near`): one numpy operation instead of one per
    variant, which is most of what diagnosing a small case costs.
    """
    key = _public_key(case)
    found: list[list[Any] | None] = []
    computed: dict[int, list[Any]] = {}  # position in mistakes -> every way's value
    for i, mc in enumerate(mistakes):
        # The Misconception is stored with its value so that its id cannot be reused while cached.
        hit = _PUBLIC_ALTERNATIVES.get((id(mc), key)) if key is not None else None
        remembered = hit is not None and hit[0] is mc
        found.append(hit[1] if remembered else None)
        if remembered:
            continue
        try:
            computed[i] = _computed(mc, case)
        except Exception:  # noqa: BLE001 - a way that cannot apply explains nothing
            computed[i] = None
    near = _Near(case.tolerance)
    _learn(near, case, [alt for alts in computed.values() if alts for alt in alts], None)
    for i, alts in computed.items():
        try:
            found[i] = None if alts is None else _changed(case, alts, near)
        except Exception:  # noqa: BLE001 - as if the way itself had failed
            found[i] = None
    if key is not None:
        _remember(key, [(mistakes[i], found[i]) for i in computed])
    return found


def _remember(key: bytes, found: list[tuple[Misconception, list[Any] | None]]) -> None:
    """Keep what each mistake computes on the public case ``key`` (it is the same for everyone)."""
    with _PUBLIC_LOCK:  # grade-all's thread pool shares this process
        if len(_PUBLIC_ALTERNATIVES) + len(found) > _PUBLIC_LIMIT:
            _PUBLIC_ALTERNATIVES.clear()
        for mc, alts in found:
            _PUBLIC_ALTERNATIVES[(id(mc), key)] = (mc, alts)


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
    case: Case,
    alt: Any,
    value: Any,
    *,
    right: Callable[[int], bool] | None = None,
    near: _Near | None = None,
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
    near : _Near, optional
        Comparisons already made (see :func:`examine`).
    """
    if alt is None:
        return False
    tol = case.tolerance
    near = near or _Near(tol)
    halves = COMPONENTS.get(case.check)
    if halves is None:
        k = LOOKS_AT.get(case.check)
        close = near(alt, value) if k is None else near(alt[k], value[k])
        return close and run_check(case.check, alt, value, tolerance=tol).passed
    explained = False
    for i, check in enumerate(halves):
        student_right = right(i) if right else _agrees(check, case.expected[i], value[i], tol)
        variant_agrees = _agrees(check, alt[i], value[i], tol, near)
        if student_right and not variant_agrees:
            return False
        explained = explained or (variant_agrees and not student_right)
    return explained


def unchanged(case: Case, alt: Any, *, near: _Near | None = None) -> bool:
    """Whether a mistake whose variant computes ``alt`` makes no difference the check can see.

    ``None`` (the variant's own "no difference") and a value the case's check cannot tell from the
    reference are both unchanged; a property check (``uniform_init``) has no value to compare.
    ``near`` holds comparisons already made (see :func:`examine`).
    """
    if alt is None:
        return True
    if isinstance(case.expected, dict):
        return False
    halves = COMPONENTS.get(case.check)
    if halves is None:
        return variant_matches(case, alt, case.expected, near=near)
    tol = case.tolerance
    return all(
        _agrees(check, case.expected[i], alt[i], tol, near) for i, check in enumerate(halves)
    )


def _agrees(
    check: Callable[..., Any], ref: Any, data: Any, tol: dict, near: _Near | None = None
) -> bool:
    # The check functions take the tolerances only; the part's float32 policy is run_check's.
    rtol, atol = tol["rtol"], tol["atol"]
    if not (near(ref, data) if near is not None else _close(ref, data, tol)):
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


def _learn(near: _Near, case: Case, alts: list[Any], value: Any) -> None:
    """Teach ``near`` the comparisons that judging ``alts`` on ``case`` will ask for.

    With ``value``: those of :func:`variant_matches` (each variant, or its half, as the reference
    for the student's value). With ``None``: those of :func:`unchanged` (each variant against the
    case's reference: for a check in :data:`COMPONENTS` the reference's half is the ``ref``).
    """
    halves = COMPONENTS.get(case.check)
    k = LOOKS_AT.get(case.check)
    slots = range(len(halves)) if halves is not None else [k]
    fixed = case.expected if value is None else value
    fixed_is_ref = value is None and halves is not None
    if value is None and isinstance(fixed, dict):
        return  # a property check: unchanged compares nothing
    for slot in slots:
        try:
            many = [alt if slot is None else alt[slot] for alt in alts if alt is not None]
            one = fixed if slot is None else fixed[slot]
        except Exception:  # noqa: BLE001 - not shaped like the answer: judged (and failing) later
            continue
        near.learn(many, one, fixed_is_ref=fixed_is_ref)


class _Near:
    """:func:`_close` for many pairs of values, worked out together.

    Diagnosing a case compares each of its part's variants with the reference (is the mistake
    visible here?) and then with the student's value (does it reproduce the answer?): a few dozen
    arrays of one size, each comparison costing more in numpy's per-call overhead than in
    arithmetic. :meth:`learn` stacks the float64 arrays compared with one value and compares them
    all in one operation, with ``_close``'s formula element by element, so every answer is the one
    ``_close`` gives. Calling the object answers a pair from what it learned, or asks ``_close``.

    Parameters
    ----------
    tol : dict
        The case's tolerance (``rtol``, ``atol``).
    """

    def __init__(self, tol: dict):
        self.tol = tol
        # (id(ref), id(data)) -> (ref, data, verdict); the objects are held so that their ids
        # cannot be reused while this lives.
        self._known: dict[tuple[int, int], tuple[Any, Any, bool]] = {}

    def __call__(self, ref: Any, data: Any) -> bool:
        hit = self._known.get((id(ref), id(data)))
        if hit is not None and hit[0] is ref and hit[1] is data:
            return hit[2]
        return _close(ref, data, self.tol)

    def learn(self, many: list[Any], fixed: Any, *, fixed_is_ref: bool) -> None:
        """Compare ``fixed`` with each float64 array of its size in ``many``, in one operation.

        ``fixed`` is the ``ref`` of each pair if ``fixed_is_ref``, its ``data`` otherwise.
        """
        rtol, atol = self.tol.get("rtol"), self.tol.get("atol")
        if rtol is None or atol is None or not _plain_array(fixed):
            return
        size = fixed.size
        fresh = {id(x): x for x in many if _plain_array(x) and x.size == size}
        if not fresh:
            return
        rows, one = np.array([x.ravel() for x in fresh.values()]), fixed.ravel()
        with np.errstate(invalid="ignore", over="ignore"):  # _close's formula, row by row
            if fixed_is_ref:
                verdicts = (np.abs(rows - one) <= atol + rtol * np.abs(one)).all(axis=1)
            else:
                verdicts = (np.abs(one - rows) <= atol + rtol * np.abs(rows)).all(axis=1)
        for x, verdict in zip(fresh.values(), verdicts.tolist(), strict=True):
            pair = (fixed, x) if fixed_is_ref else (x, fixed)
            self._known[(id(pair[0]), id(pair[1]))] = (*pair, verdict)


def _plain_array(x: Any) -> bool:
    """A float64 ndarray, which ``_close`` compares as it is (no conversion)."""
    return type(x) is np.ndarray and x.dtype == np.float64
