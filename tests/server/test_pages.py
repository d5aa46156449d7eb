"""The course server's web pages (autograder/server/pages.py), through Starlette's TestClient.

Grading is faked here (a job is claimed and completed with a made-up result), so these tests are
fast; tests/server/test_browser.py drives the real server, grader and a browser.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")

from starlette.testclient import TestClient  # noqa: E402

from autograder.report.html import STYLE  # noqa: E402
from autograder.server import db  # noqa: E402
from autograder.server.app import create_app  # noqa: E402
from autograder.server.course import init_course  # noqa: E402
from autograder.server.queue import Result, SQLiteQueue  # noqa: E402
from autograder.server.security import CSP  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CORRECT = (ROOT / "examples" / "submissions" / "correct.py").read_bytes()
HOSTILE = "<script>alert(1)</script>"
HOSTILE_FILE = "<img src=x onerror=alert(3)>.py"  # no "/": a file name keeps only its last part
HOSTILE_ID = '"><img src=x onerror=alert(2)>/x?y#z'
ROSTER = [
    ("s001", "Ann", "ann@example.org"),
    ("s002", HOSTILE, "bo@example.org"),
    (HOSTILE_ID, '=HYPERLINK("http://evil")', "@cmd"),
]
FEEDBACK = '<h1>Feedback: 90 / 100</h1>\n<p class="meta">Student: <strong>s001</strong></p>'
COURSE_TOML = """\
[course]
name = "Test course"
lang = "en"

[server]
uploads_per_minute = {per_minute}

