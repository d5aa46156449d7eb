"""The course server red team: a hostile student, and a stranger on the network, over HTTP.

Every test is one attack and the behaviour that defeats it. The app runs in Starlette's
TestClient without a grading pool (``workers=0``); the few tests that need a grade run the
worker's :class:`~autograder.server.worker.Grader` (the real sandbox) on the queue.

Left to others, on purpose: slow clients (slowloris) and connection floods are uvicorn's and the
reverse proxy's business; brute-forcing a 192-bit token needs no rate limit.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import re
import sqlite3
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import itsdangerous  # noqa: E402
import numpy as np  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from autograder.server import db, store  # noqa: E402
from autograder.server.app import SESSION_COOKIE, create_app  # noqa: E402
from autograder.server.course import add_students, hash_token, init_course  # noqa: E402
from autograder.server.security import CSP  # noqa: E402
from autograder.server.worker import Grader  # noqa: E402
from tests.server.conftest import EXAMPLES  # noqa: E402

CORRECT = (EXAMPLES / "correct.py").read_bytes()
NOT_FOUND = "There is no such page, or it is not yours to see."


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def client_for(root: Path, **kw) -> TestClient:
    return TestClient(create_app(root, workers=0), **kw)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: TestClient, token: str, data: bytes = CORRECT, name: str = "nn.py", **fields):
    return client.post(
        "/api/submissions", headers=bearer(token), files={"file": (name, data)}, data=fields
    )


def csrf_of(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign ``client`` in with ``token``; returns the session's CSRF token."""
    answer = client.post(
        "/signin",
        data={"csrf_token": csrf_of(client.get("/").text), "token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get(answer.headers["location"]).text)


def grade_queue(root: Path) -> int:
    grader, n = Grader(root), 0
    while grader.run_one("redteam"):
        n += 1
    return n


def rows(root: Path, sql: str, *args) -> list[sqlite3.Row]:
    conn = db.connect(root / "course.db")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def multipart(*parts: tuple[bytes, bytes | None, bytes]) -> bytes:
    """A multipart body from ``(field name, file name or None, data)`` parts, boundary ``XyZ``."""
    body = b""
    for name, filename, data in parts:
        disposition = b'form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        body += b"--XyZ\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + data + b"\r\n"
    return body + b"--XyZ--\r\n"


MULTIPART = {"content-type": "multipart/form-data; boundary=XyZ"}


def notebook(code: str) -> bytes:
    cell = {"cell_type": "code", "source": code, "metadata": {}, "outputs": []}
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}
    ).encode()


def session_cookie(client: TestClient) -> str:
    return client.cookies[SESSION_COOKIE]


def signed_cookie(root: Path, session: dict, *, age: float = 0.0, key: str | None = None) -> str:
    """A session cookie as Starlette's SessionMiddleware signs it (``age`` seconds old)."""

    class Signer(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age)

    secret = key or (root / "session.key").read_text().strip()
    data = base64.b64encode(json.dumps(session).encode())
    return Signer(secret).sign(data).decode()


# ---------------------------------------------------------------------------------------------
# Another student's submission, and ids that name nothing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, via",
    [
        ("/api/submissions/{id}", "bearer"),
        ("/api/submissions/{id}", "session"),
        ("/submissions/{id}", "session"),
        ("/submissions/{id}/result", "session"),
    ],
)
def test_another_students_submission_is_a_404(course, path, via):
    client = client_for(course.root)
    own = upload(client, course.tokens["s1"]).json()["id"]
    if via == "session":
        sign_in(client, course.tokens["s2"])
        headers = {}
    else:
        headers = bearer(course.tokens["s2"])
    answer = client.get(path.format(id=own), headers=headers, follow_redirects=False)
    assert answer.status_code == 404
    assert "Ada" not in answer.text and "nn.py" not in answer.text


HOSTILE_IDS = [
    "-1",
    "0",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "abc",
    "1.5",
    "1e3",
    "%20%31",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "0x1",
    "１",  # a full-width digit
]


@pytest.mark.parametrize("ident", HOSTILE_IDS)
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/submissions/{id}"),
        ("GET", "/api/regrades/{id}"),
        ("POST", "/api/regrades/{id}/publish"),
        ("GET", "/submissions/{id}"),
        ("GET", "/submissions/{id}/result"),
    ],
)
def test_an_id_that_names_nothing_is_refused_not_a_crash(course, ident, method, path):
    client = client_for(course.root, raise_server_exceptions=False)
    if path.startswith("/submissions"):
        sign_in(client, course.instructor)
        headers = {}
    else:
        headers = bearer(course.instructor)
    answer = client.request(method, path.format(id=ident), headers=headers)
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("ident", ["999", "9223372036854775807", "99999999999999999999999999"])
def test_a_missing_id_and_another_students_are_the_same_api_answer(course, ident):
    client = client_for(course.root)
    other = upload(client, course.tokens["s1"]).json()["id"]
    asker = bearer(course.tokens["s2"])
    theirs = client.get(f"/api/submissions/{other}", headers=asker)
    missing = client.get(f"/api/submissions/{ident}", headers=asker)
    assert (theirs.status_code, theirs.content) == (missing.status_code, missing.content)
    drop = {"date"}
    assert {k: v for k, v in theirs.headers.items() if k not in drop} == {
        k: v for k, v in missing.headers.items() if k not in drop
    }


@pytest.mark.parametrize("suffix", ["", "/result"])
def test_a_missing_id_and_another_students_are_the_same_page(course, suffix):
    client = client_for(course.root)
    other = upload(client, course.tokens["s1"]).json()["id"]
    sign_in(client, course.tokens["s2"])
    theirs = client.get(f"/submissions/{other}{suffix}")
    missing = client.get(f"/submissions/99999999999999999999{suffix}")
    assert theirs.status_code == missing.status_code == 404
    # The pages differ only by the path in their language links.
    assert theirs.text.replace(f"/submissions/{other}", "/submissions/ID") == missing.text.replace(
        "/submissions/99999999999999999999", "/submissions/ID"
    )
    drop = {"date", "content-length"}  # the length: the path's length, compared above
    assert {k: v for k, v in theirs.headers.items() if k not in drop} == {
        k: v for k, v in missing.headers.items() if k not in drop
    }


# ---------------------------------------------------------------------------------------------
# Instructor endpoints with a student's credentials
# ---------------------------------------------------------------------------------------------

