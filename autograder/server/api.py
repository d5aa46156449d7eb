"""The HTTP API (JSON): what ``submit.py``, the pages' scripts and independent checks call.

::

    POST /api/submissions            202 {"id", "status", "position"}      student (bearer or page)
    GET  /api/submissions            {"submissions": [...]}                 student: their own
    GET  /api/submissions/{id}       {"status", "score", "max_score", "results", ...}
    GET  /api/health                 {"status": "ok", "queue": {...}, "workers": n}
    GET  /api/gradebook              {"homework", "rows": [...]}            instructor
    POST /api/regrades               202 {"id"}                             instructor
    GET  /api/regrades/{id}          progress and score changes             instructor
    POST /api/regrades/{id}/publish  {"published": true}                    instructor

Errors are ``{"detail": message}`` in the request's language. Another student's submission is a
404, the same answer as a missing one, so ids reveal nothing.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from autograder.messages import msg
from autograder.server import regrade, store
from autograder.server.course import Principal
from autograder.server.security import csrf_ok, pick_lang, request_principal
from autograder.server.store import Refused

router = APIRouter(prefix="/api")
DEFAULT_HOMEWORK = "backprop"
MAX_FORM_FIELD = 1024
ROLE_REFUSALS = {"student": "server_students_only", "instructor": "server_instructors_only"}


def state(request: Request):
    """The app's :class:`autograder.server.app.ServerState`."""
    return request.app.state.server


async def refused_answer(request: Request, refused: Refused) -> JSONResponse:
    """The app's handler for :class:`Refused`: ``{"detail": text}`` with its headers."""
    return JSONResponse(
        {"detail": refused.text}, status_code=refused.status, headers=refused.headers or None
    )


# ---------------------------------------------------------------------------------------------
# Who is calling: FastAPI dependencies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A signed-in caller: the server, the language of the answer, and who it is."""

    server: object  # autograder.server.app.ServerState
    lang: str
    who: Principal


def caller(role: str | None = None, *, csrf: bool = False):
    """A dependency giving the :class:`Caller`, or refusing the request.

    A bearer token, else the page's session cookie; ``csrf``: a session must also send its CSRF
    token (``X-CSRF-Token``), since a browser sends cookies with requests other sites make.
    """

    def dependency(request: Request) -> Caller:
        server = state(request)
        lang = pick_lang(request, server.course.lang)
        who, by_session = request_principal(request, server.conn())
        if who is None:
            key = (
                "server_bad_token"
                if request.headers.get("authorization")
                else "server_unauthorized"
            )
            raise Refused(401, msg(key, lang), headers={"WWW-Authenticate": "Bearer"})
        if by_session and csrf and not csrf_ok(request, request.headers.get("x-csrf-token")):
            raise Refused(403, msg("server_csrf", lang))
        if role is not None and who.role != role:
            raise Refused(403, msg(ROLE_REFUSALS[role], lang))
        return Caller(server, lang, who)

    return dependency


Anyone = Annotated[Caller, Depends(caller())]
Student = Annotated[Caller, Depends(caller("student"))]
StudentPost = Annotated[Caller, Depends(caller("student", csrf=True))]
Instructor = Annotated[Caller, Depends(caller("instructor"))]
InstructorPost = Annotated[Caller, Depends(caller("instructor", csrf=True))]


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


@router.get("/health")
def health(request: Request) -> dict:
    server = state(request)
    return {
        "status": "ok",
        "queue": {"queued": 0, "grading": 0, **server.queue().depth()},
        "workers": server.workers_alive(),
    }


@router.post("/submissions", status_code=202)
async def create_submission(request: Request, call: StudentPost) -> JSONResponse:
    check_rate(call.server, call.who.id, call.lang)  # before the body is read
    form = await request.form(max_files=1, max_fields=4, max_part_size=MAX_FORM_FIELD)
    try:
        submission_id = await receive_upload(call.server, call.who.id, form, call.lang)
    finally:
        await form.close()
    position = call.server.queue().position(submission_id)
    return JSONResponse(
        {"id": submission_id, "status": "queued", "position": position}, status_code=202
    )


@router.get("/submissions")
def list_submissions(call: Student) -> dict:
    server = call.server
    return {"submissions": store.views_for(server.conn(), server.course, call.who.id, call.lang)}


