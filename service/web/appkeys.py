"""Typed keys for application state."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from aiohttp import web

from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.signing import Signer
from service.store.article_folders import ArticleFolders
from service.store.bans import BanCache
from service.store.intake import IntakeWriter
from service.store.threads import ThreadCache
from service.web.assets import Asset, Widget
from service.web.live import Hub
from service.web.metrics_registry import Metrics

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
WRITER = web.AppKey("writer", IntakeWriter)
VAULT = web.AppKey("vault", EmailVault)
THREADS = web.AppKey("threads", ThreadCache)
SIGNER = web.AppKey("signer", Signer)
# Synchronous client for the rare moderation actions, which run in a thread.
SYNC_REDIS = web.AppKey("sync_redis", redis.Redis)
METRICS = web.AppKey("metrics", Metrics)
EMBED = web.AppKey("embed", Widget)
WORKSPACE_JS = web.AppKey("workspace_js", Asset)
# The process's one subscription to live events and its readers' streams.
LIVE = web.AppKey("live", Hub)
# The process's copy of the bans by IP range and website domain.
BANS = web.AppKey("bans", BanCache)
# Whether queues filtered by article may read each article's own folders yet.
ARTICLE_FOLDERS = web.AppKey("article_folders", ArticleFolders)
