"""The one guarded way to read a submission (a ``.py``, an ``.ipynb`` or a folder) into memory.

Everything the grader reads of a submission goes through :func:`read_submission`, with the
grader's own privileges, so the submission must not be able to choose *what* is read:

* **regular files only.** Every entry is ``lstat``-ed without following links, then opened with
  ``O_NOFOLLOW | O_NONBLOCK | O_NOCTTY`` relative to its parent folder's descriptor (``dir_fd``), and
  ``fstat``-ed before a byte is read: it must still be the same regular file. A FIFO, device or
  socket is never opened (a swap between the ``lstat`` and the ``open`` is caught by the ``fstat``;
  ``O_NONBLOCK`` keeps even that open from blocking).
* **no symbolic link is followed, at any depth.** The path given to :func:`read_submission` may
  not be one; inside a folder a link is skipped with a warning (it is never opened, and its target
  is never read or named). So are hard links to another user's file.
* **bounded before reading.** Sizes come from the ``fstat`` of the open file and are checked
  against the caps before reading; reads stop one byte past a cap, so a file that grows is caught.
  The walk is a breadth-first queue (no recursion), stops descending at :data:`MAX_DEPTH` and
  refuses a folder with more than :data:`MAX_ENTRIES` entries.
* **names are bytes.** Every name is taken as bytes (``os.fsencode``) and decoded as UTF-8; a name
  that is not valid UTF-8 (a GBK name from a Chinese Windows machine, say) is read under a safe
  replacement (U+FFFD for the undecodable bytes) with a warning, never an exception.

Caps (the numbers are module constants):

==========================  ==========================================================
the main file               :data:`MAX_SOURCE_BYTES` (5 MiB), as before
any other ``.py``/``.ipynb``  :data:`MAX_SOURCE_BYTES`
a folder's files in all     :data:`MAX_FILES` (64) files, :data:`MAX_TOTAL_BYTES` (20 MiB)
folder depth                :data:`MAX_DEPTH` (8) levels below the submitted folder
entries looked at           :data:`MAX_ENTRIES` (2,000), :data:`MAX_DIRS` (64) folders
==========================  ==========================================================

What is refused and what is skipped: anything that makes the *main file* unreadable (missing, a
link, a FIFO or device, empty, too large, no candidate, several candidates, too many entries) is a
:class:`SubmissionError` with a message safe to show the student. Any *other* entry that breaks a
rule is skipped with a warning (a stray link or a 50 MiB video must not cost the marks of correct
code); the student's code then simply does not find it. Junk (``__pycache__``,
``.ipynb_checkpoints``, ``.git``, ``.DS_Store``, ``*.pyc``, any dot-name) is skipped silently.

Choosing the main file of a folder (a package's ``__init__.py`` never is one): a top-level
``nn.py`` / ``backprop.ipynb`` / ``submission.py`` / ``submission.ipynb`` (first found); else the
only ``.py``/``.ipynb``; else the one defining most of the graded functions (helpers such as
``utils.py`` define none, so ``hw4.py`` + ``utils.py`` is not ambiguous; on a tie, the shallowest);
else the only one nearest the top, or the preferred name there (``hw4/nn.py`` beside
``hw4/utils.py``); anything else is ambiguous. The other files are returned keyed by their path relative to the main file's
folder (safe relative POSIX paths); files outside that folder are skipped with a warning.

Anchoring: ``read_submission(path, beneath=BASE)`` also refuses a link in any folder between
``BASE`` (the grader's own, trusted) and ``path``: each is opened ``O_NOFOLLOW | O_DIRECTORY``
relative to the previous one (nbgrader's ``submitted/<student>/<assignment>/``, Gradescope's
``/autograder/submission``).

Fingerprints: :func:`submission_digest` hashes what :func:`read_submission` would read, by the same
walk and within the same caps (a file it would not read, or a sparse one, is hashed by its size and
times), so a batch can tell a changed submission without ever blocking, recursing or reading more
than a grading would.

Portability: where ``O_NOFOLLOW`` or ``dir_fd`` do not exist (Windows), the same walk runs on path
strings: ``lstat`` (a reparse point counts as a link), then ``open``, then ``fstat`` compared with
the ``lstat`` (same file index), which is the best that platform offers. The module imports on any
platform.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.messages import msg

MiB = 1 << 20
MAX_SOURCE_BYTES = 5 * MiB
MAX_TOTAL_BYTES = 20 * MiB
MAX_FILES = 64
MAX_DEPTH = 8
MAX_DIRS = 64
MAX_ENTRIES = 2000
MAX_WARNINGS = 12
CODE_SUFFIXES = (".py", ".ipynb")
PREFERRED = ("nn.py", "backprop.ipynb", "submission.py", "submission.ipynb")
JUNK_NAMES = frozenset(
    {"__pycache__", "__MACOSX", "Thumbs.db", "desktop.ini", "venv", "node_modules"}
)
JUNK_SUFFIXES = (".pyc", ".pyo", "~")

_FILE_REPARSE_POINT = 0x400  # Windows FILE_ATTRIBUTE_REPARSE_POINT (junctions, symlinks)
_DEF = re.compile(r"\bdef\s+([A-Za-z_]\w*)\s*\(")
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class SubmissionError(ValueError):
    """The submission cannot be turned into Python source; the message is safe to show."""


def posix_dir_fd() -> bool:
    """Whether this platform has what the guarded walk needs (``O_NOFOLLOW`` and ``dir_fd``)."""
    return (
        hasattr(os, "O_NOFOLLOW")
        and hasattr(os, "O_DIRECTORY")
        and os.open in os.supports_dir_fd
        and os.stat in os.supports_dir_fd
        and os.scandir in os.supports_fd
    )


@dataclass
class Intake:
    """A submission read into memory.

    Attributes
    ----------
    origin : Path
        The main file, as a path under what was submitted.
    main : str
        The main file's name (its path relative to the submitted folder, for a folder).
    data : bytes
        The main file's bytes.
    files : dict of str to bytes
        The folder's other files, keyed by safe relative POSIX paths from the main file's folder.
    warnings : list of str
        What was skipped or renamed, in the requested language.
    """

    origin: Path
    main: str
    data: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_submission(
    path: str | os.PathLike[str],
    *,
    functions: Iterable[str] = (),
    lang: str = "en",
    siblings: bool = False,
    beneath: str | os.PathLike[str] | None = None,
) -> Intake:
    """Read a submission file or folder, guarded (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        A ``.py`` or ``.ipynb`` file, or a folder holding one.
    functions : iterable of str
        The graded functions: among several candidate main files, the one defining most of them
        wins.
    lang : str
        Language of error messages and warnings.
    siblings : bool
        For a file: also read the other files of its folder, as for a folder submission whose
        main file is this one. For a student checking ``nn.py`` in their own homework folder
        (``python check.py nn.py``), never where a folder holds other students' files
        (``grade-all``'s flat layout). If that folder cannot be read as a whole (too many
        entries, say), the file alone is read, with a warning.

    Returns
    -------
    Intake

    Raises
    ------
    SubmissionError
        The main file cannot be read safely; the message says why.
    """
    path = os.fspath(path)
    with _Anchor(path, beneath, lang) as anchor:
        info = _lstat_root(anchor, lang)
        if stat.S_ISDIR(info.st_mode):
            return _Walk(path, info, frozenset(functions), lang, anchor).run()
        single = _read_single(anchor, info, lang)
    return _with_siblings(path, single, lang) if siblings else single


class _Anchor:
    """Where a submission's root entry is opened from: its parent folder's fd, or a path.

    Without ``beneath`` the root is opened by its path (its folders are the caller's). With it,
    every folder from ``beneath`` down is opened ``O_NOFOLLOW | O_DIRECTORY`` relative to the
    previous one (``lstat`` per folder on the fallback), so no link below ``beneath`` is followed.
    """

    def __init__(self, path: str, beneath: str | os.PathLike[str] | None, lang: str):
        self.path, self.lang = path, lang
        self.parent: _Handle | None = None
        self.name = path
        self._fds: list[int] = []
        if beneath is not None:
            try:
                self._descend(os.fspath(beneath))
            except BaseException:
                self.__exit__()
                raise

    def _descend(self, base: str) -> None:
        rel = os.path.relpath(os.path.abspath(self.path), os.path.abspath(base))
        parts = [p for p in re.split(r"[\\/]", rel) if p not in ("", ".")]
        if not parts:  # the trusted folder itself
            return
        if ".." in parts or os.path.isabs(rel):
            raise SubmissionError(msg("intake_not_found", self.lang, name=display(self.path)))
        parent: _Handle = base
        if posix_dir_fd():
            try:
                fd = os.open(base, _flags(directory=True) & ~getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                missing = msg("intake_not_found", self.lang, name=display(self.path))
                raise SubmissionError(missing) from None
            self._fds.append(fd)
            parent = fd
        for part in parts[:-1]:
            parent = self._folder(parent, part)
        self.parent, self.name = parent, parts[-1]

    def _folder(self, parent: _Handle, name: str) -> _Handle:
        try:
            info = _lstat(parent, name)
        except OSError:
            raise SubmissionError(msg("intake_not_found", self.lang, name=display(name))) from None
        if _is_link(info):
            raise SubmissionError(msg("intake_symlink", self.lang, name=display(name)))
        if not stat.S_ISDIR(info.st_mode):
            raise SubmissionError(msg("intake_not_found", self.lang, name=display(self.path)))
        if not isinstance(parent, int):
            return os.path.join(parent, name)
        try:
            fd = _open(parent, name, info, directory=True)
        except OSError as exc:
            raise _unreadable(name, exc, self.lang) from None
        self._fds.append(fd)
        return fd

    def __enter__(self) -> _Anchor:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def _with_siblings(path: str, single: Intake, lang: str) -> Intake:
    """``single`` plus the other files of its folder (read by the same guarded walk)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        walk = _Walk(folder, _lstat_root(folder, lang), frozenset(), lang)
        others = walk.run(main=os.path.basename(path))
    except SubmissionError as exc:
        warning = msg("intake_no_siblings", lang, name=single.main, reason=str(exc))
        return Intake(single.origin, single.main, single.data, {}, [*single.warnings, warning])
    return Intake(single.origin, single.main, single.data, others.files, others.warnings)


def display(name: str | bytes) -> str:
    """A name safe to print and to encode as UTF-8: undecodable bytes and controls replaced."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    text = _UNSAFE_CHARS.sub("?", raw.decode("utf-8", "replace"))
    return text if len(text) <= 120 else text[:117] + "..."


def escaped(name: str | bytes) -> str:
    """A name as valid UTF-8 text that keeps different names apart: undecodable bytes as ``\\xNN``.

    For names that must stay distinct once shown (gradebook ids): :func:`display` would print two
    GBK names alike, as U+FFFD. Names that are valid UTF-8 are returned unchanged.
    """
    if isinstance(name, bytes):
        raw = name
    else:
        try:
            raw = name.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate no file system produced (JSON metadata)
            raw = name.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------------------------------------
# Opening, one entry at a time
# ---------------------------------------------------------------------------------------------

_Handle = int | str  # a folder: its fd (POSIX) or its path (fallback)


def _flags(directory: bool) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    return flags | (getattr(os, "O_DIRECTORY", 0) if directory else getattr(os, "O_NONBLOCK", 0))


def _is_link(info: os.stat_result) -> bool:
    reparse = getattr(info, "st_file_attributes", 0) & _FILE_REPARSE_POINT
    return stat.S_ISLNK(info.st_mode) or bool(reparse)


def _lstat(parent: _Handle | None, name: str) -> os.stat_result:
    if isinstance(parent, int):
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    return os.lstat(name if parent is None else os.path.join(parent, name))


def _open(parent: _Handle | None, name: str, seen: os.stat_result, directory: bool) -> int:
    """Open an entry ``lstat`` saw as ``seen``; OSError unless it is still that file (or dir).

    POSIX: ``O_NOFOLLOW`` relative to the parent's fd, so no link is followed at any point. The
    fallback opens by path and relies on the identity check (st_dev, st_ino) afterwards.
    """
    flags = _flags(directory)
    if isinstance(parent, int):
        fd = os.open(name, flags, dir_fd=parent)
    else:
        fd = os.open(name if parent is None else os.path.join(parent, name), flags)
    try:
        now = os.fstat(fd)
        wanted = stat.S_ISDIR if directory else stat.S_ISREG
        same = (now.st_dev, now.st_ino) == (seen.st_dev, seen.st_ino) or not now.st_ino
        if not (wanted(now.st_mode) and same):
            raise OSError("changed while it was being opened")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int, limit: int) -> bytes | None:
    """At most ``limit`` bytes of an open regular file; None if it holds more (or grew)."""
    if os.fstat(fd).st_size > limit:
        return None
    chunks, total = [], 0
    while True:
        chunk = os.read(fd, min(MiB, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None


def _lstat_root(anchor: _Anchor | str, lang: str) -> os.stat_result:
    if isinstance(anchor, str):
        anchor = _Anchor(anchor, None, lang)
    path = anchor.path
    name = display(os.path.basename(path.rstrip("/\\")) or path)
    try:
        info = _lstat(anchor.parent, anchor.name)
    except (OSError, ValueError):
        raise SubmissionError(msg("intake_not_found", lang, name=display(path))) from None
    if _is_link(info):
        raise SubmissionError(msg("intake_symlink", lang, name=name))
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        raise SubmissionError(msg("intake_special", lang, name=name))
    return info


def _check_source_size(name: str, size: int, lang: str) -> None:
    if size == 0:
        raise SubmissionError(msg("intake_empty", lang, name=display(name)))
    if size > MAX_SOURCE_BYTES:
        raise SubmissionError(
            msg(
                "intake_too_large",
                lang,
                name=display(name),
                size=f"{size / MiB:.0f}",
                limit=MAX_SOURCE_BYTES // MiB,
            )
        )


def _unreadable(name: str, exc: OSError, lang: str) -> SubmissionError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SubmissionError(msg("intake_unreadable", lang, name=display(name), reason=reason))


def _read_single(anchor: _Anchor, info: os.stat_result, lang: str) -> Intake:
    path = anchor.path
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in CODE_SUFFIXES:
        raise SubmissionError(msg("intake_unsupported", lang, suffix=display(suffix or "(none)")))
    _check_source_size(name, info.st_size, lang)
    try:
        fd = _open(anchor.parent, anchor.name, info, directory=False)
    except OSError as exc:
        raise _unreadable(name, exc, lang) from None
    try:
        if _foreign_hard_link(os.fstat(fd), _owner_of_parent(anchor)):
            raise SubmissionError(msg("intake_hard_link", lang, name=display(name)))
        data = _read_fd(fd, MAX_SOURCE_BYTES)
    except OSError as exc:
        raise _unreadable(name, exc, lang) from None
    finally:
        os.close(fd)
    # It may have grown past the cap, or been emptied, since the lstat.
    _check_source_size(name, MAX_SOURCE_BYTES + 1 if data is None else len(data), lang)
    assert data is not None
    return Intake(Path(path), display(name), data)


def _owner_of_parent(anchor: _Anchor) -> int | None:
    try:
        if isinstance(anchor.parent, int):
            return os.fstat(anchor.parent).st_uid
        return os.stat(os.path.dirname(os.path.abspath(anchor.path))).st_uid
    except OSError:
        return None


def _foreign_hard_link(info: os.stat_result, owner: int | None) -> bool:
    """A second name for somebody else's file (``ln /secret sub/nn.py``): never read it."""
    return info.st_nlink > 1 and owner is not None and info.st_uid != owner


# ---------------------------------------------------------------------------------------------
# Folders
# ---------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    rel: tuple[str, ...]  # safe components from the submitted folder
    parent: _Handle
    os_name: str  # the name as the OS gave it (surrogate-escaped), for opening
    info: os.stat_result
    data: bytes | None = None  # read already (a candidate main file that was ranked)

    @property
    def relpath(self) -> str:
        return "/".join(self.rel)

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.rel[-1])[1].lower()

    @property
    def is_code(self) -> bool:
        return self.suffix in CODE_SUFFIXES


def _safe_name(os_name: str) -> tuple[str, bool]:
    """The UTF-8 name of an entry, or a safe replacement (and whether one was needed)."""
    raw = os.fsencode(os_name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
    safe = _UNSAFE_CHARS.sub("_", text)
    return safe, safe != os_name


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK_NAMES or name.endswith(JUNK_SUFFIXES)


class _Walk:
    """One folder submission: scan (metadata only), choose the main file, then read."""

    def __init__(
        self,
        path: str,
        info: os.stat_result,
        functions: frozenset[str],
        lang: str,
        anchor: _Anchor | None = None,
    ):
        self.path, self.root_info, self.functions, self.lang = path, info, functions, lang
        self.anchor = anchor or _Anchor(path, None, lang)
        self.name = display(os.path.basename(os.path.normpath(path)) or path)
        self.entries: list[_Entry] = []
        self.notes: list[str] = []
        self.skipped_extra = 0
        # Every folder's fd stays open until the end: its files are opened relative to it.
        self.fds: list[int] = []
        self.dirs = 0
        self.read_bytes = 0

    def run(self, main: str | None = None) -> Intake:
        """Scan, choose the main file (or take the one named ``main``, read already), read."""
        try:
            self._scan()
            if main is None:
                chosen = self._choose_main()
                data = self._read_main(chosen)
            else:
                chosen = self._named(main)
                data = b""
            files = self._read_others(chosen)
        finally:
            for fd in self.fds:
                os.close(fd)
        warnings = self.notes + (
            [msg("intake_more_skipped", self.lang, n=self.skipped_extra)]
            if self.skipped_extra
            else []
        )
        return Intake(Path(self.path, *chosen.rel), chosen.relpath, data, files, warnings)

    # -------------------------------------------------------------- messages

    def _note(self, key: str, rel: tuple[str, ...], **fields: object) -> None:
        """Warn that ``rel`` was skipped because of ``key``; past MAX_WARNINGS only count them."""
        if len(self.notes) >= MAX_WARNINGS:
            self.skipped_extra += 1
            return
        name = "/".join(rel)
        if key == "intake_renamed":
            self.notes.append(msg(key, self.lang, name=name))
            return
        reason = msg(key, self.lang, **fields)
        self.notes.append(msg("intake_skipped", self.lang, name=name, reason=reason))

    def _error(self, key: str, **fields: object) -> SubmissionError:
        return SubmissionError(msg(key, self.lang, name=self.name, **fields))

    # -------------------------------------------------------------- scanning

    def _root_handle(self) -> _Handle:
        if not posix_dir_fd():
            parent = self.anchor.parent
            return self.path if parent is None else os.path.join(parent, self.anchor.name)
        try:
            fd = _open(self.anchor.parent, self.anchor.name, self.root_info, directory=True)
        except OSError as exc:
            raise _unreadable(self.path, exc, self.lang) from None
        self.fds.append(fd)
        return fd

    def _listing(self, handle: _Handle, rel: tuple[str, ...], budget: int) -> list[str]:
        """At most ``budget`` names of one folder (sorted), or a SubmissionError."""
        names: list[str] = []
        try:
            with os.scandir(handle) as it:
                for entry in it:
                    names.append(entry.name)
                    if len(names) > budget:
                        raise self._error("intake_too_many_entries", limit=MAX_ENTRIES)
        except OSError as exc:
            if not rel:
                raise _unreadable(self.path, exc, self.lang) from None
            self._note("skip_unreadable", rel, reason=exc.strerror or type(exc).__name__)
            return []
        return sorted(names)

    def _scan(self) -> None:
        queue: deque[tuple[_Handle, tuple[str, ...], int]] = deque([(self._root_handle(), (), 0)])
        seen = 0
        taken: set[tuple[str, ...]] = set()
        while queue:
            handle, rel, depth = queue.popleft()
            names = self._listing(handle, rel, MAX_ENTRIES - seen)
            seen += len(names)
            for os_name in names:
                name, renamed = _safe_name(os_name)
                if _is_junk(name):
                    continue
                here = rel + (name,)
                if here in taken:  # two undecodable names that read the same
                    self._note("skip_duplicate", here)
                    continue
                taken.add(here)
                if renamed:
                    self._note("intake_renamed", here)
                child = self._child(handle, here, os_name, depth)
                if child is not None:
                    queue.append(child)

    def _child(
        self, handle: _Handle, rel: tuple[str, ...], os_name: str, depth: int
    ) -> tuple[_Handle, tuple[str, ...], int] | None:
        """Record one entry; a folder to visit is returned for the queue."""
        try:
            info = _lstat(handle, os_name)
        except OSError as exc:
            self._note("skip_unreadable", rel, reason=exc.strerror or type(exc).__name__)
            return None
        if _is_link(info):
            self._note("skip_symlink", rel)
        elif stat.S_ISDIR(info.st_mode):
            return self._subfolder(handle, rel, os_name, info, depth)
        elif not stat.S_ISREG(info.st_mode):
            self._note("skip_special", rel)
        elif _foreign_hard_link(info, self.root_info.st_uid):
            self._note("skip_hard_link", rel)
        else:
            self.entries.append(_Entry(rel, handle, os_name, info))
        return None

    def _subfolder(
        self, handle: _Handle, rel: tuple[str, ...], os_name: str, info: os.stat_result, depth: int
    ) -> tuple[_Handle, tuple[str, ...], int] | None:
        if depth + 1 > MAX_DEPTH:
            self._note("skip_deep", rel, limit=MAX_DEPTH)
            return None
        if self.dirs >= MAX_DIRS:
            self._note("skip_dirs", rel, limit=MAX_DIRS)
            return None
        if isinstance(handle, int):
            try:
                sub: _Handle = _open(handle, os_name, info, directory=True)
            except OSError as exc:
                self._note("skip_unreadable", rel, reason=exc.strerror or type(exc).__name__)
                return None
            self.fds.append(sub)
        else:
            sub = os.path.join(handle, os_name)
        self.dirs += 1
        return sub, rel, depth + 1

    # -------------------------------------------------------------- choosing

    def _choose_main(self) -> _Entry:
        # A package's __init__.py is never the submission itself.
        code = [e for e in self.entries if e.is_code and e.rel[-1] != "__init__.py"]
        top = {e.rel[0]: e for e in code if len(e.rel) == 1}
        for name in PREFERRED:
            if name in top:
                return top[name]
        if len(code) == 1:
            return code[0]
        if not code:
            raise self._error("intake_no_candidate", skipped=self._skipped_hint())
        chosen = self._rank(code) or self._shallowest(code)
        if chosen is not None:
            return chosen
        names = ", ".join(e.relpath for e in code[:5])
        raise self._error("intake_several", names=names)

    def _named(self, os_name: str) -> _Entry:
        """The top-level entry ``os_name`` (the file submitted with its siblings)."""
        for entry in self.entries:
            if len(entry.rel) == 1 and entry.os_name == os_name:
                return entry
        raise self._error("intake_not_found")

    @staticmethod
    def _shallowest(code: list[_Entry]) -> _Entry | None:
        """The one candidate nearest the top (or the one preferred name there), else None.

        A folder zipped with its parent (``hw4/nn.py``, ``hw4/utils.py``) is read like the
        folder itself.
        """
        depth = min(len(e.rel) for e in code)
        level = [e for e in code if len(e.rel) == depth]
        if len(level) == 1:
            return level[0]
        for name in PREFERRED:
            named = [e for e in level if e.rel[-1] == name]
            if named:
                return named[0] if len(named) == 1 else None
        return None

    def _skipped_hint(self) -> str:
        return "" if not self.notes else " (" + "; ".join(self.notes[:3]) + ")"

    def _rank(self, code: list[_Entry]) -> _Entry | None:
        """The candidate defining most graded functions, the shallowest on a tie; None when
        none defines any or the tie remains."""
        if not self.functions:
            return None
        scores = []
        for entry in code:
            text = self._read_code(entry)
            defined = set(_DEF.findall(text.decode("utf-8", "replace"))) if text else set()
            scores.append((len(defined & self.functions), -len(entry.rel), entry))
        best = max(score[:2] for score in scores)
        winners = [e for *score, e in scores if tuple(score) == best]
        return winners[0] if best[0] > 0 and len(winners) == 1 else None

    # -------------------------------------------------------------- reading

    def _read_code(self, entry: _Entry) -> bytes | None:
        """A candidate's bytes for ranking (kept for the final read); None if not readable here.

        Ranking reads at most MAX_TOTAL_BYTES of candidates in all, whatever their number.
        """
        size = entry.info.st_size
        if entry.data is not None or size > MAX_SOURCE_BYTES:
            return entry.data
        if self.read_bytes + size > MAX_TOTAL_BYTES:
            return None
        try:
            entry.data = self._read(entry, MAX_SOURCE_BYTES)
        except OSError:
            return None
        self.read_bytes += len(entry.data or b"")
        return entry.data

    @staticmethod
    def _read(entry: _Entry, limit: int) -> bytes | None:
        fd = _open(entry.parent, entry.os_name, entry.info, directory=False)
        try:
            return _read_fd(fd, limit)
        finally:
            os.close(fd)

    def _read_main(self, main: _Entry) -> bytes:
        _check_source_size(main.relpath, main.info.st_size, self.lang)
        data = main.data
        if data is None:
            try:
                data = self._read(main, MAX_SOURCE_BYTES)
            except OSError as exc:
                raise _unreadable(main.relpath, exc, self.lang) from None
        size = MAX_SOURCE_BYTES + 1 if data is None else len(data)
        _check_source_size(main.relpath, size, self.lang)
        assert data is not None
        main.data = data
        return data

    def _read_others(self, main: _Entry) -> dict[str, bytes]:
        """Code first, then the smallest files, within the count and size caps."""
        base = main.rel[:-1]
        others = [e for e in self.entries if e is not main]
        files: dict[str, bytes] = {}
        total = len(main.data) if main.data is not None else main.info.st_size
        for entry in sorted(others, key=lambda e: (not e.is_code, e.info.st_size, e.rel)):
            if entry.rel[: len(base)] != base:
                self._note("skip_outside", entry.rel, main=main.relpath)
                continue
            limit = MAX_SOURCE_BYTES if entry.is_code else MAX_TOTAL_BYTES
            if len(files) + 1 >= MAX_FILES:
                self._note("skip_count", entry.rel, limit=MAX_FILES)
                continue
            if entry.info.st_size > limit:
                self._note("skip_size", entry.rel, limit=limit // MiB)
                continue
            if total + entry.info.st_size > MAX_TOTAL_BYTES:
                self._note("skip_total", entry.rel, limit=MAX_TOTAL_BYTES // MiB)
                continue
            data = self._read_extra(entry, min(limit, MAX_TOTAL_BYTES - total))
            entry.data = None  # the mapping keeps the only reference
            if data is not None:
                files["/".join(entry.rel[len(base) :])] = data
                total += len(data)
        return files

    def _read_extra(self, entry: _Entry, limit: int) -> bytes | None:
        if entry.data is not None:
            return entry.data
        try:
            data = self._read(entry, limit)
        except OSError as exc:
            self._note("skip_unreadable", entry.rel, reason=exc.strerror or type(exc).__name__)
            return None
        if data is None:
            self._note("skip_size", entry.rel, limit=limit // MiB)
        return data


def checked_files(files: dict[str, bytes]) -> list[tuple[tuple[str, ...], bytes]]:
    """Validate and split the keys of a ``files`` mapping (the harness contract).

    Returns
    -------
    list of tuple
        ``(components, data)``; every component is a non-empty name other than ``.``/``..``,
        without ``/``, ``\\`` or NUL, and no file is also a folder of another.

    Raises
    ------
    ValueError
        A key that is not a safe relative POSIX path, too many files, or a path too deep.
    """
    if len(files) > MAX_FILES:
        raise ValueError(f"at most {MAX_FILES} files")
    checked = []
    for key, data in files.items():
        parts = tuple(key.split("/")) if isinstance(key, str) else ()
        if (
            not parts
            or len(parts) > MAX_DEPTH + 1
            or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts)
            or any(len(os.fsencode(p)) > 255 for p in parts)
        ):
            raise ValueError(f"not a safe relative path: {key!r}")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError(f"file {key!r}: bytes expected")
        checked.append((parts, bytes(data)))
    folders = {parts[:i] for parts, _ in checked for i in range(1, len(parts))}
    for parts, _ in checked:
        if parts in folders:
            raise ValueError(f"not a safe relative path: {'/'.join(parts)!r} is also a folder")
    return checked


# ---------------------------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------------------------

#: A file this much larger than its allocated blocks is sparse (or compressed): hashed by its
#: size and times, never read (a thousand 5 MiB holes cost a thousand 5 MiB reads otherwise).
SPARSE_MIN_BYTES = 64 * 1024


def submission_digest(
    path: str | os.PathLike[str], *, beneath: str | os.PathLike[str] | None = None
) -> str:
    """A sha256 of what :func:`read_submission` would read from ``path``; never raises.

    The same guarded walk (no link followed, no FIFO or device opened, no recursion, the entry and
    depth caps) lists the entries; each regular file adds its name (exact bytes), its size and
    its content, when a grading would read it (within :data:`MAX_SOURCE_BYTES` for code, the
    :data:`MAX_TOTAL_BYTES` budget in all) and it is not sparse. Other files add their size and
    times instead. Skipped entries add their warnings, and a refused submission its message.
    At most ``MAX_SOURCE_BYTES + MAX_TOTAL_BYTES`` are read, whatever ``path`` holds.

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    path = os.fspath(path)
    try:
        with _Anchor(path, beneath, "en") as anchor:
            info = _lstat_root(anchor, "en")
            budget = [MAX_TOTAL_BYTES + MAX_SOURCE_BYTES]
            if stat.S_ISDIR(info.st_mode):
                _digest_folder(digest, _Walk(path, info, frozenset(), "en", anchor), budget)
            else:
                digest.update(b"file\0" + os.fsencode(os.path.basename(path)) + b"\0")
                _digest_file(digest, anchor.parent, anchor.name, info, budget)
    except SubmissionError as exc:
        digest.update(b"refused\0" + str(exc).encode("utf-8", "backslashreplace"))
    except OSError as exc:
        digest.update(f"unreadable\0{exc.errno}".encode())
    return digest.hexdigest()


def _digest_folder(digest: hashlib._Hash, walk: _Walk, budget: list[int]) -> None:
    try:
        walk._scan()
        for entry in walk.entries:
            digest.update(b"entry\0" + _walk_name(entry) + b"\0")
            _digest_file(digest, entry.parent, entry.os_name, entry.info, budget)
        for note in walk.notes:
            digest.update(b"note\0" + note.encode("utf-8", "backslashreplace") + b"\0")
        digest.update(f"more\0{walk.skipped_extra}".encode())
    finally:
        for fd in walk.fds:
            os.close(fd)


def _walk_name(entry: _Entry) -> bytes:
    """An entry's path from the submitted folder, with its own name's exact bytes."""
    return (
        "/".join(entry.rel[:-1]).encode("utf-8", "backslashreplace")
        + b"/"
        + os.fsencode(entry.os_name)
    )


def _sparse(info: os.stat_result) -> bool:
    blocks = getattr(info, "st_blocks", None)
    return (
        blocks is not None and info.st_size > SPARSE_MIN_BYTES and blocks * 512 < info.st_size // 2
    )


def _digest_file(
    digest: hashlib._Hash,
    parent: _Handle | None,
    name: str,
    info: os.stat_result,
    budget: list[int],
) -> None:
    """Content if a grading would read it (and the budget allows), else size (and times)."""
    size = info.st_size
    code = os.path.splitext(name)[1].lower() in CODE_SUFFIXES
    if size > (MAX_SOURCE_BYTES if code else MAX_TOTAL_BYTES):
        digest.update(f"size\0{size}\0".encode())  # never read: its size is all that matters
        return
    if _sparse(info) or size > budget[0]:
        digest.update(f"meta\0{size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0".encode())
        return
    try:
        fd = _open(parent, name, info, directory=False)
    except OSError as exc:
        digest.update(f"unreadable\0{exc.errno}\0".encode())
        return
    try:
        content = hashlib.sha256()
        left = size + 1  # one byte past: a file that grew is noticed
        while left > 0:
            chunk = os.read(fd, min(MiB, left))
            if not chunk:
                break
            content.update(chunk)
            left -= len(chunk)
        budget[0] -= size
        digest.update(b"data\0" + content.digest())
    except OSError as exc:
        digest.update(f"unreadable\0{exc.errno}\0".encode())
    finally:
        os.close(fd)
