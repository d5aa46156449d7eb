"""The course server (``bpgrade serve``): students submit, a durable queue feeds grading workers.

::

    HTTP (api.py, pages.py) ──► store.py (SQLite: students, submissions, results)
                                   │ enqueue                       ▲ complete (result + ack, one transaction)
                                   ▼                               │
                             queue.py (JobQueue: SQLiteQueue) ──► pool.py ► worker.py ► grading.grade_submission
                                                                              (separate processes; student code
                                                                               runs only in their sandboxes)

The web process never runs student code and never reads the course secret: only the grading
workers do. ``course.py`` lays out a course folder, ``policy.py`` turns deadlines and attempt rules
into the score that counts.
"""