[homeworks.backprop]
late_penalty_per_day = 0.1
max_attempts = {attempts}
{times}
"""


def write_course(root: Path, *, per_minute: int = 100, attempts: int = 0, times: str = "") -> None:
    (root / "course.toml").write_text(
        COURSE_TOML.format(per_minute=per_minute, attempts=attempts, times=times),
        encoding="utf-8",
    )


@pytest.fixture
def course(tmp_path) -> Path:
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "name", "email"), *ROSTER])
    root = tmp_path / "course"
    init_course(root, roster)
    write_course(root)
    return root


def tokens(root: Path) -> dict[str, str]:
    rows = list(csv.DictReader((root / "tokens.csv").open(encoding="utf-8")))
    found = {row["id"]: row["token"] for row in rows}
    found["instructor"] = (root / "instructor_token.txt").read_text().strip()
    return found


@pytest.fixture
def app(course):
    return create_app(course, workers=0)


def client_for(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


def csrf_of(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def signed_in(app, course: Path, who: str | None) -> TestClient:
    """A client whose session belongs to ``who`` (a student id or "instructor"; None: nobody)."""
    client = client_for(app)
    if who is not None:
        page = client.get("/")
        answer = client.post(
            "/signin",
            data={"csrf_token": csrf_of(page.text), "token": tokens(course)[who]},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
    return client


def upload(client: TestClient, name: str = "nn.py", data: bytes = CORRECT, **fields):
    page = client.get("/me")
    form = {"csrf_token": csrf_of(page.text), "homework": "backprop", "lang": "en", **fields}
    return client.post(
        "/me/submissions", data=form, files={"file": (name, data)}, follow_redirects=False
    )


def submission_id(answer) -> int:
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def finish(course: Path, score: float = 90.0, feedback: str = FEEDBACK) -> None:
    """Grade the next queued job with a made-up result (what a worker would store)."""
    conn = db.connect(course / "course.db")
    queue = SQLiteQueue(conn)
    job = queue.claim("test")
    sha = conn.execute(
        "SELECT sha256, lang FROM submissions WHERE id = ?", (job.submission_id,)
    ).fetchone()
    tests = [
        {"name": "sigmoid: Sigmoid g(z)", "score": 5.0, "max_score": 5.0},
        {"name": "nnGrad: Gradient", "score": score - 5.0, "max_score": 95.0},
    ]
    results = {
        "score": score,
        "execution_time": 0.5,
        "tests": tests,
        "extra_data": {"max_score": 100.0, "misconceptions": ["forgot_sigmoid_gradient"]},
    }
    queue.complete(
        job,
        Result(
            sha256=sha["sha256"],
            grader_version=f"test-{job.id}",
            seed_id="seed",
            lang=sha["lang"],
            score=score,
            max_score=100.0,
            outcome="graded",
            results_json=json.dumps(results),
            feedback_html=feedback,
        ),
    )
    conn.close()


# ---------------------------------------------------------------------------------------------
# Signing in and out
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_of", "status", "location"),
    [
        ("s001", 303, "/me"),
        ("instructor", 303, "/instructor"),
        ("wrong", 401, None),
        ("empty", 401, None),
    ],
)
def test_sign_in(app, course, token_of, status, location):
    client = client_for(app)
    fake = {"wrong": "not-a-token", "empty": ""}
    token = fake[token_of] if token_of in fake else tokens(course)[token_of]
    page = client.get("/")
    answer = client.post(
        "/signin", data={"csrf_token": csrf_of(page.text), "token": token}, follow_redirects=False
    )
    assert answer.status_code == status
    assert answer.headers.get("location") == location
    if status == 401:
        assert "this token is not a token of this course" in answer.text
        assert 'name="token"' in answer.text  # the form again


def test_signed_in_visitor_at_the_sign_in_page_goes_home(app, course):
    client = signed_in(app, course, "s001")
    answer = client.get("/", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/me")


def test_sign_out_ends_the_session(app, course):
    client = signed_in(app, course, "s001")
    page = client.get("/me")
    answer = client.post(
        "/signout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert client.get("/me", follow_redirects=False).headers["location"] == "/"


@pytest.mark.parametrize(
    ("who", "path", "fields"),
    [
        (None, "/signin", {"token": "x"}),
        ("s001", "/signout", {}),
        ("s001", "/me/submissions", {"homework": "backprop"}),
        ("instructor", "/instructor/regrades", {"homework": "backprop"}),
        ("instructor", "/instructor/regrades/1/publish", {}),
    ],
)
@pytest.mark.parametrize("csrf", ["missing", "wrong"])
def test_a_form_without_the_session_csrf_token_is_refused(app, course, who, path, fields, csrf):
    client = signed_in(app, course, who)
    if csrf == "wrong":
        fields = {**fields, "csrf_token": "forged"}
    files = {"file": ("nn.py", CORRECT)} if path == "/me/submissions" else None
    answer = client.post(path, data=fields, files=files, follow_redirects=False)
    assert answer.status_code == 403
    assert "the form has expired" in answer.text
    if who == "s001":  # nothing happened: still signed in, nothing submitted
        assert "No submission yet." in client.get("/me").text


# ---------------------------------------------------------------------------------------------
# Who sees what
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path", "status", "location"),
    [
        (None, "/me", 303, "/"),
        (None, "/instructor", 303, "/"),
        (None, "/submissions/{own}", 303, "/"),
        ("s001", "/me", 200, None),
        ("s001", "/submissions/{own}", 200, None),
        ("s001", "/submissions/{own}/result", 200, None),
        ("s002", "/submissions/{own}", 404, None),
        ("s002", "/submissions/{own}/result", 404, None),
        ("s001", "/submissions/999", 404, None),
        ("s001", "/instructor", 403, None),
        ("s001", "/instructor/gradebook.csv", 403, None),
        ("s001", "/instructor/report", 403, None),
        ("s001", "/instructor/students/s001", 403, None),
        ("instructor", "/me", 303, "/instructor"),
        ("instructor", "/instructor", 200, None),
        ("instructor", "/submissions/{own}", 200, None),
        ("instructor", "/instructor/students/s001", 200, None),
        ("instructor", "/instructor/students/nobody", 404, None),
        ("instructor", "/instructor?homework=nope", 404, None),
    ],
)
def test_access(app, course, who, path, status, location):
    own = submission_id(upload(signed_in(app, course, "s001")))
    client = signed_in(app, course, who)
    answer = client.get(path.format(own=own), follow_redirects=False)
    assert answer.status_code == status
    assert answer.headers.get("location") == location
    if status == 404:  # the same page whether the submission exists or not
        assert "There is no such page, or it is not yours to see." in answer.text


def test_the_other_students_404_is_the_missing_submissions_404(app, course):
    own = submission_id(upload(signed_in(app, course, "s001")))
    client = signed_in(app, course, "s002")
    other, missing = client.get(f"/submissions/{own}"), client.get("/submissions/999")
    main = lambda text: text[text.index("<main>") :]  # noqa: E731
    assert main(other.text) == main(missing.text)


# ---------------------------------------------------------------------------------------------
# Escaping, CSP, no inline script or style
# ---------------------------------------------------------------------------------------------


class Inline(HTMLParser):
    """Collects what the CSP would block: inline scripts, style elements and attributes, event
    handler attributes, and anything loaded from another origin."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "script" and not named.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in ("src", "href", "action") and value and re.match(r"^(\w+:)?//", value):
                self.problems.append(f"{tag}[{name}]={value}")


