"""The JSON that crosses the broker, both ways, and its validation.

A task's payload carries everything a worker needs that is not the worker's own (the course
secret and the spec are): the submission's bytes (base64) and names as *data*, the student id,
the language, which spec (by digest) and, for a batch, the fingerprint and the name shown in the
feedback. A result carries the grade and the rendered feedback.

Both sides validate what they receive: the broker is a trust boundary. A worker refuses a
payload it cannot read safely (a path that leaves its folder, too many or too large files); the
sender refuses a result that is not what a grader produces (non-finite or out-of-range scores,
keys that are not hex, oversized texts, the wrong submission).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from autograder.intake import MAX_FILES, MAX_SOURCE_BYTES, MAX_TOTAL_BYTES, checked_files

VERSION = 1
SERVER, BATCH = "server", "batch"
MODES = (SERVER, BATCH)
LANGS = ("en", "zh")
OUTCOMES = ("graded", "load_failed", "broken", "grader_error")
MAX_ID_CHARS = 256
MAX_NAME_CHARS = 4096
MAX_TEXT_BYTES = 8 * 2**20  # one rendered feedback file, or the results document
MAX_WARNINGS = 64
MAX_SCORE = 1e6
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(r"[0-9a-f]{16}-[0-9a-f]{16}")
_HOMEWORK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class PayloadError(ValueError):
    """A payload or result that does not validate; the message says which field."""


# ---------------------------------------------------------------------------------------------
# Task payload (sender -> worker)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """A validated task payload.

    Attributes
    ----------
    mode : {"server", "batch"}
        ``batch`` also asks for the rendered feedback files (``grade-all``).
    homework : str
        The course homework (a hint: the spec is chosen by ``spec``).
    spec : str
        The first 16 hex digits of the spec file's sha256: the worker grades with its own copy
        of that spec and refuses the job if it has none.
    student_id, lang : str
    main : str
        The main file's path (safe, relative).
    data : bytes
        The main file's bytes.
    files : dict of str to bytes
        A folder submission's other files, keyed relative to the main file's folder.
    folder : bool
        Whether the submission was a folder (then it is graded as one).
    shown : str
        The submission's name in the feedback (``""``: the worker's own path).
    fingerprint : str
        ``grade-all``'s resumability fingerprint, echoed in ``results.json``.
    warnings : list of str
        What the sender's guarded read skipped (shown in the feedback, as a local run would).
    """

    mode: str
    homework: str
    spec: str
    student_id: str
    lang: str
    main: str
    data: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    folder: bool = False
    shown: str = ""
    fingerprint: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def build_payload(payload: Payload) -> dict:
    """The JSON document of ``payload`` (validated: a sender never sends what a worker refuses)."""
    doc = {
        "v": VERSION,
        "mode": payload.mode,
        "homework": payload.homework,
        "spec": payload.spec,
        "student_id": payload.student_id,
        "lang": payload.lang,
        "main": payload.main,
        "data": _b64(payload.data),
        "files": {name: _b64(data) for name, data in payload.files.items()},
        "folder": payload.folder,
        "shown": payload.shown,
        "fingerprint": payload.fingerprint,
        "warnings": list(payload.warnings),
    }
    check_payload(doc)
    return doc


def check_payload(doc: Any) -> Payload:
    """Validate a received payload.

    Raises
    ------
    PayloadError
    """
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise PayloadError(f"not a version-{VERSION} bpgrade payload")
    mode = _choice(doc, "mode", MODES)
    homework = _text(doc, "homework", 64)
    if not _HOMEWORK.fullmatch(homework):
        raise PayloadError("homework: not a homework name")
    spec = _text(doc, "spec", 16)
    if not _HEX16.fullmatch(spec):
        raise PayloadError("spec: not a 16-digit hex digest")
    student_id = _text(doc, "student_id", MAX_ID_CHARS)
    if not student_id:
        raise PayloadError("student_id: empty")
    main = _text(doc, "main", MAX_NAME_CHARS)
    data = _unb64(doc.get("data"), "data", MAX_SOURCE_BYTES)
    raw_files = doc.get("files")
    if not isinstance(raw_files, dict) or len(raw_files) > MAX_FILES:
        raise PayloadError(f"files: a mapping of at most {MAX_FILES} entries expected")
    files = {
        _text({"k": k}, "k", MAX_NAME_CHARS): _unb64(v, "files", MAX_SOURCE_BYTES)
        for k, v in raw_files.items()
    }
    if len(data) + sum(len(v) for v in files.values()) > MAX_TOTAL_BYTES:
        raise PayloadError("files: more than the submission size cap in all")
    folder = doc.get("folder")
    if not isinstance(folder, bool):
        raise PayloadError("folder: a boolean expected")
    if not folder and (files or "/" in main):
        raise PayloadError("a single-file submission has one plain file name and no other files")
    try:  # the harness's own rules for relative paths: no '..', no absolute path, no NUL
        laid_out(main, data, files)
    except ValueError as exc:
        raise PayloadError(f"main/files: {exc}") from None
    warnings = doc.get("warnings")
    if not isinstance(warnings, list) or len(warnings) > MAX_WARNINGS:
        raise PayloadError("warnings: a short list expected")
    return Payload(
        mode=mode,
        homework=homework,
        spec=spec,
        student_id=student_id,
        lang=_choice(doc, "lang", LANGS),
        main=main,
        data=data,
        files=files,
        folder=folder,
        shown=_text(doc, "shown", MAX_NAME_CHARS),
        fingerprint=_text(doc, "fingerprint", 200),
        warnings=tuple(_text({"w": w}, "w", MAX_NAME_CHARS) for w in warnings),
    )


def laid_out(
    main: str, data: bytes, files: dict[str, bytes]
) -> list[tuple[tuple[str, ...], bytes]]:
    """Where each file goes below the submission's folder: ``main`` there, the other files
    beside it (their keys are relative to the main file's folder), checked by the harness's rules.

    Raises
    ------
    ValueError
        An unsafe path (``..``, absolute, NUL, a file that is also a folder), too many files.
    """
    base = main.rsplit("/", 1)[0] + "/" if "/" in main else ""
    full = {main: data}
    for key, value in files.items():
        if base + key in full:
            raise ValueError(f"{key!r} is listed twice")
        full[base + key] = value
    return checked_files(full)


# ---------------------------------------------------------------------------------------------
# Result (worker -> sender)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerResult:
    """A validated result; ``error`` is set (and the grade fields empty) when the grader failed.

    ``error`` is for the instructor only: it may quote the grader's exception.
    """

    mode: str
    worker: str
    error: str | None = None
    sha256: str = ""
    grader_version: str = ""
    seed_id: str = ""
    homework: str = ""
    lang: str = "en"
    score: float = 0.0
    max_score: float = 0.0
    outcome: str = "grader_error"
    results: dict = field(default_factory=dict)
    feedback_html: str = ""  # the feedback page's body (the server's view)
    feedback_md: str = ""  # batch: feedback.md
    feedback_page: str = ""  # batch: feedback.html
    grader_error: str | None = None  # batch: grader_error.txt (instructor-only)
    fingerprint: str = ""
    started_at: float = 0.0
    graded_at: float = 0.0


def error_result(mode: str, worker: str, error: str) -> dict:
    """The result of a job the grader could not grade (retried by the sender, then an error)."""
    return {"v": VERSION, "mode": mode, "worker": worker[:200], "error": error[:20000]}


def check_result(doc: Any, *, mode: str) -> WorkerResult:
    """Validate a result received for a task sent in ``mode``.

    Raises
    ------
    PayloadError
    """
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise PayloadError(f"not a version-{VERSION} bpgrade result")
    if doc.get("mode") != mode:
        raise PayloadError(f"mode: {mode} expected")
    worker = _text(doc, "worker", 200)
    if "error" in doc:
        return WorkerResult(mode=mode, worker=worker, error=_text(doc, "error", 20000))
    sha256, version, seed = (_text(doc, k, 64) for k in ("sha256", "grader_version", "seed_id"))
    if not (_HEX64.fullmatch(sha256) and _VERSION.fullmatch(version) and _HEX16.fullmatch(seed)):
        raise PayloadError("sha256/grader_version/seed_id: not the hex keys a grader writes")
    score, max_score = _number(doc, "score"), _number(doc, "max_score")
    if not 0.0 <= score <= max_score + 1e-9 or max_score > MAX_SCORE:
        raise PayloadError("score: out of range")
    results = doc.get("results")
    if not isinstance(results, dict) or _number(results, "score") != score:
        raise PayloadError("results: a results document with the same score expected")
    started, graded = _number(doc, "started_at"), _number(doc, "graded_at")
    texts = {k: _big_text(doc, k) for k in ("feedback_html", "feedback_md", "feedback_page")}
    if mode == BATCH and not (texts["feedback_md"] and texts["feedback_page"]):
        raise PayloadError("feedback: a batch result carries both feedback files")
    grader_error = doc.get("grader_error")
    if grader_error is not None:
        grader_error = _big_text(doc, "grader_error")
    homework = _text(doc, "homework", 64)
    if not _HOMEWORK.fullmatch(homework):
        raise PayloadError("homework: not a homework name")
    return WorkerResult(
        mode=mode,
        worker=worker,
        sha256=sha256,
        grader_version=version,
        seed_id=seed,
        homework=homework,
        lang=_choice(doc, "lang", LANGS),
        score=score,
        max_score=max_score,
        outcome=_choice(doc, "outcome", OUTCOMES),
        results=results,
        grader_error=grader_error,
        fingerprint=_text(doc, "fingerprint", 200),
        started_at=started,
        graded_at=graded,
        **texts,
    )


# ---------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, name: str, limit: int) -> bytes:
    if not isinstance(value, str) or len(value) > (limit + 2) // 3 * 4:
        raise PayloadError(f"{name}: base64 text of at most {limit} bytes expected")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise PayloadError(f"{name}: not base64") from None


def _text(doc: dict, key: str, limit: int) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or len(value) > limit:
        raise PayloadError(f"{key}: a text of at most {limit} characters expected")
    return value


def _big_text(doc: dict, key: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT_BYTES:
        raise PayloadError(f"{key}: a text of at most {MAX_TEXT_BYTES} characters expected")
    return value


def _choice(doc: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = doc.get(key)
    if value not in allowed:
        raise PayloadError(f"{key}: one of {allowed} expected")
    return value


def _number(doc: dict, key: str) -> float:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PayloadError(f"{key}: a finite number expected")
    return float(value)
