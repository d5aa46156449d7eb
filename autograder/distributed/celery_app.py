"""The Celery application both sides share: JSON only, late acknowledgement, two queues.

Delivery settings (why each is there):

* ``task_serializer``/``result_serializer`` JSON and ``accept_content``/``result_accept_content``
  ``["json"]``: a message is data, never code. With pickle, whoever can write to the broker runs
  code in the trusted grader.
* ``task_acks_late`` and ``task_reject_on_worker_lost``: a job leaves the broker only after it
  ran; a pool process killed mid-job (SIGKILL, out of memory) puts its job back at once.
* ``worker_prefetch_multiplier=1`` and ``worker_disable_prefetch``: a worker holds only the jobs
  it is running, so a dead worker strands nothing that waited behind its current job.
* ``visibility_timeout`` (Redis): a delivered job not acknowledged within it is given to another
  worker. It must exceed the longest job (a submission's whole budget plus overhead), otherwise a
  job still running is run again (harmless, see :mod:`autograder.server.queue`, but wasted); the
  task's hard time limit is kept below it. Redis scans for such jobs every
  ``unacked_restore_interval`` seconds (kombu's default scan is only every ~100 s).
* ``task_track_started``: the sender learns which worker runs a job, so it can send the job again
  when that worker stops answering (:mod:`autograder.distributed.tracker`), long before the
  visibility timeout.
"""

from __future__ import annotations

import ssl
from urllib.parse import parse_qs, urlsplit

LIVE_QUEUE = "bpgrade.live"
REGRADE_QUEUE = "bpgrade.regrade"
QUEUES = {"live": LIVE_QUEUE, "regrade": REGRADE_QUEUE}
TASK_NAME = "bpgrade.grade"
#: Seconds a job may take beyond the spec's budget (load + cases): zygote fork, rendering, I/O.
OVERHEAD_S = 20.0
#: The visibility timeout is this much above the task's hard time limit.
VISIBILITY_MARGIN_S = 10.0
RESTORE_INTERVAL_S = 5
RESULT_EXPIRES_S = 7 * 86400
SOCKET_TIMEOUT_S = 30.0

_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_SSL_KEYS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def job_budget(spec) -> float:
    """A submission's whole budget in seconds: loading it plus all its cases."""
    return float(spec.time_budget_s) + float(spec.load_timeout_s)


def time_limit(budget: float) -> float:
    """The task's hard time limit for jobs of ``budget`` seconds."""
    return budget + OVERHEAD_S


def default_visibility_timeout(budget: float) -> float:
    """Above the hard time limit: a running job is never handed to a second worker."""
    return time_limit(budget) + VISIBILITY_MARGIN_S


def ssl_options(url: str) -> dict:
    """redis-py keyword arguments for a ``rediss://`` URL (certificates required by default).

    The URL's query may set ``ssl_cert_reqs`` (none, optional, required), ``ssl_ca_certs``,
    ``ssl_certfile`` and ``ssl_keyfile``.
    """
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    options = {"ssl_cert_reqs": query.get("ssl_cert_reqs", "required")}
    options.update({k: query[k] for k in _SSL_KEYS if k in query})
    return options


def _celery_ssl(url: str) -> dict:
    """:func:`ssl_options` in the form Celery's ``broker_use_ssl`` takes."""
    options = ssl_options(url)
    reqs = _CERT_REQS.get(str(options.pop("ssl_cert_reqs")).lower(), ssl.CERT_REQUIRED)
    return {"ssl_cert_reqs": reqs, **options}


def make_celery(
    broker_url: str,
    *,
    visibility_timeout: float | None = None,
    hard_time_limit: float | None = None,
    restore_interval: int = RESTORE_INTERVAL_S,
):
    """The Celery app for ``broker_url`` (Redis, also the result backend).

    Parameters
    ----------
    broker_url : str
        ``redis://`` or ``rediss://`` (checked by :func:`autograder.distributed.broker.check_url`).
    visibility_timeout : float, optional
        Default: :func:`default_visibility_timeout` of the bundled homework's budget.
    hard_time_limit : float, optional
        The task's hard time limit. Default: :func:`time_limit` of the bundled budget.
    restore_interval : int
        Seconds between the workers' scans for unacknowledged jobs past the visibility timeout.
    """
    from celery import Celery

    from autograder.distributed import tasks

    if hard_time_limit is None or visibility_timeout is None:
        from autograder.spec import load_spec

        budget = job_budget(load_spec())
        hard_time_limit = hard_time_limit or time_limit(budget)
        visibility_timeout = visibility_timeout or default_visibility_timeout(budget)
    transport = {
        "visibility_timeout": float(visibility_timeout),
        "unacked_restore_interval": int(restore_interval),
        "unacked_restore_throttle": 1,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": 5.0,
        "health_check_interval": 25,
    }
    app = Celery("bpgrade", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_track_started=True,
        task_time_limit=float(hard_time_limit),
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_channel_error_retry=True,
        redis_socket_timeout=SOCKET_TIMEOUT_S,
        redis_socket_connect_timeout=5.0,
        redis_retry_on_timeout=True,
        result_expires=RESULT_EXPIRES_S,
        task_default_queue=REGRADE_QUEUE,
        task_routes={TASK_NAME: {"queue": REGRADE_QUEUE}},
        task_create_missing_queues=True,
        worker_send_task_events=False,
        timezone="UTC",
        enable_utc=True,
    )
    if broker_url.startswith("rediss://"):
        app.conf.broker_use_ssl = _celery_ssl(broker_url)
        app.conf.redis_backend_use_ssl = _celery_ssl(broker_url)
    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)(tasks.grade)
    return app