INSTRUCTOR_API = [
    ("GET", "/api/gradebook"),
    ("GET", "/api/gradebook?homework=backprop"),
    ("POST", "/api/regrades"),
    ("GET", "/api/regrades/1"),
    ("POST", "/api/regrades/1/publish"),
]
INSTRUCTOR_PAGES = [
    ("GET", "/instructor"),
    ("GET", "/instructor/students/s1"),
    ("GET", "/instructor/students/s2"),
    ("GET", "/instructor/gradebook.csv"),
    ("GET", "/instructor/report"),
    ("GET", "/instructor/report/scores.png"),
    ("POST", "/instructor/regrades"),
    ("POST", "/instructor/regrades/1/publish"),
]


@pytest.mark.parametrize("method, path", INSTRUCTOR_API)
@pytest.mark.parametrize("via", ["bearer", "session"])
def test_instructor_api_refuses_a_student(course, method, path, via):
    client = client_for(course.root)
    if via == "bearer":
        headers = bearer(course.tokens["s1"])
    else:
        headers = {"X-CSRF-Token": sign_in(client, course.tokens["s1"])}
    answer = client.request(method, path, headers=headers, json={"homework": "backprop"})
    assert answer.status_code == 403
    assert rows(course.root, "SELECT id FROM regrades") == []


@pytest.mark.parametrize("method, path", INSTRUCTOR_PAGES)
def test_instructor_pages_refuse_a_student_session(course, method, path):
    client = client_for(course.root)
    csrf = sign_in(client, course.tokens["s1"])
    data = {"csrf_token": csrf, "homework": "backprop"} if method == "POST" else None
    answer = client.request(method, path, data=data, follow_redirects=False)
    assert answer.status_code == 403
    # ">Bo<": the name as a page shows it; a bare "Bo" can occur in a random CSRF token
    assert ">Bo<" not in answer.text and "bo@example.edu" not in answer.text
    assert rows(course.root, "SELECT id FROM regrades") == []


@pytest.mark.parametrize("method, path", INSTRUCTOR_PAGES)
def test_instructor_pages_do_not_take_the_instructor_token_as_bearer(course, method, path):
    """Pages run on the session alone: a bearer header opens none of them."""
    answer = client_for(course.root).request(
        method, path, headers=bearer(course.instructor), follow_redirects=False
    )
    assert (answer.status_code, answer.headers.get("location")) == (303, "/")


# ---------------------------------------------------------------------------------------------
# Tokens and sessions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, status",
    [
        pytest.param("Bearer {t}", 200, id="canonical"),
        pytest.param("bearer {t}", 200, id="lower-case scheme"),
        pytest.param("BEARER {t}", 200, id="upper-case scheme"),
        pytest.param("Bearer   {t}", 200, id="extra spaces"),
        pytest.param("Bearer {t}   ", 200, id="trailing spaces"),
        pytest.param("Bearer\t{t}", 401, id="tab for the space"),
        pytest.param("Bearer{t}", 401, id="no space"),
        pytest.param("Bearer {t} {t}", 401, id="token twice"),
        pytest.param("Bearer {t},Bearer {t}", 401, id="two credentials"),
        pytest.param("Bearer {prefix}", 401, id="a prefix of the token"),
        pytest.param("Bearer {t}x", 401, id="the token and more"),
        pytest.param("Bearer {upper}", 401, id="the token upper-cased"),
        pytest.param("Basic {t}", 401, id="another scheme"),
        pytest.param("Token {t}", 401, id="token scheme"),
        pytest.param("{t}", 401, id="no scheme"),
        pytest.param("Bearer " + "A" * 257, 401, id="overlong"),
    ],
)
def test_bearer_header_variants(course, header, status):
    token = course.tokens["s1"]
    value = header.format(t=token, prefix=token[:16], upper=token.upper())
    answer = client_for(course.root).get("/api/submissions", headers={"Authorization": value})
    assert answer.status_code == status


def test_authenticate_looks_a_token_up_by_its_hash_only(course):
    """No query ever sees the token (or a prefix of it): nothing to short-circuit on."""
    from autograder.server.course import authenticate

    seen: list[object] = []

    class Recording:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, params=()):
            seen.append((sql, params))
            return self.conn.execute(sql, params)

    conn = db.connect(course.root / "course.db")
    token = course.tokens["s1"]
    for guess in (token, token[:-1] + ("A" if token[-1] != "A" else "B"), token[:8]):
        authenticate(Recording(conn), guess)
    conn.close()
    text = repr(seen)
    assert token[:8] not in text
    assert hash_token(token) in text  # the lookup key is the hash


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param("payload_swapped", id="instructor payload, student signature"),
        pytest.param("unsigned", id="unsigned JSON"),
        pytest.param("other_key", id="signed with another key"),
        pytest.param("no_token_tag", id="right key, another student, no token tag"),
        pytest.param("wrong_token_tag", id="right key, another student, wrong tag"),
        pytest.param("expired", id="right key, older than the session limit"),
        pytest.param("garbage", id="garbage"),
    ],
)
def test_a_forged_session_cookie_is_nobody(course, forge):
    client = client_for(course.root)
    sign_in(client, course.tokens["s1"])
    real = session_cookie(client)
    payload, _, signature = real.partition(".")
    session = json.loads(base64.b64decode(payload))
    instructor = {**session, "role": "instructor", "id": "instructor"}
    cookies = {
        "payload_swapped": base64.b64encode(json.dumps(instructor).encode()).decode()
        + "."
        + signature,
        "unsigned": base64.b64encode(json.dumps(instructor).encode()).decode(),
        "other_key": signed_cookie(course.root, instructor, key="not-the-key"),
        "no_token_tag": signed_cookie(course.root, {**session, "id": "s2", "tok": ""}),
        "wrong_token_tag": signed_cookie(course.root, {**session, "id": "s2", "tok": "0" * 16}),
        "expired": signed_cookie(course.root, session, age=13 * 3600),
        "garbage": "%00" * 40,
    }
    forged = client_for(course.root)
    forged.cookies.set(SESSION_COOKIE, cookies[forge])
    assert forged.get("/me", follow_redirects=False).headers["location"] == "/"
    assert forged.get("/instructor", follow_redirects=False).headers["location"] == "/"
    assert forged.get("/api/submissions").status_code == 401


