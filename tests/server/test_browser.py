"""The course pages in a real browser: Playwright driving Debian's chromium against `bpgrade serve`.

A real server (``python -m autograder serve``, one grading worker, the real sandbox) runs on a
free loopback port for the whole module. The pages are used as a student and an instructor would,
with the server's Content-Security-Policy in force (so the pages' own scripts must work under it),
and axe-core checks every page in both languages (there only, the CSP is bypassed to inject axe).

Set ``BPGRADE_SCREENSHOT=docs/img/course-server.png`` to save the README's screenshot of a
student's graded submission.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CORRECT = ROOT / "examples" / "submissions" / "correct.py"
BUGGY = ROOT / "examples" / "submissions" / "forgot_sigmoid_gradient.py"
OTHER_BUG = ROOT / "examples" / "submissions" / "bias_regularized.py"
ROSTER = [
    ("s001", "Ann Lee", "ann@example.org"),
    ("s002", "王芳", "wf@example.org"),
    ("s003", "Cy", ""),
]
GRADING_TIMEOUT_MS = 120_000
AXE_VERSION = "axe-core@4"
SERIOUS = ("serious", "critical")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"
    ),
    pytest.mark.timeout(600),
]


# ---------------------------------------------------------------------------------------------
# The server, the browser and axe-core
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def bpgrade(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``bpgrade ARGS`` from this checkout (``-m`` from the repository root)."""
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=ROOT, check=True, capture_output=True,
        text=True, **kwargs,
    )  # fmt: skip


class Server:
    def __init__(self, root: Path, url: str, tokens: dict[str, str], proc: subprocess.Popen):
        self.root, self.url, self.tokens, self.proc = root, url, tokens, proc

    def submit(self, student: str, path: Path) -> int:
        """Upload as ``submit.py`` would (bearer token, multipart)."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
                "Content-Type: text/x-python\r\n\r\n"
            ).encode()
            + path.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(f"{self.url}/api/submissions", data=body, method="POST")
        request.add_header("Authorization", f"Bearer {self.tokens[student]}")
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)["id"]

    def wait_done(self, student: str, submission: int) -> dict:
        deadline = time.monotonic() + GRADING_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            shown = get_json(f"{self.url}/api/submissions/{submission}", self.tokens[student])
            if shown["status"] in ("done", "error"):
                return shown
            time.sleep(0.3)
        raise AssertionError(f"submission {submission} was not graded in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    folder = tmp_path_factory.mktemp("browser")
    roster = folder / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "name", "email"), *ROSTER])
    root = folder / "course"
    bpgrade("course", "init", str(root), "--roster", str(roster), "--name", "Neural networks 2026")
    toml = root / "course.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("# workers = 2", "workers = 1"))
    with (root / "tokens.csv").open(encoding="utf-8") as f:
        tokens = {row["id"]: row["token"] for row in csv.DictReader(f)}
    tokens["instructor"] = (root / "instructor_token.txt").read_text().strip()
    port = free_port()
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "serve", str(root), "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "bpgrade serve did not start:\n" + (folder / "server.log").read_text()
                )
            try:
                if get_json(f"{url}/api/health")["workers"] >= 1:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield Server(root, url, tokens, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's axe.min.js from npm, cached in the temporary folder between runs."""
    cache = Path(tempfile.gettempdir()) / "bpgrade-axe-core"
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: cannot fetch axe-core (apt-get install npm)")
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(cache), AXE_VERSION],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 0 or not script.is_file():
            pytest.skip(f"npm install {AXE_VERSION} failed: {done.stderr.strip()[-300:]}")
    return script.read_text(encoding="utf-8")


