"""Deployment files: the Kubernetes manifests against the Kubernetes schema (offline, the
schemas ship with kubernetes-validate), and the compose file's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schema(path: Path) -> None:
    for doc in documents(path):
        # strict: a misspelt field (unknown property) fails too
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_does_catch_a_wrong_manifest() -> None:
    deployment = documents(K8S / "deployment.yaml")[0]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["replicas"] = 2
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_kind_the_deployment_needs_is_there() -> None:
    kinds = {doc["kind"] for path in MANIFESTS for doc in documents(path)}
    assert {
        "Deployment",
        "Service",
        "Secret",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "Job",
    } <= kinds
    listed = set(documents(K8S / "kustomization.yaml")[0]["resources"])
    assert listed <= {p.name for p in MANIFESTS}


def test_pods_are_probed_on_the_health_endpoints_and_run_unprivileged() -> None:
    deployment = documents(K8S / "deployment.yaml")[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    hpa = documents(K8S / "hpa.yaml")[0]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    config = documents(K8S / "configmap.yaml")[0]["data"]
    assert config["AUTO_MIGRATE"] == "false", "the migrate Job migrates, not each pod"


def test_compose_runs_two_instances_behind_a_proxy_on_shared_storage() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "minio", "proxy", "migrate"} <= services.keys()
    instances = [name for name, s in services.items() if s.get("command") == ["run"]]
    assert len(instances) >= 2
    caddyfile = (ROOT / "deploy" / "compose" / "Caddyfile").read_text()
    for name in instances:
        service = services[name]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis")
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert service["environment"]["AUTO_MIGRATE"] == "false"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert f"{name}:8080" in caddyfile
    assert "health_uri /readyz" in caddyfile


def test_dockerfile_is_multi_stage_and_runs_unprivileged() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert 'ENTRYPOINT ["bozor"]' in lines and 'CMD ["run"]' in lines
