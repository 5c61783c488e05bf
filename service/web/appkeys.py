"""Typed keys for application state."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from aiohttp import web

from service.intake import IntakeWriter
from service.metrics_registry import Metrics
from service.moderation_links import LinkSigner
from service.privacy import EmailVault
from service.settings import Settings
from service.threads import ThreadCache

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
WRITER = web.AppKey("writer", IntakeWriter)
VAULT = web.AppKey("vault", EmailVault)
THREADS = web.AppKey("threads", ThreadCache)
TOKEN_KEY = web.AppKey("token_key", bytes)
LINK_SIGNER = web.AppKey("link_signer", LinkSigner)
# Synchronous client for the rare moderation actions, which run in a thread.
SYNC_REDIS = web.AppKey("sync_redis", redis.Redis)
METRICS = web.AppKey("metrics", Metrics)
