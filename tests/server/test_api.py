"""The HTTP API (autograder/server/api.py) as its clients see it, through Starlette's TestClient.

No grading pool runs here (``workers=0``): each test grades the queue itself with the worker's
:class:`~autograder.server.worker.Grader` (the real sandbox), so every step is deterministic.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autograder.server.app import create_app
from autograder.server.worker import Grader
from tests.server.conftest import EXAMPLES

CORRECT = (EXAMPLES / "correct.py").read_bytes()
BUGGY = (EXAMPLES / "forgot_sigmoid_gradient.py").read_bytes()


def client_for(course) -> TestClient:
    return TestClient(create_app(course.root, workers=0))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client, token, data=CORRECT, name="nn.py", **fields):
    return client.post(
        "/api/submissions", headers=bearer(token), files={"file": (name, data)}, data=fields
    )


def grade_queue(course) -> int:
    grader, n = Grader(course.root), 0
    while grader.run_one("test-worker"):
        n += 1
    return n


def test_a_student_submits_and_reads_their_grade(course):
    client = client_for(course)
    answer = upload(client, course.tokens["s1"])
    assert answer.status_code == 202
    sid = answer.json()["id"]
    queued = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert (queued["status"], queued["position"], queued["results"]) == ("queued", 1, None)
    assert grade_queue(course) == 1
    done = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert done["status"] == "done"
    assert done["score"] == done["max_score"] > 0
    assert done["results"]["score"] == done["score"]
    assert [t["score"] for t in done["results"]["tests"]] == [
        t["max_score"] for t in done["results"]["tests"]
    ]


def test_a_buggy_submission_loses_marks_with_its_mistake_named(course):
    client = client_for(course)
    sid = upload(client, course.tokens["s1"], BUGGY).json()["id"]
    grade_queue(course)
    done = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert 0 < done["score"] < done["max_score"]
    assert "sigmoid" in json.dumps(done["results"]).lower()


@pytest.mark.parametrize(
    "who, expected",
    [("s1", 200), ("s2", 404), ("instructor", 200)],
)
def test_only_the_owner_and_the_instructor_see_a_submission(course, who, expected):
    client = client_for(course)
    sid = upload(client, course.tokens["s1"]).json()["id"]
    token = course.instructor if who == "instructor" else course.tokens[who]
    assert client.get(f"/api/submissions/{sid}", headers=bearer(token)).status_code == expected


def test_a_missing_submission_looks_like_another_students(course):
    client = client_for(course)
    answer = client.get("/api/submissions/999", headers=bearer(course.tokens["s1"]))
    assert (answer.status_code, answer.json()) == (
        404,
        client.get("/api/submissions/999", headers=bearer(course.tokens["s2"])).json(),
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no token"),
        pytest.param(bearer("not-a-token"), id="wrong token"),
        pytest.param({"Authorization": "Basic czE6eA=="}, id="other scheme"),
        pytest.param(bearer("x" * 10_000), id="overlong token"),
    ],
)
def test_uploads_without_a_course_token_are_refused(course, headers):
    client = client_for(course)
    answer = client.post("/api/submissions", headers=headers, files={"file": ("nn.py", CORRECT)})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_the_instructor_token_does_not_submit(course):
    assert upload(client_for(course), course.instructor).status_code == 403


@pytest.mark.parametrize(
    "name, data, fields, status",
    [
        pytest.param("nn.txt", CORRECT, {}, 400, id="not .py or .ipynb"),
        pytest.param("backprop.ipynb", b"{not json", {}, 400, id="unreadable notebook"),
        pytest.param("nn.py", CORRECT, {"homework": "nope"}, 400, id="unknown homework"),
        pytest.param("nn.py", b"x" * 6_000_000, {}, 413, id="too large"),
    ],
)
def test_bad_uploads_get_a_clear_refusal(course, name, data, fields, status):
    answer = upload(client_for(course), course.tokens["s1"], data, name, **fields)
    assert answer.status_code == status
    assert answer.json()["detail"]


def test_an_upload_without_a_file_is_refused(course):
    client = client_for(course)
    answer = client.post(
        "/api/submissions", headers=bearer(course.tokens["s1"]), data={"homework": "backprop"}
    )
    assert answer.status_code == 400


def test_uploads_are_rate_limited_per_student(course):
    course.configure(server="uploads_per_minute = 2")
    client = client_for(course)
    codes = [upload(client, course.tokens["s1"]).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert upload(client, course.tokens["s2"]).status_code == 202
    refused = upload(client, course.tokens["s1"])
    assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    "policy, status",
    [
        pytest.param("cutoff = 2000-01-01T00:00:00Z", 403, id="after the cutoff"),
        pytest.param("max_attempts = 1", 409, id="attempts used up"),
    ],
)
def test_the_homework_policy_refuses_late_or_extra_uploads(course, policy, status):
    course.configure(homework=policy)
    client = client_for(course)
    first = upload(client, course.tokens["s1"])
    if status == 409:
        assert first.status_code == 202
        grade_queue(course)
        second = upload(client, course.tokens["s1"])
    else:
        second = first
    assert second.status_code == status
    assert second.json()["detail"]


def test_a_resubmission_supersedes_the_waiting_one(course):
    client = client_for(course)
    first = upload(client, course.tokens["s1"], BUGGY).json()["id"]
    second = upload(client, course.tokens["s1"], CORRECT).json()["id"]
    assert grade_queue(course) == 1
    old = client.get(f"/api/submissions/{first}", headers=bearer(course.tokens["s1"])).json()
    assert (old["status"], old["superseded_by"]) == ("error", second)


def test_the_feedback_never_carries_the_course_secret(course):
    client = client_for(course)
    sid = upload(client, course.tokens["s1"], BUGGY).json()["id"]
    grade_queue(course)
    text = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).text
    secret = (course.root / "secret").read_text().strip()
    assert secret not in text


def test_health_reports_the_queue(course):
    client = client_for(course)
    upload(client, course.tokens["s1"])
    health = client.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["queue"]["queued"] == 1


def test_a_regrade_shows_changes_before_it_is_published(course, tmp_path):
    client = client_for(course)
    sid = upload(client, course.tokens["s1"], BUGGY).json()["id"]
    grade_queue(course)
    before = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    # The instructor doubles every part's points in a copy of the spec.
    from autograder.spec import DEFAULT_SPEC

    spec = tmp_path / "spec.toml"
    text = Path(DEFAULT_SPEC).read_text(encoding="utf-8")
    doubled = re.sub(r"^points = (\S+)", lambda m: f"points = {2 * float(m[1])}", text, flags=re.M)
    spec.write_text(doubled, encoding="utf-8")
    support = Path(DEFAULT_SPEC).with_name("support.py")  # the spec names it beside itself
    (tmp_path / support.name).write_bytes(support.read_bytes())
    course.configure(homework=f'spec = "{spec.as_posix()}"')
    client = client_for(course)
    started = client.post("/api/regrades", headers=bearer(course.instructor), json={})
    assert started.status_code == 202
    regrade_id = started.json()["id"]
    assert grade_queue(course) == 1
    summary = client.get(f"/api/regrades/{regrade_id}", headers=bearer(course.instructor)).json()
    assert summary["finished"] == summary["total"] == 1
    assert [c["student_id"] for c in summary["changes"]] == ["s1"]
    unpublished = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert unpublished["score"] == before["score"]
    publish = client.post(f"/api/regrades/{regrade_id}/publish", headers=bearer(course.instructor))
    assert publish.status_code == 200
    after = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert after["max_score"] == 2 * before["max_score"]


@pytest.mark.parametrize("path", ["/api/gradebook", "/api/regrades/1"])
def test_instructor_endpoints_refuse_students(course, path):
    answer = client_for(course).get(path, headers=bearer(course.tokens["s1"]))
    assert answer.status_code == 403


def test_the_gradebook_has_a_row_for_everyone(course):
    client = client_for(course)
    upload(client, course.tokens["s1"])
    grade_queue(course)
    rows = client.get("/api/gradebook", headers=bearer(course.instructor)).json()["rows"]
    assert [r["student_id"] for r in rows] == ["s1", "s2", "s3"]
    assert rows[0]["score"] == rows[0]["max_score"]
    assert rows[1]["score"] is None


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>.py", "../../etc/passwd.py", "a\x00b.py", "名字.py"]
)
def test_a_hostile_file_name_is_only_shown_escaped(course, name):
    client = client_for(course)
    sid = upload(client, course.tokens["s1"], CORRECT, name).json()["id"]
    shown = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert "/" not in shown["filename"] and "\x00" not in shown["filename"]


def test_the_web_process_never_needs_the_course_secret(course):
    """Only grading workers read the secret: the web side runs without the file."""
    secret = course.root / "secret"
    kept = secret.read_bytes()
    secret.unlink()
    try:
        client = client_for(course)
        sid = upload(client, course.tokens["s1"]).json()["id"]
        shown = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"]))
        assert shown.json()["status"] == "queued"
    finally:
        secret.write_bytes(kept)
        secret.chmod(0o600)


def test_the_instructor_sees_each_phase_of_a_grading_in_order(course):
    client = client_for(course)
    sid = upload(client, course.tokens["s1"]).json()["id"]
    grade_queue(course)
    phases = client.get(f"/api/submissions/{sid}", headers=bearer(course.instructor)).json()[
        "phases"
    ]
    order = ["received", "queued", "started", "graded", "stored"]
    times = [phases[name] for name in order]
    assert None not in times and times == sorted(times)
    student = client.get(f"/api/submissions/{sid}", headers=bearer(course.tokens["s1"])).json()
    assert "phases" not in student


def test_a_grading_the_grader_failed_does_not_use_up_an_attempt(course):
    course.configure(homework="max_attempts = 1")
    client = client_for(course)
    sid = upload(client, course.tokens["s1"]).json()["id"]
    from autograder.server import db

    conn = db.connect(course.root / "course.db")
    conn.execute("UPDATE submissions SET status = 'error' WHERE id = ?", (sid,))
    conn.execute("DELETE FROM jobs")
    assert upload(client, course.tokens["s1"]).status_code == 202
    assert upload(client, course.tokens["s1"]).status_code == 409
