"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict

import redis
import redis.asyncio as aioredis
from aiohttp import web

from service import handlers, moderation_pages, moderator_api, privacy_pages, unsubscribe
from service.cors import cors_middleware
from service.demo import article_page
from service.errors import error_middleware
from service.headers import add_security_headers
from service.intake import IntakeWriter
from service.logs import request_id_middleware
from service.metrics import metrics_handler, metrics_middleware
from service.metrics_registry import Metrics
from service.moderation_links import LinkSigner
from service.privacy import EmailVault, derive_key
from service.settings import Settings
from service.threads import ThreadCache
from service.typedefs import (
    LINK_SIGNER,
    METRICS,
    REDIS,
    SETTINGS,
    SYNC_REDIS,
    THREADS,
    TOKEN_KEY,
    VAULT,
    WRITER,
)
from service.widget import EMBED, Asset, embed_js


def create_app(settings: Settings, *, demo: bool = False) -> web.Application:
    """The API; with demo=True also the demo article page at `/` (what `comments dev` serves)."""
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url")
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        # The first is outermost: metrics see the final response the error path made.
        # CORS sits outside the error path so error answers carry its headers too.
        middlewares=[request_id_middleware, metrics_middleware, cors_middleware, error_middleware],
    )
    app[SETTINGS] = settings
    app[VAULT] = EmailVault(settings.secret_key)
    app[THREADS] = ThreadCache(settings.thread_cache_s)
    app[METRICS] = Metrics()
    app[TOKEN_KEY] = derive_key(settings.secret_key, "form-token")
    app[LINK_SIGNER] = LinkSigner(settings.secret_key, settings.old_secret_keys)
    app[EMBED] = Asset.load()
    app.cleanup_ctx.append(_redis)
    app.on_response_prepare.append(add_security_headers)
    app.router.add_post("/api/v1/comments", handlers.post_comment)
    app.router.add_get("/api/v1/comments", handlers.get_comments)
    app.router.add_get("/api/v1/form-token", handlers.form_token)
    app.router.add_get("/api/v1/counts", handlers.counts)
    app.router.add_get("/api/v1/comment-status", handlers.comment_status)
    app.router.add_get("/embed.js", embed_js)
    app.router.add_get("/embed.{digest:[0-9a-f]{12}}.js", embed_js)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/api/v1/moderation/queue", moderator_api.queue)
    app.router.add_get("/api/v1/moderation/decisions", moderator_api.decisions)
    app.router.add_post("/api/v1/moderation/actions", moderator_api.act)
    app.router.add_patch("/api/v1/moderation/comments/{comment_id}", moderator_api.edit)
    app.router.add_post("/api/v1/privacy/requests", privacy_pages.request_link)
    app.router.add_get("/privacy/{token}", privacy_pages.show)
    app.router.add_post("/privacy/{token}/export", privacy_pages.export)
    app.router.add_post("/privacy/{token}/erase", privacy_pages.erase)
    app.router.add_get("/unsubscribe/{token}", unsubscribe.confirm)
    app.router.add_post("/unsubscribe/{token}", unsubscribe.unsubscribe)
    app.router.add_get("/moderate/{token}", moderation_pages.confirm)
    app.router.add_post("/moderate/{token}", moderation_pages.act)
    if demo:
        app.router.add_get("/", article_page)
    return app


class ServerLimits(TypedDict):
    max_line_size: int
    max_field_size: int
    max_headers: int


def server_limits(settings: Settings) -> ServerLimits:
    """Header limits for web.run_app: aiohttp's HTTP parser enforces them per connection."""
    return {
        "max_line_size": settings.max_header_bytes,
        "max_field_size": settings.max_header_bytes,
        "max_headers": settings.max_headers,
    }


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.redis_url
    common = {
        "socket_timeout": settings.redis_timeout_s,
        "socket_connect_timeout": settings.redis_timeout_s,
        # A burst beyond the pool waits for a free connection instead of failing at once.
        "timeout": settings.redis_timeout_s,
    }
    reader = aioredis.Redis(
        connection_pool=aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            decode_responses=True,
            **common,
        )
    )
    # RQ needs a synchronous client without decode_responses; the writer's thread owns it.
    writer_conn = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=2, **common
        )
    )
    writer = IntakeWriter(writer_conn, settings)
    await writer.start()
    sync = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=8, **common
        )
    )
    app[REDIS], app[WRITER], app[SYNC_REDIS] = reader, writer, sync
    yield
    await writer.close()
    writer_conn.close()
    sync.close()
    await reader.aclose()
