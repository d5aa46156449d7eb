"""The grader service under hostile or unlucky clients: none of them can block or starve another.

Every test runs a real service (``open_service`` + ``serve_forever``) in a thread, on a Unix socket
in a temporary folder, and asks it with the real ``bpgrade_client.py`` that the export ships. Most
use a stand-in grader (a report per submission, after a chosen delay) so that the timing is the
service's own; one grades real submissions in the sandbox, several at once.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.grading import GradeReport, PartResult, grade_submission
from autograder.integrations import nbgrader as nbg
from autograder.spec import load_spec

ZOO = Path(__file__).resolve().parents[1] / "zoo"
PART = "sigmoid"
QUICK = {"read_timeout_s": 3.0, "read_deadline_s": 6.0, "request_deadline_s": 20.0}
pytestmark = pytest.mark.timeout(120)


# ---------------------------------------------------------------------------------------------
# A stand-in grader, the service in a thread, the shipped client
# ---------------------------------------------------------------------------------------------


class StandInService(nbg.GraderService):
    """Grades nothing: the submission's text is a number, which becomes the part's score.

    It records how many gradings ran at once, and how many ran in all.
    """

    def __init__(self, config: nbg.ServiceConfig, delay: float = 0.0):
        super().__init__(config)
        self.delay = delay
        self.graded = 0
        self.running = 0
        self.most_at_once = 0
        self._count = threading.Lock()

    def _grade(self, student: str, data: bytes, lang: str) -> GradeReport:
        with self._count:
            self.graded += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.delay)
        finally:
            with self._count:
                self.running -= 1
        score = float(data.decode())
        part = PartResult(PART, "Sigmoid", 10.0, score, [])
        return GradeReport(student, "stand-in", score, 10.0, [part], 0.0, "none")


def stand_in(delay: float = 0.0, **config: float) -> StandInService:
    return StandInService(nbg.ServiceConfig(spec=SPEC, **{**QUICK, **config}), delay)


SPEC = load_spec()


@contextlib.contextmanager
def socket_dir() -> Iterator[Path]:
    # A Unix socket path must stay under ~100 bytes; pytest's tmp_path can be longer.
    folder = Path(tempfile.mkdtemp(prefix="bpg-svc-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def serving(server) -> Iterator[None]:
    """``serve_forever`` in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@contextlib.contextmanager
def service(svc: nbg.GraderService) -> Iterator[Path]:
    """The service listening on a fresh socket; yields the socket's path."""
    with socket_dir() as folder:
        path = folder / "grader.sock"
        with serving(nbg.open_service(path, svc)):
            yield path


@pytest.fixture
def client(monkeypatch) -> types.ModuleType:
    """The exported ``bpgrade_client.py``, imported, with a 30 s budget per request."""
    monkeypatch.delenv(nbg.SOCKET_ENV, raising=False)
    module = types.ModuleType("bpgrade_client_under_test")
    exec(
        compile(nbg.client_source(SPEC, "en", "backprop"), "bpgrade_client.py", "exec"),
        vars(module),
    )
    module.TIMEOUT_S = 30.0
    return module


def ask(client: types.ModuleType, path: Path, student: str, text: str) -> dict:
    request = {"op": "grade_notebook", "student": student, "part": PART, "notebook": text}
    return client._ask(request, default_socket=path)


def raw_exchange(path: Path, payload: bytes, timeout: float = 30.0) -> dict:
    """Send ``payload`` as is (in a thread: the service may stop reading) and read the reply."""
    import json

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(path))

        def send() -> None:
            with contextlib.suppress(OSError):
                conn.sendall(payload)
                conn.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        sender.join(timeout)
    return json.loads(b"".join(chunks))


def good_request(student: str = "alice", text: str = "7") -> bytes:
    import json

    request = {"op": "grade_notebook", "student": student, "part": PART, "notebook": text}
    return json.dumps(request).encode() + b"\n"


# ---------------------------------------------------------------------------------------------
# Slow and silent clients
# ---------------------------------------------------------------------------------------------


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"{")


def _dripping(conn: socket.socket, stop: threading.Event) -> None:
    """One byte a second, well inside the silence limit, never a whole request."""

    def drip() -> None:
        while not stop.wait(0.5):
            with contextlib.suppress(OSError):
                conn.sendall(b" ")

    conn.sendall(b"{")
    threading.Thread(target=drip, daemon=True).start()


