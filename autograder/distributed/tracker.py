"""The sender's side of the broker: send jobs, collect their results, notice lost ones.

Used by the course server (:mod:`.dispatch`) and by ``grade-all --broker`` (:mod:`.batch`). A
:class:`Tracker` keeps the tasks in flight; :meth:`Tracker.poll` reads all their results in one
``MGET`` and reports each task at most once, as done, failed or lost:

* **done / failed** come from the result backend, read as raw JSON. Celery's own result API is
  not used: it would rebuild exception objects from what the backend says, and it subscribes to a
  pub/sub channel per task sent (:func:`_no_subscription`).
* **lost**: the job ran on a worker (``STARTED`` names it: ``task_track_started``) that has since
  stopped answering pings for :data:`LOST_AFTER_S`, measured by pings that did complete (a broker
  outage makes nobody look dead). A worker whose whole machine died is noticed this way within
  seconds; the caller sends the job again under a new task id, and the old id is revoked (if its
  message comes back from Redis after the visibility timeout, a live worker drops it; if it runs
  anyway, the result is the same). A job never started that waited for
  :data:`PENDING_RESEND_S` while some worker was alive is also sent again (a message Redis lost).

A pool process killed mid-job is not "lost": its worker answers, and Celery requeues the job
itself (``task_reject_on_worker_lost``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from autograder.distributed.celery_app import TASK_NAME

log = logging.getLogger("bpgrade.broker")

PING_EVERY_S = 2.0
PING_TIMEOUT_S = 1.0
LOST_AFTER_S = 8.0
PENDING_RESEND_S = 900.0
MGET_CHUNK = 500
DONE, FAILED, LOST = "done", "failed", "lost"


@dataclass
class Flight:
    """One task in flight; ``key`` is the caller's handle (a queue job, a batch task)."""

    task_id: str
    key: Any
    queue: str
    sent_at: float
    host: str | None = None
    started_seen: float | None = None


@dataclass(frozen=True)
class Event:
    """What :meth:`Tracker.poll` saw: ``kind`` is done (``data``: the result document), failed
    (``data``: the error text) or lost (``data``: why)."""

    kind: str
    flight: Flight
    data: Any


def _no_subscription(producer, task_id) -> None:
    """Replaces the Redis backend's ``on_task_call``: results are polled, never awaited, so a
    subscription per task would only pile up in Redis for the life of the sender."""


