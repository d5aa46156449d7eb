"""Grading on many machines: Celery on a Redis broker (``bpgrade worker``, ``--broker``).

::

    bpgrade serve DIR --broker URL ─┐                                   ┌─► bpgrade worker (machine 1)
                                    ├─► Redis: bpgrade.live ────────────┤      prefork, one zygote
    bpgrade grade-all … --broker ───┘          bpgrade.regrade ─────────┴─► bpgrade worker (machine 2)
           ▲                                                                   │
           └──────────── results (JSON, keyed by task id) ◄────────────────────┘

The course database stays the record (:mod:`autograder.server.queue`): the server claims a job,
sends it as a task, and stores the result that comes back with ``SQLiteQueue.complete`` (result
upsert + acknowledgement in one transaction). Celery delivers at least once (``acks_late``,
``reject_on_worker_lost``); every duplicate is harmless because results are keyed by what
determines them. A worker that dies is noticed by the sender (:mod:`.tracker`: it stops answering
pings) and its job is sent again within seconds; Redis's own visibility timeout is the backstop.

Only JSON crosses the broker, never pickle; the course secret never does (each worker reads its
own 0600 file). See ``docs/deployment.md`` and DESIGN.md "Contract: distributed grading".
"""