def signed_in_page(browser, server: Server, who: str, *, lang: str = "en", **options):
    """A fresh browser context (its own cookies) signed in as ``who``, on their home page."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, **options)
    page = context.new_page()
    page.goto(f"{server.url}/?lang={lang}")
    page.get_by_label("Course token" if lang == "en" else "课程令牌").fill(server.tokens[who])
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(f"{server.url}/{'instructor' if who == 'instructor' else 'me'}")
    return page


# ---------------------------------------------------------------------------------------------
# A student and an instructor
# ---------------------------------------------------------------------------------------------


def test_student_submits_watches_and_reads_feedback_while_the_gradebook_updates(browser, server):
    expect = sync_api.expect
    teacher = signed_in_page(browser, server, "instructor")
    row = teacher.locator('tr[data-student="s001"]')
    expect(row).to_contain_text("no submission")
    teacher.evaluate("() => { window.notReloaded = true; }")

    student = signed_in_page(browser, server, "s001")
    student.set_input_files("#file", str(BUGGY))
    student.get_by_role("button", name="Submit").click()
    student.wait_for_url(f"{server.url}/submissions/*")
    submission = int(student.url.rsplit("/", 1)[1])
    # Every state the status region shows from now on (a reload would lose window.seen).
    student.evaluate(
        """() => {
            const status = document.getElementById("status");
            window.seen = [status.textContent.trim()];
            new MutationObserver(() => window.seen.push(status.textContent.trim()))
                .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    status = student.locator("#status")
    expect(status).to_have_text(re.compile(r"^Done: [\d.]+ / 100\.$"), timeout=GRADING_TIMEOUT_MS)
    assert status.get_attribute("aria-live") == "polite"
    seen = student.evaluate("() => window.seen")
    assert all(s.startswith(("Queued", "Grading", "Done")) for s in seen), seen
    score = get_json(f"{server.url}/api/submissions/{submission}", server.tokens["s001"])["score"]
    assert 0 < score < 100
    assert seen[-1] == f"Done: {score:g} / 100."

    # The per-part feedback, inserted without a reload: backpropagation fails, and why.
    feedback = student.locator("section.feedback")
    expect(feedback.get_by_role("heading", name=f"Feedback: {score:g} / 100")).to_be_visible()
    expect(feedback.locator("table tr", has_text="nnGrad:").locator(".bad")).to_have_text("✗")
    expect(feedback.locator("table tr", has_text="sigmoid:").locator(".ok")).to_have_text("✓")
    expect(feedback.locator("h3", has_text="nnGrad")).to_be_visible()
    assert feedback.locator("ul.cases li").count() > 0
    assert student.evaluate("() => Array.isArray(window.seen)")
    if os.environ.get("BPGRADE_SCREENSHOT"):
        student.screenshot(path=os.environ["BPGRADE_SCREENSHOT"], full_page=True)

    # The instructor's gradebook caught up by itself.
    expect(row).to_contain_text(f"{score:g} / 100", timeout=15_000)
    expect(row).to_contain_text("graded")
    assert teacher.evaluate("() => window.notReloaded") is True
    expect(teacher.locator("#gradebook-note")).to_have_text("Gradebook updated.")

    # Another student cannot open it; the owner's history lists it as the attempt that counts.
    other = signed_in_page(browser, server, "s002")
    answer = other.goto(f"{server.url}/submissions/{submission}")
    assert answer.status == 404
    student.goto(f"{server.url}/me")
    counted = student.locator("table.attempts tr.counts")
    expect(counted).to_contain_text(str(submission))
    expect(counted).to_contain_text(BUGGY.name)


def test_instructor_regrades_and_publishes_from_the_panel(browser, server):
    """Through the JSON API with the page's CSRF token: start, progress, changes, publish."""
    expect = sync_api.expect
    page = signed_in_page(browser, server, "instructor")
    page.evaluate("() => { window.notReloaded = true; }")
    panel = page.locator("#regrade")
    panel.get_by_role("button", name="Start a regrade").click()
    progress = panel.get_by_role("status")
    expect(progress).to_have_text(
        re.compile(r"^Regrade (\d+): (\d+) of \2 submissions graded\.$"), timeout=GRADING_TIMEOUT_MS
    )
    expect(panel).to_contain_text("No score changes.")  # the same grader: the same scores
    publish = panel.get_by_role("button", name="Publish the new scores")
    expect(publish).to_be_enabled()
    publish.click()
    expect(progress).to_have_text(re.compile(r"^Regrade \d+ is published\.$"))
    expect(panel.get_by_role("button", name="Start a regrade")).to_be_visible()
    assert page.evaluate("() => window.notReloaded") is True
    page.context.close()


def test_without_javascript_the_forms_and_the_self_reloading_page_work(browser, server):
    page = signed_in_page(browser, server, "s002", java_script_enabled=False)
    page.set_input_files("#file", str(CORRECT))
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"{server.url}/submissions/*")  # the form's own POST and its 303
    # <noscript><meta http-equiv="refresh"> reloads the page until the feedback is there.
    sync_api.expect(page.locator("#status")).to_have_text(
        "Done: 100 / 100.", timeout=GRADING_TIMEOUT_MS
    )
    sync_api.expect(page.locator("section.feedback h1")).to_have_text("Feedback: 100 / 100")
    page.context.close()


def test_a_refused_upload_is_shown_in_the_page_in_chinese(browser, server, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not code")
    page = signed_in_page(browser, server, "s003", lang="zh")
    page.set_input_files("#file", str(notes))
    page.get_by_role("button", name="提交").click()
    alert = page.get_by_role("alert")
    sync_api.expect(alert).to_contain_text("未能提交：notes.txt 既不是 .py 文件")
    assert page.url == f"{server.url}/me"  # shown in place, through the API


# ---------------------------------------------------------------------------------------------
# Accessibility: axe-core on every page, in both languages
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(server) -> int:
    """A graded (buggy) submission of s003's, uploaded through the API as submit.py would."""
    submission = server.submit("s003", OTHER_BUG)
    assert server.wait_done("s003", submission)["status"] == "done"
    return submission


def violations(page, source: str) -> list[dict]:
    page.add_script_tag(content=source)
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/"),
        ("s003", "/me"),
        ("s003", "/submissions/{graded}"),
        ("instructor", "/instructor"),
        ("instructor", "/instructor/students/s003"),
        ("instructor", "/instructor/report"),
    ],
)
def test_axe_finds_no_serious_violation(browser, server, axe_source, graded, who, path, lang):
    if who is None:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
    else:
        page = signed_in_page(browser, server, who, lang=lang, bypass_csp=True)
    page.goto(f"{server.url}{path.format(graded=graded)}?lang={lang}")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    assert violations(page, axe_source) == []
    page.context.close()
