#!/usr/bin/env bash
# Format and lint checks: Biome for TypeScript/JavaScript (biome.json), ruff for the Python adapters
# (adapters/python/pyproject.toml). `bash scripts/lint.sh --fix` rewrites instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fix" ]; then
  npx biome check --write .
  (cd adapters/python && ../../.venv/bin/ruff format . && ../../.venv/bin/ruff check --fix .)
else
  npx biome ci --colors=off .
  (cd adapters/python && ../../.venv/bin/ruff format --check . && ../../.venv/bin/ruff check --no-cache .)
fi
