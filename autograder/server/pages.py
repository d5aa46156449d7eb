"""The course's web pages (English and Chinese): sign in, submit, watch, read feedback, gradebook.

::

    GET  /                              sign-in form (token)        POST /signin, POST /signout
    GET  /me                            student: upload form and every attempt
    POST /me/submissions                the upload form without JavaScript (303 to the submission)
    GET  /submissions/{id}              live state, then the per-part feedback (owner or instructor)
    GET  /submissions/{id}/result       the result part of that page alone (its script fetches it)
    GET  /instructor                    live gradebook and the regrade panel
    GET  /instructor/students/{id}      one student's attempts
    GET  /instructor/gradebook.csv      download
    GET  /instructor/report             class report (charts: /instructor/report/{chart}.png)
    POST /instructor/regrades, /instructor/regrades/{id}/publish   the regrade panel without JS
    GET  /feedback.css                  the feedback page's styles (:data:`autograder.report.html.STYLE`)

Every page works without JavaScript; ``static/pages.js`` only enhances (uploads and polling
through the JSON API, local times). The Content-Security-Policy forbids inline scripts and styles,
so there are none: every script and style is a file. Templates autoescape every value; the one
exception is the grader's feedback body, which :func:`autograder.report.html.feedback_body` has
already escaped. A page that is not the visitor's to see is a 404, as in the API.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from dataclasses import asdict
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from autograder.messages import msg
from autograder.report.html import STYLE
from autograder.server import api, regrade, store
from autograder.server.course import Principal
from autograder.server.policy import iso_utc
from autograder.server.security import (
    LANGS,
    csrf_ok,
    csrf_token,
    pick_lang,
    session_principal,
    sign_in,
    sign_out,
)
from autograder.server.store import Refused

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# Student ids may hold any printable character, "/" and "?" included: one path segment each.
templates.env.filters["path_quote"] = partial(quote, safe="")
router = APIRouter(include_in_schema=False)

LANG_COOKIE = "lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600
LANG_NAMES = {"en": "English", "zh": "中文"}
HTML_LANG = {"en": "en", "zh": "zh-CN"}
#: Seconds between reloads of an unfinished submission page without JavaScript.
REFRESH_SECONDS = 2
FINISHED = ("done", "error")
HOME = {"student": "/me", "instructor": "/instructor"}
CHARTS = ("scores", "parts", "misconceptions")
MAX_SIGN_IN_FIELD = 1024


def install(app: FastAPI) -> None:
    """Mount the static files and include the pages (called by :func:`create_app`)."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def number(value: float | int | None) -> str:
    """A score as the pages show it (at most two decimals; ``–`` for none); pages.js agrees."""
    return "–" if value is None else f"{round(float(value), 2):g}"


def lang_of(request: Request) -> str:
    return pick_lang(request, api.state(request).course.lang)


