"""Checks: one received value against one expected value, in the trusted parent.

Every ``check_*`` function has the same shape, after PrairieLearn's ``code_feedback``:
``check_*(name, ref, data, ..., lang) -> CheckOutcome``. ``data`` is what the child sent back, already
parsed into float64 arrays by the harness; ``ref`` comes from the reference implementation. An outcome
carries two messages: a public one that may show received against expected, and a hidden one that
names only the kind of failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from autograder.messages import msg, name

COST_WEIGHT = 0.4  # share of a (J, grad) case earned by J; the gradient is the harder half


#: How far a correct single-precision answer may stray, relative to the largest reference value:
#: float32 rounds to 6e-8, and sums over thousands of terms (pairwise, in numpy) or a log of a
#: probability near 1 lose a couple of digits more.
FLOAT32_RTOL = 2e-5


@dataclass
class CheckOutcome:
    """The verdict on one value.

    ``category == "float32"`` marks a failure at the spec's tolerance by an answer made of float32
    numbers that agrees with the reference to single precision; :func:`run_check` then applies the
    part's policy. ``note`` is a remark that goes with a passing verdict.

    The public message of a wrong value may be given as a function that renders it: printing two
    arrays is most of what a failing check costs, and many verdicts never show it (hidden cases,
    diagnosis, dependency re-calls). :attr:`public_message` renders it on first read. A renderer
    holds the arrays it prints, so an outcome that is kept is :meth:`settled` first.
    """

    passed: bool
    category: str
    fraction: float
    public_text: str | Callable[[], str]
    hidden_message: str
    note: str | None = None

    @property
    def public_message(self) -> str:
        if not isinstance(self.public_text, str):
            self.public_text = self.public_text()
        return self.public_text

    def message(self, hidden: bool) -> str:
        return self.hidden_message if hidden else self.public_message

    def settled(self, hidden: bool) -> CheckOutcome:
        """This outcome as kept for a case: its public message rendered now if the case is public,
        never if it is hidden (a hidden case shows only :attr:`hidden_message`, which then stands
        for both), so that no renderer keeps the student's value alive."""
        if isinstance(self.public_text, str):
            return self
        return replace(self, public_text=self.hidden_message if hidden else self.public_message)


def _ok(lang: str) -> CheckOutcome:
    text = msg("passed", lang)
    return CheckOutcome(True, "passed", 1.0, text, text)


def _bad(category: str, public: str | Callable[[], str], hidden: str | None = None) -> CheckOutcome:
    if hidden is None:
        assert isinstance(public, str), "a rendered public message needs its own hidden one"
        hidden = public
    return CheckOutcome(False, category, 0.0, public, hidden)


def fmt(a: np.ndarray) -> str:
    """A compact, bounded rendering of an array for public feedback."""
    a = np.asarray(a)
    if a.size == 1:
        return f"{float(a.ravel()[0]):.6g}"
    return np.array2string(a, precision=6, threshold=12, edgeitems=3, max_line_width=100)


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def _finite(what: str, data: np.ndarray, lang: str) -> CheckOutcome | None:
    if not np.all(np.isfinite(data)):
        return _bad("not_finite", msg("not_finite", lang, what=what))
    return None


def _values(what: str, ref: np.ndarray, data: np.ndarray, rtol: float, atol: float, lang: str):
    if np.allclose(data, ref, rtol=rtol, atol=atol):
        return _ok(lang)
    if _single_precision(ref, data):
        return _bad("float32", msg("float32", lang, what=what))
    hint = _float32_numbers(data)

    def public() -> str:  # rendered only if shown (see CheckOutcome)
        err = f"{float(np.max(np.abs(data - ref))):.3g}"
        text = msg(
            "wrong_value_public", lang, what=what, expected=fmt(ref), received=fmt(data), err=err
        )
        return msg("then", lang, first=text, second=msg("float32_hint", lang)) if hint else text

    hidden = msg("wrong_value", lang, what=what)
    if hint:
        hidden = msg("then", lang, first=hidden, second=msg("float32_hint", lang))
    return _bad("wrong_value", public, hidden)


def _single_precision(ref: np.ndarray, data: np.ndarray) -> bool:
    """True if ``data`` holds only float32 numbers that agree with ``ref`` to single precision.

    The worker sends float64, but a float32 array converts exactly, so its values stay float32
    numbers; a float64 computation gives such values only by a fluke of one in 2**29 per entry.
    """
    if not _float32_numbers(data):
        return False
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    return bool(np.allclose(data, ref, rtol=0.0, atol=FLOAT32_RTOL * scale))


