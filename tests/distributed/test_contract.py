"""The broker's trust boundary without a broker: URLs, payloads, results and delivery settings."""

from __future__ import annotations

import base64

import pytest

from autograder.distributed.broker import BrokerError, check_url, masked, warnings_for
from autograder.distributed.payload import (
    BATCH,
    SERVER,
    Payload,
    PayloadError,
    build_payload,
    check_payload,
    check_result,
)

pytest.importorskip("celery")


@pytest.mark.parametrize(
    "url, allow_remote, accepted",
    [
        ("redis://127.0.0.1:6379/0", False, True),
        ("redis://localhost/0", False, True),
        ("redis://[::1]:6379/0", False, True),
        ("redis://10.0.0.5:6379/0", False, False),
        ("redis://grader.example.edu:6379/0", False, False),
        ("redis://:s3cret@10.0.0.5:6379/0", False, True),
        ("rediss://:s3cret@grader.example.edu:6380/0", False, True),
        ("redis://10.0.0.5:6379/0", True, True),
        ("amqp://guest@127.0.0.1//", False, False),
        ("http://127.0.0.1:6379/0", False, False),
        ("redis:///0", False, False),
        ("redis://127.0.0.1:99999/0", False, False),
    ],
)
def test_broker_urls_are_loopback_or_protected(url, allow_remote, accepted):
    if accepted:
        assert check_url(url, allow_remote=allow_remote).url == url
    else:
        with pytest.raises(BrokerError):
            check_url(url, allow_remote=allow_remote)


def test_a_refused_remote_broker_says_how_to_protect_it():
    with pytest.raises(BrokerError, match="password.*rediss://.*--allow-remote-broker"):
        check_url("redis://10.0.0.5:6379/0")


@pytest.mark.parametrize(
    "url, warned",
    [
        ("redis://:pw@10.0.0.5:6379/0", True),
        ("rediss://:pw@10.0.0.5:6379/0", False),
        ("redis://127.0.0.1:6379/0", False),
    ],
)
def test_a_password_in_clear_over_a_network_is_warned_about(url, warned):
    assert bool(warnings_for(check_url(url))) == warned


def test_passwords_never_appear_in_messages():
    assert "hunter2" not in masked("rediss://user:hunter2@host:6380/0")
    with pytest.raises(BrokerError) as refused:
        check_url("amqp://u:hunter2@host//")
    assert "hunter2" not in str(refused.value)


def test_an_unreachable_broker_is_a_clear_error():
    from autograder.distributed.broker import ping
    from tests.distributed.conftest import free_port

    with pytest.raises(BrokerError, match="cannot reach the broker at redis://127.0.0.1"):
        ping(check_url(f"redis://127.0.0.1:{free_port()}/0"), timeout=1.0)


def test_the_celery_app_speaks_json_only_and_acknowledges_late():
    from autograder.distributed.celery_app import make_celery

    conf = make_celery("redis://127.0.0.1:6379/0").conf
    assert conf.accept_content == conf.result_accept_content == ["json"]
    assert conf.task_serializer == conf.result_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    options = conf.broker_transport_options
    assert options["visibility_timeout"] > conf.task_time_limit > 45.0  # 40 s cases + 5 s load
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 5


