#!/usr/bin/env bash
# Runs the LangGraph suites (test/langgraph) against both ends of the LangGraph versions fenced-state supports, read
# from package.json's peerDependencies: "low" installs each range's lower bound exactly, "high" the newest version in
# the range. The main vitest run covers the versions in package-lock.json.
#
#   bash scripts/langgraph-matrix.sh            # low, then high
#   bash scripts/langgraph-matrix.sh low -- --reporter=json --outputFile=/tmp/low.json
#
# Each end is installed into .matrix/<end>/node_modules (only the @langchain packages below; the rest comes from the
# repository's node_modules) and runs with scripts/langgraph-matrix.vitest.mts. Exits non-zero if any end fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PACKAGES=(@langchain/langgraph @langchain/langgraph-checkpoint @langchain/core)

ends=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do ends+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#ends[@]} -eq 0 ] && ends=(low high)

range() { node -p "require('./package.json').peerDependencies['$1']"; }
lower() { node -p "(require('./package.json').peerDependencies['$1'].match(/>=\\s*([0-9][^\\s]*)/) || [])[1] || ''"; }

status=0
for end in "${ends[@]}"; do
  specs=()
  for p in "${PACKAGES[@]}"; do
    case "$end" in
      low) v=$(lower "$p"); [ -n "$v" ] || { echo "no lower bound (>=) in the peer range of $p"; exit 2; }; specs+=("$p@$v") ;;
      high) specs+=("$p@$(range "$p")") ;;
      *) echo "unknown end: $end (low or high)"; exit 2 ;;
    esac
  done
  dir=".matrix/$end"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{ "name": "fenced-state-langgraph-matrix", "private": true }' >"$dir/package.json"
  echo "== LangGraph matrix ($end): ${specs[*]}"
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --strict-peer-deps "${specs[@]}" >/dev/null)
  # One copy of each: two copies of @langchain/core or the checkpoint package would make instanceof checks lie.
  for p in "${PACKAGES[@]}"; do
    copies=$(find "$dir/node_modules" -path "*/$p/package.json" | wc -l)
    [ "$copies" -eq 1 ] || { echo "$dir has $copies copies of $p"; exit 2; }
  done
  for p in "${PACKAGES[@]}"; do printf '   %s %s\n' "$p" "$(node -p "require('./$dir/node_modules/$p/package.json').version")"; done
  for link in src test examples; do ln -sfn "$root/$link" "$dir/$link"; done
  npx vitest run --root "$dir" --config "$root/scripts/langgraph-matrix.vitest.mts" "$@" || status=1
done
exit $status