def _float32_numbers(data: np.ndarray) -> bool:
    """Every value is a float32 number (and not merely a small integer such as 0 or 1)."""
    exact = np.array_equal(data.astype(np.float32).astype(np.float64), data)
    return exact and not np.array_equal(data, np.round(data))


def _shape(what: str, ref_shape: tuple, data: np.ndarray, lang: str) -> CheckOutcome:
    public = msg("wrong_shape", lang, what=what, received=data.shape, expected=ref_shape)
    return _bad("wrong_shape", public, msg("wrong_shape_hidden", lang, what=what))


def as_vector(data: np.ndarray, n: int) -> np.ndarray | None:
    """Accept the forms an Octave student would return for an n-vector: (n,), (n,1) or (1,n)."""
    if data.shape in ((n,), (n, 1), (1, n)):
        return data.reshape(n)
    return None


# ---------------------------------------------------------------------------------------------
# check_* API
# ---------------------------------------------------------------------------------------------


def check_array(
    name_: str, ref, data, *, rtol: float, atol: float, lang: str = "en"
) -> CheckOutcome:
    """Exact shape, finite, then ``allclose``."""
    ref, data = np.asarray(ref, dtype=float), np.asarray(data)
    if data.shape != ref.shape:
        return _shape(name_, ref.shape, data, lang)
    return _finite(name_, data, lang) or _values(name_, ref, data, rtol, atol, lang)


def check_scalar(
    name_: str, ref, data, *, rtol: float, atol: float, lang: str = "en"
) -> CheckOutcome:
    """A float, numpy scalar, 0-d or one-element array."""
    data = np.asarray(data)
    if data.size != 1:
        public = msg("wrong_size", lang, what=name_, received=data.shape)
        return _bad("wrong_shape", public, msg("wrong_size_hidden", lang, what=name_))
    scalar = data.reshape(())
    return _finite(name_, scalar, lang) or _values(
        name_, np.asarray(float(ref)), scalar, rtol, atol, lang
    )


def check_vector(
    name_: str, ref, data, *, rtol: float, atol: float, lang: str = "en"
) -> CheckOutcome:
    """An n-vector given as (n,), (n,1) or (1,n)."""
    ref, data = np.asarray(ref, dtype=float).ravel(), np.asarray(data)
    vec = as_vector(data, ref.size)
    if vec is None:
        return _shape(name_, ref.shape, data, lang)
    return _finite(name_, vec, lang) or _values(name_, ref, vec, rtol, atol, lang)


def check_labels(name_: str, ref, data, *, lang: str = "en", **_: float) -> CheckOutcome:
    """Integer labels, exactly equal; (m,), (m,1) or (1,m)."""
    ref, data = np.asarray(ref).ravel(), np.asarray(data)
    vec = as_vector(data, ref.size)
    if vec is None:
        return _shape(name_, ref.shape, data, lang)
    bad = _finite(name_, vec, lang)
    if bad:
        return bad
    if not np.all(vec == np.round(vec)):
        return _bad("wrong_value", msg("not_integer", lang, what=name_))
    if np.array_equal(vec.astype(np.int64), ref.astype(np.int64)):
        return _ok(lang)
    public = msg(
        "wrong_labels_public",
        lang,
        what=name_,
        expected=fmt(ref),
        received=fmt(vec.astype(np.int64)),
        wrong=int(np.sum(vec != ref)),
        total=ref.size,
    )
    return _bad("wrong_value", public, msg("wrong_value", lang, what=name_))


#: Each statistical test of one draw in :func:`check_uniform_init` fails a correct draw with at
#: most this probability (spread, order along rows, order along columns; the grid test < 5e-15).
#: Two draws a case: a correct function fails a case with probability < 1e-9.
INIT_FALSE_FAILURE = 1e-10
#: The grid test's bound holds from this many values on (every case draws at least 310).
INIT_GRID_MIN_VALUES = 300


