"""Export the homework to nbgrader, and serve this grader to nbgrader's (and otter's) test cells.

nbgrader autograde runs every cell, test cells included, in one Jupyter kernel that executes the
student's code as the instructor's Unix user. A test cell therefore cannot hold hidden cases or the
course secret: the student's code ran first in the same process and can read or patch anything in
it. So the exported test cells are thin clients (``bpgrade_client.py``, stdlib only) that ask a
separate **grader service** (``bpgrade export serve``) for a part's score. The service:

* holds the course secret and the hidden expected values (they never enter the kernel);
* grades the file the student *submitted* (``submitted/<student>/<assignment>/backprop.ipynb``),
  read by the service itself, through the usual sandbox, once per submission (cached by hash);
* answers with the part's score and the safe feedback only (hidden cases: no values);
* accepts connections only from allowed Unix uids (``SO_PEERCRED``).

The score nbgrader records is the test cell's float ``execute_result`` (nbgrader's partial
credit). The kernel can still forge that output (nbgrader's model: the student's code runs before
the test cell, in the same interpreter); ``bpgrade grade-all`` on the same ``submitted/`` tree with
the same secret recomputes the authoritative scores to compare against.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import socketserver
import struct
import sys
import tempfile
import textwrap
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.grading import GradeReport, PartResult, grade_submission
from autograder.intake import SubmissionError, read_submission
from autograder.release import markers
from autograder.release.build import REPO_ROOT, load_homework, notebook_cells, validate
from autograder.release.notebook import NotebookCell, build_notebook, notebook_text
from autograder.release.source import Cell, read_source
from autograder.spec import Spec

CLIENT_FILE = "bpgrade_client.py"
CHECK_FILE = "check.py"
SOCKET_ENV = "BPGRADE_SOCKET"
DEFAULT_SOCKET = Path(".bpgrade") / "grader.sock"  # relative to the nbgrader course folder
MAX_REQUEST = 8 * 1024 * 1024  # a notebook (otter) is at most 5 MiB; JSON escaping adds a little
SCHEMA_VERSION = 3
MAX_CACHED = 4096  # graded reports kept (a few kB each); nbgrader asks eleven times per notebook
BACKLOG = 128  # connections the kernel queues before accept(); the default 5 is one flood away
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}")

# Lines nbgrader's ClearSolutions would treat as markers ("BEGIN SOLUTION" anywhere in a line).
_NBGRADER_MARKERISH = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)")


class ExportError(ValueError):
    """The homework cannot be exported to this tool; the message names the cell."""


# ---------------------------------------------------------------------------------------------
# The homework's cells, with solution regions still marked
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeworkCell:
    """A notebook cell of the solution version plus, for code, the source text with its markers."""

    rendered: NotebookCell  # text without markers (solution kept), metadata["backprop"]
    marked: str | None  # code cells: the source text, ``### BEGIN/END SOLUTION`` still in it

    @property
    def meta(self) -> dict:
        return self.rendered.meta

    @property
    def has_solution(self) -> bool:
        return bool(self.meta.get("solution"))


def homework_cells(
    name: str = "backprop", lang: str = "en", root: Path = REPO_ROOT
) -> tuple[Spec, list[HomeworkCell]]:
    """The notebook cells of one language, in order, with the marked source of each code cell.

    Parameters
    ----------
    name : str
        The homework (``solutions/<name>/<name>.py``).
    lang : {"en", "zh"}
        The handout language.
    root : Path
        The repository holding ``solutions/`` and ``autograder/homeworks/``.

    Returns
    -------
    spec : Spec
    cells : list of HomeworkCell
    """
    homework, spec = load_homework(name, root)
    where = str(homework.source)
    source_cells = read_source(homework.source)
    order = validate(source_cells, spec, where=where)
    rendered = notebook_cells(source_cells, spec, lang, order, solution=True, where=where)
    # notebook_cells keeps exactly these source cells, in order (see release/build.py).
    kept: list[Cell] = [
        c for c in source_cells if c.in_lang(lang) and c.role not in ("readme", "module-only")
    ]
    if len(kept) != len(rendered):
        raise ExportError(f"{where}: cannot pair the notebook cells with the source cells")
    cells = [
        HomeworkCell(r, c.text if c.kind == "code" else None)
        for r, c in zip(rendered, kept, strict=True)
    ]
    return spec, cells


def client_source(spec: Spec, lang: str, assignment: str) -> str:
    """``bpgrade_client.py`` for one export: the stdlib-only template with its settings filled."""
    settings = {
        "ASSIGNMENT": assignment,
        "NOTEBOOK": f"{spec.name}.ipynb",
        "LANG": lang,
        "SOCKET_ENV": SOCKET_ENV,
        "DEFAULT_SOCKET": DEFAULT_SOCKET.as_posix(),
    }
    block = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    return CLIENT_TEMPLATE.replace("# --- settings ---\n", block, 1)


def check_source(lang: str, spec: Spec | None = None) -> str:
    """The release's ``check.py`` (public self-check) for one language and homework."""
    from autograder.release.build import check_script

    if spec is None:
        return check_script(lang, "nn.py")
    return check_script(lang, spec.module_name, None, spec.name)