def render(
    request: Request,
    name: str,
    *,
    who: Principal | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: object,
) -> Response:
    """``name`` rendered in the request's language, which a ``?lang=`` switch also remembers."""
    lang = lang_of(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "html_lang": HTML_LANG[lang],
            "t": partial(msg, lang=lang),
            "num": number,
            "iso": iso_utc,
            "course": api.state(request).course,
            "who": who,
            "csrf": csrf_token(request),
            "lang_links": _lang_links(request, lang),
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(
            LANG_COOKIE,
            request.query_params["lang"],
            max_age=LANG_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
        )
    return response


def _lang_links(request: Request, lang: str) -> list[dict[str, object]]:
    """The switch: this page in each language (other query parameters kept)."""
    links = []
    for code in LANGS:
        query = {**request.query_params, "lang": code}
        links.append(
            {
                "code": HTML_LANG[code],
                "label": LANG_NAMES[code],
                "href": f"{request.url.path}?{urlencode(query)}",
                "current": code == lang,
            }
        )
    return links


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def not_found(request: Request, who: Principal | None) -> Response:
    lang = lang_of(request)
    return render(
        request,
        "error.html",
        who=who,
        status_code=404,
        title=msg("page_not_found", lang),
        text=msg("page_not_found_text", lang),
    )


def forbidden(request: Request, who: Principal | None, key: str) -> Response:
    lang = lang_of(request)
    return render(
        request,
        "error.html",
        who=who,
        status_code=403,
        title=msg("page_forbidden", lang),
        text=msg(key, lang),
    )


def principal(request: Request) -> Principal | None:
    """The signed-in visitor (pages use the session only, never a bearer token)."""
    return session_principal(request, api.state(request).conn())


async def small_form(request: Request):
    """A form of short text fields only (sign-in, sign-out, regrade buttons)."""
    return await request.form(max_files=0, max_fields=4, max_part_size=MAX_SIGN_IN_FIELD)


# ---------------------------------------------------------------------------------------------
# Signing in and out
# ---------------------------------------------------------------------------------------------


@router.get("/")
def sign_in_page(request: Request) -> Response:
    who = principal(request)
    if who is not None:
        return redirect(HOME[who.role])
    return render(request, "signin.html", who=None, error=None)


@router.post("/signin")
async def sign_in_submit(request: Request) -> Response:
    lang = lang_of(request)
    form = await small_form(request)
    if not csrf_ok(request, form.get("csrf_token")):
        return forbidden(request, None, "server_csrf")
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    who = sign_in(request, api.state(request).conn(), token)
    if who is None:
        error = msg("server_bad_token", lang)
        return render(request, "signin.html", who=None, error=error, status_code=401)
    return redirect(HOME[who.role])


@router.post("/signout")
async def sign_out_submit(request: Request) -> Response:
    form = await small_form(request)
    if not csrf_ok(request, form.get("csrf_token")):
        return forbidden(request, principal(request), "server_csrf")
    sign_out(request)
    return redirect("/")


# ---------------------------------------------------------------------------------------------
# Students
# ---------------------------------------------------------------------------------------------


def attempts(conn: sqlite3.Connection, course, student_id: str, lang: str) -> list[dict]:
    """Every attempt of a student on every homework, newest first: the gradebook's history
    (score, late days, penalized score, which one counts) with the file name of each."""
    from autograder.server.gradebook import history

    files = {v["id"]: v["filename"] for v in store.views_for(conn, course, student_id, lang)}
    rows = [
        {**item, "homework": homework, "filename": files.get(item["id"], "")}
        for homework in sorted(course.homeworks)
        for item in history(conn, course, homework, student_id)
    ]
    return sorted(rows, key=lambda item: item["id"], reverse=True)


def student_page_response(
    request: Request,
    who: Principal,
    *,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    server = api.state(request)
    lang = lang_of(request)
    return render(
        request,
        "student.html",
        who=who,
        error=error,
        status_code=status_code,
        headers=headers,
        attempts=attempts(server.conn(), server.course, who.id, lang),
        homeworks=sorted(server.course.homeworks),
        default_homework=api.DEFAULT_HOMEWORK,
    )


@router.get("/me")
def student_page(request: Request) -> Response:
    who = principal(request)
    if who is None:
        return redirect("/")
    if who.role != "student":
        return redirect(HOME[who.role])
    return student_page_response(request, who)


@router.post("/me/submissions")
async def student_submit(request: Request) -> Response:
    """The upload form without JavaScript: the API's checks, then 303 to the submission page."""
    who = principal(request)
    if who is None:
        return redirect("/")
    if who.role != "student":
        return forbidden(request, who, "server_students_only")
    server = api.state(request)
    lang = lang_of(request)
    form = await request.form(max_files=1, max_fields=4, max_part_size=api.MAX_FORM_FIELD)
    try:
        if not csrf_ok(request, form.get("csrf_token")):
            raise Refused(403, msg("server_csrf", lang))
        api.check_rate(server, who.id, lang)
        submission_id = await api.receive_upload(server, who.id, form, lang)
    except Refused as refused:
        headers = refused.headers or None
        return student_page_response(
            request, who, error=refused.text, status_code=refused.status, headers=headers
        )
    finally:
        await form.close()
    return redirect(f"/submissions/{submission_id}")


def submission_for(request: Request, who: Principal, submission_id: int) -> dict | None:
    """The submission as ``who`` may see it (with the feedback body), else ``None``."""
    server = api.state(request)
    owner = None if who.role == "instructor" else who.id
    return store.view(
        server.conn(),
        server.course,
        submission_id,
        student_id=owner,
        lang=lang_of(request),
        results=False,
        feedback=True,
    )


@router.get("/submissions/{submission_id}")
def submission_page(request: Request, submission_id: int) -> Response:
    who = principal(request)
    if who is None:
        return redirect("/")
    shown = submission_for(request, who, submission_id)
    if shown is None:
        return not_found(request, who)
    return render(
        request,
        "submission.html",
        who=who,
        sub=shown,
        finished=shown["status"] in FINISHED,
        refresh=REFRESH_SECONDS,
    )


@router.get("/submissions/{submission_id}/result")
def submission_result(request: Request, submission_id: int) -> Response:
    """The result part of the submission page, for its script to insert when grading ends."""
    who = principal(request)
    shown = None if who is None else submission_for(request, who, submission_id)
    if shown is None:
        return not_found(request, who)
    return render(request, "_result.html", who=who, sub=shown)


# ---------------------------------------------------------------------------------------------
# Instructors
# ---------------------------------------------------------------------------------------------


def instructor_gate(request: Request) -> tuple[Principal | None, Response | None]:
    """``(instructor, None)``, or ``(visitor, the answer)``: sign-in for strangers, 403 for
    students."""
    who = principal(request)
    if who is None:
        return None, redirect("/")
    if who.role != "instructor":
        return who, forbidden(request, who, "server_instructors_only")
    return who, None


def known_homework(request: Request, homework: str | None) -> str | None:
    name = homework or api.DEFAULT_HOMEWORK
    return name if name in api.state(request).course.homeworks else None


def latest_regrade(conn: sqlite3.Connection, course, homework: str) -> dict | None:
    row = conn.execute(
        "SELECT MAX(id) AS id FROM regrades WHERE homework = ?", (homework,)
    ).fetchone()
    return None if row["id"] is None else regrade.summary(conn, course, row["id"])


def instructor_page_response(
    request: Request,
    who: Principal,
    homework: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    from autograder.server.gradebook import gradebook_rows

    server = api.state(request)
    conn = server.conn()
    return render(
        request,
        "instructor.html",
        who=who,
        status_code=status_code,
        error=error,
        homework=homework,
        homeworks=sorted(server.course.homeworks),
        rows=[asdict(row) for row in gradebook_rows(conn, server.course, homework)],
        regrade=latest_regrade(conn, server.course, homework),
    )


@router.get("/instructor")
def instructor_page(request: Request, homework: str | None = None) -> Response:
    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    name = known_homework(request, homework)
    if name is None:
        return not_found(request, who)
    return instructor_page_response(request, who, name)


@router.get("/instructor/students/{student_id:path}")
def student_history_page(request: Request, student_id: str) -> Response:
    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    server = api.state(request)
    student = (
        server.conn()
        .execute("SELECT id, name, email FROM students WHERE id = ?", (student_id,))
        .fetchone()
    )
    if student is None:
        return not_found(request, who)
    return render(
        request,
        "history.html",
        who=who,
        student=dict(student),
        attempts=attempts(server.conn(), server.course, student["id"], lang_of(request)),
        homeworks=sorted(server.course.homeworks),
    )


@router.get("/instructor/gradebook.csv")
def gradebook_csv(request: Request, homework: str | None = None) -> Response:
    from autograder.server.gradebook import gradebook_rows, to_csv

    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    name = known_homework(request, homework)
    if name is None:
        return not_found(request, who)
    server = api.state(request)
    # A byte-order mark: Excel on Windows (a Chinese locale's default is GBK) then reads the
    # names as UTF-8 instead of mojibake; other spreadsheets and the csv module skip it.
    text = "\ufeff" + to_csv(gradebook_rows(server.conn(), server.course, name))
    filename = f"gradebook-{name}.csv"
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{fallback}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}",
            "Cache-Control": "no-store",
        },
    )


