"""Find one submission per student in a folder.

Two layouts are understood:

``flat``
    Every visible entry of ``SUBMISSIONS_DIR`` is one student's submission: a file (``alice.py``,
    ``bob.ipynb``) or a folder (``carol/``). The student id is the file's stem or the folder's
    name, unless a roster CSV maps names to ids.
``nbgrader``
    nbgrader's ``submitted/{student}/{assignment}/`` tree (``SUBMISSIONS_DIR`` is the course
    folder or its ``submitted/`` folder). The student id is the student folder's name.

Discovery never fails because of one student: anything it cannot turn into exactly one submission
(two files for one id, a symbolic link) becomes a :class:`Submission` with ``problem`` set, so the
batch records an error row for it and goes on.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

FLAT, NBGRADER, AUTO = "flat", "nbgrader", "auto"
LAYOUTS = (AUTO, FLAT, NBGRADER)

# Entries every file manager or archiver leaves behind; never a student's submission.
IGNORED_NAMES = frozenset({"__pycache__", "__MACOSX", "Thumbs.db", "desktop.ini"})

# Roster columns, most specific first. Gradescope exports "SID" and "Email", GitHub Classroom
# exports "identifier" and "github_username".
ID_COLUMNS = ("student_id", "sid", "identifier", "id", "email")
KEY_COLUMNS = ("submission", "file", "folder", "github_username", "login", "username")

_SAFE_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}")


class DiscoveryError(ValueError):
    """The folder or roster cannot be read as a class; the message says what to fix."""


@dataclass(frozen=True)
class Submission:
    """One student's entry in a batch.

    Attributes
    ----------
    student_id : str
        The id that seeds the student's hidden cases and names their gradebook row.
    path : Path or None
        The file or folder to grade; ``None`` when the student is known but submitted nothing.
    problem : str or None
        Why this entry cannot be graded as it stands (shown in the error row).
    """

    student_id: str
    path: Path | None
    problem: str | None = None

    @property
    def missing(self) -> bool:
        return self.path is None and self.problem is None

    @property
    def slug(self) -> str:
        return student_slug(self.student_id)


@dataclass
class Discovery:
    """What :func:`discover` found."""

    submissions: list[Submission]
    layout: str
    assignment: str | None = None
    warnings: list[str] = field(default_factory=list)


def student_slug(student_id: str) -> str:
    """A folder name for the student's outputs that no id can turn into a path trick.

    Ids that are already safe keep their name (readable output folders); anything else (spaces,
    ``..``, non-ASCII, control characters) is reduced to safe characters plus a hash of the
    original, so two different ids never share a folder.
    """
    if _SAFE_SLUG.fullmatch(student_id):
        return student_id
    readable = re.sub(r"[^A-Za-z0-9._@+-]+", "_", student_id).strip("._")[:40] or "student"
    digest = hashlib.sha256(student_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable}-{digest}"


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def discover(
    root: str | Path,
    *,
    roster: str | Path | None = None,
    layout: str = AUTO,
    assignment: str | None = None,
    exclude: tuple[Path, ...] = (),
) -> Discovery:
    """Find the class's submissions.

    Parameters
    ----------
    root : str or Path
        The submissions folder.
    roster : str or Path, optional
        CSV mapping submission names to student ids (see :func:`read_roster`). Roster students
        without a submission get a ``missing`` entry.
    layout : {"auto", "flat", "nbgrader"}
        ``auto`` picks ``nbgrader`` when ``root`` holds (or is) a ``submitted/`` tree.
    assignment : str, optional
        The nbgrader assignment folder name; guessed when every student has only one.
    exclude : tuple of Path
        Paths inside ``root`` that are not submissions (the output folder, the roster).

    Returns
    -------
    Discovery
        Submissions sorted by student id, exactly one per id.

    Raises
    ------
    DiscoveryError
        ``root`` is not a folder, the roster is unreadable, or the nbgrader assignment is ambiguous.
    """
    root = Path(root)
    if not root.is_dir():
        raise DiscoveryError(f"{root} is not a folder of submissions")
    if layout not in LAYOUTS:
        raise DiscoveryError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    if layout == AUTO:
        layout = NBGRADER if _looks_like_nbgrader(root) else FLAT
    mapping = read_roster(roster) if roster else None
    skip = {p.resolve() for p in exclude} | ({Path(roster).resolve()} if roster else set())
    if layout == NBGRADER:
        found, assignment = _nbgrader_entries(root, assignment)
    else:
        found = [(p.name, p) for p in _visible(root) if p.resolve() not in skip]
    return _assemble(found, mapping, layout, assignment)


def _assemble(
    found: list[tuple[str, Path | None]],
    mapping: dict[str, str] | None,
    layout: str,
    assignment: str | None,
) -> Discovery:
    warnings: list[str] = []
    by_id: dict[str, list[Path | None]] = defaultdict(list)
    for name, path in found:
        student_id = _student_id(name, path, mapping, layout)
        if student_id is None:
            student_id = _stem(name, path)
            warnings.append(f"{printable(name)} is not on the roster; graded as {student_id!r}")
        by_id[student_id].append(path)
    if mapping is not None:
        for student_id in set(mapping.values()) - set(by_id):
            by_id[student_id].append(None)
    submissions = [_one(student_id, paths) for student_id, paths in by_id.items()]
    submissions.sort(key=lambda s: s.student_id)
    return Discovery(submissions, layout, assignment, warnings)


def _one(student_id: str, paths: list[Path | None]) -> Submission:
    real = [p for p in paths if p is not None]
    if not real:
        return Submission(student_id, None)
    if len(real) > 1:
        names = ", ".join(sorted(p.name for p in real))
        return Submission(
            student_id, real[0], f"several submissions for one student ({names}); keep one"
        )
    return Submission(student_id, real[0], _link_problem(real[0]))


def _student_id(
    name: str, path: Path | None, mapping: dict[str, str] | None, layout: str
) -> str | None:
    if mapping is None:
        return name if layout == NBGRADER else _stem(name, path)
    for key in (name, _stem(name, path)):
        if key in mapping:
            return mapping[key]
    folded = {k.casefold(): v for k, v in mapping.items()}
    for key in (name, _stem(name, path)):
        if key.casefold() in folded:
            return folded[key.casefold()]
    return None


def _stem(name: str, path: Path | None) -> str:
    """``alice.py`` → ``alice``; a folder keeps its whole name (``alice.smith``)."""
    if path is not None and path.is_dir() and not path.is_symlink():
        return name
    return Path(name).stem if Path(name).suffix else name


def _link_problem(path: Path) -> str | None:
    """Symbolic links could point the trusted parent at any file on the grading machine."""
    if path.is_symlink():
        return "symbolic links are not accepted as submissions"
    if path.is_dir():
        for sub in path.rglob("*"):
            if sub.is_symlink():
                return f"the folder contains a symbolic link ({sub.name}); submit plain files"
    return None


def _visible(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in IGNORED_NAMES
    )


def printable(text: str) -> str:
    """Student-chosen names go to the terminal: no control characters or escape sequences."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


