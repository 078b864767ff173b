#!/usr/bin/env bash
# Model-checks every spec in specs/*.pml with spin, exhaustively, and every mutant and witness built from them.
#
#   spec     must verify: "errors: 0", a complete search (depth limit never hit) and no unreachable statement other than
#            a process's end or a line marked `unreached-ok` (a spec whose conflict branch can never run proves nothing).
#   mutant   a deliberately broken variant (-DMUTANT_...): spin must find an assertion violation, and it must be one of
#            the invariants that bug breaks (not a deadlock or an unrelated assertion).
#   witness  a scenario the spec claims to cover (-DWITNESS_...), written as `assert(!scenario)`: spin must reach it,
#            which shows the model is not vacuous there.
# One line per model: name, kind, result, states stored, depth reached, search seconds (pan), total seconds (spin +
# gcc + pan). The last line is `specs: N passed, N failed`; the exit status is 1 if anything failed.
#
# Usage: bash specs/run.sh [--json FILE] [-j JOBS] [--only REGEX]
# Needs spin (Debian package `spin`) and gcc. Builds in a temporary directory; writes nothing into the repository.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
json=""
jobs="$(nproc 2>/dev/null || echo 2)"
if [ "$jobs" -gt 4 ]; then jobs=4; fi
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --json) json="${2:?--json needs a file}"; shift 2 ;;
    -j) jobs="${2:?-j needs a number}"; shift 2 ;;
    --only) only="${2:?--only needs a regex}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$json" ] && case "$json" in /*) ;; *) json="$PWD/$json" ;; esac

for tool in spin gcc; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install spin gcc)"; echo "specs: 0 passed, 1 failed"; exit 1; }
done

# name | kind | model | defines | for mutants and witnesses, the invariants it may violate: `label ~ ERE` on the
# violated assertion as spin prints it, alternatives separated by ` ;; `. A mutant killed by any other assertion fails.
MODELS=(
  "g1_single_winner|spec|g1_single_winner.pml||"
  "g1/no_version_check|mutant|g1_single_winner.pml|-DMUTANT_NO_VERSION_CHECK|single winner ~ wins\[.*<=1 ;; no lost update ~ val\[k\]==acked\[k\]"
  "g1/nonatomic_cas|mutant|g1_single_winner.pml|-DMUTANT_NONATOMIC_CAS|single winner ~ wins\[.*<=1 ;; no lost update ~ val\[k\]==acked\[k\]"
  "g1/stale_retry|mutant|g1_single_winner.pml|-DMUTANT_STALE_RETRY|no lost update ~ val\[k\]==acked\[k\]"
  "g1/retry_wins|witness|g1_single_winner.pml|-DWITNESS_RETRY_WINS|a writer wins after a conflict and a re-read ~ tries==0"

  "g2_fencing|spec|g2_fencing.pml||"
  "g2/no_epoch_check|mutant|g2_fencing.pml|-DMUTANT_NO_EPOCH_CHECK|fencing ~ g==gen\[t\]"
  "g2/no_epoch_bypass|mutant|g2_fencing.pml|-DMUTANT_NO_EPOCH_BYPASS|no bypass ~ \|\| !\(\(\(owner\[k\]"
  "g2/epoch_from_version|mutant|g2_fencing.pml|-DMUTANT_EPOCH_FROM_VERSION|fencing ~ g==gen\[t\]"
  "g2/renew_unfenced|mutant|g2_fencing.pml|-DMUTANT_RENEW_UNFENCED|epoch only grows ~ e>=epoch\[k\] ;; fencing ~ g==gen\[t\] ;; no revival ~ !\(lapsed\[k\]\)"
  "g2/epoch_per_key|mutant|g2_fencing.pml|-DMUTANT_EPOCH_PER_KEY|token bound to its key ~ \(k==t\)&&\(g==gen\[t\]\)"
  "g2/guard_ignored|mutant|g2_fencing.pml|-DMUTANT_GUARD_IGNORED|guard ~ \(\(g==gen\[k\]\)&&"
  "g2/guard_outside_txn|mutant|g2_fencing.pml|-DMUTANT_GUARD_OUTSIDE_TXN|guard ~ \(\(g==gen\[k\]\)&&"
  "g2/clock_before_lock|mutant|g2_fencing.pml|-DMUTANT_CLOCK_BEFORE_LOCK|no revival ~ !\(lapsed\[k\]\)"
  "g2/zombie_unmoved|witness|g2_fencing.pml|-DWITNESS_ZOMBIE_UNMOVED|a zombie is fenced with the version unmoved ~ ver\[t\]==v\)"
  "g2/guard_fenced|witness|g2_fencing.pml|-DWITNESS_GUARD_FENCED|a guard alone fences a write ~ ver\[t\]==v\)"

  "g3_idempotency|spec|g3_idempotency.pml||"
  "g3/no_opid_record|mutant|g3_idempotency.pml|-DMUTANT_NO_OPID_RECORD|at most once ~ applied\[op\]==1"
  "g3/record_after_write|mutant|g3_idempotency.pml|-DMUTANT_RECORD_AFTER_WRITE|at most once ~ applied\[op\]==1"
  "g3/replay_current|mutant|g3_idempotency.pml|-DMUTANT_REPLAY_CURRENT|replay returns the first result ~ v==firstVer\[op\]"
  "g3/no_payload_compare|mutant|g3_idempotency.pml|-DMUTANT_NO_PAYLOAD_COMPARE|different payload is a mismatch ~ firstPayload\[op\]==p\)"
  "g3/replay|witness|g3_idempotency.pml|-DWITNESS_REPLAY|a retry is answered replayed: true ~ code!=2"

  "g4_txn_atomicity|spec|g4_txn_atomicity.pml||"
  "g4/per_key|mutant|g4_txn_atomicity.pml|-DMUTANT_PER_KEY|abort writes nothing ~ wrote\[t\]==0 ;; snapshot all-or-nothing ~ wrote\[0\]==0 ;; no lost update ~ 2-committed"
  "g4/no_rollback|mutant|g4_txn_atomicity.pml|-DMUTANT_NO_ROLLBACK|abort writes nothing ~ wrote\[t\]==0 ;; snapshot all-or-nothing ~ wrote\[0\]==0 ;; no lost update ~ 2-committed"
  "g4/first_key_only|mutant|g4_txn_atomicity.pml|-DMUTANT_FIRST_KEY_ONLY|no lost update ~ 2-committed ;; snapshot all-or-nothing ~ wrote\[0\]==0"
  "g4/abort_on_second|witness|g4_txn_atomicity.pml|-DWITNESS_ABORT_ON_SECOND|a txn aborts on its second key ~ ver\[b\]!=eb"

  "g7_lineage|spec|g7_lineage.pml||"
  "g7/no_parent_check|mutant|g7_lineage.pml|-DMUTANT_NO_PARENT_CHECK|no regress ~ step\[head\]\+1\)\)\)$ ;; no silent fork ~ kids\[h\]==1 ;; lineage ~ h==head"
  "g7/fork_without_flag|mutant|g7_lineage.pml|-DMUTANT_FORK_WITHOUT_FLAG|no regress ~ step\[head\]\+1\)\)\)$ ;; no silent fork ~ kids\[h\]==1 ;; lineage ~ h==head"
  "g7/parentless_accepted|mutant|g7_lineage.pml|-DMUTANT_PARENTLESS_ACCEPTED|no regress ~ step\[head\]\+1\)\)\)$ ;; no silent fork ~ kids\[h\]==1 ;; lineage ~ h==head"
  "g7/zombie_rejected|witness|g7_lineage.pml|-DWITNESS_ZOMBIE_REJECTED|a put 2+ steps behind the head is rejected ~ step\[head\]<\(step\[h\]\+2\)"
  "g7/fork_back|witness|g7_lineage.pml|-DWITNESS_FORK_BACK|an explicit fork lowers the head step ~ \(step\[c\]\+1\)>step\[head\]"
)

work="$(mktemp -d "${TMPDIR:-/tmp}/fenced-specs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

# check_model INDEX: builds and runs one model in its own directory; writes one tab-separated result line:
# name kind result states depth search total note
check_model() {
  local i="$1" name kind model defines expect dir out t0 t1 errors states depth search total result note violated label
  IFS='|' read -r name kind model defines expect <<<"${MODELS[$i]}"
  dir="$work/$i"
  mkdir -p "$dir"
  out="$dir/pan.out"
  t0="$(now)"
  (
    cd "$dir"
    # shellcheck disable=SC2086  # $defines is a list of -D flags
    spin $defines -a "$here/$model" >spin.out 2>&1 || { cat spin.out; exit 3; }
    # Specs search millions of states: optimise. Mutants and witnesses stop at their first violation: compile fast.
    if [ "$kind" = spec ]; then opt=-O2; else opt=-O0; fi
    gcc "$opt" -w -DSAFETY -o pan pan.c >gcc.out 2>&1 || { cat gcc.out; exit 3; }
    ./pan -m20000 || true
  ) >"$out" 2>&1 || true
  t1="$(now)"
  total="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
  errors="$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' "$out" | tail -1)"
  states="$(sed -nE 's/^ *([0-9]+) states, stored.*/\1/p' "$out" | tail -1)"
  depth="$(sed -nE 's/.*depth reached ([0-9]+).*/\1/p' "$out" | tail -1)"
  search="$(sed -nE 's/^pan: elapsed time ([0-9.e+-]+) seconds.*/\1/p' "$out" | tail -1)"
  search="$(awk -v s="${search:-0}" 'BEGIN { printf "%.2f", (s > 1e6 ? 0 : s) }')"  # pan prints garbage for 0
  violated="$(grep -m1 -E 'assertion violated' "$out" | sed -E 's/^pan:[0-9]+: assertion violated //; s/ \(at depth [0-9]+\)$//' || true)"
  note=""
  if [ -z "$errors" ] || [ -z "$states" ]; then
    result=ERROR
    note="spin/gcc/pan failed: $(grep -m1 -iE 'error|fatal' "$out" || tail -1 "$out")"
  elif [ "$kind" = spec ]; then
    local unreached
    unreached="$(unreached_lines "$out" "$here/$model")"
    if [ "$errors" != 0 ]; then
      result=FAIL; note="$(grep -m1 -E 'pan:[0-9]+:' "$out")"
    elif grep -qE 'max search depth too small|out of memory|reached -DMEMLIM' "$out"; then
      result=FAIL; note="incomplete search: $(grep -m1 -E 'max search depth too small|out of memory|MEMLIM' "$out")"
    elif [ -n "$unreached" ]; then
      result=FAIL; note="unreached code (vacuous?): $unreached"
    else
      result=PASS
    fi
  else
    label=""
    local rest="$expect" alt
    while [ -n "$rest" ]; do
      alt="${rest%% ;; *}"
      if [ "$alt" = "$rest" ]; then rest=""; else rest="${rest#* ;; }"; fi
      if [ -n "$violated" ] && grep -qE -- "${alt#* ~ }" <<<"$violated"; then label="${alt%% ~ *}"; break; fi
    done
    if [ "$errors" = 0 ] || [ -z "$violated" ]; then
      result=$([ "$kind" = mutant ] && echo SURVIVED || echo UNREACHED)
      note="no assertion violation ($(grep -m1 -E 'pan:[0-9]+:' "$out" || echo "errors: $errors"))"
    elif [ -n "$label" ]; then
      result=$([ "$kind" = mutant ] && echo KILLED || echo REACHED)
      note="$label"
    else
      result=FAIL
      note="violated an assertion it should not: $violated"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$result" "${states:-0}" "${depth:-0}" "$search" \
    "$total" "$note" "$violated" >"$dir/result"
}

