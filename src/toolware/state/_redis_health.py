"""Checking Redis URLs, and tracking whether Redis answers (the fallback's state machine).

:class:`Health` decides, per operation and without I/O, whether to try Redis at all. After a
failure the store is *degraded*: operations answer from local state and Redis is tried again
by one operation at most every ``reconnect_interval`` seconds (doubling up to
``max_reconnect_interval``), so a dead Redis costs one ``op_timeout`` per interval, not one
per call. Times are the callers' ``now`` readings (their monotonic clock).
"""

from __future__ import annotations

import logging
from urllib.parse import SplitResult, urlsplit

__all__ = ["Health", "check_url", "mask_url"]

logger = logging.getLogger("toolware.state.redis")

_SCHEMES = ("redis", "rediss", "unix")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def check_url(url: object) -> str:
    """``url`` if it is a Redis URL redis-py can use, else ValueError naming the problem."""
    if not isinstance(url, str):
        raise TypeError(
            f"RedisState url must be a str such as 'redis://localhost:6379/0', "
            f"got {type(url).__name__}"
        )
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        raise ValueError(f"RedisState url {shown!r} is not a valid URL: {exc}") from None
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"RedisState url {shown!r} must start with redis://, rediss:// or unix:// "
            f"(e.g. 'redis://localhost:6379/0'), got scheme {parts.scheme!r}"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(
                f"RedisState url {shown!r} needs a socket path, e.g. 'unix:///run/redis.sock'"
            )
        return url
    _check_host(parts, shown, port)
    return url


def _check_host(parts: SplitResult, shown: str, port: int | None) -> None:
    if not parts.hostname:
        raise ValueError(f"RedisState url {shown!r} names no host, e.g. 'redis://localhost:6379/0'")
    if port == 0:
        raise ValueError(f"RedisState url {shown!r} has port 0; use a port in 1..65535")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ValueError(f"RedisState url {shown!r} has database {db!r}; use a number, e.g. '/0'")


class Health:
    """Whether Redis is believed up, when to try it again, and what went wrong."""

    __slots__ = (
        "backoff",
        "degraded",
        "errors",
        "fallbacks",
        "last_error",
        "max_interval",
        "min_interval",
        "retry_at",
        "secret",
    )

    def __init__(self, min_interval: float, max_interval: float, secret: str | None) -> None:
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.secret = secret
        self.backoff = min_interval
        self.degraded = False
        self.retry_at = 0.0
        self.fallbacks = 0
        self.errors = 0
        self.last_error: str | None = None

    def should_try(self, now: float) -> bool:
        """Whether this operation goes to Redis. While degraded, the first operation at or after
        ``retry_at`` is the one trial, and pushes ``retry_at`` on so concurrent ones do not
        pile onto a Redis that may still be dead."""
        if not self.degraded:
            return True
        if now >= self.retry_at:
            self.retry_at = now + self.backoff
            return True
        return False

    def failed(self, exc: BaseException, now: float) -> None:
        """Redis did not answer (or answered garbage): go (or stay) degraded."""
        self.errors += 1
        self.last_error = self.describe(exc)
        if self.degraded:
            self.backoff = min(self.backoff * 2, self.max_interval)
        else:
            self.degraded = True
            self.fallbacks += 1
            self.backoff = self.min_interval
            logger.warning(
                "redis.unavailable error=%s retry_in=%s",
                self.last_error,
                self.backoff,
                extra={"error": self.last_error, "retry_in": self.backoff},
            )
        self.retry_at = now + self.backoff

    def succeeded(self) -> None:
        """Redis answered: leave the degraded state if in it."""
        if self.degraded:
            self.degraded = False  # the backoff starts again at min_interval in failed()
            logger.info(
                "redis.recovered fallbacks=%s errors=%s",
                self.fallbacks,
                self.errors,
                extra={"fallbacks": self.fallbacks, "errors": self.errors},
            )

    def bad_value(self, key: str, detail: str) -> None:
        """A key held a value that is not ours (repaired by the script): counted and logged."""
        self.errors += 1
        self.last_error = f"bad value under {key!r}: {detail}"
        logger.warning("redis.bad_value key=%s detail=%s", key, detail, extra={"key": key})

    def describe(self, exc: BaseException) -> str:
        """The exception's type and text, short, with the password (if any) masked."""
        text = str(exc)
        if self.secret:  # masked before cutting, so no piece of it survives at the cut
            text = text.replace(self.secret, "***")
        text = text[:160]
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