@router.post("/instructor/regrades")
async def regrade_start(request: Request) -> Response:
    """The regrade panel's start button without JavaScript."""
    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    form = await small_form(request)
    name = known_homework(request, form.get("homework"))
    if name is None:
        return not_found(request, who)
    if not csrf_ok(request, form.get("csrf_token")):
        return forbidden(request, who, "server_csrf")
    server = api.state(request)
    try:
        regrade.start(server.conn(), name, lang_of(request))
    except Refused as refusal:
        return instructor_page_response(
            request, who, name, error=refusal.text, status_code=refusal.status
        )
    server.wake_workers()
    return redirect(f"/instructor?{urlencode({'homework': name})}#regrade")


@router.post("/instructor/regrades/{regrade_id}/publish")
async def regrade_publish(request: Request, regrade_id: int) -> Response:
    """The regrade panel's publish button without JavaScript."""
    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    form = await small_form(request)
    if not csrf_ok(request, form.get("csrf_token")):
        return forbidden(request, who, "server_csrf")
    server = api.state(request)
    row = regrade.head(server.conn(), regrade_id)
    if row is None:
        return not_found(request, who)
    try:
        regrade.publish(server.conn(), regrade_id, lang_of(request))
    except Refused as refusal:
        return instructor_page_response(
            request, who, row["homework"], error=refusal.text, status_code=refusal.status
        )
    return redirect(f"/instructor?{urlencode({'homework': row['homework']})}#regrade")