def test_a_tls_broker_requires_certificates_by_default():
    import ssl

    from autograder.distributed.celery_app import make_celery

    conf = make_celery("rediss://:pw@grader.example.edu:6380/0").conf
    assert conf.broker_use_ssl["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert conf.redis_backend_use_ssl["ssl_cert_reqs"] == ssl.CERT_REQUIRED


# ---------------------------------------------------------------------------------------------


def _payload(**changes) -> dict:
    base = Payload(
        mode=SERVER,
        homework="backprop",
        spec="0123456789abcdef",
        student_id="s1",
        lang="en",
        main="submission.py",
        data=b"def f():\n    return 1\n",
    )
    return {**build_payload(base), **changes}


def test_a_payload_round_trips():
    got = check_payload(_payload())
    assert (got.main, got.data, got.student_id) == (
        "submission.py",
        b"def f():\n    return 1\n",
        "s1",
    )


B64 = base64.b64encode(b"x").decode()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"v": 2}, id="unknown version"),
        pytest.param({"mode": "pickle"}, id="unknown mode"),
        pytest.param({"main": "../../etc/cron.d/x.py"}, id="path out of the folder"),
        pytest.param({"main": "/etc/passwd"}, id="absolute path"),
        pytest.param({"main": "a\x00.py"}, id="NUL in a name"),
        pytest.param({"main": "sub/nn.py"}, id="a folder path for a single file"),
        pytest.param({"folder": True, "main": "nn.py", "files": {"../x.py": B64}}, id="file out"),
        pytest.param(
            {"folder": True, "main": "a/nn.py", "files": {"x": B64, "x/y": B64}},
            id="file is folder",
        ),
        pytest.param({"files": {"x.py": B64}}, id="files with a single file"),
        pytest.param({"data": "not base64!"}, id="bad base64"),
        pytest.param({"data": "A" * 8_000_000}, id="too large"),
        pytest.param({"student_id": ""}, id="empty student"),
        pytest.param({"student_id": 7}, id="student not text"),
        pytest.param({"lang": "fr"}, id="unknown language"),
        pytest.param({"spec": "../spec"}, id="spec not a digest"),
        pytest.param({"homework": "../x"}, id="homework not a name"),
        pytest.param({"warnings": "x"}, id="warnings not a list"),
    ],
)
def test_a_worker_refuses_a_payload_it_cannot_lay_out_safely(changes):
    with pytest.raises(PayloadError):
        check_payload(_payload(**changes))


def _result(**changes) -> dict:
    doc = {
        "v": 1,
        "mode": SERVER,
        "worker": "celery:w@host:1",
        "sha256": "a" * 64,
        "grader_version": "0123456789abcdef-0123456789abcdef",
        "seed_id": "0123456789abcdef",
        "homework": "backprop",
        "lang": "en",
        "score": 50.0,
        "max_score": 100.0,
        "outcome": "graded",
        "results": {"score": 50.0, "tests": []},
        "feedback_html": "<h1>Feedback</h1>",
        "fingerprint": "",
        "started_at": 1.0,
        "graded_at": 2.0,
    }
    return {**doc, **changes}


def test_a_valid_result_is_accepted():
    assert check_result(_result(), mode=SERVER).score == 50.0


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"score": float("nan")}, id="NaN score"),
        pytest.param({"score": 150.0}, id="above the maximum"),
        pytest.param({"score": -1.0}, id="negative"),
        pytest.param({"max_score": 1e9, "score": 1e9}, id="absurd maximum"),
        pytest.param({"score": True}, id="boolean score"),
        pytest.param({"results": {"score": 100.0}}, id="results disagree"),
        pytest.param({"sha256": "g" * 64}, id="sha not hex"),
        pytest.param({"seed_id": "x; DROP TABLE"}, id="seed id not hex"),
        pytest.param({"grader_version": "v1"}, id="version not a digest pair"),
        pytest.param({"outcome": "excellent"}, id="unknown outcome"),
        pytest.param({"feedback_html": "x" * (9 * 2**20)}, id="oversized feedback"),
        pytest.param({"mode": BATCH}, id="another mode"),
        pytest.param({"started_at": float("inf")}, id="infinite time"),
    ],
)
def test_the_sender_refuses_a_result_no_grader_writes(changes):
    with pytest.raises(PayloadError):
        check_result(_result(**changes), mode=SERVER)


def test_a_batch_result_must_carry_its_feedback_files():
    with pytest.raises(PayloadError):
        check_result(_result(mode=BATCH), mode=BATCH)
