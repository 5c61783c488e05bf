"""Alert rules and the dashboard only query metrics the service really exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import redis
import yaml

from service.core import keys
from tests.helpers import Client

HERE = Path(__file__).resolve().parent.parent / "deploy" / "observability"
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bcomments_[a-z_]+", expr))


async def test_every_queried_metric_exists(client: Client, rconn: redis.Redis) -> None:
    # Make every labelled series appear: a request, and a counter a worker's decision keeps.
    await client.post("/api/v1/comments", json={"article": "a"})
    rconn.hincrby(keys.stats(), "verdict_held", 1)
    text = await (await client.get("/metrics")).text()
    exposed = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"
    }
    exposed |= {name.removesuffix(s) for name in exposed for s in SUFFIXES if name.endswith(s)}

    rules = yaml.safe_load((HERE / "alerts.yaml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((HERE / "grafana-dashboard.json").read_text())
    exprs = [r["expr"] for r in rules] + [
        t["expr"] for p in dashboard["panels"] for t in p["targets"]
    ]
    assert len(rules) >= 5
    for expr in exprs:
        missing = metric_names(expr) - exposed
        assert not missing, (expr, missing)
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