def every_page(app, course) -> dict[str, tuple[TestClient, str]]:
    """One client and path for every page, with a hostile file name and student data in them."""
    student = signed_in(app, course, "s001")
    done = submission_id(upload(student, name=HOSTILE_FILE))
    finish(course)
    queued = submission_id(upload(student))
    instructor = signed_in(app, course, "instructor")
    return {
        "sign-in": (client_for(app), "/"),
        "student": (student, "/me"),
        "submission-done": (student, f"/submissions/{done}"),
        "submission-queued": (student, f"/submissions/{queued}"),
        "not-found": (student, "/submissions/999"),
        "forbidden": (student, "/instructor"),
        "gradebook": (instructor, "/instructor"),
        "history-s001": (instructor, "/instructor/students/s001"),
        "history-hostile": (
            instructor,
            "/instructor/students/" + HOSTILE_ID.replace("?", "%3F").replace("#", "%23"),
        ),
        "report": (instructor, "/instructor/report"),
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_has_the_csp_and_nothing_inline(app, course, lang):
    for name, (client, path) in every_page(app, course).items():
        answer = client.get(path, params={"lang": lang})
        assert answer.headers["content-security-policy"] == CSP, name
        assert answer.headers["content-type"].startswith("text/html"), name
        parser = Inline()
        parser.feed(answer.text)
        assert parser.problems == [], name
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in answer.text, name


@pytest.mark.parametrize(
    ("who", "page", "hostile"),
    [
        ("s001", "/me", HOSTILE_FILE),
        ("s001", "/submissions/{done}", HOSTILE_FILE),
        ("instructor", "/submissions/{done}", HOSTILE_FILE),
        ("instructor", "/instructor/students/s001", HOSTILE_FILE),
        ("instructor", "/instructor", HOSTILE),  # a student's name
        ("instructor", "/instructor", HOSTILE_ID),  # and id
        ("instructor", "/instructor/report", HOSTILE_ID),
    ],
)
def test_student_strings_are_escaped(app, course, who, page, hostile):
    done = submission_id(upload(signed_in(app, course, "s001"), name=HOSTILE_FILE))
    finish(course)
    text = signed_in(app, course, who).get(page.format(done=done)).text
    assert hostile not in text
    assert "<script>alert" not in text and "<img src=x" not in text
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped.replace('"', "&#34;") in text or escaped in text


def test_the_grader_feedback_body_is_the_one_unescaped_field(app, course):
    student = signed_in(app, course, "s001")
    done = submission_id(upload(student))
    finish(course, feedback=FEEDBACK)
    text = student.get(f"/submissions/{done}").text
    assert FEEDBACK in text  # inserted as HTML
    assert "Done: 90 / 100." in text


def test_static_files_and_feedback_styles(app):
    client = client_for(app)
    script = client.get("/static/pages.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    styles = client.get("/feedback.css")
    assert styles.headers["content-type"].startswith("text/css")
    assert styles.text == STYLE
    assert client.get("/static/pages.css").status_code == 200


# ---------------------------------------------------------------------------------------------
# Language
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "en"),  # the course's language
        (None, None, "zh-CN,zh;q=0.9,en;q=0.5", "zh"),
        (None, None, "en-US,en", "en"),
        ("zh", None, "en", "zh"),
        (None, "zh", "en", "zh"),
        ("en", "zh", "zh", "en"),
        ("fr", None, None, "en"),
    ],
)
def test_language_choice(app, query, cookie, accept, expected):
    client = client_for(app)
    if cookie:
        client.cookies.set("lang", cookie)
    headers = {"Accept-Language": accept} if accept else {}
    params = {"lang": query} if query else {}
    text = client.get("/", params=params, headers=headers).text
    assert f'<html lang="{"zh-CN" if expected == "zh" else "en"}">' in text
    assert ("请用教师发给你的课程令牌登录" in text) == (expected == "zh")


def test_the_language_switch_is_remembered(app, course):
    client = signed_in(app, course, "s001")
    answer = client.get("/me", params={"lang": "zh"})
    assert "lang=zh" in answer.headers["set-cookie"]
    assert "我的提交" in client.get("/me").text  # the cookie, without ?lang=
    assert 'href="/me?lang=en"' in answer.text  # the switch back


# ---------------------------------------------------------------------------------------------
# Uploading without JavaScript
# ---------------------------------------------------------------------------------------------


def test_an_upload_without_javascript_goes_to_its_submission_page(app, course):
    student = signed_in(app, course, "s001")
    answer = upload(student)
    page = student.get(answer.headers["location"])
    assert "Queued: number 1 in line." in page.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    finish(course)
    page = student.get(answer.headers["location"])
    assert "http-equiv" not in page.text  # done: no more reloading
    assert "Done: 90 / 100." in page.text


