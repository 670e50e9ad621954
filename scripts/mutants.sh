#!/usr/bin/env bash
# Mutation testing of roster's safety-critical scope (.cargo/mutants.toml)
# with cargo-mutants, one shard at a time, in the background.
#
#   scripts/mutants.sh K/N            pass 1: the unit tests only (fast)
#   scripts/mutants.sh K/N --full     pass 2: what pass 1 of shard K/N missed
#                                     or timed out on, first against the
#                                     integration tests that exercise its
#                                     file, then what those missed against
#                                     every test
#   scripts/mutants.sh K/N --wait     either, in the foreground
#   scripts/mutants.sh --summary K/N  the counts of a finished shard
#
# Output: target/mutants-K-of-N/ (pass 1: mutants.out/, run.log, pid;
# pass 2: full/<stage>/mutants.out/ and full/run.log). Shards are dealt
# round-robin, so any one shard is a sample of the whole scope; every shard
# of one N must be run with the same scope. Needs `cargo install
# cargo-mutants --locked`. Not part of .ci/run: the whole scope takes hours.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

count() { if [ -f "$1/mutants.out/$2.txt" ]; then grep -c . "$1/mutants.out/$2.txt" || true; else echo 0; fi; }

summary() {
  local out=$1 caught missed timeout unviable
  [ -d "$out/mutants.out" ] || { echo "$out: no results yet" >&2; return 1; }
  caught=$(count "$out" caught) missed=$(count "$out" missed)
  timeout=$(count "$out" timeout) unviable=$(count "$out" unviable)
  echo "$out: caught $caught, missed $missed, timeout $timeout, unviable $unviable;" \
    "kill ratio $( [ $((caught + missed)) -gt 0 ] && echo "$((100 * caught / (caught + missed)))%" || echo n/a)" \
    "(caught / (caught + missed): timeouts and unviable mutants are not in it)"
}

