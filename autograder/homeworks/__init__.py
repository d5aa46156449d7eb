"""The homeworks this grader knows: one folder each, holding its ``spec.toml``.

A homework is found by its folder's name (``autograder/homeworks/<name>/spec.toml``). A command
that grades a submission without ``--homework`` infers it from the functions the submission
defines (:func:`infer_homework`); see docs/writing-a-homework.md for adding one.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

from autograder.intake import SubmissionError, read_submission
from autograder.messages import msg
from autograder.spec import DEFAULT_SPEC, Spec, SpecError, load_spec


def _extend_path(path: list[str]) -> list[str]:
    """This package's folder plus every ``ROOT/autograder/homeworks`` of a ``ROOT`` on sys.path.

    A course keeps its own homeworks as ``ROOT/autograder/homeworks/NAME`` with ``ROOT`` on
    ``PYTHONPATH`` (``bpgrade new-homework --root`` writes one there); they are then imported
    as ``autograder.homeworks.NAME``. (pkgutil.extend_path searches only the parent package's
    folders, which hold no such ROOT.)
    """
    extended = list(path)
    for entry in sys.path:
        folder = os.path.join(entry or os.curdir, "autograder", "homeworks")
        if os.path.isdir(folder) and not any(os.path.samefile(folder, p) for p in extended):
            extended.append(folder)
    return extended


__path__ = _extend_path(__path__)

HOMEWORKS_DIR = Path(__file__).parent
#: The homework of a submission that names none and shows nothing to tell it by.
DEFAULT_HOMEWORK = DEFAULT_SPEC.parent.name
# A function definition anywhere in a module or a notebook's JSON (cells keep ``def f(`` intact).
_DEF = re.compile(rb"(?<![\w.])def\s+([A-Za-z_]\w*)\s*\(")


def _spec_files() -> dict[str, Path]:
    """``{name: spec.toml}`` over every folder of this package (the first of a name wins)."""
    found: dict[str, Path] = {}
    for folder in __path__:
        for spec in sorted(Path(folder).glob("*/spec.toml")):
            found.setdefault(spec.parent.name, spec)
    return found


def homework_names() -> list[str]:
    """The homeworks this grader knows, sorted: each folder of this package with a ``spec.toml``."""
    return sorted(_spec_files())


def homework_spec_path(name: str, lang: str = "en") -> Path:
    """The ``spec.toml`` of the homework ``name``.

    Raises
    ------
    SpecError
        No such homework.
    """
    files = _spec_files()
    if name not in files:
        raise SpecError(msg("hw_unknown", lang, name=name, known=", ".join(sorted(files))))
    return files[name]


def load_homework(name: str, lang: str = "en") -> Spec:
    """The spec of the homework ``name`` (see :func:`homework_spec_path`)."""
    return load_spec(homework_spec_path(name, lang))


@functools.cache
def graded_functions(name: str) -> frozenset[str]:
    """The student functions the homework ``name`` grades."""
    return frozenset(p.function for p in load_homework(name).parts)


def defined_functions(path: str | os.PathLike[str], beneath: str | None = None) -> set[str]:
    """Names the submission at ``path`` defines with ``def``, read through the guarded intake.

    Empty when the submission cannot be read: grading then reports why.
    """
    every = set().union(*(graded_functions(name) for name in homework_names()))
    try:
        intake = read_submission(path, functions=every, beneath=beneath)
    except (SubmissionError, OSError):
        return set()
    return {m.decode("ascii") for m in _DEF.findall(intake.data)}


def infer_homework(
    path: str | os.PathLike[str], *, lang: str = "en", beneath: str | None = None
) -> str | None:
    """The homework a submission is for, from the graded functions it defines.

    The homework of which it defines the most graded functions wins; a tie between homeworks it
    defines functions of is an error. None when it defines no graded function of any homework
    (or cannot be read): the caller grades it as :data:`DEFAULT_HOMEWORK`.

    Raises
    ------
    SpecError
        Ambiguous: say which with ``--homework``.
    """
    names = homework_names()
    if len(names) == 1:
        return names[0]
    defined = defined_functions(path, beneath)
    scores = {name: len(graded_functions(name) & defined) for name in names}
    best = max(scores.values(), default=0)
    if best == 0:
        return None
    tied = [name for name, score in scores.items() if score == best]
    if len(tied) > 1:
        raise SpecError(msg("hw_ambiguous", lang, path=os.fspath(path), names=", ".join(tied)))
    return tied[0]


def spec_for(
    path: str | os.PathLike[str] | None,
    homework: str | None = None,
    *,
    lang: str = "en",
    beneath: str | os.PathLike[str] | None = None,
) -> Spec:
    """The spec to grade ``path`` with: ``homework``'s, else the one inferred from ``path``.

    Raises
    ------
    SpecError
        ``homework`` is unknown, or ``path`` is ambiguous.
    """
    if homework is None and path is not None:
        homework = infer_homework(
            path, lang=lang, beneath=None if beneath is None else str(beneath)
        )
    return load_homework(homework or DEFAULT_HOMEWORK, lang)
