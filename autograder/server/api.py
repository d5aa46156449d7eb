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

from fastapi import APIRouter, Request
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


def state(request: Request):
    """The app's :class:`autograder.server.app.ServerState`."""
    return request.app.state.server


def error(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


def authorized(request: Request, lang: str, *, csrf: bool = False) -> Principal | JSONResponse:
    """The caller, or the 401 to answer. ``csrf``: a page (session) must also prove its origin."""
    conn = state(request).conn()
    principal, by_session = request_principal(request, conn)
    if principal is None:
        key = "server_bad_token" if request.headers.get("authorization") else "server_unauthorized"
        return error(401, msg(key, lang), **{"WWW-Authenticate": "Bearer"})
    if by_session and csrf and not csrf_ok(request, request.headers.get("x-csrf-token")):
        return error(403, msg("server_csrf", lang))
    return principal


def instructor(request: Request, lang: str, *, csrf: bool = False) -> Principal | JSONResponse:
    who = authorized(request, lang, csrf=csrf)
    if isinstance(who, Principal) and who.role != "instructor":
        return error(403, msg("server_instructors_only", lang))
    return who


@router.get("/health")
def health(request: Request) -> dict:
    server = state(request)
    return {
        "status": "ok",
        "queue": {"queued": 0, "grading": 0, **server.queue().depth()},
        "workers": server.workers_alive(),
    }


@router.post("/submissions", status_code=202)
async def create_submission(request: Request):
    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = authorized(request, lang, csrf=True)
    if not isinstance(who, Principal):
        return who
    if who.role != "student":
        return error(403, msg("server_students_only", lang))
    try:
        check_rate(server, who.id, lang)  # before the body is read
        form = await request.form(max_files=1, max_fields=4, max_part_size=MAX_FORM_FIELD)
        try:
            submission_id = await receive_upload(server, who.id, form, lang)
        finally:
            await form.close()
    except Refused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
        return error(refused.status, refused.text, **headers)
    position = server.queue().position(submission_id)
    return JSONResponse(
        {"id": submission_id, "status": "queued", "position": position}, status_code=202
    )


@router.get("/submissions")
def list_submissions(request: Request):
    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = authorized(request, lang)
    if not isinstance(who, Principal):
        return who
    if who.role != "student":
        return error(403, msg("server_students_only", lang))
    return {"submissions": store.views_for(server.conn(), server.course, who.id, lang)}


@router.get("/submissions/{submission_id}")
def get_submission(request: Request, submission_id: int):
    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = authorized(request, lang)
    if not isinstance(who, Principal):
        return who
    owner = None if who.role == "instructor" else who.id
    shown = store.view(server.conn(), server.course, submission_id, student_id=owner, lang=lang)
    return shown if shown is not None else error(404, msg("server_not_found", lang))


@router.get("/gradebook")
def get_gradebook(request: Request, homework: str = DEFAULT_HOMEWORK):
    from dataclasses import asdict

    from autograder.server.gradebook import gradebook_rows

    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = instructor(request, lang)
    if not isinstance(who, Principal):
        return who
    try:
        homework = homework_named(server.course, homework, lang)
    except Refused as refused:
        return error(refused.status, refused.text)
    rows = gradebook_rows(server.conn(), server.course, homework)
    return {"homework": homework, "rows": [asdict(row) for row in rows]}


@router.post("/regrades", status_code=202)
async def create_regrade(request: Request):
    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = instructor(request, lang, csrf=True)
    if not isinstance(who, Principal):
        return who
    body = await _json_body(request)
    try:
        homework = homework_named(server.course, body.get("homework"), lang)
        regrade_id = regrade.start(server.conn(), homework, lang)
    except Refused as refused:
        return error(refused.status, refused.text)
    server.wake_workers()
    return JSONResponse({"id": regrade_id}, status_code=202)


@router.get("/regrades/{regrade_id}")
def get_regrade(request: Request, regrade_id: int):
    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = instructor(request, lang)
    if not isinstance(who, Principal):
        return who
    shown = regrade.summary(server.conn(), server.course, regrade_id)
    return shown if shown is not None else error(404, msg("server_not_found", lang))


@router.post("/regrades/{regrade_id}/publish")
def publish_regrade(request: Request, regrade_id: int):
    server = state(request)
    lang = pick_lang(request, server.course.lang)
    who = instructor(request, lang, csrf=True)
    if not isinstance(who, Principal):
        return who
    if regrade.summary(server.conn(), server.course, regrade_id) is None:
        return error(404, msg("server_not_found", lang))
    try:
        regrade.publish(server.conn(), regrade_id, lang)
    except Refused as refused:
        return error(refused.status, refused.text)
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