# ---------------------------------------------------------------------------------------------
# nbgrader source notebook
# ---------------------------------------------------------------------------------------------

_TRY_COMMENT = {
    "en": "# This block may stay unimplemented while you work on the code above it.",
    "zh": "# 在完成上面的代码之前，这一块可以先不实现。",
}


def nbgrader_meta(grade_id: str, *, grade: bool, solution: bool, points: float | None) -> dict:
    """``metadata["nbgrader"]`` in schema v3: exactly the keys nbgrader's validator allows."""
    meta = {
        "schema_version": SCHEMA_VERSION,
        "grade": grade,
        "solution": solution,
        "locked": grade and not solution,
        "grade_id": grade_id,
    }
    if grade:
        meta["points"] = float(points or 0.0)
    return meta


def nbgrader_solution_code(marked: str, lang: str, *, where: str) -> str:
    """A module cell for nbgrader: its regions kept, in nbgrader's own marker syntax.

    nbgrader replaces every region with ``raise NotImplementedError()``. Our ``stub=pass`` regions
    (code that may stay empty while the student checks the code above it, e.g. nnCostFunction's
    gradient block under its cost) are wrapped in ``try/except NotImplementedError`` so the part
    above stays gradable, as in our own release.
    """
    for number, line in enumerate(marked.splitlines(), 1):
        stripped = line.strip()
        if _NBGRADER_MARKERISH.search(line) and not stripped.startswith(
            (markers.BEGIN, markers.END)
        ):
            raise ExportError(f"{where}+{number}: nbgrader would read {stripped!r} as a marker")
    lines = marked.splitlines()
    out: list[str] = []
    cursor = 0
    for region in markers.find_regions(marked, where=where):
        out.extend(lines[cursor : region.begin])
        body = lines[region.begin + 1 : region.end]
        out.extend(_nbgrader_region(region, body, lang))
        cursor = region.end + 1
    out.extend(lines[cursor:])
    code = "\n".join(out)
    compile(code, where, "exec")
    return code


def _nbgrader_region(region: markers.Region, body: list[str], lang: str) -> list[str]:
    ind = region.indent
    if region.stub == "raise":
        return [f"{ind}{markers.BEGIN}", *body, f"{ind}{markers.END}"]
    inner = ind + "    "
    return [
        f"{ind}try:  {_TRY_COMMENT[lang]}",
        f"{inner}{markers.BEGIN}",
        *(textwrap.indent(line, "    ") if line.strip() else line for line in body),
        f"{inner}{markers.END}",
        f"{ind}except NotImplementedError:",
        f"{inner}pass",
    ]


def nbgrader_test_code(part: str, points: float) -> str:
    """An autograder-test cell: a thin client whose value (a float) is the part's score."""
    return (
        f"# bpgrade test: part {part!r}, {points:g} points. Do not edit or delete this cell.\n"
        "# While nbgrader autogrades, the course's sandboxed grader grades your submitted notebook\n"
        "# on hidden cases and this cell shows its feedback; elsewhere it runs the public self-check.\n"
        "from bpgrade_client import grade_part\n"
        "\n"
        f"grade_part({part!r}, globals())"
    )


