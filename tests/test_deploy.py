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


def test_make_and_the_image_copy_every_front_end_file_the_pages_load(tmp_path: Path) -> None:
    """One script copies the npm packages' files for `make` and for the image; run, it
    gives every ``vendor/`` file a template or script names (the image once lacked
    tus-js-client, which its own copy of the list left out)."""
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "bash deploy/vendor.sh var/vendor" in makefile
    assert "deploy/vendor.sh" in dockerfile and "bash vendor.sh vendor" in dockerfile
    assert "collectstatic" in dockerfile
    assert "/healthz" in dockerfile

    subprocess.run(["bash", "deploy/vendor.sh", str(tmp_path / "vendor")], cwd=BASE_DIR, check=True)

    sources = [*BASE_DIR.glob("*/templates/**/*.html"), *BASE_DIR.glob("templates/**/*.html"),
               *BASE_DIR.glob("static/js/*.js"), *BASE_DIR.glob("*/static/js/*.js")]  # fmt: skip
    named = {
        match
        for source in sources
        for match in re.findall(r"vendor/[\w.-]+/[\w./-]+\.(?:js|mjs|css)", source.read_text())
    }
    assert {"vendor/tus-js-client/tus.min.js", "vendor/pdfjs-dist/pdf.min.mjs"} <= named
    missing = sorted(name for name in named if not (tmp_path / name).is_file())
    assert missing == []


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


# The Helm chart: the same deployment as the Kustomize base and overlays.

CHART = BASE_DIR / "deploy/helm/awaiting-death"
RELEASE = "awaiting-death"
SECRET_ENV = {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "METRICS_TOKEN"}


