"""The deployment files stay valid and keep the durability settings (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.entry.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_services_and_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "api", "worker", "mailpit"} <= set(services)
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        env = services[name]["environment"]
        assert env["COMMENTS_MODE"] == "production"
        assert env["COMMENTS_REDIS_URL"].startswith("redis://redis:")
        # No working default secret: compose fails loudly when it is unset.
        assert ":?" in env["COMMENTS_SECRET_KEY"]
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"
    assert "readyz" in " ".join(services["api"]["healthcheck"]["test"])


def test_worker_is_scalable(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "ports" not in worker
    assert "container_name" not in worker
    grace = int(worker["stop_grace_period"].rstrip("s"))
    assert grace > 60  # above the default job timeout: scale-in is a warm shutdown


def test_commands_are_valid_cli_invocations(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in ("api", "worker"):
        command = compose["services"][name]["command"]
        assert command[0] == "comments"
        parser.parse_args(command[1:])  # exits (fails the test) on an unknown option
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'CMD ["comments", "api", "--port", "8080"]' in dockerfile


def test_redis_is_durable_and_never_evicts(compose: dict[str, Any]) -> None:
    conf = dict(
        line.split(None, 1)
        for line in (ROOT / "deploy" / "redis.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert conf["appendonly"] == "yes"
    assert conf["appendfsync"] in ("everysec", "always")
    assert conf["maxmemory-policy"] == "noeviction"
    mounts = compose["services"]["redis"]["volumes"]
    assert any(m.startswith("./deploy/redis.conf:") for m in mounts)
    assert "redis.conf" in " ".join(compose["services"]["redis"]["command"])
