"""What stands between the network and the course: headers, body caps, rate limits, sessions.

Every request is hostile until shown otherwise:

- :class:`SecurityHeaders` puts a strict Content-Security-Policy (no inline script or style, no
  other origin, no framing) and ``nosniff`` on every answer.
- :class:`BodyLimit` refuses a request body over the cap before it is parsed or spooled to disk,
  whether or not it announces a ``Content-Length``.
- :class:`RateLimiter` caps uploads per student per minute.
- Pages sign in with a token once and then carry a signed, ``SameSite=Strict``, HTTP-only session
  cookie (Starlette's ``SessionMiddleware``); every state-changing request from a page must also
  carry the session's CSRF token. API clients send ``Authorization: Bearer TOKEN`` instead, which
  no other site can make a browser send.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections import deque

from starlette.requests import Request

from autograder.messages import msg
from autograder.server.course import Principal, authenticate

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
LANGS = ("en", "zh")


#: Answers that may be cached: the static files (the rest carry personal data, or may).
CACHEABLE_PREFIXES = ("/static/", "/feedback.css")


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer, the server's own 500 included.

    Answers that did not choose a ``Cache-Control`` get ``no-store`` (scores, feedback and
    names must not stay in a shared or back-button cache), except :data:`CACHEABLE_PREFIXES`.
    """

    def __init__(self, app, lang: str = "en"):
        self.app, self.lang = app, lang

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        defaults = list(HEADERS)
        if not scope.get("path", "").startswith(CACHEABLE_PREFIXES):
            defaults.append((b"cache-control", b"no-store"))
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in defaults if n not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's error middleware sits outside this one: its 500 would go out bare.
            # Answer here (it sees the answer started and only logs), then let it log.
            if not started:
                text = msg("server_internal_error", pick_lang(Request(scope), self.lang))
                await _json(send_with_headers, 500, {"detail": text})
            raise


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 and is never read further."""

    def __init__(self, app, limit: int, message: str = "request body too large"):
        self.app, self.limit, self.message = app, int(limit), message

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _json(send, 413, {"detail": self.message})
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if not started:
                await _json(send, 413, {"detail": self.message})


class _TooLarge(Exception):
    pass


async def _json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class RateLimiter:
    """At most ``per_minute`` events per key in any 60 s window (0 or less: no limit)."""

    def __init__(self, per_minute: int, window: float = 60.0):
        self.limit, self.window = int(per_minute), window
        self.events: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> int | None:
        """Record an event; ``None`` if allowed, else the seconds to wait (nothing recorded)."""
        if self.limit <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self.lock:
            events = self.events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(1, int(events[0] + self.window - now + 0.999))
            events.append(now)
            return None


# ---------------------------------------------------------------------------------------------
# Who is asking
# ---------------------------------------------------------------------------------------------


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def sign_in(request: Request, conn: sqlite3.Connection, token: str) -> Principal | None:
    """Check ``token`` and start a fresh session for its owner (``None``: not a course token)."""
    principal = authenticate(conn, token)
    request.session.clear()
    if principal is not None:
        request.session.update(
            {
                "role": principal.role,
                "id": principal.id,
                "tok": _token_tag(conn, principal),
                "csrf": secrets.token_urlsafe(24),
            }
        )
    return principal


def sign_out(request: Request) -> None:
    request.session.clear()


def session_principal(request: Request, conn: sqlite3.Connection) -> Principal | None:
    """The session's owner, if their token is still the one the session was opened with."""
    role, ident, tag = (request.session.get(k) for k in ("role", "id", "tok"))
    if role not in ("student", "instructor") or not isinstance(ident, str) or not tag:
        return None
    principal = Principal(role=role, id=ident)
    current = _token_tag(conn, principal)
    if current is None or not hmac.compare_digest(str(tag), current):
        return None
    return principal


def request_principal(request: Request, conn: sqlite3.Connection) -> tuple[Principal | None, bool]:
    """``(principal, by_session)`` from the bearer token, else from the session cookie."""
    token = bearer_token(request)
    if token is not None:
        return authenticate(conn, token), False
    return session_principal(request, conn), True


def csrf_token(request: Request) -> str:
    """The session's CSRF token (one is made for an anonymous session too: the sign-in form)."""
    if not request.session.get("csrf"):
        request.session["csrf"] = secrets.token_urlsafe(24)
    return request.session["csrf"]


def csrf_ok(request: Request, supplied: str | None) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and bool(supplied) and hmac.compare_digest(str(expected), str(supplied))


def pick_lang(request: Request, default: str) -> str:
    """``?lang=``, else the ``lang`` cookie, else the browser's first choice, else the course's."""
    for choice in (request.query_params.get("lang"), request.cookies.get("lang")):
        if choice in LANGS:
            return choice
    accept = request.headers.get("accept-language", "").lower()
    if accept:
        first = accept.split(",")[0].strip()
        if first.startswith("zh"):
            return "zh"
        if first.startswith("en"):
            return "en"
    return default if default in LANGS else "en"


def _token_tag(conn: sqlite3.Connection, principal: Principal) -> str | None:
    table = "students" if principal.role == "student" else "instructors"
    column = "id" if principal.role == "student" else "name"
    row = conn.execute(
        f"SELECT token_hash FROM {table} WHERE {column} = ?", (principal.id,)
    ).fetchone()
    return None if row is None else row["token_hash"][:16]
