"""The deployment files: what the validators of `make validate` cannot see (how the
services fit together), and proof that those validators do reject broken files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = BASE_DIR / ".venv/bin"
APP_SERVICES = ("web", "worker", "beat")
Manifest = dict[str, Any]


def load_compose() -> dict[str, Any]:
    return yaml.safe_load((BASE_DIR / "compose.yaml").read_text())


def render_overlay(name: str) -> list[Manifest]:
    result = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(BASE_DIR / "k8s/overlays" / name)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    for manifest in manifests:
        if manifest["kind"] == kind and manifest["metadata"]["name"].startswith(name):
            return manifest
    raise AssertionError(f"no {kind} {name}")


def instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (BASE_DIR / dockerfile).read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [" ".join(part.split()) for part in "\n".join(lines).replace("\\\n", " ").split("\n")]


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.worker"])
def test_images_are_slim_python_from_the_lock_run_by_a_user_with_a_healthcheck(
    dockerfile: str,
) -> None:
    lines = instructions(dockerfile)
    stages = [line for line in lines if line.startswith("FROM ")]
    users = [line for line in lines if line.startswith("USER ")]

    assert len(stages) >= 2
    assert stages[-1].startswith("FROM python:3.12-slim AS ")
    assert any("uv sync --frozen --no-dev" in line for line in lines)
    assert users
    assert users[-1] == "USER 10001:10001"
    assert any(line.startswith("HEALTHCHECK ") for line in lines)


def test_web_image_collects_static_files_and_copies_the_files_the_makefile_copies() -> None:
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    makefile = (BASE_DIR / "Makefile").read_text()
    copy_lines = [line for line in makefile.splitlines() if line.strip().startswith("cp ")]
    copied_by_make = {path for line in copy_lines for path in re.findall(r"node_modules/\S+", line)}

    assert copied_by_make
    assert copied_by_make <= set(re.findall(r"node_modules/\S+", dockerfile))
    assert "collectstatic" in dockerfile
    assert "/healthz" in dockerfile


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_images() -> None:
    ignored = (BASE_DIR / ".dockerignore").read_text().split()

    for entry in (".git", ".venv", "node_modules", "var", ".env", ".tools"):
        assert entry in ignored


def test_compose_services_wait_for_the_migration_and_healthy_servers() -> None:
    services = load_compose()["services"]

    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("nginx", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"]


def test_compose_references_only_declared_services_volumes_and_files() -> None:
    compose = load_compose()
    services = compose["services"]

    for service in services.values():
        assert set(service.get("depends_on", {})) <= set(services)
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (BASE_DIR / source).exists(), source
            else:
                assert source in compose["volumes"], source
        build = service.get("build")
        if build:
            assert (BASE_DIR / build["dockerfile"]).exists()


def test_compose_downloads_go_through_nginx_from_the_shared_media_volume() -> None:
    services = load_compose()["services"]
    nginx = services["nginx"]
    web = services["web"]

    assert web["environment"]["DOWNLOAD_ACCEL"] == "nginx"
    assert nginx["environment"]["MEDIA_ROOT"] == web["environment"]["MEDIA_ROOT"]
    assert f"media:{web['environment']['MEDIA_ROOT']}:ro" in nginx["volumes"]
    assert f"media:{web['environment']['MEDIA_ROOT']}" in web["volumes"]
    assert nginx["environment"]["APP_UPSTREAM"] == "web:8000"


@pytest.mark.parametrize("overlay", ["minikube", "production"])
def test_every_overlay_has_web_with_probes_and_hpa_one_beat_workers_and_migration(
    overlay: str,
) -> None:
    manifests = render_overlay(overlay)
    web = find(manifests, "Deployment", "awaiting-death-web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    beat = find(manifests, "Deployment", "awaiting-death-beat")
    hpa = find(manifests, "HorizontalPodAutoscaler", "awaiting-death-web")

    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "awaiting-death-web"
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert find(manifests, "Deployment", "awaiting-death-worker")
    assert find(manifests, "Job", "awaiting-death-migrate")
    for kind in ("Service", "Ingress", "ConfigMap", "Secret", "PersistentVolumeClaim"):
        assert any(manifest["kind"] == kind for manifest in manifests), kind


def test_minikube_runs_postgres_and_redis_in_the_cluster() -> None:
    manifests = render_overlay("minikube")

    assert find(manifests, "StatefulSet", "postgres")
    assert find(manifests, "Deployment", "redis")
    assert find(manifests, "Service", "postgres")
    assert find(manifests, "Service", "redis")


def test_production_uses_external_servers_s3_and_more_replicas() -> None:
    manifests = render_overlay("production")
    config = find(manifests, "ConfigMap", "awaiting-death-config")["data"]
    kinds = {manifest["kind"] for manifest in manifests}

    assert config["STORAGE_BACKEND"] == "s3"
    assert "StatefulSet" not in kinds
    assert find(manifests, "Deployment", "awaiting-death-web")["spec"]["replicas"] > 2
    assert find(manifests, "Deployment", "awaiting-death-worker")["spec"]["replicas"] > 2


def test_hadolint_rejects_a_dockerfile_with_problems(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python\nRUN cd /app && pip install django\nCMD python app.py\n")

    result = subprocess.run(
        [str(BIN / "hadolint"), str(dockerfile)], capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert "DL3006" in result.stdout


def test_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {ports: [{port: 80}], replicaz: 2}\n"
    )

    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "--quiet", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
