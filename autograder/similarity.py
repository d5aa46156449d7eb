"""Similarity between the submissions of a class, with copydetect (MOSS-style winnowing).

``bpgrade similarity SUBMISSIONS --out DIR`` compares whole submissions: the main file, a
notebook's code cells and a folder's other ``.py``/``.ipynb`` files, all read through the guarded
reader (:func:`autograder.intake.read_submission`; nothing is executed or imported). Code is
tokenised by copydetect (Pygments), with names, strings and comments normalised away, so renamed
variables, new comments and moved whitespace change nothing.

What two correct backprop solutions share by necessity is subtracted before comparing:

- the released starter code (``assignments/backprop/*/nn.py`` and the notebook's code cells) and
  any ``--boilerplate`` file, as copydetect boilerplate;
- fingerprints found in more than ``common`` of the submissions (MOSS's and Dolos's rule: code
  half the class shares is the assignment's idiom, not a copy), from 10 submissions on.

A pair's ``score`` is the larger of the two coverages (the share of one submission's remaining
fingerprinted code found in the other, copydetect's similarity), and ``longest`` the longest
shared run, in normalised characters (a name counts as one). A pair is *flagged* only when both
``score >= threshold`` and ``longest >= min_longest``: two independent 3-line ``sigmoidGradient``
functions are identical after normalisation (score 1.00 in the research measurements), so a short
match alone never flags. Pairs are ranked flagged first, then by score, then by longest run.

This is similarity, not a verdict: every page of the report says so.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from autograder.intake import SubmissionError, read_submission

#: copydetect's noise threshold k (k-gram length, normalised characters) and winnowing window.
K = 25
WINDOW = 1
DEFAULT_THRESHOLD = 0.6
#: Shortest shared run that can flag a pair: longer than any short function (a whole
#: sigmoid + sigmoidGradient pair normalises to about 70 characters).
DEFAULT_MIN_LONGEST = 200
DEFAULT_COMMON = 0.5
COMMON_FROM = 10
#: Text read per submission (normalised code is much shorter).
MAX_CHARS = 400_000
CODE_SUFFIXES = (".py", ".ipynb")
ROOT = Path(__file__).resolve().parents[1]


class SimilarityError(RuntimeError):
    """copydetect is missing, or nothing could be compared."""


@dataclass
class Document:
    """One student's code, as compared."""

    student_id: str
    text: str
    problem: str | None = None
    fingerprint: object = None  # copydetect.CodeFingerprint


@dataclass
class Pair:
    """Two students' similarity (``a`` < ``b`` by id)."""

    a: str
    b: str
    score: float
    longest: int
    flagged: bool
    coverage: tuple[float, float] = (0.0, 0.0)

    def to_json(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "score": round(self.score, 4),
            "longest": self.longest,
            "flagged": self.flagged,
        }


@dataclass
class SimilarityResult:
    documents: list[Document]
    pairs: list[Pair]
    threshold: float
    min_longest: int
    boilerplate: list[str] = field(default_factory=list)
    common_hashes: int = 0


def _copydetect():
    try:
        import copydetect  # noqa: F401
    except ImportError:
        raise SimilarityError(
            "copydetect is not installed: pip install 'bpgrade[similarity]'"
        ) from None
    logging.getLogger().setLevel(logging.ERROR)  # copydetect logs a warning per odd file
    from copydetect import CodeFingerprint
    from copydetect.utils import (
        find_fingerprint_overlap,
        get_copied_slices,
        get_token_coverage,
    )

    return CodeFingerprint, find_fingerprint_overlap, get_copied_slices, get_token_coverage


# ---------------------------------------------------------------------------------------------
# Reading code (never executing it)
# ---------------------------------------------------------------------------------------------


def notebook_code(text: str) -> str:
    """A notebook's code cells joined, magics and shell escapes dropped (capped JSON reading)."""
    from autograder.submission import _code_cells, strip_magics

    return "\n\n".join(strip_magics(cell) for _, cell in _code_cells(text))


