"""The ASGI application: :func:`create_app` wires the course, the middleware and the routes.

Run it with ``bpgrade serve DIR`` (uvicorn), or in tests with any ASGI server. The application
starts its grading backend in its lifespan and stops it on shutdown, so one process is the whole
course server; ``workers=0`` leaves grading to someone else (tests). The backend is the local
pool, or with ``broker=URL`` the dispatcher that sends jobs to ``bpgrade worker`` processes on
other machines (:class:`autograder.distributed.dispatch.CeleryBackend`); both have ``start()``,
``stop()``, ``wake()`` and ``alive()``.
"""

from __future__ import annotations

import functools
import os
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from autograder.server import db, pages
from autograder.server.api import refused_answer
from autograder.server.api import router as api_router
from autograder.server.course import load_course
from autograder.server.queue import SQLiteQueue
from autograder.server.security import BodyLimit, RateLimiter, SecurityHeaders
from autograder.server.store import Refused

SESSION_COOKIE = "bpgrade_session"
SESSION_SECONDS = 12 * 3600
#: Multipart framing around the file: the body cap is the upload cap plus this.
FORM_OVERHEAD = 64 * 1024


class ServerState:
    """What every request handler shares: the course, one database connection per thread, the
    upload rate limiter and the grading backend (``pool``: the local pool or the broker's)."""

    def __init__(self, course, workers: int, broker: str | None = None):
        self.course = course
        self.workers = workers
        self.broker = broker
        self.pool = None
        self.limiter = RateLimiter(course.server.uploads_per_minute)
        self.max_upload = int(course.server.max_upload_bytes)
        self.max_upload_text = f"{self.max_upload / 2**20:g} MiB"
        self._local = threading.local()

    def conn(self):
        if getattr(self._local, "conn", None) is None:
            self._local.conn = db.connect(self.course.db_path)
        return self._local.conn

    def queue(self) -> SQLiteQueue:
        return SQLiteQueue(self.conn())

    @functools.lru_cache(maxsize=8)  # noqa: B019 (one ServerState per app)
    def functions(self, homework: str) -> set[str]:
        """The graded function names of ``homework`` (the guarded reader picks a main file by them)."""
        from autograder.spec import load_spec

        spec_path = self.course.homeworks[homework].spec
        return {part.function for part in load_spec(spec_path).parts}

    def wake_workers(self) -> None:
        if self.pool is not None:
            self.pool.wake()

    def workers_alive(self) -> int:
        return self.pool.alive() if self.pool is not None else 0


def create_app(
    course_root: str | Path,
    *,
    workers: int | None = None,
    https_only: bool = False,
    broker: str | None = None,
    broker_options: dict | None = None,
) -> FastAPI:
    """The course server for the course folder ``course_root``.

    Parameters
    ----------
    course_root : str or Path
        Made by ``bpgrade course init``.
    workers : int, optional
        Grading processes; default ``[server] workers`` of course.toml, else the CPU count.
        ``0`` starts none.
    https_only : bool
        Mark the session cookie ``Secure`` (behind an HTTPS proxy).
    broker : str, optional
        A checked broker URL (``bpgrade serve --broker``): grade on ``bpgrade worker`` processes
        instead of a local pool (``workers`` is then unused).
    broker_options : dict, optional
        Passed to the broker backend (tests shorten its times).
    """
    course = load_course(course_root)
    if workers is None:
        workers = course.server.workers or os.cpu_count() or 1
    server = ServerState(course, workers, broker)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if server.broker is not None:
            from autograder.distributed.dispatch import CeleryBackend

            server.pool = CeleryBackend(course, server.broker, **(broker_options or {}))
            server.pool.start()
        elif server.workers > 0:
            from autograder.server.pool import LocalPool

            server.pool = LocalPool(course.root, course.db_path, server.workers)
            server.pool.start()
        try:
            yield
        finally:
            if server.pool is not None:
                server.pool.stop()

    app = FastAPI(
        title="bpgrade course server",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN: not under this CSP
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.server = server
    app.include_router(api_router)
    app.add_exception_handler(Refused, refused_answer)
    pages.install(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=course.session_key_path.read_text().strip(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="strict",
        https_only=https_only,
    )
    app.add_middleware(BodyLimit, limit=server.max_upload + FORM_OVERHEAD)
    app.add_middleware(SecurityHeaders, lang=course.lang)
    return app
