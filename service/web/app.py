"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import TypedDict

from aiohttp import web

from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.signing import Signer
from service.store import connections, migrations
from service.store.article_folders import ArticleFolders
from service.store.bans import BanCache
from service.store.intake import IntakeWriter, pack_in_c
from service.store.threads import ThreadCache
from service.web import openapi, pages
from service.web.appkeys import (
    ARTICLE_FOLDERS,
    BANS,
    EMBED,
    LIVE,
    METRICS,
    REDIS,
    SETTINGS,
    SIGNER,
    SYNC_REDIS,
    THREADS,
    VAULT,
    WORKSPACE_JS,
    WRITER,
)
from service.web.assets import Asset, Widget
from service.web.live import Hub
from service.web.metrics import routes as metrics_routes
from service.web.metrics_registry import Metrics
from service.web.middleware import request_stack
from service.web.routes import (
    comments,
    confirm,
    demo,
    moderation_links,
    moderator_api,
    own_comments,
    privacy,
    reports,
    stream,
    unsubscribe,
    votes,
    widget,
    workspace,
    workspace_articles,
    workspace_bans,
    workspace_commenters,
    workspace_signin,
)


def create_app(settings: Settings, *, demo_page: bool = False) -> web.Application:
    """The API; with demo_page also the demo article page at `/` (what `comments dev` serves)."""
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url")
    metrics = Metrics()
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[request_stack(settings, metrics)]
    )
    app[SETTINGS] = settings
    app[VAULT] = EmailVault(settings.secret_key)
    app[SIGNER] = Signer(settings.secret_key, settings.old_secret_keys)
    app[THREADS] = ThreadCache(settings.thread_cache_s, settings.close_after_days)
    app[METRICS] = metrics
    app[EMBED] = Widget.load()
    app[WORKSPACE_JS] = Asset.load("workspace.js")
    pages.setup(app)
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_live)  # after _redis: it subscribes with its client
    app.on_shutdown.append(_end_streams)
    areas = (
        comments,
        own_comments,
        votes,
        reports,
        stream,
        widget,
        moderator_api,
        moderation_links,
        privacy,
        unsubscribe,
        confirm,
        workspace_signin,
        workspace,
        workspace_commenters,
        workspace_articles,
        workspace_bans,
    )
    for area in areas:
        app.add_routes(area.routes)
    app.add_routes(metrics_routes)
    app.add_routes(openapi.routes)
    if demo_page:
        app.router.add_get("/", demo.article_page)
    return app


async def _live(app: web.Application) -> AsyncIterator[None]:
    hub = app[LIVE] = Hub(app[REDIS])
    task = asyncio.create_task(hub.run())
    yield
    hub.close()
    task.cancel()
    # Bounded: the loop also ends by itself within a second of close().
    await asyncio.wait([task], timeout=5)


async def _end_streams(app: web.Application) -> None:
    """Open live streams end at once (their readers reconnect elsewhere): a warm shutdown
    waits for in-flight requests, and a stream never finishes by itself."""
    if LIVE in app:
        app[LIVE].close()


def settle_heap() -> None:
    """Before serving: what start-up made lives as long as the process, out of the cyclic
    collector's sight (gc.freeze), and collections wait for 20,000 new objects instead of
    700. Requests free nearly all they make by reference counting, so under load the
    collector ran ~17 times a second for ~5% of the CPU time, and a full collection scanning
    every module's objects stalled all requests for ~150 ms (the p99). Not for processes that
    make many apps, such as the tests: a frozen app's cycles are never collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, *gc.get_threshold()[1:])


class ServerOptions(TypedDict):
    max_line_size: int
    max_field_size: int
    max_headers: int
    access_log: logging.Logger | None


def server_options(settings: Settings) -> ServerOptions:
    """web.run_app's options from settings: the header limits aiohttp's HTTP parser enforces
    per connection, and the access log. Off by default: a line per request cost more than
    half of what accepting a comment costs (wrk: 1,845 against 2,850 comments/s, 510 against
    338 µs of CPU time a request), and would keep readers' IPs in logs beyond
    COMMENTS_RETENTION_DAYS."""
    return {
        "max_line_size": settings.max_header_bytes,
        "max_field_size": settings.max_header_bytes,
        "max_headers": settings.max_headers,
        "access_log": logging.getLogger("aiohttp.access") if settings.access_log else None,
    }


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    sync = connections.sync_client(settings, max_connections=8)
    try:
        # Never serve data this release cannot read: refuse to start (store/migrations),
        # before anything runs in the background. (aiohttp cleans up nothing of a startup
        # that failed: a task started here would be cancelled, and waited for, at exit.)
        await asyncio.to_thread(migrations.require_readable, sync, "the API")
    except BaseException:
        connections.close(sync)
        raise
    reader = connections.async_client(settings, max_connections=settings.redis_max_connections)
    # The intake writer's own: RQ's job data is binary (not decoded), and a batch may wait
    # for the replicas' acknowledgement (WAIT) on top of its write.
    writer_conn = connections.async_client(
        settings,
        max_connections=2,
        timeout_s=settings.redis_timeout_s + settings.redis_replica_timeout_s,
        decode_responses=False,
        # The intake is the one client that may sit idle through a Redis restart while the
        # API answers from the other (a banned or closed check fails first, during it).
        retry_stale=True,
    )
    pack_in_c(writer_conn)
    writer = IntakeWriter(writer_conn, settings)
    await writer.start()
    app[REDIS], app[WRITER], app[SYNC_REDIS] = reader, writer, sync
    app[BANS] = BanCache(reader)
    app[ARTICLE_FOLDERS] = ArticleFolders(reader)
    yield
    await app[ARTICLE_FOLDERS].close()
    await app[BANS].close()
    await writer.close()
    await connections.aclose(writer_conn)
    connections.close(sync)
    await connections.aclose(reader)
