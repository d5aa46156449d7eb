"""The student's self-check: the public cases, sandboxed where this machine can, else locally.

``bpgrade check``, the released ``check.py`` and the notebook's ``check("part")`` cells all come
here, and this is :func:`~autograder.grading.grade_submission` on the public cases: the same
cases, checks and scores as ``bpgrade grade``, so the self-check's verdict is the grader's. Where
no sandbox can run (Windows, macOS, a Linux laptop without bubblewrap or a usable tier), the code
runs as a plain local process instead (tier ``"local"``, :mod:`autograder.harness.local`) and
the report says so; hidden cases never run there.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.cases import PUBLIC
from autograder.grading import GradeReport, grade_submission
from autograder.harness.sandbox import LOCAL_TIER, SandboxError, platform_problem
from autograder.spec import Spec

if TYPE_CHECKING:
    from autograder.harness.zygote import Zygote

STUDENT_ID = "self-check"


def self_check(
    path: str | Path,
    *,
    spec: Spec | None = None,
    lang: str = "en",
    parts: Iterable[str] | None = None,
    tier: str = "auto",
    zygote: Zygote | None = None,
) -> GradeReport:
    """Grade ``path`` on the public cases, falling back to a local process without a sandbox.

    Parameters
    ----------
    path : str or Path
        ``nn.py``, a notebook, or a folder holding one.
    spec : Spec, optional
        The assignment; defaults to the bundled backprop homework.
    lang : {"en", "zh"}
        Language of the feedback.
    parts : iterable of str, optional
        Only these part ids.
    tier : str
        ``"auto"`` (a sandbox if this machine has one, else ``"local"``), ``"local"``, or a
        sandbox tier (then no fallback).
    zygote : Zygote, optional
        An already booted zygote to fork the worker from.

    Returns
    -------
    GradeReport
        ``report.tier`` is ``"local"`` when the code ran unsandboxed, and a warning says so.

    Raises
    ------
    SandboxError
        A sandbox tier was asked for by name and cannot run here.
    """
    grade = functools.partial(
        grade_submission,
        path,
        spec=spec,
        lang=lang,
        visibility=(PUBLIC,),
        parts=list(parts) if parts is not None else None,
        student_id=STUDENT_ID,
        siblings=True,  # the student's own folder: utils.py and data beside nn.py
    )
    if tier == "auto" and zygote is None and platform_problem() is not None:
        tier = LOCAL_TIER
    if tier != LOCAL_TIER:
        try:
            return grade(tier=tier, zygote=zygote)
        except SandboxError:
            if tier != "auto":
                raise
    return grade(tier=LOCAL_TIER)
