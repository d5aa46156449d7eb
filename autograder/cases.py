"""Test cases and their per-student seeding.

Hidden cases are drawn from an RNG seeded by HMAC-SHA256(course secret, assignment, student id,
call group): each student gets different inputs, and a regrade reproduces them exactly. Public
cases use a fixed seed so every student's self-check sees the same ones.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.spec import PartSpec, Spec

PUBLIC = "public"
HIDDEN = "hidden"
DEMO_SECRET = b"bpgrade-demo-secret-not-for-real-grading"


@dataclass
class CaseDraft:
    """What a homework's generator returns: one call of a student function and its expected value."""

    args: list
    expected: Any
    label: str
    kwargs: dict = field(default_factory=dict)
    n_outputs: int = 1
    context: dict = field(default_factory=dict)
    time_limit: float | None = None  # a correct value computed slower than this is "too_slow"
    timeout: float | None = None  # this call's own timeout, instead of the spec's call_timeout_s
    calls: int = 1  # calls with these arguments; above 1 the check gets a tuple of the results


@dataclass
class Case:
    """One graded call. ``expected`` and ``context`` never leave the parent process."""

    part: str
    case_id: str
    call_key: str
    visibility: str
    function: str
    args: list
    kwargs: dict
    n_outputs: int
    expected: Any
    check: str
    tolerance: dict
    label: str
    context: dict
    time_limit: float | None = None
    timeout: float | None = None
    calls: int = 1

    @property
    def hidden(self) -> bool:
        return self.visibility == HIDDEN


Generator = Callable[[np.random.Generator, str, int], list[CaseDraft]]


def resolve_secret(secret: bytes | str | None = None) -> tuple[bytes, bool]:
    """Return ``(secret, is_demo)``.

    The secret comes from the argument, else ``$BPGRADE_SECRET``, else the file named by
    ``$BPGRADE_SECRET_FILE``; with none of these the public demo secret is used and flagged.
    """
    if secret is None:
        secret = os.environ.get("BPGRADE_SECRET")
    if secret is None and os.environ.get("BPGRADE_SECRET_FILE"):
        secret = Path(os.environ["BPGRADE_SECRET_FILE"]).read_bytes().strip()
    if secret is None or secret in ("", b""):
        return DEMO_SECRET, True
    return (secret.encode() if isinstance(secret, str) else secret), False


def case_seed(secret: bytes, assignment: str, student_id: str, group: str, visibility: str) -> int:
    """A 256-bit seed; public cases ignore the secret and the student so everyone shares them."""
    if visibility == PUBLIC:
        key, message = b"bpgrade-public", f"{assignment}|{group}".encode()
    else:
        # surrogatepass: an id taken from a non-UTF-8 file name (GBK) seeds like any other; for
        # every valid id this is plain UTF-8, so existing seeds are unchanged.
        key, message = secret, f"{assignment}|{student_id}|{group}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "big")


def load_generators(spec: Spec) -> Any:
    """Import the homework's trusted case module named in the spec."""
    return importlib.import_module(spec.cases_module)


def build_cases(
    spec: Spec,
    *,
    secret: bytes,
    student_id: str,
    visibility: Iterable[str] = (PUBLIC, HIDDEN),
    parts: Iterable[str] | None = None,
    lang: str = "en",
) -> list[Case]:
    """All cases of a submission, public ones first, in spec order.

    Labels are in ``lang`` when the homework's case module offers ``localize_label(label, lang)``.
    """
    module = load_generators(spec)
    wanted = set(parts) if parts is not None else None
    cases: list[Case] = []
    for vis in (PUBLIC, HIDDEN):
        if vis not in visibility:
            continue
        for part in spec.parts:
            if wanted is None or part.id in wanted:
                cases.extend(_part_cases(spec, part, module, secret, student_id, vis))
    localize = getattr(module, "localize_label", None)
    if localize is not None and lang != "en":
        for case in cases:
            case.label = localize(case.label, lang)
    return cases


def _part_cases(
    spec: Spec, part: PartSpec, module: Any, secret: bytes, student_id: str, vis: str
) -> list[Case]:
    count = part.public_cases if vis == PUBLIC else part.hidden_cases
    if count == 0:
        return []
    group = part.call_group or part.id
    rng = np.random.default_rng(case_seed(secret, spec.name, student_id, group, vis))
    generator: Generator = getattr(module, part.generator)
    drafts = generator(rng, vis, count)
    if len(drafts) != count:
        raise ValueError(f"generator {part.generator} made {len(drafts)} cases, spec asks {count}")
    return [_case_from_draft(part, group, vis, i, d) for i, d in enumerate(drafts)]


def _case_from_draft(part: PartSpec, group: str, vis: str, i: int, d: CaseDraft) -> Case:
    return Case(
        part=part.id,
        case_id=f"{part.id}/{vis}/{i}",
        call_key=f"{group}/{vis}/{i}",
        visibility=vis,
        function=part.function,
        args=d.args,
        kwargs=d.kwargs,
        n_outputs=d.n_outputs,
        expected=d.expected,
        check=part.check,
        tolerance={"rtol": part.rtol, "atol": part.atol, "float32": part.float32},
        label=d.label,
        context=d.context,
        time_limit=d.time_limit,
        timeout=d.timeout,
        calls=d.calls,
    )
