"""Every Redis client the service makes, from COMMENTS_REDIS_URL: one server or Sentinels.

The API (its asyncio pool and its synchronous clients), the workers, their sweep and the CLI
all connect here, so a `redis+sentinel://` URL means the same thing to every process. Behind
Sentinel a client asks the Sentinels for the current primary when it connects, and again
after a connection fails or the server it reached answers as a replica (READONLY): the
client of a killed primary fails (callers answer 503) until the Sentinels have promoted a
replica, then carries on against it without a restart.

Pools are blocking where a process has a budget of connections: a burst waits up to
`COMMENTS_REDIS_TIMEOUT` for a free connection instead of failing at once.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.utils import SENTINEL as UNSET  # redis-py's "argument not given" marker

from service.core import redis_urls
from service.core.settings import Settings


class _SentinelConnection(redis.sentinel.SentinelManagedConnection):
    """redis-py's Sentinel connection, but dropped when a read is interrupted, as a plain
    connection is. redis-py's keeps it (its `disconnect_on_error` defaults to False): after
    SIGTERM interrupts an RQ worker's BLPOP, the worker's last writes then queue behind that
    BLPOP on the server and its warm shutdown hangs for the BLPOP's timeout."""

    def read_response(
        self,
        disable_decoding: bool = False,
        *,
        timeout: float | object = UNSET,
        disconnect_on_error: bool | None = True,
        push_request: bool | None = False,
    ) -> Any:
        return super().read_response(
            disable_decoding,
            timeout=timeout,
            disconnect_on_error=disconnect_on_error,
            push_request=push_request,
        )


class _BlockingSentinelPool(redis.sentinel.SentinelConnectionPool, redis.BlockingConnectionPool):
    """Sentinel's pool (it finds the primary) with the blocking pool's connection budget."""


class _AsyncBlockingSentinelPool(
    aiosentinel.SentinelConnectionPool, aioredis.BlockingConnectionPool
):
    """The same for asyncio clients."""


def _options(settings: Settings, timeout_s: float | None) -> dict[str, Any]:
    timeout = settings.redis_timeout_s if timeout_s is None else timeout_s
    return {"socket_timeout": timeout, "socket_connect_timeout": settings.redis_timeout_s}


def _url(settings: Settings) -> str:
    assert settings.redis_url, "Settings.check requires a Redis URL outside dev"
    return settings.redis_url


def _sentinel_options(target: redis_urls.SentinelTarget, settings: Settings) -> dict[str, Any]:
    return {
        "db": target.db,
        "username": target.username,
        "password": target.password,
        # Sentinels are asked with the connect timeout only: a dead one must not stall a
        # request for longer than a connect attempt.
        "sentinel_kwargs": {
            "socket_timeout": settings.redis_timeout_s,
            "socket_connect_timeout": settings.redis_timeout_s,
        },
    }


def sync_client(
    settings: Settings,
    *,
    max_connections: int | None = None,
    timeout_s: float | None = None,
    decode_responses: bool = False,
) -> redis.Redis:
    """A synchronous client (RQ needs one). With `max_connections`, a blocking pool of that
    size; without, an unbounded one (a worker, a CLI command). `timeout_s` bounds each reply
    (default `COMMENTS_REDIS_TIMEOUT`)."""
    url = _url(settings)
    options = _options(settings, timeout_s) | {"decode_responses": decode_responses}
    pool_options: dict[str, Any] = {}
    if max_connections is not None:
        pool_options = {"max_connections": max_connections, "timeout": settings.redis_timeout_s}
    if not redis_urls.is_sentinel(url):
        pool_class: type[redis.ConnectionPool] = (
            redis.BlockingConnectionPool if pool_options else redis.ConnectionPool
        )
        return redis.Redis(connection_pool=pool_class.from_url(url, **options, **pool_options))
    target = redis_urls.parse_sentinel(url)
    extra = _sentinel_options(target, settings)
    sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=extra.pop("sentinel_kwargs")
    )
    sentinel_pool: type[redis.sentinel.SentinelConnectionPool] = (
        _BlockingSentinelPool if pool_options else redis.sentinel.SentinelConnectionPool
    )
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.service,
        redis_class=redis.Redis,
        connection_pool_class=sentinel_pool,
        connection_class=_SentinelConnection,
        **options,
        **extra,
        **pool_options,
    )
    return client


def async_client(
    settings: Settings,
    *,
    max_connections: int,
    timeout_s: float | None = None,
    decode_responses: bool = True,
    retry_stale: bool = False,
) -> aioredis.Redis:
    """An asyncio client (the API's) with a blocking pool of `max_connections`; `timeout_s`
    as for sync_client."""
    url = _url(settings)
    options = _options(settings, timeout_s) | {
        "decode_responses": decode_responses,
        "max_connections": max_connections,
        "timeout": settings.redis_timeout_s,
    }
    if retry_stale:
        # Once more on a fresh connection when a pooled one turns out dead (Redis restarted
        # while it sat idle): the command never reached the server that is there now.
        options |= {"retry": Retry(NoBackoff(), 1), "retry_on_error": [RedisConnectionError]}
    if not redis_urls.is_sentinel(url):
        return aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(url, **options)
        )
    target = redis_urls.parse_sentinel(url)
    extra = _sentinel_options(target, settings)
    sentinel = aiosentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=extra.pop("sentinel_kwargs")
    )
    client: aioredis.Redis = sentinel.master_for(
        target.service,
        redis_class=aioredis.Redis,
        connection_pool_class=_AsyncBlockingSentinelPool,
        **options,
        **extra,
    )
    return client


def close(client: redis.Redis) -> None:
    """Close a client from sync_client, and the Sentinel connections behind it."""
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    client.close()
    if isinstance(manager, redis.sentinel.Sentinel):
        manager.close()


async def aclose(client: aioredis.Redis) -> None:
    """Close a client from async_client, and the Sentinel connections behind it."""
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    await client.aclose()
    if isinstance(manager, aiosentinel.Sentinel):
        await manager.aclose()