# The integration-test modules (tests/it/) that exercise a source file: pass
# 2 runs a mutant against these first, and against every test only if they
# miss it, so a survivor is always one the whole suite missed.
tests_of() {
  case $1 in
    src/state/postgres*) echo "postgres:: backend_contract:: pinned::" ;;
    src/state/*) echo "journal:: crash:: lock:: backend_contract:: pinned:: commands:: refresh::" ;;
    src/apply*|src/ops/apply*) echo "apply:: pinned:: adoption:: second_read:: vendors:: crash:: limits:: attack::" ;;
    src/refresh*) echo "refresh:: mass_gone:: second_read:: pinned:: adoption::" ;;
    src/vendors/list*) echo "hostile_lists:: list_bounds:: second_read:: refresh:: scim_interop:: vendors:: pinned::" ;;
    src/vendors/http*) echo "hostile_http:: limits:: redaction:: vendors::" ;;
    src/vendors/*) echo "vendors:: vendor_fidelity:: adoption:: scim_interop:: hostile_http:: pinned:: attack::" ;;
    src/secret*) echo "redaction:: trust_output:: output:: hostile_http::" ;;
    src/desired/*|src/model/*) echo "review:: trust_output:: validate:: bad_input:: loader_fuzz:: adoption::" ;;
    src/plan/*|src/ops/*|src/commands/*) echo "safety:: plan:: mass_gone:: pinned:: refresh::" ;;
    *) echo "" ;;
  esac
}

# Runs cargo-mutants on exactly the mutants named in file $2 (one name a
# line), writing to $1, with the test binaries' filters $3 (none: every test).
rerun() {
  local out=$1 names=$2 filters=$3 re files=()
  re="^($(sed -e 's/[][\.^$*+?(){}|]/\\&/g' "$names" | paste -sd'|'))\$"
  while read -r f; do files+=(--file "$f"); done < <(cut -d: -f1 "$names" | sort -u)
  # --no-config: a name filter given on the command line is added to the
  # config's, not laid over it. The baseline is skipped (the suite must pass
  # unmutated: run it before). cargo test stops at the first test target that
  # fails, so the unit tests still go first.
  # shellcheck disable=SC2086
  cargo mutants --no-config "${files[@]}" -F "$re" --jobs 1 --no-shuffle \
    --baseline skip --timeout 900 --output "$out" -- --lib --test it ${filters:+-- $filters} \
    >"$out.log" 2>&1 || true
}

full_pass() {
  local dir=$1 out=$1/full names file
  names=$( { cat "$dir/mutants.out/missed.txt" "$dir/mutants.out/timeout.txt" 2>/dev/null || true; } | grep . || true)
  [ -n "$names" ] || { echo "$dir: nothing to run again (run pass 1 first, or it missed nothing)" >&2; exit 1; }
  rm -rf "$out"; mkdir -p "$out/focused"
  : >"$out/again.txt"
  # Stage 1: by file, against the tests that exercise it.
  while read -r file; do
    local stage=$out/focused/$(echo "$file" | tr '/.' '__')
    mkdir -p "$stage"
    printf '%s\n' "$names" | grep -F "$file:" >"$stage.names"
    rerun "$stage" "$stage.names" "$(tests_of "$file")"
    # Only the mutants asked for: cargo-mutants 27 does not filter "delete
    # field" mutants by name, so a file's run holds those too.
    cat "$stage/mutants.out/missed.txt" "$stage/mutants.out/timeout.txt" 2>/dev/null \
      | grep -Fx -f "$stage.names" >>"$out/again.txt" || true
  done < <(printf '%s\n' "$names" | cut -d: -f1 | sort -u)
  # Stage 2: what stage 1 missed, against every test.
  if grep -q . "$out/again.txt"; then
    mkdir -p "$out/all"
    rerun "$out/all" "$out/again.txt" ""
  fi
  # One summary: caught in either stage; missed and timeouts from the last.
  mkdir -p "$out/mutants.out"
  printf '%s\n' "$names" >"$out/names.txt"
  cat "$out"/focused/*/mutants.out/caught.txt "$out"/all/mutants.out/caught.txt 2>/dev/null \
    | grep -Fx -f "$out/names.txt" | sort -u >"$out/mutants.out/caught.txt" || true
  for kind in missed timeout unviable; do
    if [ -d "$out/all" ]; then
      grep -Fx -f "$out/names.txt" "$out/all/mutants.out/$kind.txt" 2>/dev/null >"$out/mutants.out/$kind.txt" || true
    else
      : >"$out/mutants.out/$kind.txt"
    fi
  done
  summary "$out"
}

case "${1:-}" in
  --summary)
    shard=${2:-}; [[ $shard =~ ^[0-9]+/[0-9]+$ ]] || usage
    dir="target/mutants-${shard%/*}-of-${shard#*/}"
    summary "$dir"; [ ! -d "$dir/full" ] || summary "$dir/full"; exit 0 ;;
  --full-pass) full_pass "$2"; exit 0 ;;
  ''|-h|--help) usage ;;
esac
shard=$1; shift
[[ $shard =~ ^[0-9]+/[0-9]+$ ]] && [ "${shard%/*}" -lt "${shard#*/}" ] || usage
full=false wait=false
for a in "$@"; do
  case $a in --full) full=true ;; --wait) wait=true ;; *) usage ;; esac
done
command -v cargo-mutants >/dev/null || { echo "cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2; exit 1; }

dir="target/mutants-${shard%/*}-of-${shard#*/}"
if $full; then
  out=$dir/full
  cmd=("$0" --full-pass "$dir")
else
  out=$dir
  # One build or test at a time: the machine's cores are shared. The
  # baseline (unmutated) unit test run also sets each mutant's timeout.
  cmd=(cargo mutants --shard "$shard" --sharding round-robin --jobs 1 --no-shuffle
       --output "$out" -- --lib)
fi
mkdir -p "$out"
if $wait; then
  "${cmd[@]}" >"$out.run.log" 2>&1 || true
  summary "$out"
else
  nohup setsid bash -c '"$@" >"$0.run.log" 2>&1; echo "exit $?" >>"$0.run.log"' "$out" "${cmd[@]}" </dev/null >/dev/null 2>&1 &
  echo $! >"$out.pid"
  echo "started (pid $!): $out.run.log; when done: scripts/mutants.sh --summary $shard"
fi