def check_uniform_init(
    name_: str, ref: dict, data, *, lang: str = "en", **_: float
) -> CheckOutcome:
    """Random weights of shape (L_out, 1+L_in), uniform on [-ε, ε], different on every call.

    ``data`` is one weight matrix, or a tuple of those returned by separate calls with the same
    arguments (the cases call twice). Each must have the right shape, lie in [-ε, ε], and pass
    these tests, each of which fails a correct draw of ``n`` values with probability at most
    :data:`INIT_FALSE_FAILURE`:

    * **spread** (Kolmogorov–Smirnov against U[-ε, ε]): by the Dvoretzky–Kiefer–Wolfowitz
      inequality with Massart's constant, ``P(D_n > t) <= 2 exp(-2 n t²)``; catches constants,
      one-sided and too narrow draws;
    * **grid**: the sorted values are evenly spaced (``np.linspace``, shuffled or not) or take few
      distinct values (a bound < 5e-15 for ``n >= INIT_GRID_MIN_VALUES``; see :func:`on_a_grid`);
    * **order**: in disjoint neighbour pairs along the rows (and along the columns) the second
      is larger about half the time: Hoeffding's ``P(|A/k - 1/2| > t) <= 2 exp(-2 k t²)`` for k
      pairs; catches sorted rows or columns (two tests).

    Two calls that return (mostly) the same values fail: the function reseeds its generator.
    With two draws a case fails a correct function with probability < 1e-9.
    """
    draws = list(data) if isinstance(data, tuple) else [data]
    shape, eps = tuple(ref["shape"]), float(ref["epsilon"])
    arrays = []
    for draw in draws:
        w = np.asarray(draw)
        bad = _init_draw(name_, w, shape, eps, lang)
        if bad:
            return bad
        arrays.append(w)
    if any(same_weights(arrays[0], other) for other in arrays[1:]):
        return _bad("wrong_value", msg("init_same_every_call", lang))
    return _ok(lang)


def _init_draw(name_: str, w: np.ndarray, shape: tuple, eps: float, lang: str):
    if w.shape != shape:
        return _shape(name_, shape, w, lang)
    bad = _finite(name_, w, lang)
    if bad:
        return bad
    if np.any(np.abs(w) > eps * (1 + 1e-12)):
        return _bad("wrong_value", msg("init_out_of_range", lang))
    ordered = np.sort(w, axis=None)  # one sort serves both tests
    if not _spread_like_uniform(ordered, eps):
        return _bad("wrong_value", msg("init_not_spread", lang))
    if _sorted_on_a_grid(ordered):
        return _bad("wrong_value", msg("init_grid", lang))
    if _ordered(w):
        return _bad("wrong_value", msg("init_ordered", lang))
    return None


def _spread_like_uniform(ordered: np.ndarray, eps: float) -> bool:
    """Kolmogorov–Smirnov distance to U[-ε, ε] within the DKW bound for INIT_FALSE_FAILURE.

    ``ordered`` is the draw, sorted.
    """
    n = ordered.size
    u = np.clip((ordered + eps) / (2 * eps), 0.0, 1.0)
    steps = np.arange(1, n + 1) / n
    distance = max(float(np.max(steps - u)), float(np.max(u - (steps - 1 / n))))
    return distance <= np.sqrt(np.log(2 / INIT_FALSE_FAILURE) / (2 * n))


def on_a_grid(x: np.ndarray) -> bool:
    """The values are evenly spaced (shuffled or not), or fewer than half of them are distinct.

    Evenly spaced: fewer than 10% of the gaps between sorted neighbours are shorter than 0.9 of
    the mean gap. For n uniform values the inner gaps are ``E_i / S`` (``E_i`` i.i.d.
    exponential): the mean of the n-1 inner ``E_i`` is below 0.6 with probability
    ``<= exp(-(n-1)·0.11)`` (Chernoff), and otherwise each gap with ``E_i < 0.54`` (probability
    0.417, independently) is short, so fewer than 10% are short with probability
    ``<= exp(-2(n-1)·0.317²)`` (Hoeffding). For n >= 300 the sum is below 5e-15. Below
    ``INIT_GRID_MIN_VALUES`` values the test is not applied.
    """
    return _sorted_on_a_grid(np.sort(x, axis=None))


def _sorted_on_a_grid(s: np.ndarray) -> bool:
    """:func:`on_a_grid` of values already sorted."""
    n = s.size
    if n < INIT_GRID_MIN_VALUES:
        return False
    gaps = np.diff(s)
    if np.count_nonzero(gaps) + 1 < n / 2:  # fewer than half the values distinct
        return True
    mean_gap = (s[-1] - s[0]) / (n - 1)
    return int(np.sum(gaps < 0.9 * mean_gap)) < 0.1 * (n - 1)


