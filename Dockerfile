# syntax=docker/dockerfile:1
# The web image: gunicorn serving Django (config/gunicorn.py). Dockerfile.worker builds the
# Celery image the same way. Build from the repository root: `make build`.

# Front-end packages from npm: the same files `make` copies into var/vendor.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json deploy/vendor.sh ./
RUN npm ci --no-audit --no-fund --loglevel=error && bash vendor.sh vendor

# Python packages from uv.lock into /app/.venv, then the code, translations and static files.
FROM python:3.12-slim AS build
# gettext compiles the translations; the release is pinned by the base image tag.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
COPY --from=assets /src/vendor var/vendor
# A throwaway key: collectstatic and compilemessages need settings, not a secret, and
# no key may stay in the image.
RUN if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
        SECRET_KEY=build-only DJANGO_ENV=production .venv/bin/python manage.py compilemessages \
            --ignore=.venv -v0; \
    fi \
    && SECRET_KEY=build-only DJANGO_ENV=production .venv/bin/python manage.py collectstatic \
        --noinput -v0 \
    && rm -rf var/tmp var/media var/broker var/secret_key

# The suite with its dev tools, for `make compose-test` (not part of the released image).
FROM build AS test
RUN uv sync --frozen
ENV PATH=/app/.venv/bin:$PATH \
    DJANGO_ENV=test
CMD ["python", "-m", "pytest", "-m", "not browser", "-q"]

# What runs: no compiler, no uv, no npm; a user without a login and without root.
FROM python:3.12-slim AS web
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=production \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/srv/media \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /srv/media \
    && chown app:app /srv/media
WORKDIR /app
COPY --from=build --chown=app:app /app /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