def test_the_genuine_cookie_of_the_forgery_test_works(course):
    """The forgery test's own cookies are right: the real key and tag make a session."""
    client = client_for(course.root)
    sign_in(client, course.tokens["s1"])
    session = json.loads(base64.b64decode(session_cookie(client).partition(".")[0]))
    copy = client_for(course.root)
    copy.cookies.set(SESSION_COOKIE, signed_cookie(course.root, session, age=60))
    assert copy.get("/me", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    "who, change",
    [
        ("s1", "UPDATE students SET token_hash = 'x' || token_hash WHERE id = 's1'"),
        ("s1", "DELETE FROM students WHERE id = 's1'"),
        ("instructor", "UPDATE instructors SET token_hash = 'x' || token_hash"),
    ],
)
def test_a_session_ends_when_its_token_changes(course, who, change):
    client = client_for(course.root)
    token = course.instructor if who == "instructor" else course.tokens[who]
    sign_in(client, token)
    home = "/instructor" if who == "instructor" else "/me"
    assert client.get(home, follow_redirects=False).status_code == 200
    conn = db.connect(course.root / "course.db")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute(change)
    conn.close()
    assert client.get(home, follow_redirects=False).headers["location"] == "/"
    assert client.get("/api/submissions").status_code == 401


def test_adding_students_gives_nobody_an_existing_students_submissions(course, tmp_path):
    client = client_for(course.root)
    own = upload(client, course.tokens["s1"]).json()["id"]
    roster = tmp_path / "more.csv"
    roster.write_text("id,name,email\ns4,Di,di@example.edu\n", encoding="utf-8")
    ((_, token),) = add_students(course.root, roster)
    assert client.get(f"/api/submissions/{own}", headers=bearer(token)).status_code == 404
    assert client.get("/api/submissions", headers=bearer(token)).json() == {"submissions": []}
    assert (
        client.get(f"/api/submissions/{own}", headers=bearer(course.tokens["s1"])).status_code
        == 200
    )


@pytest.fixture
def other_course(tmp_path):
    roster = tmp_path / "other.csv"
    roster.write_text("id,name,email\ns1,Eve,eve@example.edu\n", encoding="utf-8")
    summary = init_course(tmp_path / "other", roster)
    with open(summary.tokens_path, newline="", encoding="utf-8") as f:
        tokens = {row["id"]: row["token"] for row in csv.DictReader(f)}
    return tokens["s1"], summary.instructor_token


@pytest.mark.parametrize("whose", ["student", "instructor"])
def test_a_token_of_another_course_opens_nothing(course, other_course, whose):
    token = other_course[0] if whose == "student" else other_course[1]
    client = client_for(course.root)
    assert client.get("/api/submissions", headers=bearer(token)).status_code == 401
    assert client.get("/api/gradebook", headers=bearer(token)).status_code == 401
    page = client.get("/")
    answer = client.post(
        "/signin", data={"csrf_token": csrf_of(page.text), "token": token}, follow_redirects=False
    )
    assert answer.status_code == 401
    assert client.get("/me", follow_redirects=False).headers["location"] == "/"


def test_a_session_cookie_of_another_course_opens_nothing(course, tmp_path):
    roster = tmp_path / "twin.csv"
    roster.write_text("id,name,email\ns1,Eve,eve@example.edu\n", encoding="utf-8")
    twin = init_course(tmp_path / "twin", roster)
    with open(twin.tokens_path, newline="", encoding="utf-8") as f:
        token = next(csv.DictReader(f))["token"]
    there = client_for(twin.root)
    sign_in(there, token)
    here = client_for(course.root)
    here.cookies.set(SESSION_COOKIE, session_cookie(there))
    assert here.get("/me", follow_redirects=False).headers["location"] == "/"


@pytest.mark.parametrize(
    "header, expected",
    [
        pytest.param("s2", 200, id="the bearer's owner, not the cookie's"),
        pytest.param("bad", 401, id="a bad bearer does not fall back to the cookie"),
    ],
)
def test_a_bearer_token_wins_over_the_session_cookie(course, header, expected):
    client = client_for(course.root)
    upload(client, course.tokens["s1"])
    sign_in(client, course.tokens["s1"])
    token = course.tokens["s2"] if header == "s2" else "not-a-token"
    answer = client.get("/api/submissions", headers=bearer(token))
    assert answer.status_code == expected
    if expected == 200:
        assert answer.json() == {"submissions": []}


def test_signing_in_replaces_the_anonymous_csrf_token(course):
    """Login CSRF / session fixation: the token a visitor saw before signing in is dead after."""
    client = client_for(course.root)
    before = csrf_of(client.get("/").text)
    after = sign_in(client, course.tokens["s1"])
    assert before != after
    answer = client.post(
        "/api/submissions", headers={"X-CSRF-Token": before}, files={"file": ("nn.py", CORRECT)}
    )
    assert answer.status_code == 403


# ---------------------------------------------------------------------------------------------
# CSRF: state changes with the session cookie but without the session's token
# ---------------------------------------------------------------------------------------------

STATE_CHANGES = [
    ("s1", "/api/submissions", "api"),
    ("instructor", "/api/regrades", "api"),
    ("instructor", "/api/regrades/{regrade}/publish", "api"),
    ("s1", "/me/submissions", "form"),
    ("instructor", "/instructor/regrades", "form"),
    ("instructor", "/instructor/regrades/{regrade}/publish", "form"),
    ("s1", "/signout", "form"),
]


def _regrade_ready(course) -> int:
    """A finished, unpublished regrade (so publishing it would change something)."""
    client = client_for(course.root)
    upload(client, course.tokens["s1"])
    grade_queue(course.root)
    answer = client.post("/api/regrades", headers=bearer(course.instructor), json={})
    grade_queue(course.root)
    return answer.json()["id"]


def _world(root: Path) -> tuple:
    return (
        rows(root, "SELECT id, status FROM submissions"),
        rows(root, "SELECT id, published_at FROM regrades"),
    )