def _as_code(name: str, data: bytes) -> str:
    text = data.decode("utf-8-sig", errors="replace")
    return notebook_code(text) if name.lower().endswith(".ipynb") else text


def submission_code(path: str | Path) -> str:
    """All the code of a submission: its main file, then its other code files, in name order.

    Raises
    ------
    SubmissionError
        The guarded reader refused the submission (a link, a FIFO, too large, ...).
    """
    intake = read_submission(path)
    parts = [_as_code(intake.origin.name, intake.data)]
    for name in sorted(intake.files):
        if name.lower().endswith(CODE_SUFFIXES):
            try:
                parts.append(_as_code(name, intake.files[name]))
            except SubmissionError:  # a broken helper notebook: the rest still counts
                continue
    return "\n\n".join(parts)[:MAX_CHARS]


def starter_files() -> list[Path]:
    """The released starter code: every language's ``nn.py`` and notebook."""
    release = ROOT / "assignments" / "backprop"
    return sorted(release.glob("*/nn.py")) + sorted(release.glob("*/*.ipynb"))


def read_class(submissions: list[tuple[str, Path | None]]) -> list[Document]:
    """Each student's code; a submission that cannot be read is kept with its problem."""
    docs = []
    for student_id, path in submissions:
        if path is None:
            continue
        try:
            docs.append(Document(student_id, submission_code(path)))
        except (SubmissionError, OSError, ValueError) as exc:
            docs.append(Document(student_id, "", problem=str(exc)))
    return docs


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------


def _fingerprint(text: str, boilerplate):
    CodeFingerprint = _copydetect()[0]
    return CodeFingerprint(
        "submission.py", K, WINDOW, boilerplate, fp=io.StringIO(text), language="python"
    )


def boilerplate_hashes(paths: list[Path]):
    """The fingerprints of the starter code and any other boilerplate file."""
    import numpy as np

    hashes: set = set()
    for path in paths:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
        code = notebook_code(text) if path.suffix.lower() == ".ipynb" else text
        hashes |= _fingerprint(code, None).hashes
    return np.array(sorted(hashes))


def _drop_common(docs: list[Document], common: float | None) -> int:
    """Remove fingerprints present in more than ``common`` of the submissions."""
    usable = [d for d in docs if d.fingerprint is not None]
    if common is None or len(usable) < COMMON_FROM:
        return 0
    get_token_coverage = _copydetect()[3]
    counts: dict = {}
    for d in usable:
        for h in d.fingerprint.hashes:
            counts[h] = counts.get(h, 0) + 1
    limit = common * len(usable)
    frequent = {h for h, n in counts.items() if n > limit}
    if not frequent:
        return 0
    for d in usable:
        fp = d.fingerprint
        if fp.hashes & frequent:
            fp.hashes = fp.hashes - frequent
            fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in frequent}
            fp.token_coverage = get_token_coverage(fp.hash_idx, K, len(fp.filtered_code))
    return len(frequent)


@dataclass(frozen=True)
class _Arrays:
    """A fingerprint as numpy arrays, so that a pair costs a few vectorised calls.

    copydetect's own ``find_fingerprint_overlap`` builds one small array per shared hash, which
    dominates a class of 500 (125,000 pairs); this gives the same positions, hence the same
    scores as :func:`copydetect.compare_files`.
    """

    unique: object  # sorted distinct hashes
    hashes: object  # the hash at each fingerprinted position
    positions: object  # those positions in the normalised code
    coverage: float  # copydetect's token_coverage

    @classmethod
    def of(cls, fp) -> _Arrays:
        import numpy as np

        hashes = [h for h, where in fp.hash_idx.items() for _ in where]
        positions = [p for where in fp.hash_idx.values() for p in where]
        h = np.array(hashes, dtype=np.int64)
        return cls(np.unique(h), h, np.array(positions, dtype=np.int64), fp.token_coverage)


