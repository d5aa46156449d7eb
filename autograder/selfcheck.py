"""The student's self-check: the public cases, sandboxed where this machine can, else locally.

``bpgrade check``, the released ``check.py`` and the notebook's ``check("part")`` cells all come
here, and this is :func:`~autograder.grading.grade_submission` on the public cases: the same
cases, checks and scores as ``bpgrade grade``, so the self-check's verdict is the grader's. Where
no sandbox can run (Windows, macOS, a Linux laptop without bubblewrap or a usable tier), the code
runs as a plain local process instead (tier ``"local"``, :mod:`autograder.harness.local`) and
the report says so; hidden cases never run there.

A notebook kernel checks many times: :func:`session_zygote` keeps one sandboxed zygote for all of
its ``check("part")`` calls (closed with the kernel), so each call forks a worker from it instead of
booting a sandbox.
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


def session_zygote(tier: str = "auto") -> Zygote | None:
    """This process's zygote for self-checks: booted on first use, closed when the process exits.

    A notebook kernel's ``check()`` calls share it (about 25 ms a call instead of about 250 ms
    for a sandbox booted per call). It is booted at once, without waiting, so the kernel's first
    check finds it ready. ``None`` where this machine has no sandbox zygote; the self-check then
    boots its worker per call or runs locally, as before.
    """
    if tier == LOCAL_TIER or platform_problem() is not None:
        return None
    from autograder.harness.zygote import shared_zygote

    try:
        zygote = shared_zygote(tier)  # per thread: a zygote is used from the thread that made it
        if zygote is not None:
            zygote.start()
    except (SandboxError, OSError):
        return None
    return zygote


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