@pytest.mark.parametrize("who, path, kind", STATE_CHANGES)
@pytest.mark.parametrize("csrf", ["missing", "wrong", "another session's"])
def test_a_state_change_without_the_sessions_csrf_token_is_refused(course, who, path, kind, csrf):
    regrade = _regrade_ready(course) if "{regrade}" in path else 0
    client = client_for(course.root)
    sign_in(client, course.instructor if who == "instructor" else course.tokens[who])
    stranger = client_for(course.root)
    theirs = sign_in(stranger, course.tokens["s2"])
    token = {"missing": None, "wrong": "forged", "another session's": theirs}[csrf]
    files = {"file": ("nn.py", CORRECT)} if "submissions" in path else None
    fields = {"homework": "backprop"}
    before = _world(course.root)
    if kind == "api":
        headers = {} if token is None else {"X-CSRF-Token": token}
        answer = client.post(
            path.format(regrade=regrade), headers=headers, files=files, data=fields or None
        )
    else:
        data = fields if token is None else {**fields, "csrf_token": token}
        answer = client.post(
            path.format(regrade=regrade), data=data, files=files, follow_redirects=False
        )
    assert answer.status_code == 403
    assert _world(course.root) == before
    home = "/instructor" if who == "instructor" else "/me"
    assert client.get(home, follow_redirects=False).status_code == 200  # still signed in


@pytest.mark.parametrize("path", ["/me/submissions", "/signout", "/instructor/regrades"])
def test_a_cross_site_form_post_carries_no_session_and_changes_nothing(course, path):
    """SameSite=Strict: a form another site posts arrives without the cookie (nor a token)."""
    client = client_for(course.root)
    answer = client.post(
        path,
        data={"homework": "backprop"},
        files={"file": ("nn.py", CORRECT)} if "submissions" in path else None,
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        follow_redirects=False,
    )
    assert answer.status_code in (303, 403)
    assert answer.headers.get("location", "/") == "/"
    assert rows(course.root, "SELECT id FROM submissions") == []
    assert rows(course.root, "SELECT id FROM regrades") == []


@pytest.mark.parametrize("https_only, secure", [(False, False), (True, True)])
def test_the_session_cookie_is_http_only_and_same_site_strict(course, https_only, secure):
    client = TestClient(create_app(course.root, workers=0, https_only=https_only))
    page = client.get("/")
    answer = client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "token": course.tokens["s1"]},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE + "=")
    flags = {part.strip() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert ("secure" in flags) is secure


def test_the_language_cookie_is_http_only(course):
    answer = client_for(course.root).get("/?lang=zh")
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("lang=zh") and "httponly" in cookie


# ---------------------------------------------------------------------------------------------
# Uploads: size, framing, names, content
# ---------------------------------------------------------------------------------------------


ANON_API = "/api/submissions"


def _chunks(n: int, size: int = 64 * 1024):
    for _ in range(n):
        yield b"x" * size


@pytest.mark.parametrize(
    "path, auth",
    [("/api/submissions", True), ("/api/submissions", False), ("/signin", False)],
)
@pytest.mark.parametrize("framing", ["content-length", "chunked", "bogus content-length"])
def test_a_body_over_the_cap_is_refused_before_it_is_read(course, path, auth, framing):
    client = client_for(course.root)
    headers = {**MULTIPART, **(bearer(course.tokens["s1"]) if auth else {})}
    cap = 5 * 2**20 + 64 * 1024
    if framing == "chunked":
        content = _chunks(cap // (64 * 1024) + 2)
    elif framing == "content-length":
        content = b"x" * (cap + 1)
    else:
        content, headers = b"", {**headers, "content-length": "-1"}
    answer = client.post(path, headers=headers, content=content)
    # A stranger's chunked upload is refused for its missing token before any of it is read.
    assert answer.status_code == (
        401 if (path, auth, framing) == (ANON_API, False, "chunked") else 413
    )
    assert answer.headers["content-security-policy"] == CSP
    assert list((course.root / "uploads").iterdir()) == []


@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param(
            multipart(*[(b"f%d" % i, None, b"1") for i in range(1000)]), None, id="1000 fields"
        ),
        pytest.param(
            multipart(*[(b"file", b"nn%d.py" % i, CORRECT) for i in range(1000)]),
            None,
            id="1000 files",
        ),
        pytest.param(
            multipart((b"f" * 1_000_000, None, b"1"), (b"file", b"nn.py", CORRECT)),
            None,
            id="1 MB field name",
        ),
        pytest.param(
            multipart((b"homework", None, b"b" * 1_000_000), (b"file", b"nn.py", CORRECT)),
            None,
            id="1 MB field value",
        ),
        pytest.param(
            b"--XyZ\r\n"
            + b"X-A: b\r\n" * 100_000
            + b'Content-Disposition: form-data; name="file"; '
            b'filename="nn.py"\r\n\r\n' + CORRECT + b"\r\n--XyZ--\r\n",
            None,
            id="100,000 part headers",
        ),
        pytest.param(
            multipart((b"file", b"f" * 20_000 + b".py", CORRECT)), None, id="20 kB file name"
        ),
        pytest.param(multipart((b"file", None, CORRECT)), None, id="the file as a text field"),
        pytest.param(b"\x00\xff" * 1000, None, id="binary garbage"),
        pytest.param(b"xx", "multipart/form-data", id="no boundary"),
        pytest.param(b"{}", "application/json", id="JSON"),
        pytest.param(b"file=print(1)", "application/x-www-form-urlencoded", id="url-encoded"),
    ],
)
def test_hostile_multipart_is_a_400_and_stores_nothing(course, body, content_type):
    client = client_for(course.root)
    headers = {
        **bearer(course.tokens["s1"]),
        "content-type": content_type or MULTIPART["content-type"],
    }
    answer = client.post("/api/submissions", headers=headers, content=body)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert list((course.root / "uploads").iterdir()) == []
    assert rows(course.root, "SELECT id FROM submissions") == []


DEEP = b'{"cells": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
WIDE = b'{"cells": [' + b"0," * 2_000_000 + b"0]}"
MANY_KEYS = b"{" + b",".join(b'"k%d": 0' % i for i in range(300_000)) + b"}"
LONG_STRING = b'{"cells": [{"cell_type": "code", "source": "' + b"a" * 5_000_000 + b'"}]}'
NESTED_STRINGS = json.dumps(
    {"cells": [{"cell_type": "code", "source": [["a"] * 10] * 100_000}]}
).encode()


