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
(two files for one id, a symbolic link, a FIFO or device, an entry it cannot even ``lstat``)
becomes a :class:`Submission` with ``problem`` set, so the batch records an error row for it and
goes on. Discovery looks at each entry with ``lstat`` only: it never follows a link, never opens a
student's file and never walks a student's folder (what is inside is :mod:`autograder.intake`'s
business, when the submission is graded), so no entry can make it block, recurse or read.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from autograder.intake import escaped
from autograder.messages import msg

FLAT, NBGRADER, AUTO = "flat", "nbgrader", "auto"
LAYOUTS = (AUTO, FLAT, NBGRADER)

# Entries every file manager or archiver leaves behind; never a student's submission.
IGNORED_NAMES = frozenset({"__pycache__", "__MACOSX", "Thumbs.db", "desktop.ini"})

# Roster columns, most specific first. Gradescope exports "SID" and "Email", GitHub Classroom
# exports "identifier" and "github_username".
ID_COLUMNS = ("student_id", "sid", "identifier", "id", "email")
KEY_COLUMNS = ("submission", "file", "folder", "github_username", "login", "username")

# Ids kept as their own folder name: lower case (``Alice`` and ``alice`` are one folder on macOS
# and Windows), portable, no leading or trailing dot or dash, and not shaped like a hashed slug.
_PLAIN_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9._@+-]{0,62}[a-z0-9])?")
_DIGEST_CHARS = 20  # 80 bits of sha256
_HASHED_SLUG = re.compile(rf".*-[0-9a-f]{{{_DIGEST_CHARS}}}", re.S)
# Device names Windows reserves, with any extension (``con.smith`` is CON).
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{d}{i}" for d in ("com", "lpt") for i in (*"123456789", "¹", "²", "³")}
)


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
    """The folder name of the student's outputs: one per id, whatever the ids.

    A plain id (lower-case letters, digits and ``._@+-``, at most 64 characters, such as ``alice``
    or ``s0001``) is its own folder name. Any other id (upper case, spaces, ``..``, non-ASCII,
    undecodable bytes, a Windows device name, or one shaped like the names below) becomes a
    readable ASCII part, a dash and 20 hex digits of the sha256 of the id's exact code points
    (a name from the file system carries its exact bytes). The two kinds never meet: a plain
    id never ends with a dash and 20 hex digits, every hashed name does. So two ids share a
    folder only if they are equal, even on a case-insensitive file system, short of an 80-bit
    sha256 collision.
    """
    if (
        _PLAIN_SLUG.fullmatch(student_id)
        and not _HASHED_SLUG.fullmatch(student_id)
        and student_id.split(".")[0] not in _RESERVED
    ):
        return student_id
    readable = re.sub(r"[^A-Za-z0-9._@+-]+", "_", student_id)
    readable = re.sub(r"^[^A-Za-z0-9]+", "", readable)[:40].rstrip(".") or "student"
    if readable.split(".")[0].casefold() in _RESERVED:
        readable = "_" + readable
    digest = hashlib.sha256(student_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{readable}-{digest[:_DIGEST_CHARS]}"


def shown_id(student_id: str) -> str:
    """A student id as valid UTF-8 text for files (gradebook, reports): undecodable bytes of a
    file name (GBK from a Chinese Windows machine, say) as ``\\xNN``, so ids stay distinct."""
    return escaped(student_id)


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
    lang: str = "en",
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
    lang : str
        Language of the problems recorded for entries that cannot be graded.

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
    skip = _identities([*exclude, *([Path(roster)] if roster else [])])
    try:
        if layout == NBGRADER:
            found, assignment = _nbgrader_entries(root, assignment)
        else:
            found = [e for e in _entries(root) if e.identity not in skip]
    except OSError as exc:  # the instructor's own folder, not a student's entry
        raise DiscoveryError(f"cannot read {root}: {exc.strerror or exc}") from None
    return _assemble(found, mapping, layout, assignment, lang)


@dataclass(frozen=True)
class _Found:
    """One entry as ``lstat`` saw it (``info`` None: it could not even be looked at)."""

    name: str
    path: Path | None
    info: os.stat_result | None = None

    @property
    def identity(self) -> tuple[int, int] | None:
        return None if self.info is None else (self.info.st_dev, self.info.st_ino)

    @property
    def is_folder(self) -> bool:
        return self.info is not None and stat.S_ISDIR(self.info.st_mode)


def _identities(paths: list[Path]) -> set[tuple[int, int]]:
    """(device, inode) of the instructor's own paths (links followed: they are trusted)."""
    found = set()
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        found.add((info.st_dev, info.st_ino))
    return found


def _assemble(
    found: list[_Found],
    mapping: dict[str, str] | None,
    layout: str,
    assignment: str | None,
    lang: str = "en",
) -> Discovery:
    warnings: list[str] = []
    by_id: dict[str, list[_Found]] = defaultdict(list)
    for entry in found:
        student_id = _student_id(entry, mapping, layout)
        if student_id is None:
            student_id = _stem(entry)
            warnings.append(
                f"{printable(entry.name)} is not on the roster; graded as {printable(student_id)!r}"
            )
        by_id[student_id].append(entry)
    if mapping is not None:
        for student_id in set(mapping.values()) - set(by_id):
            by_id[student_id].append(_Found(student_id, None))
    submissions = [_one(student_id, entries, lang) for student_id, entries in by_id.items()]
    submissions.sort(key=lambda s: s.student_id)
    return Discovery(submissions, layout, assignment, warnings)


def _one(student_id: str, entries: list[_Found], lang: str = "en") -> Submission:
    real = [e for e in entries if e.path is not None]
    if not real:
        return Submission(student_id, None)
    if len(real) > 1:
        names = ", ".join(sorted(escaped(e.name) for e in real))
        return Submission(student_id, real[0].path, msg("discover_several", lang, names=names))
    return Submission(student_id, real[0].path, _entry_problem(real[0], lang))


def _student_id(entry: _Found, mapping: dict[str, str] | None, layout: str) -> str | None:
    if mapping is None:
        return entry.name if layout == NBGRADER else _stem(entry)
    for key in (entry.name, _stem(entry)):
        if key in mapping:
            return mapping[key]
    folded = {k.casefold(): v for k, v in mapping.items()}
    for key in (entry.name, _stem(entry)):
        if key.casefold() in folded:
            return folded[key.casefold()]
    return None


def _stem(entry: _Found) -> str:
    """``alice.py`` → ``alice``; a folder keeps its whole name (``alice.smith``)."""
    name = entry.name
    if entry.is_folder:
        return name
    return Path(name).stem if Path(name).suffix else name


def _entry_problem(entry: _Found, lang: str = "en") -> str | None:
    """Why an entry is no submission, from its ``lstat`` alone (nothing is followed or opened).

    A symbolic link could point the trusted parent at any file of the grading machine; a FIFO
    would block whoever opens it. What a folder holds is checked when it is read (intake).
    """
    info = entry.info
    if info is None:
        return msg("discover_unreadable", lang, name=escaped(entry.name))
    if stat.S_ISLNK(info.st_mode):
        return msg("discover_symlink", lang)
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return msg("discover_special", lang, name=escaped(entry.name))
    return None


def _entries(folder: Path) -> list[_Found]:
    """The visible entries of ``folder``, each ``lstat``-ed (no link followed), sorted by name.

    ``folder`` itself must be readable (the instructor's); an entry that cannot be looked at is
    kept with ``info`` None, so it gets an error row rather than vanishing.
    """
    found = []
    with os.scandir(folder) as it:
        for item in it:
            if item.name.startswith(".") or item.name in IGNORED_NAMES:
                continue
            try:
                info: os.stat_result | None = item.stat(follow_symlinks=False)
            except OSError:
                info = None
            found.append(_Found(item.name, Path(folder, item.name), info))
    return sorted(found, key=lambda e: os.fsencode(e.name))


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
    students = _entries(root)
    return bool(students) and all(e.is_folder for e in students)


def _nbgrader_entries(root: Path, assignment: str | None) -> tuple[list[_Found], str]:
    """One entry per student folder (a link where a student folder should be: an error row)."""
    base = _nbgrader_base(root)
    students = [
        e for e in _entries(base) if e.is_folder or e.info is None or stat.S_ISLNK(e.info.st_mode)
    ]
    if assignment is None:
        names = {
            a.name
            for s in students
            if s.is_folder
            for a in _student_entries(s)
            if a.info is not None and not stat.S_ISREG(a.info.st_mode)
        }
        if len(names) != 1:
            listed = ", ".join(printable(n) for n in sorted(names)[:8]) or "none"
            raise DiscoveryError(
                f"nbgrader layout: cannot tell which assignment to grade (found: {listed}); "
                "pass --assignment NAME"
            )
        assignment = names.pop()
    found = []
    for student in students:
        if not student.is_folder:  # the link (or unreadable entry) itself is the error row
            found.append(student)
            continue
        folder = Path(base, student.name, assignment)
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            found.append(_Found(student.name, None))
            continue
        except OSError:
            info = None
        found.append(_Found(student.name, folder, info))
    return found, assignment


def _student_entries(student: _Found) -> list[_Found]:
    assert student.path is not None
    try:
        return _entries(student.path)
    except OSError:  # one unreadable student folder must not hide the class
        return []


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