# ---------------------------------------------------------------------------------------------
# nbgrader
# ---------------------------------------------------------------------------------------------


def _nbgrader_base(root: Path) -> Path:
    return root / "submitted" if (root / "submitted").is_dir() else root


def _looks_like_nbgrader(root: Path) -> bool:
    if (root / "submitted").is_dir():
        return True
    if root.name != "submitted":
        return False
    students = _visible(root)
    return bool(students) and all(p.is_dir() and not p.is_symlink() for p in students)


def _nbgrader_entries(root: Path, assignment: str | None) -> tuple[list, str]:
    base = _nbgrader_base(root)
    students = [p for p in _visible(base) if p.is_dir() and not p.is_symlink()]
    if assignment is None:
        names = {a.name for s in students for a in _visible(s) if a.is_dir()}
        if len(names) != 1:
            listed = ", ".join(sorted(names)[:8]) or "none"
            raise DiscoveryError(
                f"nbgrader layout: cannot tell which assignment to grade (found: {listed}); "
                "pass --assignment NAME"
            )
        assignment = names.pop()
    found = []
    for student in students:
        folder = student / assignment
        found.append((student.name, folder if folder.exists() else None))
    return found, assignment


# ---------------------------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------------------------


def read_roster(path: str | Path) -> dict[str, str]:
    """Read a roster CSV into ``{submission name: student id}``.

    The header names the columns. The id column is the first of ``student_id``, ``sid``,
    ``identifier``, ``id``, ``email``; the submission column is the first of ``submission``,
    ``file``, ``folder``, ``github_username``, ``login``, ``username``. A roster with only an id
    column lists the class: submissions are then named by id, and absent students are reported.

    Raises
    ------
    DiscoveryError
        Unreadable file, no recognisable id column, or one name mapped to two ids.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiscoveryError(f"cannot read roster {path}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    columns = {(c or "").strip().casefold(): c for c in reader.fieldnames or []}
    id_col = next((columns[c] for c in ID_COLUMNS if c in columns), None)
    key_col = next((columns[c] for c in KEY_COLUMNS if c in columns), id_col)
    if id_col is None:
        raise DiscoveryError(
            f"roster {path.name} has no student id column (one of: {', '.join(ID_COLUMNS)})"
        )
    mapping: dict[str, str] = {}
    for row in reader:
        key, student_id = (row.get(key_col) or "").strip(), (row.get(id_col) or "").strip()
        if not key or not student_id:
            continue
        if mapping.get(key, student_id) != student_id:
            raise DiscoveryError(f"roster {path.name} maps {key!r} to two student ids")
        mapping[key] = student_id
    return mapping