@pytest.mark.parametrize(
    "data, status",
    [
        pytest.param(DEEP, 400, id="nested a million deep"),
        pytest.param(WIDE, 400, id="two million cells"),
        pytest.param(MANY_KEYS, 400, id="300,000 keys"),
        pytest.param(b'{"cells": "' + b"\\u0000" * 800_000 + b'"}', 400, id="escaped NULs"),
        pytest.param(b"[" * (6 * 2**20), 413, id="over the cap"),
        # Within the caps: taken (the grader finds no function in them), but no slower.
        pytest.param(LONG_STRING, 202, id="a 5 MB source line"),
        pytest.param(NESTED_STRINGS, 202, id="source as lists of lists"),
    ],
)
def test_a_notebook_bomb_is_refused_by_the_readers_caps_at_upload(course, data, status):
    """Refused by a cap of the guarded reader (depth, values, size), not by running out of time:
    how long that takes is a benchmark's business (this machine is shared), not a test's."""
    client = client_for(course.root)
    answer = upload(client, course.tokens["s1"], data, "backprop.ipynb")
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize(
    "data, status",
    [
        pytest.param(bytes(range(256)) * 64, 400, id="binary garbage"),
        pytest.param(CORRECT.decode().encode("utf-16"), 400, id="UTF-16"),
        pytest.param("x = '\udcff'\n".encode("utf-8", "surrogatepass"), 400, id="lone surrogate"),
        pytest.param(b"\xff\xfeprint(1)\n", 400, id="not UTF-8"),
        pytest.param(b"", 400, id="empty"),
        pytest.param(b"\xef\xbb\xbf" + CORRECT, 202, id="UTF-8 BOM"),
        pytest.param(CORRECT.replace(b"\n", b"\r\n"), 202, id="CRLF"),
    ],
)
def test_unreadable_source_is_refused_at_upload(course, data, status):
    answer = upload(client_for(course.root), course.tokens["s1"], data, "nn.py")
    assert answer.status_code == status, answer.text
    stored = {p.name for p in (course.root / "uploads").iterdir()}
    assert bool(stored) == (status == 202)


def _raw_upload(client, token: str, filename: bytes, data: bytes = CORRECT):
    return client.post(
        "/api/submissions",
        headers={**bearer(token), **MULTIPART},
        content=multipart((b"file", filename, data)),
    )


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param(b"a\x00b.py", id="NUL"),
        pytest.param(b"a\x1b[2J\x1b[31mb.py", id="terminal escapes"),
        pytest.param("\u202eyp.txt.py".encode(), id="right-to-left override"),
        pytest.param("nn\u200b\u2066.py".encode(), id="zero-width and isolate"),
        pytest.param(b"\x7fdel.py", id="DEL"),
        pytest.param(b"../../../../etc/cron.d/x.py", id="dot-dot path"),
        pytest.param(b"C:\\Windows\\nn.py", id="Windows path"),
        pytest.param(b"/abs/nn.py", id="absolute path"),
        pytest.param(b"link -> ..%2F..%2Fsecret.py", id="symlink-ish"),
        pytest.param(b"\xff\xfe.py", id="not UTF-8"),
        pytest.param(b"a" * 1000 + b".py", id="1 kB name"),
        pytest.param(b"<script>alert(1)</script>.py", id="markup"),
    ],
)
def test_a_hostile_file_name_is_stored_printable_short_and_flat(course, filename):
    answer = _raw_upload(client_for(course.root), course.tokens["s1"], filename)
    assert answer.status_code == 202, answer.text
    (row,) = rows(course.root, "SELECT filename FROM submissions")
    name = row["filename"]
    assert name.isprintable(), repr(name)
    assert len(name) <= store.MAX_SHOWN_NAME
    assert "/" not in name and "\\" not in name.replace("\\x", "").replace("\\u", "")
    assert name.endswith(".py")
    assert {p.suffix for p in (course.root / "uploads").iterdir()} == {".py"}


def test_a_notebook_with_a_long_name_is_still_graded_as_a_notebook(course):
    client = client_for(course.root)
    answer = _raw_upload(
        client, course.tokens["s1"], b"n" * 1000 + b".ipynb", notebook(CORRECT.decode())
    )
    assert answer.status_code == 202, answer.text
    grade_queue(course.root)
    shown = client.get(
        f"/api/submissions/{answer.json()['id']}", headers=bearer(course.tokens["s1"])
    )
    assert shown.json()["status"] == "done", shown.json()
    assert shown.json()["filename"].endswith(".ipynb")


def test_the_same_bytes_from_two_students_are_stored_once_and_graded_apart(course):
    client = client_for(course.root)
    first = upload(client, course.tokens["s1"]).json()["id"]
    second = upload(client, course.tokens["s2"]).json()["id"]
    assert len(list((course.root / "uploads").iterdir())) == 1
    assert grade_queue(course.root) == 2
    keys = rows(course.root, "SELECT student_id, result_key FROM submissions ORDER BY id")
    assert len({row["result_key"] for row in keys}) == 2  # each student's own hidden cases
    mine = client.get(f"/api/submissions/{first}", headers=bearer(course.tokens["s1"])).json()
    theirs = client.get(f"/api/submissions/{second}", headers=bearer(course.tokens["s2"])).json()
    assert mine["status"] == theirs["status"] == "done"
    assert (
        client.get(f"/api/submissions/{second}", headers=bearer(course.tokens["s1"])).status_code
        == 404
    )


