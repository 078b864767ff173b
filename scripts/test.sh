#!/usr/bin/env bash
# Runs every suite — typecheck, vitest (TypeScript, LangGraph, adapters, real processes, PostgreSQL, the documentation's
# code blocks, and the packed and git-installed package in a fresh project: test/package), pytest (Python client,
# CrewAI, AutoGen), and the spin specs with their mutants — and ends with one line: `N passed, N failed`.
# Nothing is skipped: a skipped test counts as failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

export FENCED_PG_URL="${FENCED_PG_URL:-postgres://fenced:fenced@127.0.0.1:5432/fenced}"
out=$(mktemp -d)
passed=0
failed=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); printf '== %s: %s passed, %s failed\n' "$3" "$1" "$2"; }

# Typecheck (sources, tests, benchmarks, examples), then the published build and each export of package.json.
if npx tsc -p tsconfig.json --noEmit; then add 1 0 typecheck; else add 0 1 typecheck; fi
# Format and lint: Biome over the TypeScript, ruff over the Python adapters (scripts/lint.sh).
if bash scripts/lint.sh; then add 1 0 "format and lint"; else add 0 1 "format and lint"; fi
if npm run -s build && node scripts/check-exports.mjs; then add 1 0 "build and exports"; else add 0 1 "build and exports"; fi

# vitest: counts from its JSON report (skipped and todo count as failed: CI skips nothing).
vitest_counts() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const broken = r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + r.numPendingTests + r.numTodoTests + broken);' "$1"
}
npx vitest run --reporter=default --reporter=json --outputFile="$out/vitest.json"
if [ -f "$out/vitest.json" ]; then
  read -r p f < <(vitest_counts "$out/vitest.json")
  add "$p" "$f" vitest
else
  add 0 1 "vitest (no report)"
fi

# The LangGraph suites again at both ends of the supported LangGraph versions (package.json's peer ranges).
for end in low high; do
  bash scripts/langgraph-matrix.sh "$end" -- --reporter=default --reporter=json --outputFile="$out/matrix-$end.json"
  if [ -f "$out/matrix-$end.json" ]; then
    read -r p f < <(vitest_counts "$out/matrix-$end.json")
    add "$p" "$f" "vitest, LangGraph $end end"
  else
    add 0 1 "LangGraph $end end (no report)"
  fi
done

# pytest: counts from its JUnit report.
if [ -d adapters/python/tests ]; then
  (cd adapters/python && "$root/.venv/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$out/pytest.xml" tests)
  if [ -f "$out/pytest.xml" ]; then
    read -r p f < <(python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) + int(s.get("skipped", 0)) for s in suites)
print(t - bad, bad)' "$out/pytest.xml")
    add "$p" "$f" pytest
  else
    add 0 1 "pytest (no report)"
  fi
fi

# spin specs and mutants.
if [ -f specs/run.sh ]; then
  bash specs/run.sh | tee "$out/specs.txt"
  line=$(grep -E '^specs: [0-9]+ passed, [0-9]+ failed$' "$out/specs.txt" | tail -1)
  if [ -n "$line" ]; then
    add "$(sed -E 's/^specs: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")" specs
  else
    add 0 1 "specs (no summary)"
  fi
fi

rm -rf "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
