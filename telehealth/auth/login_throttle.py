"""Sign-in throttling: growing waits, then a lockout, per account and per client address.

Failures are counted in moving windows (the `limits` package): memory in one process, or
Redis (`TELEHEALTH_REDIS_URL`) so every server process sees the same counts. Each account
has tiers that grow: with the default lockout of 10 failures in 15 minutes, 3 failures in a
minute mean waiting out that minute, 6 in 5 minutes the five, and the tenth locks the
account for the rest of its 15 minutes. An address has its own, wider tiers, so one client
cannot try many accounts. A sign-in succeeds only when no tier is full, whatever the
password, and clears its account's count (the lockout is for consecutive failures).

Keys are bounded: an email or address is reduced by an HMAC (keyed with the server secret,
so nobody can aim collisions at an account) to one of `BUCKETS` values. Unknown emails are
counted like real ones, so throttling does not tell which accounts exist.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from telehealth.settings import Settings

# Per kind (accounts, addresses). Worst case, every bucket of every tier full: about a
# million moving-window entries, some 150 MB; in practice the address tiers keep it far lower.
BUCKETS = 16_384
REDIS_TIMEOUT_S = 2.0
KEY_PREFIX = "telehealth-login"


class ThrottleUnavailable(Exception):
    """The shared counter store (Redis) did not answer: sign-in is refused, not unguarded."""


@dataclass(frozen=True, slots=True)
class Tier:
    failures: int
    minutes: int

    @property
    def item(self) -> RateLimitItemPerMinute:
        return RateLimitItemPerMinute(self.failures, self.minutes)


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failure started: a lockout of the account, of the address, or neither."""

    account_locked: bool
    address_locked: bool


def account_tiers(failures: int, minutes: int) -> tuple[Tier, ...]:
    """Growing waits before the lockout (the last tier)."""
    first = Tier(max(2, failures // 3), 1)
    second = Tier(max(first.failures + 1, (2 * failures) // 3), min(5, minutes))
    tiers = (first, second, Tier(failures, minutes))
    # A short lockout window may leave earlier tiers that are no shorter: keep growing ones.
    return tuple(t for t in tiers[:-1] if t.minutes < minutes) + tiers[-1:]


def address_tiers(failures: int, minutes: int) -> tuple[Tier, ...]:
    return (Tier(max(3, failures // 3), 1), Tier(failures, minutes))


def address_prefix(address: str) -> str:
    """An IPv6 client usually owns a whole /64: count it as one address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        secret: str,
        *,
        account: tuple[Tier, ...],
        address: tuple[Tier, ...],
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._secret = secret.encode("utf-8")
        self._account = account
        self._address = address

    def _bucket(self, kind: str, value: str) -> str:
        digest = hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).digest()
        return f"{kind}{int.from_bytes(digest[:4], 'big') % BUCKETS}"

    def _keys(self, email: str, address: str) -> list[tuple[Tier, str]]:
        account = self._bucket("a", email.strip().lower())
        client = self._bucket("c", address_prefix(address))
        return [(t, account) for t in self._account] + [(t, client) for t in self._address]

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds to wait before this sign-in may be tried, or None if it may be now."""
        wait = 0.0
        try:
            for tier, key in self._keys(email, address):
                if not await self._limiter.test(tier.item, key):
                    stats = await self._limiter.get_window_stats(tier.item, key)
                    wait = max(wait, stats.reset_time - time.time())
        except StorageError as error:
            raise ThrottleUnavailable("the sign-in counters are unavailable") from error
        return max(1, math.ceil(wait)) if wait > 0 else None

    async def failed(self, email: str, address: str) -> Failure:
        """Count a failure; says whether it just locked the account or the address."""
        keys = self._keys(email, address)
        try:
            for tier, key in keys:
                await self._limiter.hit(tier.item, key)
            account_tier, account_key = keys[len(self._account) - 1]
            address_tier, address_key = keys[-1]
            account_left = await self._limiter.get_window_stats(account_tier.item, account_key)
            address_left = await self._limiter.get_window_stats(address_tier.item, address_key)
        except StorageError as error:
            raise ThrottleUnavailable("the sign-in counters are unavailable") from error
        return Failure(account_left.remaining <= 0, address_left.remaining <= 0)

    async def succeeded(self, email: str) -> None:
        """A right password ends the run of failures of its account."""
        account = self._bucket("a", email.strip().lower())
        try:
            for tier in self._account:
                await self._limiter.clear(tier.item, account)
        except StorageError as error:
            raise ThrottleUnavailable("the sign-in counters are unavailable") from error


@asynccontextmanager
async def open_login_throttle(settings: Settings, secret: str) -> AsyncIterator[LoginThrottle]:
    """The throttle over memory, or over the configured Redis; closed on exit."""
    tiers = {
        "account": account_tiers(settings.login_lockout_failures, settings.login_lockout_minutes),
        "address": address_tiers(settings.login_address_failures, settings.login_lockout_minutes),
    }
    url = settings.redis_url
    if url is None or url.startswith("memory://"):
        memory = MemoryStorage(wrap_exceptions=True)
        try:
            yield LoginThrottle(memory, secret, **tiers)
        finally:
            if memory.timer is not None:  # its expiry sweep, if one is running
                memory.timer.cancel()
        return
    from redis.asyncio import ConnectionPool

    pool = ConnectionPool.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
    storage = RedisStorage(
        f"async+{url}",
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=KEY_PREFIX,
        # limits types its options as scalars but hands them to redis.asyncio.Redis as is.
        connection_pool=pool,  # type: ignore[arg-type]
    )
    try:
        yield LoginThrottle(storage, secret, **tiers)
    finally:
        await pool.disconnect()