@pytest.mark.parametrize("behave", [_silent, _dripping], ids=["silent", "dripping"])
def test_a_stalling_client_neither_delays_a_real_request_nor_stays_for_ever(client, behave):
    svc = stand_in()
    with service(svc) as path, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stalled:
        stop = threading.Event()
        stalled.connect(str(path))
        behave(stalled, stop)
        started = time.monotonic()
        reply = ask(client, path, "alice", "7")
        took = time.monotonic() - started
        # The real request is answered while the stalling client is still connected, unanswered.
        stalled.setblocking(False)
        with pytest.raises(BlockingIOError):
            stalled.recv(1)
        assert reply["score"] == 7.0 and took < QUICK["read_timeout_s"]
        # The stalling client is then dropped, with an error that says why.
        stalled.settimeout(QUICK["read_deadline_s"] + 5)
        dropped = stalled.recv(65536)
        stop.set()
        assert b"no complete request" in dropped
        assert time.monotonic() - started < QUICK["read_deadline_s"] + 3


def test_the_service_answers_while_many_clients_stall(client):
    with service(stand_in(max_connections=16)) as path, contextlib.ExitStack() as stack:
        for _ in range(40):
            conn = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            conn.connect(str(path))
            conn.sendall(b"{")
        started = time.monotonic()
        assert ask(client, path, "alice", "3")["score"] == 3.0  # the 40 are still connected
        # Served once the stalled clients' silence limit frees the service's threads.
        took = time.monotonic() - started
        assert took < QUICK["read_timeout_s"] + 15, took


# ---------------------------------------------------------------------------------------------
# Many clients at once
# ---------------------------------------------------------------------------------------------


