#!/usr/bin/env bash
# Installs and starts everything the test suites need, idempotently, on a bare polyglot machine (Debian, Node 20,
# Python 3.11): Debian's postgresql, spin and chromium, the npm packages, PostgreSQL running with the test role and database,
# and a Python venv with the adapters and the real crewai / autogen packages. Safe to run again: it only fills gaps.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -------------------------------------------------------------------------------------------
missing=()
command -v spin >/dev/null 2>&1 || missing+=(spin)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
# The browser `fenced inspect`'s page tests drive through playwright-core (test/inspect/page.test.ts).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- npm packages (better-sqlite3 compiles from source; node-gyp must not download headers) --------------------
if [ -z "${npm_config_nodedir:-}" ] && [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
if [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# --- PostgreSQL ------------------------------------------------------------------------------------------------
PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_VERSION main"; then
  as_root pg_createcluster "$PG_VERSION" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
  log "starting PostgreSQL $PG_VERSION"
  as_root pg_ctlcluster "$PG_VERSION" main start
fi
psql_admin() { as_root su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
for _ in $(seq 1 30); do psql_admin "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
[ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='fenced'")" = 1 ] ||
  psql_admin "CREATE ROLE fenced LOGIN SUPERUSER PASSWORD 'fenced'"
[ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='fenced'")" = 1 ] ||
  psql_admin "CREATE DATABASE fenced OWNER fenced"

# --- Python venv with the adapters ------------------------------------------------------------------------------
if [ -f adapters/python/pyproject.toml ]; then
  stamp=.venv/.installed-$(sha1sum adapters/python/pyproject.toml | cut -c1-12)
  if [ ! -f "$stamp" ]; then
    log "python venv: pip install adapters/python[test]"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip >&2
    .venv/bin/pip install -q -e "adapters/python[test]" >&2
    rm -f .venv/.installed-*; touch "$stamp"
  fi
fi

# --- The benchmark's Python peer (npm run bench -- --only peer, and its smoke test) ------------------------------
if [ -x .venv/bin/python ] && ! .venv/bin/python -c "import ccs" >/dev/null 2>&1; then
  log "python venv: pip install -r bench/peer/requirements.txt (agent-coherence)"
  .venv/bin/pip install -q -r bench/peer/requirements.txt >&2
fi
log "ready"
