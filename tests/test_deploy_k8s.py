"""The Kubernetes manifests: valid against Kubernetes' own schemas, and in step with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import redis
import yaml

from service.core.settings import Settings
from service.entry.cli import build_parser
from service.queueing.queues import queue
from service.web.app import create_app

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"
VERSION = "1.33.0"


def documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


@pytest.mark.parametrize(
    "doc", [d for d in documents() if "keda.sh" not in d["apiVersion"]], ids=lambda d: d["kind"]
)
def test_manifest_is_valid_kubernetes(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_kustomization_lists_every_file() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )


def test_deployments_agree_with_the_code() -> None:
    deployments = by_kind("Deployment")
    config = by_kind("ConfigMap")["comments-config"]["data"]
    settings = Settings.from_env({f"{k}": v for k, v in config.items()})
    routes = {
        r.resource.canonical
        for r in create_app(settings.with_overrides(secret_key="x" * 40)).router.routes()
        if r.resource
    }
    parser = build_parser()
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        [container] = spec["template"]["spec"]["containers"]
        parser.parse_args(container["command"][1:])  # a valid comments invocation
        assert {"configMapRef": {"name": "comments-config"}} in container["envFrom"]
        for probe in ("readinessProbe", "livenessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["path"] in routes, name
    worker = deployments["comments-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > settings.job_timeout_s
    assert by_kind("PodDisruptionBudget")["comments-api"]["spec"]["minAvailable"] >= 1


def test_keda_watches_the_comment_queue() -> None:
    [scaled] = by_kind("ScaledObject").values()
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    never_connects = redis.Redis(port=1)  # only asked for the key name
    config = by_kind("ConfigMap")["comments-config"]["data"]
    settings = Settings.from_env(config)
    assert trigger["metadata"]["listName"] == queue(never_connects, settings).key
    assert scaled["spec"]["scaleTargetRef"]["name"] in by_kind("Deployment")


def test_redis_is_durable_and_no_secret_is_committed() -> None:
    conf = by_kind("ConfigMap")["comments-redis-config"]["data"]["redis.conf"]
    assert "appendonly yes" in conf
    assert "maxmemory-policy noeviction" in conf
    assert by_kind("StatefulSet")["comments-redis"]["spec"]["volumeClaimTemplates"]
    assert not by_kind("Secret")
    config = by_kind("ConfigMap")["comments-config"]["data"]
    assert not any("SECRET" in key or "TOKEN" in key for key in config)


def test_the_backup_job_agrees_with_the_code() -> None:
    """The scheduled backup runs a valid `comments backup` into its own volume, through a
    scratch Redis of the primary's own image (so it can load the primary's snapshot) that
    stops with the job, never two at once."""
    [cron] = by_kind("CronJob").values()
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [backup] = pod["containers"]
    args = build_parser().parse_args(backup["command"][1:])
    assert args.command == "backup"
    assert "{time}" in args.file
    assert args.keep >= 1
    assert {"configMapRef": {"name": "comments-config"}} in backup["envFrom"]
    [scratch] = pod["initContainers"]
    assert scratch["restartPolicy"] == "Always"  # a native sidecar: it ends with the job
    [primary] = by_kind("StatefulSet")["comments-redis"]["spec"]["template"]["spec"]["containers"]
    assert scratch["image"] == primary["image"]
    port = scratch["args"][scratch["args"].index("--port") + 1]
    assert args.scratch == f"redis://127.0.0.1:{port}/0"
    mounts = {m["name"]: m["mountPath"] for m in backup["volumeMounts"]}
    assert args.file.startswith(mounts["backups"] + "/")
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes["backups"]["persistentVolumeClaim"]["claimName"]
    assert claim in by_kind("PersistentVolumeClaim")