def _ask_all(client, path: Path, requests: list[tuple[str, str]]) -> list[dict | Exception]:
    replies: list[dict | Exception] = [RuntimeError("no reply")] * len(requests)

    def one(i: int, student: str, text: str) -> None:
        try:
            replies[i] = ask(client, path, student, text)
        except Exception as exc:  # reported by the assertion below
            replies[i] = exc

    threads = [
        threading.Thread(target=one, args=(i, *r), daemon=True) for i, r in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return replies


def test_concurrent_clients_all_get_their_own_answer_within_the_grading_slots(client):
    svc = stand_in(delay=0.3, grading_slots=2)
    requests = [(f"s{i}", str(i)) for i in range(10)]
    with service(svc) as path:
        replies = _ask_all(client, path, requests)
    assert [r["score"] if isinstance(r, dict) else r for r in replies] == [
        float(i) for i in range(10)
    ]
    assert svc.graded == 10 and svc.most_at_once == 2


def test_concurrent_requests_for_one_submission_grade_it_once(client):
    svc = stand_in(delay=0.5, grading_slots=4)
    with service(svc) as path:
        replies = _ask_all(client, path, [("alice", "5")] * 8)
    assert all(isinstance(r, dict) and r["score"] == 5.0 for r in replies), replies
    assert svc.graded == 1


def test_a_request_that_waits_too_long_for_a_grading_slot_is_told_the_service_is_busy():
    svc = stand_in(delay=3.0, grading_slots=1, request_deadline_s=1.0)
    with service(svc) as path:
        first = threading.Thread(target=raw_exchange, args=(path, good_request("alice", "1")))
        first.start()
        time.sleep(0.3)  # alice holds the only slot for 3 s
        started = time.monotonic()
        reply = raw_exchange(path, good_request("bob", "2"))
        assert time.monotonic() - started < 2.5
        assert not reply["ok"] and reply["retry"] and "busy" in reply["error"]
        first.join(10)
        assert raw_exchange(path, good_request("bob", "2"))["score"] == 2.0  # still serving


def test_concurrent_real_gradings_match_bpgrade_grade(client, tmp_path):
    """Two submissions, each asked for two parts by four clients at once, in the real sandbox."""
    files = {
        "good": ZOO / "correct" / "vectorized.py",
        "sign": ZOO / "submissions" / "grad_sign.py",
    }
    for student, source in files.items():
        folder = tmp_path / "submitted" / student / "backprop"
        folder.mkdir(parents=True)
        shutil.copy(source, folder / "nn.py")
    config = nbg.ServiceConfig(
        course_dir=tmp_path, notebook="nn.py", spec=SPEC, secret=b"svc-secret", grading_slots=2
    )
    expected = {
        student: {
            p.part: p.score
            for p in grade_submission(f, student_id=student, secret=b"svc-secret").parts
        }
        for student, f in files.items()
    }
    asks = [(s, part) for s in files for part in ("nnGrad", "sigmoid")] * 2
    replies: list = [None] * len(asks)

    def one(i: int, student: str, part: str) -> None:
        request = {"op": "grade_submitted", "student": student, "part": part}
        replies[i] = client._ask(request, default_socket=path)

    with service(nbg.GraderService(config)) as path:
        threads = [threading.Thread(target=one, args=(i, *a)) for i, a in enumerate(asks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(100)
    got = [(s, part, r and r["score"]) for (s, part), r in zip(asks, replies, strict=True)]
    assert got == [(s, part, pytest.approx(expected[s][part], abs=1e-4)) for s, part in asks]
    assert expected["sign"]["nnGrad"] < expected["good"]["nnGrad"]  # the two really differ


# ---------------------------------------------------------------------------------------------
# Connection floods
# ---------------------------------------------------------------------------------------------

FLOOD = textwrap.dedent(
    """
    import socket, sys
    path, n = sys.argv[1], int(sys.argv[2])
    held = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:  # the listen queue is full
            s.close()
            continue
        held.append(s)
    print(len(held), flush=True)
    sys.stdin.read()  # hold them until the test closes our stdin
    """
)


@contextlib.contextmanager
def flood(path: Path, n: int) -> Iterator[int]:
    """Another process of this uid opens ``n`` connections and holds them; yields how many held."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOOD, str(path), str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_connect_flood_on_a_serving_service_does_not_make_a_client_fail(client):
    with service(stand_in()) as path, flood(path, 600) as held:
        started = time.monotonic()
        assert ask(client, path, "alice", "4")["score"] == 4.0
        assert time.monotonic() - started < 20
    assert held > 0


def test_a_full_listen_queue_is_retried_by_the_client_until_the_service_accepts(client):
    """The queue holds at least BACKLOG connections; when it is full, connect() fails with
    EAGAIN, and the client keeps trying until the service (here, stalled at first) catches up."""
    with socket_dir() as folder:
        path = folder / "grader.sock"
        server = nbg.open_service(path, stand_in())
        began = threading.Event()

        def serve() -> None:
            began.set()
            server.serve_forever(poll_interval=0.05)

        later = threading.Timer(1.0, serve)
        later.daemon = True
        try:
            with flood(path, 1000) as held:
                assert held >= nbg.BACKLOG
                with pytest.raises(BlockingIOError):  # the queue is full: what the client meets
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                        probe.setblocking(False)
                        probe.connect(str(path))
                later.start()
                started = time.monotonic()
                assert ask(client, path, "alice", "6")["score"] == 6.0
                assert time.monotonic() - started >= 0.9  # answered only once serving began
        finally:
            later.cancel()
            if began.is_set():  # shutdown() waits for a serve_forever that has started
                server.shutdown()
                later.join(10)
            server.server_close()


def test_the_client_waits_for_a_service_that_is_starting(client):
    with socket_dir() as folder:
        path = folder / "grader.sock"
        server = nbg.open_service(path, stand_in())
        server.server_close()  # a stale socket file: connect() is refused, as during a restart
        reply: list = []
        asking = threading.Thread(target=lambda: reply.append(ask(client, path, "alice", "8")))
        asking.start()
        time.sleep(1.0)
        server = nbg.open_service(path, stand_in())
        with serving(server):
            asking.join(20)
        assert reply and reply[0]["score"] == 8.0


def test_the_client_gives_up_quickly_when_no_service_is_running(client):
    with socket_dir() as folder:
        started = time.monotonic()
        with pytest.raises(client.GraderUnavailable, match="export serve"):
            ask(client, folder / "grader.sock", "alice", "1")
        assert time.monotonic() - started < client.START_WAIT_S + 3


# ---------------------------------------------------------------------------------------------
# Malformed and oversized requests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, error",
    [
        (b"x" * (nbg.MAX_REQUEST + 4096), "request too large"),
        (b"{" * 64 + b"x" * (nbg.MAX_REQUEST) + b"\n", "request too large"),
        (b"not json\n", "one line of JSON"),
        (b"\xff\xfe\xfd\n", "one line of JSON"),
        (b"[" * 200_000 + b"]" * 200_000 + b"\n", "one line of JSON"),  # nesting: RecursionError
        (b"[]\n", "a request is a JSON object"),
        (b'{"op": "grade_notebook"}\n', "field 'student'"),
        (b'{"op": "grade_notebook", "student": "a", "part": "sigmoid", "notebook": 3}\n', "field"),
        (b'{"op": "sudo", "student": "a", "part": "sigmoid"}\n', "unknown op"),
        (b"", "one line of JSON"),
    ],
    ids=[
        "oversized",
        "oversized-line",
        "not-json",
        "not-utf8",
        "deep-nesting",
        "not-an-object",
        "missing-field",
        "wrong-type",
        "unknown-op",
        "empty",
    ],
)
def test_a_bad_request_gets_an_error_reply_and_the_service_keeps_serving(payload, error):
    with service(stand_in()) as path:
        reply = raw_exchange(path, payload)
        assert not reply["ok"] and error in reply["error"]
        assert raw_exchange(path, good_request())["score"] == 7.0