def build_nbgrader_notebook(
    lang: str = "en", *, name: str = "backprop", root: Path = REPO_ROOT
) -> nbformat.NotebookNode:
    """The nbgrader *source* notebook: solution cells, and one locked test cell per part.

    Parameters
    ----------
    lang : {"en", "zh"}
        The handout language.
    name : str
        The homework.
    root : Path
        The repository.

    Returns
    -------
    nbformat.NotebookNode
        Valid nbformat v4; ``metadata["nbgrader"]`` in schema v3 on solution and test cells,
        our own data in ``metadata["backprop"]``.
    """
    spec, cells = homework_cells(name, lang, root)
    out: list[NotebookCell] = []
    extra: dict[int, dict] = {}
    used_ids: set[str] = set()
    for cell in cells:
        role, part = cell.meta.get("role"), cell.meta.get("part")
        if cell.rendered.kind == "code" and cell.has_solution:
            grade_id = _unique(f"solution_{part or len(out)}", used_ids)
            code = nbgrader_solution_code(cell.marked or "", lang, where=f"{name}:{grade_id}")
            extra[len(out)] = nbgrader_meta(grade_id, grade=False, solution=True, points=None)
            out.append(NotebookCell("code", code, cell.meta))
        elif role == "check":
            points = spec.part(part).points
            grade_id = _unique(f"test_{part}", used_ids)
            extra[len(out)] = nbgrader_meta(grade_id, grade=True, solution=False, points=points)
            out.append(NotebookCell("code", nbgrader_test_code(part, points), cell.meta))
        else:
            _refuse_markers(cell.rendered.text, f"{name}:{role}:{part}")
            out.append(cell.rendered)
    nb = build_notebook(out, {"homework": spec.name, "lang": lang, "variant": "nbgrader-source"})
    for index, meta in extra.items():
        nb.cells[index].metadata["nbgrader"] = meta
    nbformat.validate(nb)
    return nb


def _unique(grade_id: str, used: set[str]) -> str:
    if grade_id in used:
        raise ExportError(f"two nbgrader cells would share grade_id {grade_id!r}")
    used.add(grade_id)
    return grade_id


def _refuse_markers(text: str, where: str) -> None:
    # nbgrader refuses (or strips) solution markers outside solution cells.
    if _NBGRADER_MARKERISH.search(text):
        raise ExportError(f"{where}: text that nbgrader would read as a marker")


def export_nbgrader(
    course_dir: Path,
    *,
    assignment: str = "backprop",
    lang: str = "en",
    root: Path = REPO_ROOT,
    homework: str = "backprop",
) -> list[Path]:
    """Write ``COURSE_DIR/source/<assignment>/``: the source notebook and its support files.

    Parameters
    ----------
    course_dir : Path
        The nbgrader course folder (``CourseDirectory.root``).
    assignment : str
        nbgrader's assignment id (the folder name).
    lang : {"en", "zh"}
        The handout and feedback language.
    root : Path
        The repository.
    homework : str
        The homework (``solutions/<homework>/``).

    Returns
    -------
    list of Path
        The files written: ``<homework>.ipynb``, ``bpgrade_client.py`` (the test cells' client)
        and ``check.py`` (the public self-check). nbgrader releases all three and, at autograde,
        overwrites the students' copies of the two ``.py`` files with these.
    """
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", assignment):
        raise ExportError(f"assignment id {assignment!r}: use letters, digits, '_' and '-'")
    nb = build_nbgrader_notebook(lang, name=homework, root=root)
    spec = load_homework(homework, root)[1]
    folder = Path(course_dir) / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        f"{spec.name}.ipynb": notebook_text(nb),
        CLIENT_FILE: client_source(spec, lang, assignment),
        CHECK_FILE: check_source(lang, spec),
    }
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------
# The grader service
# ---------------------------------------------------------------------------------------------


