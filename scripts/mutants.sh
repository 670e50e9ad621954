#!/usr/bin/env bash
# Mutation testing of roster's safety-critical scope (.cargo/mutants.toml)
# with cargo-mutants, one shard at a time, in the background.
#
#   scripts/mutants.sh K/N            pass 1: the unit tests only (fast)
#   scripts/mutants.sh K/N --full     pass 2: what pass 1 of shard K/N missed
#                                     or timed out on, against the unit and
#                                     the integration tests
#   scripts/mutants.sh K/N --wait     either, in the foreground
#   scripts/mutants.sh --summary K/N  the counts of a finished shard
#
# Output: target/mutants-K-of-N/ (pass 1: mutants.out/, run.log, pid;
# pass 2: full/mutants.out/, full/run.log). Shards are dealt round-robin, so
# any one shard is a sample of the whole scope; every shard of one N must be
# run with the same scope. Needs `cargo install cargo-mutants --locked`.
# Not part of .ci/run: the whole scope takes hours on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

summary() {
  local out=$1 caught missed timeout unviable
  [ -d "$out/mutants.out" ] || { echo "$out: no results yet" >&2; return 1; }
  count() { if [ -f "$out/mutants.out/$1.txt" ]; then grep -c . "$out/mutants.out/$1.txt" || true; else echo 0; fi; }
  caught=$(count caught) missed=$(count missed) timeout=$(count timeout) unviable=$(count unviable)
  echo "$out: caught $caught, missed $missed, timeout $timeout, unviable $unviable;" \
    "kill ratio $( [ $((caught + missed)) -gt 0 ] && echo "$((100 * caught / (caught + missed)))%" || echo n/a)" \
    "(caught / (caught + missed): timeouts and unviable mutants are not in it)"
}

case "${1:-}" in
  --summary)
    shard=${2:-}; [[ $shard =~ ^[0-9]+/[0-9]+$ ]] || usage
    dir="target/mutants-${shard%/*}-of-${shard#*/}"
    summary "$dir"; [ ! -d "$dir/full" ] || summary "$dir/full"; exit 0 ;;
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
# One build or test at a time: the machine's cores are shared.
common=(--shard "$shard" --sharding round-robin --jobs 1 --no-shuffle)
if ! $full; then
  out=$dir
  # The baseline (unmutated) unit test run also sets each mutant's timeout.
  cmd=(cargo mutants "${common[@]}" --output "$out" -- --lib)
else
  out=$dir/full
  again=$( { cat "$dir/mutants.out/missed.txt" "$dir/mutants.out/timeout.txt" 2>/dev/null || true; } | grep . || true)
  [ -n "$again" ] || { echo "$dir: nothing to run again (run pass 1 first, or it missed nothing)" >&2; exit 1; }
  # Only these mutants, by their exact names, in their files. --no-config: a
  # name filter given on the command line is added to the config's, not laid
  # over it. cargo test stops at the first test target that fails, so the
  # unit tests still go first; the baseline is skipped (the suite must pass
  # unmutated: run it before).
  re="^($(printf '%s\n' "$again" | sed -e 's/[][\.^$*+?(){}|]/\\&/g' | paste -sd'|'))\$"
  files=()
  while read -r f; do files+=(--file "$f"); done < <(printf '%s\n' "$again" | cut -d: -f1 | sort -u)
  cmd=(cargo mutants --no-config "${files[@]}" -F "$re" --jobs 1 --no-shuffle
       --baseline skip --timeout 900 --output "$out" -- --lib --test it)
fi
mkdir -p "$out"
if $wait; then
  "${cmd[@]}" >"$out/run.log" 2>&1 || true
  summary "$out"
else
  nohup setsid bash -c '"$@" >"$0/run.log" 2>&1; echo "exit $?" >>"$0/run.log"' "$out" "${cmd[@]}" </dev/null >/dev/null 2>&1 &
  echo $! >"$out/pid"
  echo "started (pid $!): $out/run.log; when done: scripts/mutants.sh --summary $shard"
fi