def _ordered(w: np.ndarray) -> bool:
    """Sorted along the rows or along the columns (the pair test of check_uniform_init)."""
    for order in ("C", "F"):
        x = w.ravel(order=order)
        k = x.size // 2
        if k == 0:
            return False
        ascents = float(np.mean(x[1 : 2 * k : 2] > x[0 : 2 * k : 2]))
        if abs(ascents - 0.5) > np.sqrt(np.log(2 / INIT_FALSE_FAILURE) / (2 * k)):
            return True
    return False


def same_weights(a: np.ndarray, b: np.ndarray) -> bool:
    """Two draws that agree in at least half their entries: a generator reseeded on each call.

    Two independent continuous draws agree in an entry with probability ~0.
    """
    return a.shape == b.shape and a.size > 0 and float(np.mean(a == b)) >= 0.5


def check_cost(name_, ref, data, *, rtol, atol, lang="en") -> CheckOutcome:
    """The J of a ``(J, grad)`` pair."""
    return check_scalar(name("J", lang), ref[0], data[0], rtol=rtol, atol=atol, lang=lang)


def check_gradient(name_, ref, data, *, rtol, atol, lang="en") -> CheckOutcome:
    """The grad of a ``(J, grad)`` pair."""
    return check_vector(name("grad", lang), ref[1], data[1], rtol=rtol, atol=atol, lang=lang)


def check_cost_and_gradient(name_, ref, data, *, rtol, atol, lang="en") -> CheckOutcome:
    """Both halves of ``(J, grad)``; J earns ``COST_WEIGHT`` of the case, grad the rest."""
    cost = check_cost(name_, ref, data, rtol=rtol, atol=atol, lang=lang)
    grad = check_gradient(name_, ref, data, rtol=rtol, atol=atol, lang=lang)
    return _combine([(cost, COST_WEIGHT), (grad, 1 - COST_WEIGHT)], lang)


def check_descent(name_, ref, data, *, rtol, atol, lang="en") -> CheckOutcome:
    """``(params, J_history)`` of gradient descent; each half is worth half the case."""
    params_ref, history_ref = ref
    params = check_vector(
        name("params", lang), params_ref, data[0], rtol=rtol, atol=atol, lang=lang
    )
    history = np.asarray(data[1])
    n = len(history_ref)
    if as_vector(history, n) is None:
        text = msg("history_length", lang, n=n, got=history.size)
        history_out = _bad("wrong_shape", text, msg("history_length_hidden", lang))
    else:
        history_out = check_vector(
            name("J_history", lang), history_ref, history, rtol=rtol, atol=atol, lang=lang
        )
    return _combine([(params, 0.5), (history_out, 0.5)], lang)


def _combine(parts: list[tuple[CheckOutcome, float]], lang: str) -> CheckOutcome:
    failed = [o for o, _ in parts if not o.passed]
    if not failed:
        return _ok(lang)
    fraction = sum(w for o, w in parts if o.passed)
    # Single precision excuses the whole answer only if it is all that is wrong with it.
    genuine = [o for o in failed if o.category != "float32"] or failed
    return CheckOutcome(
        False,
        genuine[0].category,
        fraction,
        lambda: "; ".join(o.public_message for o in failed),
        "; ".join(o.hidden_message for o in failed),
    )


CHECKS: dict[str, Callable[..., CheckOutcome]] = {
    "array": lambda n, r, d, **k: check_array(n, r, d, **k),
    "cost": check_cost,
    "gradient": check_gradient,
    "cost_and_gradient": check_cost_and_gradient,
    "labels": check_labels,
    "uniform_init": check_uniform_init,
    "descent": check_descent,
}


def run_check(check: str, ref, data, *, tolerance: dict, lang: str = "en") -> CheckOutcome:
    """Dispatch to the named check with the spec's tolerances.

    ``tolerance`` holds ``rtol`` and ``atol`` and, optionally, the part's ``float32`` policy:
    ``"accept"`` turns an answer that is right to single precision into a pass with a note,
    ``"reject"`` (the default here) leaves it a failure that says why.
    """
    tolerance = dict(tolerance)
    policy = tolerance.pop("float32", "reject")
    what = name("labels" if check == "labels" else "result", lang)
    outcome = CHECKS[check](what, ref, data, lang=lang, **tolerance)
    if outcome.category == "float32" and policy == "accept":
        note = msg("float32_accepted", lang)
        return CheckOutcome(True, "passed", 1.0, msg("passed", lang), msg("passed", lang), note)
    return outcome