class RequestError(ValueError):
    """A request the service refuses; the message goes back to the client."""


class ServiceBusy(RequestError):
    """No grading slot (or no answer) before the request's deadline; the client may ask again."""


@dataclass
class ServiceConfig:
    """What the grader service grades and for whom.

    Attributes
    ----------
    course_dir : Path or None
        nbgrader course folder; needed for ``grade_submitted`` requests.
    assignment : str
        nbgrader assignment id (``submitted/<student>/<assignment>/``).
    notebook : str
        The submitted notebook's file name.
    lang : str
        Default feedback language.
    tier : str
        Sandbox tier.
    spec : Spec or None
        The assignment spec (default: the bundled homework).
    secret : bytes or None
        The course secret (default: ``$BPGRADE_SECRET`` / ``$BPGRADE_SECRET_FILE``).
    allowed_uids : frozenset of int
        Unix uids that may connect (checked with ``SO_PEERCRED``).
    grading_slots : int
        Submissions graded at once; a request for another waits for a slot (each grading runs
        its own sandboxed zygote, and timed cases must not compete for the CPU).
    max_connections : int
        Clients served at once; one more is told the service is busy (and its client retries).
    read_timeout_s : float
        A client silent for this long while sending its request is dropped.
    read_deadline_s : float
        The whole request must arrive within this time of the connection being accepted.
    request_deadline_s : float
        A request that has not started grading (or found its answer) this long after it was
        accepted is answered "busy". Grading itself is bounded by the spec's time budget.
    """

    course_dir: Path | None = None
    assignment: str = "backprop"
    notebook: str = "backprop.ipynb"
    lang: str = "en"
    tier: str = "auto"
    spec: Spec | None = None
    secret: bytes | None = None
    allowed_uids: frozenset[int] = field(default_factory=lambda: frozenset({os.geteuid()}))
    grading_slots: int = field(default_factory=lambda: default_grading_slots())
    max_connections: int = 64
    read_timeout_s: float = 10.0
    read_deadline_s: float = 30.0
    request_deadline_s: float = 150.0