class Tracker:
    """Tasks in flight for one sender.

    Parameters
    ----------
    app : celery.Celery
        From :func:`autograder.distributed.celery_app.make_celery`.
    lost_after, pending_resend, ping_every : float
        Seconds (module defaults; tests shorten them).
    """

    def __init__(
        self,
        app,
        *,
        lost_after: float = LOST_AFTER_S,
        pending_resend: float = PENDING_RESEND_S,
        ping_every: float = PING_EVERY_S,
    ):
        self.app = app
        self.lost_after, self.pending_resend, self.ping_every = (
            lost_after,
            pending_resend,
            ping_every,
        )
        self.flights: dict[str, Flight] = {}
        self.last_seen: dict[str, float] = {}
        self.last_ping_ok = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start pinging workers (a daemon thread)."""
        self._thread = threading.Thread(target=self._ping_loop, name="bpgrade-ping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=PING_TIMEOUT_S + 2.0)

    def alive(self, within: float | None = None) -> int:
        """Workers that answered a ping in the last ``within`` seconds (default: lost_after)."""
        within = self.lost_after if within is None else within
        now = time.time()
        with self._lock:
            return sum(now - seen <= within for seen in self.last_seen.values())

    # -- sending and collecting ----------------------------------------------------------------

    def send(self, doc: dict, *, queue: str, key: Any, task_id: str | None = None) -> Flight:
        """Send ``doc`` (a payload) to ``queue``; raises if the broker refuses it."""
        task_id = task_id or str(uuid.uuid4())
        self._backend()
        self.app.send_task(
            TASK_NAME,
            args=[doc],
            task_id=task_id,
            queue=queue,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1.0},
        )
        return self.adopt(task_id, key, queue)

    def adopt(self, task_id: str, key: Any, queue: str = "") -> Flight:
        """Track a task sent earlier (by this process before a restart, say)."""
        flight = Flight(task_id, key, queue, time.time())
        self.flights[task_id] = flight
        return flight

    def drop(self, task_id: str) -> None:
        """Stop tracking ``task_id`` (its result, if any, is left to expire)."""
        self.flights.pop(task_id, None)

    def forget(self, task_id: str) -> None:
        """Delete ``task_id``'s stored result (it has been stored for good by the caller)."""
        backend = self._backend()
        backend.client.delete(backend.get_key_for_task(task_id))

    def metas(self, task_ids: list[str]) -> dict[str, dict | None]:
        """The raw result records of ``task_ids`` (``None``: nothing stored yet)."""
        backend = self._backend()
        out: dict[str, dict | None] = {}
        for i in range(0, len(task_ids), MGET_CHUNK):
            chunk = task_ids[i : i + MGET_CHUNK]
            values = backend.client.mget([backend.get_key_for_task(t) for t in chunk])
            out.update({t: _decode(v) for t, v in zip(chunk, values, strict=True)})
        return out

    def poll(self) -> list[Event]:
        """Each finished, failed or lost task, once (it is no longer tracked afterwards)."""
        if not self.flights:
            return []
        metas = self.metas(list(self.flights))
        now, events = time.time(), []
        for task_id, meta in metas.items():
            flight = self.flights[task_id]
            event = self._event(flight, meta or {}, now)
            if event is not None:
                events.append(event)
                self.flights.pop(task_id, None)
                if event.kind == LOST:
                    self._revoke(task_id)
        return events

    def _event(self, flight: Flight, meta: dict, now: float) -> Event | None:
        status = meta.get("status")
        if status == "SUCCESS":
            return Event(DONE, flight, meta.get("result"))
        if status in ("FAILURE", "REVOKED"):
            return Event(FAILED, flight, _failure_text(meta))
        if status == "STARTED":
            info = meta.get("result") if isinstance(meta.get("result"), dict) else {}
            host = str(info.get("hostname") or "?")
            if host != flight.host:
                flight.host, flight.started_seen = host, now
            if self._dead(host, flight.started_seen or now):
                return Event(LOST, flight, f"worker {host} stopped answering")
            return None
        if now - flight.sent_at > self.pending_resend and self.alive():
            return Event(LOST, flight, f"not started after {self.pending_resend:.0f} s")
        return None

    def _dead(self, host: str, since: float) -> bool:
        with self._lock:
            heard = max(self.last_seen.get(host, 0.0), since)
            return self.last_ping_ok - heard > self.lost_after

    def _revoke(self, task_id: str) -> None:
        try:
            self.app.control.revoke(task_id)
        except Exception:  # best effort: a duplicate run is harmless
            log.warning("could not revoke task %s", task_id)

    def _backend(self):
        # Celery keeps one backend per thread: patch each one this tracker uses.
        backend = self.app.backend
        if getattr(backend, "on_task_call", None) is not _no_subscription:
            backend.on_task_call = _no_subscription
        return backend

    def _ping_loop(self) -> None:
        while not self._stop.is_set():
            started = time.time()
            try:
                replies = self.app.control.ping(timeout=PING_TIMEOUT_S)
            except Exception as exc:  # the broker is away: nobody is declared dead meanwhile
                log.debug("ping failed: %s", exc)
            else:
                now = time.time()
                with self._lock:
                    for reply in replies or []:
                        for host in reply if isinstance(reply, dict) else ():
                            self.last_seen[str(host)] = now
                    self.last_ping_ok = started
            self._stop.wait(max(0.0, self.ping_every - (time.time() - started)))


def _decode(value: bytes | None) -> dict | None:
    if value is None:
        return None
    try:
        meta = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return {"status": "FAILURE", "result": {"exc_type": "undecodable result record"}}
    return meta if isinstance(meta, dict) else None


def _failure_text(meta: dict) -> str:
    result = meta.get("result")
    if isinstance(result, dict):
        return f"{result.get('exc_type', 'error')}: {result.get('exc_message', '')}"[:2000]
    return f"task {meta.get('status', 'failed')}"[:2000]