def render_chart(*args: str) -> list[Manifest]:
    result = subprocess.run(
        ["bash", str(BASE_DIR / "deploy/helm.sh"), "template", RELEASE, str(CHART), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def production_values() -> str:
    return str(CHART / "values-production.yaml")


def pod_specs(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {
        manifest["metadata"]["name"]: manifest["spec"]["template"]["spec"]
        for manifest in manifests
        if manifest["kind"] in {"Deployment", "Job"}
    }


def container_env(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    container = find(manifests, kind, name)["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_chart_runs_one_beat_whatever_the_values_say() -> None:
    manifests = render_chart("--set", "beat.replicas=3", "--set", "web.replicas=5")
    beat = find(manifests, "Deployment", f"{RELEASE}-beat")

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert not any(
        manifest["kind"] in {"HorizontalPodAutoscaler", "PodDisruptionBudget"}
        and manifest["metadata"]["name"].endswith("-beat")
        for manifest in manifests
    )


@pytest.mark.parametrize("values", [[], ["-f", production_values()]])
def test_chart_migrates_in_a_hook_before_install_and_upgrade(values: list[str]) -> None:
    manifests = render_chart(*values)
    job = find(manifests, "Job", f"{RELEASE}-migrate")
    annotations = job["metadata"]["annotations"]

    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [
        "migrate",
        "--noinput",
    ]


def test_chart_probes_web_on_healthz_and_pings_the_worker() -> None:
    manifests = render_chart()
    web = find(manifests, "Deployment", f"{RELEASE}-web")["spec"]["template"]["spec"]
    worker = find(manifests, "Deployment", f"{RELEASE}-worker")["spec"]["template"]["spec"]
    service = find(manifests, "Service", f"{RELEASE}-web")

    for probe in ("readinessProbe", "livenessProbe"):
        http = web["containers"][0][probe]["httpGet"]
        assert http["path"] == "/healthz"
        assert http["port"] == "http"
        assert {"name": "Host", "value": "localhost"} in http["httpHeaders"]
    assert "inspect ping" in " ".join(worker["containers"][0]["livenessProbe"]["exec"]["command"])
    assert (
        service["spec"]["selector"]
        == find(manifests, "Deployment", f"{RELEASE}-web")["spec"]["selector"]["matchLabels"]
    )


@pytest.mark.parametrize("values", [[], ["-f", production_values()]])
def test_chart_pods_run_as_the_image_user_on_a_read_only_root(values: list[str]) -> None:
    specs = pod_specs(render_chart(*values))

    assert len(specs) == 4
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["runAsGroup"] == 10001, name
        mounted_volumes = {volume["name"] for volume in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            # What the processes write: the upload spool under VAR_DIR, /tmp, and the media.
            assert {"/tmp", "/app/var/tmp"} <= set(mounts), name
            assert set(mounts.values()) <= mounted_volumes, name
    for name in (f"{RELEASE}-web", f"{RELEASE}-worker"):
        mounts = {mount["mountPath"] for mount in specs[name]["containers"][0]["volumeMounts"]}
        assert {"/srv/media", "/run/metrics"} <= mounts
    beat = specs[f"{RELEASE}-beat"]["containers"][0]
    schedule = beat["command"][beat["command"].index("--schedule") + 1]
    assert any(schedule.startswith(mount["mountPath"] + "/") for mount in beat["volumeMounts"])


def test_chart_default_values_take_the_secrets_from_the_placeholder_secret() -> None:
    manifests = render_chart()
    secret = find(manifests, "Secret", f"{RELEASE}-secrets")
    env = container_env(manifests, "Deployment", f"{RELEASE}-web")

    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
    for name in SECRET_ENV:
        reference = env[name]["secretKeyRef"]
        assert reference["name"] == secret["metadata"]["name"]
        assert reference["key"] in secret["stringData"]


def test_chart_production_values_take_every_secret_from_existing_secrets() -> None:
    manifests = render_chart("-f", production_values())
    values = yaml.safe_load((CHART / "values-production.yaml").read_text())

    assert not any(manifest["kind"] == "Secret" for manifest in manifests)
    for name, spec in pod_specs(manifests).items():
        env = {item["name"]: item for item in spec["containers"][0]["env"]}
        for secret_name in SECRET_ENV:
            reference = env[secret_name]["valueFrom"]["secretKeyRef"]
            assert reference["name"] == values["existingSecret"], name
        for key_name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            reference = env[key_name]["valueFrom"]["secretKeyRef"]
            assert reference == {"name": values["s3"]["existingSecret"], "key": key_name}, name
        assert not any(
            "value" in item and item["name"] in {*SECRET_ENV, "AWS_SECRET_ACCESS_KEY"}
            for item in env.values()
        ), name


def test_chart_secret_of_one_component_overrides_the_shared_one() -> None:
    manifests = render_chart(
        "--set", "existingSecret=shared", "--set", "postgresql.existingSecret=database"
    )
    env = container_env(manifests, "Deployment", f"{RELEASE}-worker")

    assert env["DATABASE_URL"]["secretKeyRef"]["name"] == "database"
    assert env["CELERY_BROKER_URL"]["secretKeyRef"]["name"] == "shared"
    assert not any(manifest["kind"] == "Secret" for manifest in manifests)


@pytest.mark.parametrize(
    ("overlay", "values"), [("minikube", []), ("production", ["-f", production_values()])]
)
def test_chart_sets_the_same_environment_as_the_kustomize_overlay(
    overlay: str, values: list[str]
) -> None:
    kustomize = render_overlay(overlay)
    config = find(kustomize, "ConfigMap", "awaiting-death-config")["data"]
    secret_keys = set(find(kustomize, "Secret", "awaiting-death-secrets")["data"])
    manifests = render_chart(*values)

    for name in ("web", "worker", "beat", "migrate"):
        kind = "Job" if name == "migrate" else "Deployment"
        env = container_env(manifests, kind, f"{RELEASE}-{name}")
        plain = {key: value for key, value in env.items() if isinstance(value, str)}
        from_secrets = {key for key, value in env.items() if not isinstance(value, str)}
        plain.pop("PROMETHEUS_MULTIPROC_DIR", None)
        plain.pop("AWS_S3_ADDRESSING_STYLE", None)
        assert plain == config, name
        assert from_secrets == secret_keys, name


@pytest.mark.parametrize(
    ("overlay", "values"), [("minikube", []), ("production", ["-f", production_values()])]
)
def test_chart_ingress_and_autoscalers_match_the_kustomize_overlay(
    overlay: str, values: list[str]
) -> None:
    kustomize = render_overlay(overlay)
    manifests = render_chart(*values)
    ingress = find(manifests, "Ingress", RELEASE)
    kustomize_ingress = find(kustomize, "Ingress", "awaiting-death")

    assert ingress["metadata"]["annotations"] == kustomize_ingress["metadata"]["annotations"]
    assert ingress["spec"]["rules"][0]["host"] == kustomize_ingress["spec"]["rules"][0]["host"]
    assert ingress["spec"].get("tls") == kustomize_ingress["spec"].get("tls")
    assert (
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        == (find(manifests, "Service", f"{RELEASE}-web")["metadata"]["name"])
    )
    web_hpa = find(manifests, "HorizontalPodAutoscaler", f"{RELEASE}-web")["spec"]
    kustomize_hpa = find(kustomize, "HorizontalPodAutoscaler", "awaiting-death-web")["spec"]
    if overlay == "production":
        assert web_hpa["minReplicas"] == kustomize_hpa["minReplicas"]
        assert web_hpa["maxReplicas"] == kustomize_hpa["maxReplicas"]
    assert web_hpa["metrics"] == kustomize_hpa["metrics"]
    for component in ("web", "worker"):
        hpa = find(manifests, "HorizontalPodAutoscaler", f"{RELEASE}-{component}")
        pdb = find(manifests, "PodDisruptionBudget", f"{RELEASE}-{component}")
        deployment = find(manifests, "Deployment", f"{RELEASE}-{component}")
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert (
            pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        )
        # The HPA owns the replica count: a fixed one would fight it on every upgrade.
        assert "replicas" not in deployment["spec"]


def test_chart_refuses_s3_without_a_bucket() -> None:
    result = subprocess.run(
        [
            "bash",
            str(BASE_DIR / "deploy/helm.sh"),
            "template",
            RELEASE,
            str(CHART),
            "--set",
            "s3.enabled=true",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "s3.bucket is required" in result.stderr


def test_nginx_drops_idle_upstream_connections_before_gunicorn_closes_them() -> None:
    # A request nginx sends on a connection gunicorn has just closed is reset (502).
    template = (BASE_DIR / "deploy/nginx/templates/default.conf.template").read_text()
    upstream = re.search(r"upstream awaiting_death \{\n(.*?)\n\}", template, re.S)
    assert upstream is not None
    nginx_idle = re.search(r"keepalive_timeout (\d+)s;", upstream[1])
    assert nginx_idle is not None
    gunicorn = re.search(
        r"^keepalive = (\d+)$", (BASE_DIR / "config/gunicorn.py").read_text(), re.M
    )
    assert gunicorn is not None
    assert int(nginx_idle[1]) < int(gunicorn[1])