def default_grading_slots() -> int:
    """Half the CPUs, at least one, at most four: timed cases need a core of their own."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class GraderService:
    """Answers test-cell requests with one part's score and safe feedback.

    Requests are JSON objects:

    ``{"op": "grade_submitted", "student": ID, "part": PART}``
        grade ``<course>/submitted/<ID>/<assignment>/<notebook>`` (nbgrader);
    ``{"op": "grade_notebook", "student": ID, "part": PART, "notebook": TEXT}``
        grade the notebook text the test sent (otter-grader, whose submission lives in a
        temporary folder only the kernel knows).

    Each submission is graded once (all parts) and cached by student and content hash, so the
    eleven test cells of one notebook cost one grading. Requests may come from many threads: at
    most ``config.grading_slots`` submissions are graded at once, a request for a submission that
    is being graded waits for that grading, and no wait outlasts the request's deadline.
    """

    def __init__(self, config: ServiceConfig):
        self.config = config
        self._cache: OrderedDict[tuple[str, str, str], GradeReport] = OrderedDict()
        self._pending: dict[tuple[str, str, str], threading.Event] = {}
        self._lock = threading.Lock()  # guards the two dicts; never held while grading
        self._slots = threading.BoundedSemaphore(max(1, config.grading_slots))

    def answer(self, request: object, deadline: float | None = None) -> dict:
        """The reply to one request (never raises for a bad request: ``ok`` is False).

        Parameters
        ----------
        request : object
            The decoded JSON request.
        deadline : float, optional
            ``time.monotonic()`` time by which grading must have started (or the answer been
            found); default: ``config.request_deadline_s`` from now.
        """
        if deadline is None:
            deadline = time.monotonic() + self.config.request_deadline_s
        try:
            return self._answer(request, deadline)
        except ServiceBusy as exc:
            return {"ok": False, "error": str(exc), "retry": True}
        except RequestError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # the grader itself failed (no sandbox, say): say so, keep serving
            _log(f"cannot grade: {type(exc).__name__}: {exc}")
            return {"ok": False, "error": f"the grader failed ({type(exc).__name__}); see its log"}

    def _answer(self, request: object, deadline: float) -> dict:
        if not isinstance(request, dict):
            raise RequestError("a request is a JSON object")
        student = _field(request, "student")
        if not STUDENT_ID.fullmatch(student):
            raise RequestError(f"unusable student id {student!r}")
        part = _field(request, "part")
        spec = self._spec()
        if part not in {p.id for p in spec.parts}:
            raise RequestError(f"unknown part {part!r}")
        lang = request.get("lang") or self.config.lang
        if lang not in ("en", "zh"):
            raise RequestError(f"unknown language {lang!r}")
        data = self._submission(request, student)
        report = self._report(student, data, lang, deadline)
        return part_reply(report, part)

    def _spec(self) -> Spec:
        if self.config.spec is None:
            from autograder.spec import load_spec

            self.config.spec = load_spec()
        return self.config.spec

    def _submission(self, request: dict, student: str) -> bytes:
        op = request.get("op")
        if op == "grade_notebook":
            text = _field(request, "notebook")
            return text.encode("utf-8")
        if op != "grade_submitted":
            raise RequestError(f"unknown op {op!r}")
        if self.config.course_dir is None:
            raise RequestError("this service was started without --course-dir")
        submitted = Path(self.config.course_dir) / "submitted"
        path = submitted / student / self.config.assignment / self.config.notebook
        # The guarded reader: no link is followed below submitted/ (not the student's folder,
        # not the assignment's, not the notebook), no FIFO or device is opened, size capped.
        try:
            return read_submission(path, beneath=submitted).data
        except SubmissionError:
            raise RequestError(
                f"no submission {student}/{self.config.assignment}/{self.config.notebook}"
            ) from None

    def _report(self, student: str, data: bytes, lang: str, deadline: float) -> GradeReport:
        key = (student, hashlib.sha256(data).hexdigest(), lang)
        while True:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
                running = self._pending.get(key)
                if running is None:
                    running = self._pending[key] = threading.Event()
                    break  # this thread grades it
            # Another request is grading this very submission: wait for its report. If that
            # grading failed, the loop finds no report and this request grades it itself.
            if not running.wait(_remaining(deadline)):
                raise ServiceBusy(self._busy_text())
        try:
            report = self._graded(student, data, lang, deadline)
            with self._lock:
                self._cache[key] = report
                while len(self._cache) > MAX_CACHED:
                    self._cache.popitem(last=False)  # a flood of distinct notebooks: oldest go
        finally:
            with self._lock:
                del self._pending[key]
            running.set()
        _log(
            f"graded {student} ({key[1][:12]}): {report.score:g}/{report.max_score:g}"
            + (f", error: {report.error}" if report.error else "")
        )
        return report

    def _graded(self, student: str, data: bytes, lang: str, deadline: float) -> GradeReport:
        """Grade in one of the bounded slots, waiting for one no later than ``deadline``."""
        if not self._slots.acquire(timeout=_remaining(deadline)):
            raise ServiceBusy(self._busy_text())
        try:
            return self._grade(student, data, lang)
        finally:
            self._slots.release()

    def _busy_text(self) -> str:
        return (
            f"the grader service is busy: grading did not start within "
            f"{self.config.request_deadline_s:g} s; run the cell again"
        )

    def _grade(self, student: str, data: bytes, lang: str) -> GradeReport:
        with tempfile.TemporaryDirectory(prefix="bpgrade-service-") as tmp:
            path = Path(tmp) / self.config.notebook
            path.write_bytes(data)
            return grade_submission(
                path,
                student_id=student,
                spec=self._spec(),
                secret=self.config.secret,
                lang=lang,
                tier=self.config.tier,
            )


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _field(request: dict, name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise RequestError(f"field {name!r} must be a non-empty string")
    return value


def part_reply(report: GradeReport, part: str) -> dict:
    """One part of a report as the client sees it: score, points and safe messages only."""
    result = next(p for p in report.parts if p.part == part)
    # nbgrader rejects a partial score above the cell's points; rounding must not cause one.
    score = min(result.points, max(0.0, round(result.score, 4)))
    return {
        "ok": True,
        "part": part,
        "score": score,
        "points": result.points,
        "feedback": part_feedback(report, result),
        "cases": [
            {
                "case_id": c.case_id,
                "visibility": c.visibility,
                "passed": c.passed,
                "fraction": c.fraction,
                "category": c.category,
                "label": c.label,
                "message": c.message,
            }
            for c in result.cases
        ],
    }


def part_feedback(report: GradeReport, result: PartResult) -> str:
    """The lines a test cell prints: the part's score, then each failed case's safe message."""
    lines = [f"[bpgrade] {result.title}: {result.score:g} / {result.points:g}"]
    passed = sum(c.passed for c in result.cases)
    lines.append(f"  cases passed: {passed}/{len(result.cases)}")
    for case in result.cases:
        if not case.passed:
            lines.append(f"  - {case.case_id} ({case.label}): {case.message}")
    lines += [f"  note: {note}" for note in result.notes]
    if result.misconceptions:
        lines.append(f"  likely misconception(s): {', '.join(result.misconceptions)}")
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def _log(text: str) -> None:
    print(f"bpgrade service: {text}", file=sys.stderr, flush=True)


class _ClientTooSlow(Exception):
    """The client did not send its whole request in time."""


class _RequestTooLarge(Exception):
    """The client sent more than ``MAX_REQUEST`` bytes without ending its request line."""


def read_request(conn: socket.socket, *, idle_s: float, deadline: float) -> bytes:
    """One request line from ``conn``, read within both time limits.

    Parameters
    ----------
    conn : socket.socket
    idle_s : float
        Longest silence allowed between two pieces of the request.
    deadline : float
        ``time.monotonic()`` time by which the whole request must have arrived.

    Returns
    -------
    bytes
        The request up to its first newline (or to end of stream), newline excluded.

    Raises
    ------
    _ClientTooSlow
        The client fell silent for ``idle_s`` or ran past ``deadline``.
    _RequestTooLarge
        More than ``MAX_REQUEST`` bytes and no newline.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _ClientTooSlow
        conn.settimeout(min(idle_s, left))
        try:
            chunk = conn.recv(min(1 << 16, MAX_REQUEST + 1 - size))
        except TimeoutError:
            raise _ClientTooSlow from None
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[:end])
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST:
            raise _RequestTooLarge