@pytest.mark.parametrize("channel", ["api", "page"])
def test_ten_uploads_racing_for_the_last_attempt_get_one_202(course, channel):
    course.configure(homework="max_attempts = 1", server="uploads_per_minute = 100")
    app = create_app(course.root, workers=0)
    token = course.tokens["s1"]
    if channel == "page":
        pages = [TestClient(app) for _ in range(10)]
        csrfs = [sign_in(c, token) for c in pages]
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def attempt(i: int) -> None:
        data = CORRECT + f"\n# attempt {i}\n".encode()
        barrier.wait()
        if channel == "api":
            answer = upload(TestClient(app), token, data)
            codes.append(answer.status_code)
        else:
            answer = pages[i].post(
                "/me/submissions",
                data={"csrf_token": csrfs[i], "homework": "backprop"},
                files={"file": ("nn.py", data)},
                follow_redirects=False,
            )
            codes.append(answer.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = 202 if channel == "api" else 303
    assert sorted(codes) == [accepted] + [409] * 9
    assert len(rows(course.root, "SELECT id FROM submissions")) == 1


# ---------------------------------------------------------------------------------------------
# Escaping: student-controlled strings on every page and in the API
# ---------------------------------------------------------------------------------------------

HOSTILE_NAME = "<script>alert('name')</script>"
HOSTILE_ID = '"><img src=x onerror=alert(1)>'
HOSTILE_EMAIL = "<svg/onload=alert(2)>@x"
HOSTILE_FILE = b"<img src=x onerror=alert(3)>.py"
HOSTILE_TEXT = "<iframe src=javascript:alert(4)>"


class Elements(HTMLParser):
    """The elements of a page as a browser would build them (tag, attributes)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def injected(text: str) -> list[str]:
    """Elements or attributes no template writes: what an unescaped student string would add."""
    bad = []
    for tag, attrs in Elements(text).found:
        events = [name for name in attrs if name.startswith("on")]
        if events:
            bad.append(f"<{tag} {' '.join(events)}>")
        if tag == "script" and attrs.get("src") != "/static/pages.js":
            bad.append("<script> not ours")
        if tag in ("iframe", "svg", "object", "embed", "base"):
            bad.append(f"<{tag}>")
        if tag == "img" and not (attrs.get("src") or "").startswith("/instructor/report/"):
            bad.append(f"<img src={attrs.get('src')}>")
    return bad


@pytest.fixture
def hostile_course(tmp_path):
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(
            [("id", "name", "email"), (HOSTILE_ID, HOSTILE_NAME, HOSTILE_EMAIL), ("s2", "Bo", "")]
        )
    summary = init_course(tmp_path / "hostile", roster)
    with open(summary.tokens_path, newline="", encoding="utf-8") as f:
        tokens = {row["id"]: row["token"] for row in csv.DictReader(f)}
    root = summary.root
    client = client_for(root)
    # A graded submission whose exception text is markup, and a grader failure.
    code = CORRECT.decode().replace(
        "def sigmoid(z):\n", f"def sigmoid(z):\n    raise ValueError({HOSTILE_TEXT!r})\n", 1
    )
    sid = _raw_upload(client, tokens[HOSTILE_ID], HOSTILE_FILE, code.encode()).json()["id"]
    grade_queue(root)
    return root, tokens, summary.instructor_token, sid


HOSTILE_PAGES = [
    ("student", "/me"),
    ("student", "/submissions/{sid}"),
    ("student", "/submissions/{sid}/result"),
    ("student", "/?q=<script>alert(5)</script>"),
    ("student", '/me?"><script>alert(6)</script>=1'),
    ("instructor", "/instructor"),
    ("instructor", "/instructor/students/{quoted}"),
    ("instructor", "/submissions/{sid}"),
    ("instructor", "/instructor/report"),
    ("instructor", "/instructor?homework=<script>"),
    ("instructor", "/instructor/students/<script>alert(7)</script>"),
]


@pytest.mark.parametrize("who, path", HOSTILE_PAGES)
def test_student_strings_are_escaped_on_every_page(hostile_course, who, path):
    from urllib.parse import quote

    root, tokens, instructor, sid = hostile_course
    client = client_for(root)
    sign_in(client, instructor if who == "instructor" else tokens[HOSTILE_ID])
    answer = client.get(path.format(sid=sid, quoted=quote(HOSTILE_ID, safe="")))
    assert answer.status_code in (200, 404)
    assert injected(answer.text) == []


def test_the_hostile_page_test_sees_the_hostile_strings(hostile_course):
    """The escaping test above is not vacuous: the strings are on the pages, escaped, and the
    checker finds them when they are not."""
    root, tokens, instructor, sid = hostile_course
    client = client_for(root)
    sign_in(client, instructor)
    text = client.get("/instructor").text + client.get(f"/submissions/{sid}").text
    assert injected(text.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'"))
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(3)&gt;.py" in text
    assert "&lt;iframe src=javascript:alert(4)&gt;" in text


@pytest.mark.parametrize(
    "who, path",
    [
        ("student", "/api/submissions"),
        ("student", "/api/submissions/{sid}"),
        ("instructor", "/api/gradebook"),
        ("instructor", "/api/submissions/{sid}"),
        ("student", "/api/submissions/99999"),
        ("student", "/api/gradebook"),
        ("nobody", "/api/submissions"),
        ("nobody", "/api/health"),
    ],
)
def test_the_api_answers_json_that_no_browser_sniffs_as_html(hostile_course, who, path):
    root, tokens, instructor, sid = hostile_course
    token = {"student": tokens[HOSTILE_ID], "instructor": instructor, "nobody": "x"}[who]
    answer = client_for(root).get(path.format(sid=sid), headers=bearer(token))
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    json.loads(answer.text)


def test_the_gradebook_csv_defuses_a_hostile_roster(hostile_course):
    root, tokens, instructor, sid = hostile_course
    client = client_for(root)
    sign_in(client, instructor)
    answer = client.get("/instructor/gradebook.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    for row in csv.reader(answer.text.splitlines()):
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row if cell), row


# ---------------------------------------------------------------------------------------------
# Headers on every answer
# ---------------------------------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("a bug in the server")


ANSWERS = [
    pytest.param("GET", "/", {}, 200, id="page"),
    pytest.param("GET", "/nope", {}, 404, id="unknown path"),
    pytest.param("GET", "/submissions/1", {}, 303, id="redirect"),
    pytest.param("DELETE", "/api/submissions", {}, 405, id="wrong method"),
    pytest.param("GET", "/api/submissions/x", {"auth": 1}, 422, id="unparsable id"),
    pytest.param("GET", "/api/submissions", {}, 401, id="no token"),
    pytest.param("POST", "/api/submissions", {"big": 1}, 413, id="too large"),
    pytest.param("GET", "/api/submissions", {"auth": 1, "boom": 1}, 500, id="a server bug"),
    pytest.param("GET", "/static/pages.js", {}, 200, id="static file"),
    pytest.param("GET", "/static/../app.py", {}, 404, id="static escape"),
    pytest.param("GET", "/feedback.css", {}, 200, id="feedback styles"),
    pytest.param("HEAD", "/static/pages.css", {}, 200, id="HEAD"),
    pytest.param("GET", "/api/openapi.json", {}, 200, id="openapi"),
]


@pytest.mark.parametrize("method, path, how, status", ANSWERS)
def test_every_answer_carries_the_security_headers(course, monkeypatch, method, path, how, status):
    if how.get("boom"):
        monkeypatch.setattr(store, "views_for", _boom)
    client = client_for(course.root, raise_server_exceptions=False)
    headers = bearer(course.tokens["s1"]) if how.get("auth") else {}
    content = b"x" * (6 * 2**20) if how.get("big") else None
    answer = client.request(method, path, headers=headers, content=content, follow_redirects=False)
    assert answer.status_code == status
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "server" not in answer.headers
    if status == 500:
        assert "a bug in the server" not in answer.text
        assert "Traceback" not in answer.text


PERSONAL = [
    ("s1", "/api/submissions"),
    ("s1", "/api/submissions/{sid}"),
    ("instructor", "/api/gradebook"),
    ("instructor", "/api/submissions/{sid}"),
    ("s1", "/me"),
    ("s1", "/submissions/{sid}"),
    ("s1", "/submissions/{sid}/result"),
    ("instructor", "/instructor"),
    ("instructor", "/instructor/students/s1"),
    ("instructor", "/instructor/gradebook.csv"),
    ("instructor", "/instructor/report"),
    ("s2", "/submissions/{sid}"),  # the 404 page
    ("nobody", "/api/submissions/{sid}"),  # the 401
]


@pytest.mark.parametrize("who, path", PERSONAL)
def test_answers_with_personal_data_are_not_stored_by_caches(course, who, path):
    client = client_for(course.root)
    sid = upload(client, course.tokens["s1"]).json()["id"]
    if who != "nobody":
        sign_in(client, course.instructor if who == "instructor" else course.tokens[who])
    token = {"instructor": course.instructor, "nobody": "x"}.get(who) or course.tokens[who]
    headers = bearer(token) if path.startswith("/api") else {}
    answer = client.get(path.format(sid=sid), headers=headers)
    assert "no-store" in answer.headers.get("cache-control", ""), answer.headers


def test_serve_runs_uvicorn_without_its_server_header(course, monkeypatch):
    import argparse

    import uvicorn

    from autograder.commands import serve

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", str(course.root), "--port", "0", "--workers", "0"])
    assert serve.run(args) == 0
    assert seen["server_header"] is False


# ---------------------------------------------------------------------------------------------
# Information leaks: hidden cases, the secret, the grader's tracebacks
# ---------------------------------------------------------------------------------------------

MARKER = "ZZLEAKMARKER"


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """One course, one graded submission whose every exception text carries MARKER and the
    inputs it was called with (hidden inputs included, if they were ever shown)."""
    tmp = tmp_path_factory.mktemp("leaky")
    roster = tmp / "roster.csv"
    roster.write_text("id,name,email\ns1,Ada,ada@example.edu\n", encoding="utf-8")
    summary = init_course(tmp / "course", roster)
    with open(summary.tokens_path, newline="", encoding="utf-8") as f:
        token = next(csv.DictReader(f))["token"]
    code = CORRECT.decode().replace(
        "def sigmoid(z):\n",
        "def sigmoid(z):\n"
        f"    raise ValueError('{MARKER} ' + repr(np.asarray(z).ravel().tolist()))\n",
        1,
    )
    client = client_for(summary.root)
    sid = upload(client, token, code.encode()).json()["id"]
    assert grade_queue(summary.root) == 1
    return summary.root, token, summary.instructor_token, sid


def _public_marker_count(results: dict) -> int:
    return sum(
        line.count(MARKER)
        for test in results["tests"]
        for line in test.get("output", "").splitlines()
        if "[public]" in line
    )


def test_hidden_case_lines_never_carry_the_students_exception_text(leaky):
    root, token, _, sid = leaky
    shown = client_for(root).get(f"/api/submissions/{sid}", headers=bearer(token)).json()
    lines = [line for t in shown["results"]["tests"] for line in t["output"].splitlines()]
    hidden = [line for line in lines if "[hidden]" in line]
    assert hidden and all("raised ValueError" in line for line in hidden if "✗" in line)
    assert [line for line in hidden if MARKER in line] == []


@pytest.mark.parametrize("where", ["api", "page", "result"])
def test_the_students_text_appears_only_on_public_lines(leaky, where):
    root, token, _, sid = leaky
    client = client_for(root)
    api = client.get(f"/api/submissions/{sid}", headers=bearer(token))
    public = _public_marker_count(api.json()["results"])
    assert public > 0  # the marker is there to be found
    if where == "api":
        text = api.text
    else:
        sign_in(client, token)
        text = client.get(f"/submissions/{sid}" + ("/result" if where == "result" else "")).text
    assert text.count(MARKER) == public


@pytest.mark.parametrize(
    "path", ["/api/submissions/{sid}", "/api/submissions", "/submissions/{sid}", "/me"]
)
def test_no_hidden_input_reaches_the_student(leaky, path):
    """The hidden cases' inputs (as the student's repr would print them) are nowhere."""
    from autograder.cases import build_cases
    from autograder.spec import load_spec

    root, token, _, sid = leaky
    secret = (root / "secret").read_bytes().strip()
    hidden = build_cases(load_spec(), secret=secret, student_id="s1", visibility=("hidden",))
    needles = set()
    for case in hidden:
        if case.function == "sigmoid":
            values = [float(v) for v in np.asarray(case.args[0]).ravel()[:3]]
            needles |= {repr(v) for v in values if len(repr(v)) > 6}
    assert needles
    client = client_for(root)
    sign_in(client, token)
    text = client.get(path.format(sid=sid), headers=bearer(token)).text
    assert [n for n in needles if n in text] == []


def test_the_course_secret_is_on_no_page_or_answer(leaky):
    root, token, instructor, sid = leaky
    secret = (root / "secret").read_text().strip()
    student, teacher = client_for(root), client_for(root)
    sign_in(student, token)
    sign_in(teacher, instructor)
    texts = [
        student.get(p).text for p in ("/me", f"/submissions/{sid}", f"/submissions/{sid}/result")
    ]
    texts += [
        student.get(p, headers=bearer(token)).text
        for p in ("/api/submissions", f"/api/submissions/{sid}")
    ]
    texts += [
        teacher.get(p).text
        for p in (
            "/instructor",
            "/instructor/students/s1",
            "/instructor/gradebook.csv",
            "/instructor/report",
        )
    ]
    texts += [
        teacher.get(p, headers=bearer(instructor)).text
        for p in ("/api/gradebook", f"/api/submissions/{sid}")
    ]
    for text in texts:
        assert secret not in text and secret[:16] not in text


def test_the_web_process_never_reads_the_secret(leaky, monkeypatch):
    from autograder.server import course as course_module

    root, token, instructor, sid = leaky
    calls = []
    monkeypatch.setattr(course_module, "read_secret", lambda *a: calls.append(a) or b"x")
    secret = root / "secret"
    kept = secret.read_bytes()
    secret.unlink()
    try:
        client = client_for(root)
        for who in (token, instructor):
            client.cookies.clear()
            sign_in(client, who)
            for path in (
                "/me", f"/submissions/{sid}", f"/submissions/{sid}/result", "/instructor",
                "/instructor/students/s1", "/instructor/gradebook.csv", "/instructor/report",
            ):  # fmt: skip
                assert client.get(path, follow_redirects=False).status_code < 500
            for path in (
                "/api/submissions",
                f"/api/submissions/{sid}",
                "/api/gradebook",
                "/api/health",
            ):
                assert client.get(path, headers=bearer(who)).status_code < 500
        assert upload(client, token).status_code == 202
    finally:
        secret.write_bytes(kept)
        secret.chmod(0o600)
    assert calls == []


def test_a_grader_traceback_is_for_the_instructors_eyes_only(course):
    client = client_for(course.root)
    sid = upload(client, course.tokens["s1"]).json()["id"]
    for stored in (course.root / "uploads").iterdir():
        stored.unlink()  # the worker fails: FileNotFoundError, naming the course folder
    grade_queue(course.root)
    teacher = client.get(f"/api/submissions/{sid}", headers=bearer(course.instructor)).json()
    assert teacher["status"] == "error" and "Traceback" in teacher["error"]
    student_api = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"]))
    listing = client.get("/api/submissions", headers=bearer(course.tokens["s1"]))
    sign_in(client, course.tokens["s1"])
    pages = client.get(f"/submissions/{sid}").text + client.get("/me").text
    for text in (student_api.text, listing.text, pages):
        assert "Traceback" not in text
        assert "FileNotFoundError" not in text
        assert str(course.root) not in text
    assert student_api.json()["status"] == "error" and student_api.json()["error"]


# ---------------------------------------------------------------------------------------------
# The web process: no student code, no big parses, no blocked event loop, no limiter bypass
# ---------------------------------------------------------------------------------------------


def _planting(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')\n" + CORRECT.decode()


@pytest.mark.parametrize("kind", ["module", "notebook", "notebook magics"])
def test_the_web_process_never_runs_an_upload(course, tmp_path, kind):
    marker = tmp_path / "planted"
    if kind == "module":
        data, name = _planting(marker).encode(), "nn.py"
    elif kind == "notebook":
        data, name = notebook(_planting(marker)), "backprop.ipynb"
    else:
        magics = (
            f"!touch {marker}\n%system touch {marker}\nget_ipython().system('touch {marker}')\n"
        )
        data, name = notebook(magics + CORRECT.decode()), "backprop.ipynb"
    client = client_for(course.root)
    sid = upload(client, course.tokens["s1"], data, name).json()["id"]
    client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"]))
    sign_in(client, course.tokens["s1"])
    client.get(f"/submissions/{sid}")
    assert not marker.exists()


def test_a_graded_upload_runs_only_inside_the_sandbox(course, tmp_path):
    marker = tmp_path / "planted"
    client = client_for(course.root)
    sid = upload(client, course.tokens["s1"], _planting(marker).encode()).json()["id"]
    assert grade_queue(course.root) == 1
    shown = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert shown["status"] == "done"
    assert not marker.exists()


@pytest.mark.parametrize("channel", ["api", "page"])
def test_the_guarded_read_runs_off_the_event_loop(course, monkeypatch, channel):
    from autograder import submission

    real = submission.load_source
    loops = []

    def watched(*args, **kwargs):
        try:
            loops.append(asyncio.get_running_loop())
        except RuntimeError:
            loops.append(None)
        return real(*args, **kwargs)

    monkeypatch.setattr(submission, "load_source", watched)
    client = client_for(course.root)
    if channel == "api":
        assert upload(client, course.tokens["s1"]).status_code == 202
    else:
        csrf = sign_in(client, course.tokens["s1"])
        answer = client.post(
            "/me/submissions",
            data={"csrf_token": csrf},
            files={"file": ("nn.py", CORRECT)},
            follow_redirects=False,
        )
        assert answer.status_code == 303
    assert loops == [None]


@pytest.mark.parametrize("configured", [None, 50 * 2**20])
def test_no_notebook_over_the_cap_is_parsed_by_the_web_process(course, monkeypatch, configured):
    from autograder import submission
    from autograder.intake import MAX_SOURCE_BYTES

    if configured:
        course.configure(server=f"max_upload_bytes = {configured}")
    parsed = []
    real = submission.notebook_to_source
    monkeypatch.setattr(
        submission,
        "notebook_to_source",
        lambda text, **kw: parsed.append(len(text)) or real(text, **kw),
    )
    padding = "x" * (MAX_SOURCE_BYTES + 1024)
    data = notebook(CORRECT.decode() + "\n# " + padding + "\n")
    answer = upload(client_for(course.root), course.tokens["s1"], data, "backprop.ipynb")
    assert answer.status_code in (400, 413)
    assert parsed == []


def test_the_rate_limit_holds_across_homeworks_languages_and_channels(course):
    (course.root / "course.toml").write_text(
        '[course]\nname = "T"\nlang = "en"\n\n[server]\nuploads_per_minute = 3\n\n'
        "[homeworks.backprop]\n\n[homeworks.extra]\n",
        encoding="utf-8",
    )
    client = client_for(course.root)
    token = course.tokens["s1"]
    assert upload(client, token, homework="backprop", lang="en").status_code == 202
    assert upload(client, token, homework="extra", lang="zh").status_code == 202
    assert upload(client, token, homework="nope").status_code == 400  # refused, still counted
    assert upload(client, token, homework="extra", lang="xx").status_code == 429
    csrf = sign_in(client, token)
    page = client.post(
        "/me/submissions",
        data={"csrf_token": csrf, "homework": "extra", "lang": "zh"},
        files={"file": ("nn.py", CORRECT)},
        follow_redirects=False,
    )
    assert page.status_code == 429
    api_by_session = client.post(
        "/api/submissions?lang=zh",
        headers={"X-CSRF-Token": csrf},
        files={"file": ("nn.py", CORRECT)},
    )
    assert api_by_session.status_code == 429
    assert upload(client, course.tokens["s2"]).status_code == 202  # per student


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"{" * 100_000])
def test_a_deeply_nested_json_body_is_no_crash(course, body):
    client = client_for(course.root, raise_server_exceptions=False)
    answer = client.post(
        "/api/regrades",
        headers={**bearer(course.instructor), "content-type": "application/json"},
        content=body,
    )
    assert answer.status_code < 500