# ---------------------------------------------------------------------------------------------
# The class report (numbers and charts of autograder.batch.classreport, from the database)
# ---------------------------------------------------------------------------------------------


def report_rows(conn: sqlite3.Connection, course, homework: str, spec) -> list:
    """One :class:`autograder.batch.gradebook.Row` per roster student from their counting
    submission's stored result (raw score, part scores, misconceptions)."""
    import json

    from autograder.batch import store as batch
    from autograder.batch.gradebook import Row
    from autograder.server.gradebook import gradebook_rows

    no_result = {"missing": batch.MISSING, "pending": batch.PENDING}
    rows = []
    for entry in gradebook_rows(conn, course, homework):
        stored = None
        if entry.submission_id is not None:
            stored = conn.execute(
                "SELECT r.results_json, r.outcome FROM submissions s "
                "JOIN results r ON r.key = s.result_key WHERE s.id = ?",
                (entry.submission_id,),
            ).fetchone()
        if stored is None:
            status = no_result.get(entry.status, batch.GRADER_ERROR_STATUS)
            rows.append(Row(entry.student_id, status, None, spec.max_score))
            continue
        results = json.loads(stored["results_json"])
        extra = results.get("extra_data") or {}
        parts = {
            str(test.get("name", "")).split(":", 1)[0]: float(test.get("score") or 0.0)
            for test in results.get("tests") or []
        }
        rows.append(
            Row(
                student_id=entry.student_id,
                status=stored["outcome"],
                score=float(results.get("score") or 0.0),
                max_score=float(extra.get("max_score") or spec.max_score),
                parts=parts,
                misconceptions=[str(tag) for tag in extra.get("misconceptions") or []],
                error=str(extra.get("error") or ""),
                execution_time=results.get("execution_time"),
            )
        )
    return rows


def homework_spec(course, homework: str):
    from autograder.spec import DEFAULT_SPEC, load_spec

    return load_spec(course.homeworks[homework].spec or DEFAULT_SPEC)


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@router.get("/instructor/report")
def class_report(request: Request, homework: str | None = None) -> Response:
    from autograder.batch import classreport
    from autograder.diagnosis import load_catalog

    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    name = known_homework(request, homework)
    if name is None:
        return not_found(request, who)
    server = api.state(request)
    lang = lang_of(request)
    spec = homework_spec(server.course, name)
    rows = report_rows(server.conn(), server.course, name, spec)
    titles = {m.tag: m.title_in(lang) for m in load_catalog(spec.misconceptions_module)}
    return render(
        request,
        "report.html",
        who=who,
        homework=name,
        title=spec.title.get(lang) or spec.title.get("en") or spec.name,
        max_score=spec.max_score,
        summary=classreport.summary(rows),
        parts=classreport.part_stats(rows, spec, lang),
        misconceptions=[
            (tag, titles.get(tag, ""), n)
            for tag, n in classreport.misconception_counts(rows)[: classreport.TOP]
        ],
        problems=[r for r in rows if r.status != "graded"],
        charts=have_matplotlib(),
        chart_query=urlencode({"homework": name}),
    )


@router.get("/instructor/report/{chart}.png")
def class_report_chart(request: Request, chart: str, homework: str | None = None) -> Response:
    from autograder.batch import classreport

    who, refused = instructor_gate(request)
    if refused is not None:
        return refused
    name = known_homework(request, homework)
    if name is None or chart not in CHARTS or not have_matplotlib():
        return not_found(request, who)
    server = api.state(request)
    spec = homework_spec(server.course, name)
    rows = report_rows(server.conn(), server.course, name, spec)
    with tempfile.TemporaryDirectory(prefix="bpgrade-chart-") as folder:
        path = Path(folder) / "chart.png"
        if chart == "scores":
            classreport.chart_scores(rows, spec.max_score, path)
        elif chart == "parts":
            classreport.chart_parts(classreport.part_stats(rows, spec, lang_of(request)), path)
        else:
            classreport.chart_misconceptions(classreport.misconception_counts(rows), path)
        data = path.read_bytes()
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------------------


@router.get("/feedback.css")
def feedback_css() -> Response:
    """The standalone feedback page's styles, so the feedback looks the same inside the pages."""
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
