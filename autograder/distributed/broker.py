"""The broker URL: what is accepted, and the clear errors for what is not.

Whoever controls the broker controls the grades (a forged result is stored like a real one), so
the broker is loopback by default. A remote broker needs a password; ``rediss://`` (TLS) is
recommended for it and required for nothing else. ``--allow-remote-broker`` accepts a remote
broker without a password (a private network the operator vouches for).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("redis", "rediss")
DEFAULT_PORT = 6379
CONNECT_TIMEOUT = 3.0


class BrokerError(ValueError):
    """The broker URL is refused or the broker cannot be reached; the message says what to do."""


@dataclass(frozen=True)
class BrokerURL:
    """A checked broker URL.

    Attributes
    ----------
    url : str
        As given (it may hold a password: never print it, print :attr:`shown`).
    shown : str
        The URL with the password masked.
    host : str
    port : int
    tls : bool
    loopback : bool
    password : bool
        Whether the URL carries a password.
    """

    url: str
    shown: str
    host: str
    port: int
    tls: bool
    loopback: bool
    password: bool


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_remote: bool = False) -> BrokerURL:
    """Parse and vet ``url`` (no network access).

    Raises
    ------
    BrokerError
        Not ``redis://`` or ``rediss://``, no host, a bad port, or a non-loopback host without a
        password and without ``allow_remote``.
    """
    shown = masked(url)
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise BrokerError(f"the broker URL {shown!r} is malformed ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise BrokerError(
            f"the broker URL {shown!r} must start with redis:// (or rediss:// for TLS), "
            "for example redis://127.0.0.1:6379/0"
        )
    host = parts.hostname or ""
    if not host:
        raise BrokerError(f"the broker URL {shown!r} names no host")
    loopback = is_loopback(host)
    has_password = bool(parts.password)
    if not loopback and not has_password and not allow_remote:
        raise BrokerError(
            f"the broker {shown} is not on this machine and has no password: whoever can reach "
            "it can forge grades. Give Redis a password (requirepass) and put it in the URL, "
            "preferably with TLS (rediss://user:PASSWORD@host:6379/0), or pass "
            "--allow-remote-broker if the network is private and you accept the risk"
        )
    return BrokerURL(url, shown, host, port, parts.scheme == "rediss", loopback, has_password)


def warnings_for(broker: BrokerURL) -> list[str]:
    """What to tell the operator about an accepted broker (a password in clear over a network)."""
    if not broker.loopback and not broker.tls:
        return [
            f"the broker {broker.shown} is reached without TLS: its password and every "
            "submission travel in clear; prefer rediss://"
        ]
    return []


def ping(broker: BrokerURL, timeout: float = CONNECT_TIMEOUT) -> None:
    """Check that the broker answers.

    Raises
    ------
    BrokerError
        It cannot be reached, refuses the password, or is not Redis.
    """
    import redis

    from autograder.distributed.celery_app import ssl_options

    kwargs = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if broker.tls:
        kwargs.update(ssl_options(broker.url))
    try:
        client = redis.Redis.from_url(broker.url, **kwargs)
        try:
            client.ping()
        finally:
            client.close()
    except redis.AuthenticationError:
        raise BrokerError(f"the broker {broker.shown} refused the password in the URL") from None
    except (redis.RedisError, OSError) as exc:
        raise BrokerError(
            f"cannot reach the broker at {broker.shown} ({exc}); start redis-server there, or "
            "check the host, port and password"
        ) from None
