#!/usr/bin/env bash
# The pytest part of `make test`: the whole suite on the embedded default (SQLite and the
# filesystem broker), and at the same time again on PostgreSQL and Redis with a live
# worker. The second pass runs whenever those servers answer; in CI (CI=true) they must.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/python -m pytest)
PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL_TEST=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
ci=false
case "${CI:-}" in 1|true|TRUE|yes) ci=true ;; esac

servers_up() {
  .venv/bin/python - "$PG_URL" "$REDIS_URL_TEST" <<'PY'
import sys
import psycopg
import redis
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
    redis.Redis.from_url(sys.argv[2], socket_timeout=3).ping()
except Exception as exc:
    print(f"servers not reachable: {exc}")
    sys.exit(1)
PY
}

# The two passes run at the same time (much of the suite waits on the programs it starts),
# each with its own state folder; the PostgreSQL pass's output follows the SQLite pass's.
pg_pid=""
pg_log=$(mktemp)
trap 'rm -f "$pg_log"; [ -z "$pg_pid" ] || kill "$pg_pid" 2>/dev/null || true' EXIT
if servers_up; then
  pg_var="$PWD/var/pytest-postgresql"
  rm -rf "$pg_var" && mkdir -p "$pg_var/tmp"
  echo "== pytest: PostgreSQL + Redis, started alongside (its output follows)"
  DATABASE_URL="$PG_URL" CELERY_BROKER_URL="$REDIS_URL_TEST" VAR_DIR="$pg_var" \
    "${PYTEST[@]}" -m "not browser" -p no:cacheprovider "$@" >"$pg_log" 2>&1 &
  pg_pid=$!
elif $ci; then
  echo "PostgreSQL and Redis must be running in CI" >&2
  exit 1
else
  echo "== PostgreSQL/Redis not reachable: their pass is skipped (it runs in CI)"
fi

echo "== pytest: SQLite + filesystem broker, with branch coverage (floor in pyproject.toml)"
sqlite_rc=0
env -u DATABASE_URL -u CELERY_BROKER_URL -u REDIS_URL "${PYTEST[@]}" -m "not server" \
  --cov --cov-report=term "$@" || sqlite_rc=$?

pg_rc=0
if [ -n "$pg_pid" ]; then
  wait "$pg_pid" || pg_rc=$?
  pg_pid=""
  echo "== pytest: PostgreSQL + Redis (exit $pg_rc)"
  cat "$pg_log"
fi
if [ "$sqlite_rc" -ne 0 ] || [ "$pg_rc" -ne 0 ]; then
  echo "pytest failed: SQLite pass exit $sqlite_rc, PostgreSQL pass exit $pg_rc" >&2
  exit 1
fi
