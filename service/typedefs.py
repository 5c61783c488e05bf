"""Typed keys for application state."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web

from service.intake import IntakeWriter
from service.privacy import EmailVault
from service.settings import Settings
from service.threads import ThreadCache

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
WRITER = web.AppKey("writer", IntakeWriter)
VAULT = web.AppKey("vault", EmailVault)
THREADS = web.AppKey("threads", ThreadCache)
TOKEN_KEY = web.AppKey("token_key", bytes)