# Statements spin reports unreachable, except a process's "-end-" and source lines marked `unreached-ok`.
unreached_lines() {
  local out="$1" src="$2" line
  sed -n '/^unreached in /,/^pan: elapsed/p' "$out" |
    sed -nE 's/^[[:space:]]+[^:]+:([0-9]+), state [0-9]+, "(.*)"$/\1\t\2/p' |
    while IFS=$'\t' read -r line stmt; do
      [ "$stmt" = "-end-" ] && continue
      sed -n "${line}p" "$src" | grep -q 'unreached-ok' && continue
      printf 'line %s: %s; ' "$line" "$stmt"
    done
}

selected=()
for i in "${!MODELS[@]}"; do
  name="${MODELS[$i]%%|*}"
  if [ -z "$only" ] || grep -qE -- "$only" <<<"$name"; then selected+=("$i"); fi
done

started="$(now)"
running=0
for i in "${selected[@]}"; do
  check_model "$i" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
elapsed="$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"

esc() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' <<<"$1"; }   # for JSON strings
passed=0
failed=0
printf '%-28s %-8s %-9s %10s %6s %8s %8s  %s\n' model kind result states depth search total note
records=()
for i in "${selected[@]}"; do
  if [ -f "$work/$i/result" ]; then
    IFS=$'\t' read -r name kind result states depth search total note violated <"$work/$i/result"
  else
    IFS='|' read -r name kind _ <<<"${MODELS[$i]}"
    result=ERROR; states=0; depth=0; search=0; total=0; note="no result"; violated=""
  fi
  case "$result" in PASS|KILLED|REACHED) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
  printf '%-28s %-8s %-9s %10s %6s %7ss %7ss  %s\n' "$name" "$kind" "$result" "$states" "$depth" "$search" "$total" "$note"
  if [ "$result" = ERROR ] || [ "$result" = FAIL ]; then sed 's/^/    | /' "$work/$i/pan.out" 2>/dev/null | head -20; fi
  records+=("$(printf '{"name":"%s","kind":"%s","result":"%s","statesStored":%s,"depth":%s,"searchSeconds":%s,"totalSeconds":%s,"note":"%s","violated":"%s"}' \
    "$(esc "$name")" "$kind" "$result" "$states" "$depth" "$search" "$total" "$(esc "$note")" "$(esc "$violated")")")
done

if [ -n "$json" ]; then
  {
    printf '{"spin":"%s","wallSeconds":%s,"passed":%s,"failed":%s,"models":[\n' \
      "$(spin -V | head -1 | sed 's/"/\\"/g')" "$elapsed" "$passed" "$failed"
    for j in "${!records[@]}"; do
      printf '  %s%s\n' "${records[$j]}" "$([ "$j" -lt $((${#records[@]} - 1)) ] && echo ,)"
    done
    printf ']}\n'
  } >"$json"
fi

echo "wall ${elapsed}s on $jobs jobs; specs are exhaustive (spin -DSAFETY, no bitstate), bounds in each .pml header"
echo "specs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