def _member(values, sorted_set):
    """``np.isin(values, sorted_set)`` for a sorted set, without sorting anything again."""
    import numpy as np

    if sorted_set.size == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.searchsorted(sorted_set, values)
    at[at == sorted_set.size] = 0
    return sorted_set[at] == values


def compare(a: _Arrays, b: _Arrays) -> tuple[tuple[float, float], int]:
    """Both coverages and the longest shared run (normalised characters) of two fingerprints."""

    copied_slices = _copydetect()[2]
    shared = a.unique[_member(a.unique, b.unique)]
    if shared.size == 0:
        return (0.0, 0.0), 0
    slices_a = copied_slices(a.positions[_member(a.hashes, shared)], K)
    slices_b = copied_slices(b.positions[_member(b.hashes, shared)], K)
    runs_a, runs_b = slices_a[1] - slices_a[0], slices_b[1] - slices_b[0]
    cover_a = float(runs_a.sum()) / a.coverage if a.coverage else 0.0
    cover_b = float(runs_b.sum()) / b.coverage if b.coverage else 0.0
    longest = int(max(runs_a.max(), runs_b.max()))
    return (min(cover_a, 1.0), min(cover_b, 1.0)), longest


def find_similar(
    docs: list[Document],
    *,
    boilerplate: list[Path] | None = None,
    starter: bool = True,
    threshold: float = DEFAULT_THRESHOLD,
    min_longest: int = DEFAULT_MIN_LONGEST,
    common: float | None = DEFAULT_COMMON,
) -> SimilarityResult:
    """Every pair of readable submissions that shares code beyond the boilerplate, ranked.

    Parameters
    ----------
    docs : list of Document
    boilerplate : list of Path, optional
        More files whose code is not evidence (last year's solution sheet, a shared helper).
    starter : bool
        Subtract the released starter code (:func:`starter_files`).
    threshold : float
        Score from which a pair may be flagged.
    min_longest : int
        Shortest shared run (normalised characters) a flagged pair must have.
    common : float or None
        Drop fingerprints shared by more than this share of the class (``None``: keep all).
    """
    files = (starter_files() if starter else []) + list(boilerplate or [])
    base = boilerplate_hashes(files) if files else None
    for d in docs:
        if d.problem is None:
            d.fingerprint = _fingerprint(d.text, base)
    dropped = _drop_common(docs, common)
    usable = [d for d in docs if d.fingerprint is not None and d.fingerprint.hashes]
    arrays = [_Arrays.of(d.fingerprint) for d in usable]
    pairs = []
    for i, a in enumerate(usable):
        for j in range(i + 1, len(usable)):
            b = usable[j]
            coverage, longest = compare(arrays[i], arrays[j])
            score = max(coverage)
            if score <= 0:
                continue
            first, second = (a, b) if a.student_id <= b.student_id else (b, a)
            cov = coverage if first is a else coverage[::-1]
            flagged = bool(score >= threshold and longest >= min_longest)
            pairs.append(
                Pair(first.student_id, second.student_id, float(score), longest, flagged, cov)
            )
    pairs.sort(key=lambda p: (not p.flagged, -p.score, -p.longest, p.a, p.b))
    return SimilarityResult(
        docs, pairs, threshold, min_longest, [str(f) for f in files], common_hashes=dropped
    )


def matched_regions(a: Document, b: Document) -> tuple[list, list]:
    """Character ranges of the raw code of ``a`` and ``b`` that match (after :func:`find_similar`:
    boilerplate and common code already removed), for the side-by-side view."""
    from copydetect import compare_files

    _, _, (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    return _ranges(slices_a), _ranges(slices_b)


def _ranges(slices) -> list[tuple[int, int]]:
    if len(slices) == 0 or len(slices[0]) == 0:
        return []
    return sorted((int(s), int(e)) for s, e in zip(slices[0], slices[1], strict=True))