@router.get("/submissions/{submission_id}")
def get_submission(submission_id: int, call: Anyone) -> dict:
    owner = None if call.who.role == "instructor" else call.who.id
    shown = store.view(
        call.server.conn(), call.server.course, submission_id, student_id=owner, lang=call.lang
    )
    if shown is None:  # missing, or another student's: the same answer
        raise Refused(404, msg("server_not_found", call.lang))
    return shown


@router.get("/gradebook")
def get_gradebook(call: Instructor, homework: str = DEFAULT_HOMEWORK) -> dict:
    from autograder.server.gradebook import gradebook_rows

    homework = homework_named(call.server.course, homework, call.lang)
    rows = gradebook_rows(call.server.conn(), call.server.course, homework)
    return {"homework": homework, "rows": [asdict(row) for row in rows]}


@router.post("/regrades", status_code=202)
async def create_regrade(request: Request, call: InstructorPost) -> JSONResponse:
    body = await _json_body(request)
    homework = homework_named(call.server.course, body.get("homework"), call.lang)
    regrade_id = regrade.start(call.server.conn(), homework, call.lang)
    call.server.wake_workers()
    return JSONResponse({"id": regrade_id}, status_code=202)


@router.get("/regrades/{regrade_id}")
def get_regrade(regrade_id: int, call: Instructor) -> dict:
    shown = regrade.summary(call.server.conn(), call.server.course, regrade_id)
    if shown is None:
        raise Refused(404, msg("server_not_found", call.lang))
    return shown


@router.post("/regrades/{regrade_id}/publish")
def publish_regrade(regrade_id: int, call: InstructorPost) -> dict:
    if regrade.head(call.server.conn(), regrade_id) is None:
        raise Refused(404, msg("server_not_found", call.lang))
    regrade.publish(call.server.conn(), regrade_id, call.lang)
    return {"published": True}


# ---------------------------------------------------------------------------------------------


def check_rate(server, student_id: str, lang: str) -> None:
    """Refuse (429) a student over the upload rate limit."""
    wait = server.limiter.hit(student_id)
    if wait is not None:
        raise Refused(429, msg("server_rate_limited", lang, seconds=wait), retry_after=wait)


async def receive_upload(server, student_id: str, form, lang: str) -> int:
    """The checks every upload passes, from the API or the page's form; returns the new id.

    Messages are in ``lang`` (the page's); the feedback is in the form's ``lang`` field if it
    has one. Raises :class:`Refused`.
    """
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Refused(400, msg("server_no_file", lang))
    homework = homework_named(server.course, form.get("homework"), lang)
    data = await upload.read(server.max_upload + 1)
    if len(data) > server.max_upload:
        raise Refused(413, msg("server_too_large", lang, limit=server.max_upload_text))
    feedback_lang = form_lang(form.get("lang"), lang)
    submission_id = await run_in_threadpool(
        accept_upload, server, student_id, homework, upload.filename or "", data, feedback_lang
    )
    server.wake_workers()
    return submission_id


def accept_upload(
    server, student_id: str, homework: str, filename: str, data: bytes, lang: str
) -> int:
    """Policy, then the guarded read, then the transaction (blocking: run it in a thread)."""
    from autograder.server import policy as policies

    conn = server.conn()
    now = time.time()
    homework_policy = server.course.homeworks[homework]

    def admit(attempts_used: int) -> None:  # inside accept's transaction: no race past the limit
        refusal = policies.refusal(homework_policy, student_id, now, attempts_used)
        if refusal is not None:
            status = 409 if refusal == policies.ATTEMPTS_USED_UP else 403
            raise Refused(status, policies.refusal_text(homework_policy, student_id, refusal, lang))

    admit(store.attempts_used(conn, student_id, homework))  # refuse before storing the file
    sha256 = store.save_upload(
        server.course.uploads_dir, data, filename, functions=server.functions(homework), lang=lang
    )
    return store.accept(
        conn,
        student_id=student_id,
        homework=homework,
        filename=filename,
        sha256=sha256,
        size=len(data),
        lang=lang,
        now=now,
        admit=admit,
    )


def homework_named(course, value: object, lang: str) -> str:
    name = value if isinstance(value, str) and value else DEFAULT_HOMEWORK
    if name not in course.homeworks:
        known = ", ".join(sorted(course.homeworks))
        raise Refused(
            400, msg("server_unknown_homework", lang, name=store.shown_name(name), known=known)
        )
    return name


def form_lang(value: object, default: str) -> str:
    return value if value in ("en", "zh") else default


async def _json_body(request: Request) -> dict:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return {}
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: an array nested 100,000 deep
        return {}
    return body if isinstance(body, dict) else {}