@pytest.mark.parametrize(
    ("settings", "first", "name", "status", "en", "zh"),
    [
        ({}, 0, "notes.txt", 400, "neither a .py file", "既不是 .py 文件"),
        ({"attempts": 1}, 1, "nn.py", 409, "all 1 attempts", "全部 1 次"),
        ({"per_minute": 1}, 1, "nn.py", 429, "too many submissions", "一分钟内提交过多"),
        (
            {"times": "cutoff = 2020-01-01T00:00:00Z"},
            0,
            "nn.py",
            403,
            "no more submissions are accepted",
            "不再接受提交",
        ),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_refused_upload_is_explained_in_the_page(
    course, settings, first, name, status, en, zh, lang
):
    write_course(course, **settings)
    app = create_app(course, workers=0)
    student = signed_in(app, course, "s001")
    student.cookies.set("lang", lang)
    for _ in range(first):
        submission_id(upload(student, lang=lang))
    answer = upload(student, name=name, lang=lang)
    assert answer.status_code == status
    assert (en if lang == "en" else zh) in answer.text
    assert 'role="alert"' in answer.text
    if status == 429:
        assert int(answer.headers["retry-after"]) >= 1


def test_the_history_shows_every_attempt_and_which_counts(app, course):
    student = signed_in(app, course, "s001")
    first = submission_id(upload(student))
    finish(course, score=90.0)
    second = submission_id(upload(student, name="backprop.py"))
    finish(course, score=40.0)
    text = student.get("/me").text
    rows = re.findall(
        r"<tr( class=\"counts\")?>\s*<th scope=\"row\"><a href=\"/submissions/(\d+)\"", text
    )
    assert [(bool(c), int(i)) for c, i in rows] == [(False, second), (True, first)]  # best counts
    assert "90 / 100" in text and "40 / 100" in text


# ---------------------------------------------------------------------------------------------
# Instructors
# ---------------------------------------------------------------------------------------------


def test_gradebook_csv_download_defuses_formulas(app, course):
    submission_id(upload(signed_in(app, course, "s001")))
    finish(course)
    answer = signed_in(app, course, "instructor").get("/instructor/gradebook.csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="gradebook-backprop.csv"'
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the names as UTF-8
    text = answer.content.decode("utf-8-sig")
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["s001"]["score"] == "90"
    hostile = rows[HOSTILE_ID]
    assert hostile["name"] == '\'=HYPERLINK("http://evil")'
    assert hostile["email"] == "'@cmd"


def test_gradebook_lists_every_student(app, course):
    submission_id(upload(signed_in(app, course, "s001")))
    finish(course)
    text = signed_in(app, course, "instructor").get("/instructor").text
    assert text.count('<tr data-student="') == len(ROSTER)
    assert re.search(r'data-student="s001">.*?90 / 100', text, re.S)
    assert 'data-poll="/api/gradebook?homework=backprop"' in text


def test_regrade_panel_without_javascript(app, course):
    submission_id(upload(signed_in(app, course, "s001")))
    finish(course, score=90.0)
    instructor = signed_in(app, course, "instructor")
    page = instructor.get("/instructor")
    answer = instructor.post(
        "/instructor/regrades",
        data={"csrf_token": csrf_of(page.text), "homework": "backprop"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = instructor.get("/instructor")
    assert "Regrade 1: 0 of 1 submissions graded." in page.text
    early = instructor.post(
        "/instructor/regrades/1/publish", data={"csrf_token": csrf_of(page.text)}
    )
    assert early.status_code == 409
    finish(course, score=70.0)
    page = instructor.get("/instructor")
    assert re.search(
        r'<th scope="row">s001</th><td class="num">90</td><td class="num">70</td><td class="num">-20</td>',
        page.text,
    )
    done = instructor.post(
        "/instructor/regrades/1/publish",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Regrade 1 is published." in instructor.get("/instructor").text


def test_class_report_and_its_charts(app, course):
    pytest.importorskip("matplotlib")
    submission_id(upload(signed_in(app, course, "s001")))
    finish(course, score=90.0)
    instructor = signed_in(app, course, "instructor")
    text = instructor.get("/instructor/report", params={"lang": "zh"}).text
    assert "班级报告" in text
    assert "forgot_sigmoid_gradient" in text
    for chart in ("scores", "parts", "misconceptions"):
        src = f"/instructor/report/{chart}.png?homework=backprop"
        assert f'src="{src}"' in text
        image = instructor.get(src)
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
    assert instructor.get("/instructor/report/other.png").status_code == 404


def test_only_the_instructor_sees_the_grading_timeline(app, course):
    done = submission_id(upload(signed_in(app, course, "s001")))
    finish(course)
    for who, shown in (("instructor", True), ("s001", False)):
        text = signed_in(app, course, who).get(f"/submissions/{done}").text
        assert ("Timeline (instructors only)" in text) == shown
        assert (re.search(r"<th scope=\"row\">stored</th>", text) is not None) == shown
