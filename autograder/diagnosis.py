"""Naming the student's mistake: misconception variants, evaluated in the trusted parent.

A homework ships a catalogue of :class:`Misconception` records. Each is a small variant of the
reference that computes what a submission with that one bug would return on a case's inputs. When a
case fails, every variant for its part is checked against the student's value with the part's own
check and tolerance; a match names the mistake. Variants read only the case's trusted inputs, so
naming a mistake on a hidden case reveals no expected value.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograder.cases import Case
from autograder.checks import run_check


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
        ``matcher(case, value) -> bool`` for bugs a single expected value cannot describe (a random
        initialisation drawn from the wrong interval, say).
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


def diagnose(case: Case, value: Any, catalog: list[Misconception]) -> list[Misconception]:
    """The misconceptions whose variant reproduces ``value`` on ``case``."""
    matches = []
    for mc in catalog:
        if case.part not in mc.parts:
            continue
        try:
            matched = _matches(mc, case, value)
        except Exception:  # a variant that cannot apply to this case's shape explains nothing
            matched = False
        if matched:
            matches.append(mc)
    return matches


def _matches(mc: Misconception, case: Case, value: Any) -> bool:
    if mc.matcher is not None:
        return bool(mc.matcher(case, value))
    alt = mc.variant(case) if mc.variant is not None else None
    return alt is not None and run_check(case.check, alt, value, tolerance=case.tolerance).passed