class _Handler(socketserver.BaseRequestHandler):
    """One client, in its own thread: uid check, request within its deadlines, one reply."""

    server: _UnixServer

    def handle(self) -> None:
        accepted = time.monotonic()
        config = self.server.service.config
        uid = peer_uid(self.request)
        if uid is None or uid not in config.allowed_uids:
            self._reply({"ok": False, "error": f"uid {uid} may not use this grader service"})
            return
        self.server.warn_same_uid(uid)
        try:
            raw = read_request(
                self.request,
                idle_s=config.read_timeout_s,
                deadline=accepted + config.read_deadline_s,
            )
        except _ClientTooSlow:
            _log("dropped a client that did not send its request in time")
            text = (
                f"no complete request within {config.read_deadline_s:g} s "
                f"(or {config.read_timeout_s:g} s of silence); connection dropped"
            )
            self._reply({"ok": False, "error": text})
            return
        except _RequestTooLarge:
            self._reply({"ok": False, "error": "request too large"})
            return
        try:
            request = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the stack
            self._reply({"ok": False, "error": "a request is one line of JSON"})
            return
        deadline = accepted + config.request_deadline_s
        self._reply(self.server.service.answer(request, deadline=deadline))

    def _reply(self, reply: dict) -> None:
        # A client that does not read its reply must not hold this thread either.
        self.request.settimeout(self.server.service.config.read_timeout_s)
        with contextlib.suppress(OSError):
            data = json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n"
            self.request.sendall(data)


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """One daemon thread per client, at most ``config.max_connections`` of them at once."""

    daemon_threads = True  # a client stuck in grading must not keep the service from stopping
    block_on_close = False
    request_queue_size = BACKLOG

    def __init__(self, path: str, service: GraderService):
        self.service = service
        self._warned = False
        self._clients = threading.BoundedSemaphore(max(1, service.config.max_connections))
        super().__init__(path, _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:
        if not self._clients.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._clients.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._clients.release()

    def _refuse(self, request: socket.socket) -> None:
        """Too many clients: say so at once (the client retries) rather than queue behind them."""
        limit = self.service.config.max_connections
        reply = {
            "ok": False,
            "error": f"the grader service is busy ({limit} clients); try again",
            "retry": True,
        }
        with contextlib.suppress(OSError):
            request.setblocking(False)  # a fresh socket's buffer takes this short line at once
            request.send(json.dumps(reply).encode("utf-8") + b"\n")
        self.shutdown_request(request)

    def warn_same_uid(self, uid: int) -> None:
        if uid == os.geteuid() and not self._warned:
            self._warned = True
            _log(
                f"the kernel runs as this service's own uid {uid}: it can read this process's "
                "environment and memory, hence the course secret. Run the service as another user "
                "(e.g. root) and nbgrader/otter as the instructor's user."
            )


def peer_uid(conn: socket.socket) -> int | None:
    """The Unix uid of the process at the other end of a Unix socket (Linux ``SO_PEERCRED``)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def open_service(socket_path: Path, service: GraderService) -> socketserver.UnixStreamServer:
    """Bind the service to ``socket_path`` (replacing a stale socket); call ``serve_forever``."""
    socket_path = Path(socket_path)
    if len(os.fsencode(socket_path)) > 100:
        raise ExportError(f"socket path too long for a Unix socket: {socket_path}")
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        if _answers(socket_path):
            raise ExportError(f"a grader service is already listening on {socket_path}")
        socket_path.unlink()
    server = _UnixServer(str(socket_path), service)
    # Anyone may connect; who may be answered is decided by SO_PEERCRED (allowed_uids).
    os.chmod(socket_path, 0o666)
    return server


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def make_undumpable() -> bool:
    """Forbid other processes of this uid to read our memory and environment (Linux).

    ``prctl(PR_SET_DUMPABLE, 0)`` makes ``/proc/<pid>/environ`` and ``/proc/<pid>/mem`` root-owned
    and refuses ptrace from a non-root process of the same uid: a kernel running as the service's
    own (non-root) user cannot lift the secret from this process. It does not protect the secret
    file or the shell that started the service; running the service as another user does.

    Returns
    -------
    bool
        Whether the flag was set.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


def default_socket(course_dir: Path | None) -> Path | None:
    """``$BPGRADE_SOCKET``, else ``<course>/.bpgrade/grader.sock`` (what the client looks for)."""
    if os.environ.get(SOCKET_ENV):
        return Path(os.environ[SOCKET_ENV])
    return Path(course_dir) / DEFAULT_SOCKET if course_dir is not None else None


# ---------------------------------------------------------------------------------------------
# The client shipped next to the notebook (stdlib only: it runs in the student's kernel)
# ---------------------------------------------------------------------------------------------

CLIENT_TEMPLATE = '''\
"""bpgrade's client for nbgrader and otter-grader test cells (written by `bpgrade export`).

It grades nothing itself and holds no test case: it asks the course's grader service (a separate
process started by the instructor, holding the course secret, running your code in a sandbox) for
one part's score, prints the feedback and returns the score. Outside grading, nbgrader test cells
run the public self-check (check.py) instead.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path

# --- settings ---
TIMEOUT_S = 300.0  # for one request, from the first connect() to the reply's last byte
START_WAIT_S = 5.0  # how long a missing or refusing socket is retried (a service starting up)
MAX_REPLY = 4 * 1024 * 1024
_REPLIES: dict = {}


class GraderUnavailable(RuntimeError):
    """The grader service cannot be reached or refused the request."""


def grade_part(part, namespace=None):
    """nbgrader test cell: the part's score (a float nbgrader records), or None outside grading."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        _self_check(part, namespace)
        return None
    here = Path.cwd()  # nbgrader autogrades in <course>/autograded/<student>/<assignment>/
    reply = _ask(
        {"op": "grade_submitted", "student": here.parent.name, "part": part, "lang": LANG},
        default_socket=here.parents[2] / DEFAULT_SOCKET if len(here.parents) > 2 else None,
    )
    print(reply["feedback"])
    return float(reply["score"])


def check_case(part, case_id):
    """otter-grader test case: AssertionError (with the safe message) unless the case passed."""
    notebooks = sorted(Path.cwd().glob("*.ipynb"))
    if len(notebooks) != 1:
        raise GraderUnavailable(f"expected one notebook in {Path.cwd()}, found {len(notebooks)}")
    text = notebooks[0].read_text(encoding="utf-8")
    student = _otter_student(notebooks[0])
    key = (student, part, hash(text))
    if key not in _REPLIES:
        request = {"op": "grade_notebook", "student": student, "part": part, "lang": LANG}
        _REPLIES[key] = _ask({**request, "notebook": text}, default_socket=None)
    for case in _REPLIES[key]["cases"]:
        if case["case_id"] == case_id:
            if not case["passed"]:
                raise AssertionError(f"{case_id} ({case['label']}): {case['message']}")
            return
    raise GraderUnavailable(f"the grader service knows no case {case_id!r}")


def _otter_student(notebook):
    # Gradescope writes the submitter into ../submission_metadata.json; `otter run` writes {}.
    try:
        meta = json.loads((notebook.parent.parent / "submission_metadata.json").read_text())
        user = (meta.get("users") or [{}])[0]
        for key in ("sid", "email", "id"):
            if user.get(key):
                return str(user[key])
    except (OSError, ValueError, AttributeError):
        pass
    return os.environ.get("BPGRADE_STUDENT_ID") or notebook.stem


def _ask(request, default_socket):
    path = os.environ.get(SOCKET_ENV) or (str(default_socket) if default_socket else "")
    if not path:
        raise GraderUnavailable(f"set {SOCKET_ENV} to the grader service's socket")
    data = (json.dumps(request) + "\\n").encode("utf-8")
    deadline = time.monotonic() + TIMEOUT_S
    pause = 0.05
    while True:
        reply = _exchange(path, data, deadline)
        if reply.get("ok") or not reply.get("retry") or time.monotonic() + pause > deadline:
            break
        time.sleep(pause)  # the service is busy: ask again, backing off
        pause = min(2 * pause, 1.0)
    if not reply.get("ok"):
        raise GraderUnavailable(f"grader service: {reply.get('error', 'no answer')}")
    return reply


def _exchange(path, data, deadline):
    """One request and its reply; connecting again while the service's queue is full."""
    try:
        with _connect(path, deadline) as conn:
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the service refused the request early; its reply says why
            chunks, size = [], 0
            while size <= MAX_REPLY:
                conn.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    chunk = conn.recv(65536)
                except ConnectionResetError:
                    if chunks:
                        break  # it closed with our request unread, after its reply
                    raise
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except OSError as exc:
        raise GraderUnavailable(
            f"the bpgrade grader service does not answer at {path} ({exc}); the instructor starts "
            "it with `bpgrade export serve` before grading"
        ) from None
    return json.loads(b"".join(chunks) or b"{}")


def _connect(path, deadline):
    """A connected socket. A full queue (EAGAIN) is retried until the deadline; a socket that
    is not there or refuses (the service starting or restarting) only for START_WAIT_S."""
    started, pause = time.monotonic(), 0.02
    while True:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            conn.connect(path)
            return conn
        except OSError as exc:
            conn.close()
            busy = exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
            starting = exc.errno in (errno.ECONNREFUSED, errno.ENOENT)
            limit = deadline if busy else min(deadline, started + START_WAIT_S)
            if not (busy or starting) or time.monotonic() + pause > limit:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 1.0)


def _self_check(part, namespace):
    try:
        from check import make_checker
    except ImportError:
        print(f"[{part}] graded when the instructor autogrades; no self-check here (check.py).")
        return
    make_checker(namespace if namespace is not None else {})(part)
'''
