#!/usr/bin/env bash
# roster in a GitOps pipeline: the shell both CI examples run (GitHub Actions:
# github/roster.yml, GitLab CI: gitlab/.gitlab-ci.yml). Copy it to
# ci/roster-ci.sh in your repository, beside the CI file.
#
#   roster-ci.sh plan    on a pull/merge request: plan, saved plan, JSON plan
#                        and the comment, in $ROSTER_OUT (exit 0 unless roster
#                        plan failed)
#   roster-ci.sh apply   on the main branch: fetch its latest commit, apply the
#                        reviewed plan if it is still fresh (otherwise plan
#                        again), then commit and push the state (see push)
#   roster-ci.sh push    commit the state and push it; run after a cancelled
#                        apply too. A push that loses the race against another
#                        commit is merged onto it record by record (roster state
#                        merge) and retried; one that still fails fails loudly.
#
# Settings (environment):
#   ROSTER_BRANCH         the branch applies run from and push to (apply, push)
#   ROSTER_FILE           the desired state, default roster.yaml
#   ROSTER_STATE          the state file, default state/roster.state.json
#   ROSTER_OUT            where outputs go, default roster-out
#   ROSTER_REVIEWED_PLAN  the plan saved on the pull request (apply), if found
#   ROSTER_COMMIT         the commit a plan is for (plan), default HEAD
#   ROSTER_REMOTE         default origin
#   ROSTER_PUSH_ATTEMPTS  default 5
#   ROSTER_GIT_NAME, ROSTER_GIT_EMAIL  the author of state commits
set -uo pipefail

file=${ROSTER_FILE:-roster.yaml}
state=${ROSTER_STATE:-state/roster.state.json}
out=${ROSTER_OUT:-roster-out}
remote=${ROSTER_REMOTE:-origin}
attempts=${ROSTER_PUSH_ATTEMPTS:-5}
marker='<!-- roster-plan -->'

# roster's --state is given only when set: the default folder is created on
# the first apply, a given one must exist.
args=(-f "$file")
if [ -n "${ROSTER_STATE:-}" ]; then
  args+=(--state "$ROSTER_STATE")
fi

say() {
  echo "roster-ci: $*"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    echo "- $*" >>"$GITHUB_STEP_SUMMARY"
  fi
}

fail() {
  # ::error:: is an annotation on GitHub and plain text elsewhere.
  echo "::error::roster-ci: $*" >&2
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    echo "- **error:** $*" >>"$GITHUB_STEP_SUMMARY"
  fi
}

git_() {
  git -c "user.name=${ROSTER_GIT_NAME:-roster}" \
    -c "user.email=${ROSTER_GIT_EMAIL:-roster@localhost}" "$@"
}

# Runs roster in the background and waits, so that a cancelled job's SIGINT or
# SIGTERM reaches it even when only this shell is signalled: roster then stops
# sending, writes the state and exits 3, and the state is still pushed.
run_roster() {
  roster "$@" &
  local child=$! code
  trap 'kill -INT "$child" 2>/dev/null' INT TERM
  while :; do
    wait "$child"
    code=$?
    # A trapped signal interrupts wait; the child is still there (or a zombie).
    if [ "$code" -gt 128 ] && kill -0 "$child" 2>/dev/null; then
      continue
    fi
    break
  done
  trap - INT TERM
  return "$code"
}

cmd_plan() {
  mkdir -p "$out"
  local commit=${ROSTER_COMMIT:-$(git rev-parse HEAD)} code=0
  rm -f "$out/plan.md" "$out/plan.json" "$out/roster.plan" "$out/comment.md"
  roster plan "${args[@]}" --format markdown --detailed-exitcode \
    --out "$out/roster.plan" >"$out/plan.md" 2>"$out/plan.log" || code=$?
  cat "$out/plan.log" >&2
  {
    echo "$marker"
    case $code in
      0 | 2)
        echo "roster plan for commit \`$commit\`: $([ $code -eq 2 ] && echo "apply has work" || echo "nothing to apply")."
        echo
        cat "$out/plan.md"
        ;;
      *)
        echo "### roster plan failed"
        echo
        echo "on commit \`$commit\` (exit $code):"
        echo
        echo '```'
        tail -n 60 "$out/plan.log" | tail -c 20000
        echo '```'
        ;;
    esac
  } >"$out/comment.md"
  case $code in
    0 | 2)
      roster show --format json "$out/roster.plan" >"$out/plan.json" || return 1
      cat "$out/plan.md"
      return 0
      ;;
    *)
      fail "roster plan failed (exit $code)"
      return "$code"
      ;;
  esac
}

# The lock, journal and temp files beside the state are never committed.
ignore_runtime_files() {
  local dir
  dir=$(dirname "$state")
  mkdir -p "$dir"
  if ! git check-ignore -q "$state.lock" || ! git check-ignore -q "$state.journal"; then
    printf '%s\n' "# roster's run-time files (never committed)" '*.lock' '*.journal' '.roster-*.tmp' \
      >>"$dir/.gitignore"
    git add -- "$dir/.gitignore"
  fi
}

# Commits the state file (only it) if it changed.
commit_state() {
  if [ -e "$state.journal" ]; then
    # roster was killed mid-apply: its last records are in the journal.
    say "folding the journal a killed roster left into $state"
    roster state merge --state "$state" || return 1
  fi
  [ -e "$state" ] || return 0
  ignore_runtime_files
  git add -- "$state"
  if ! git diff --cached --quiet; then
    git_ commit --quiet -m "roster: state after apply on $(git rev-parse --short HEAD) [skip ci]"
  fi
}

# Pushes HEAD's state commits to the branch. When the branch moved on, the
# state of HEAD is merged onto its new tip record by record (a rebase of two
# JSON state commits would conflict) and the push is tried again.
push_state() {
  local branch=${ROSTER_BRANCH:?set ROSTER_BRANCH to the branch to push the state to}
  local try tmp base tip why="the push was rejected $attempts times"
  tmp=$(mktemp -d)
  # What this apply recorded, kept until it is in the branch.
  git show "HEAD:$state" >"$tmp/first.json" 2>/dev/null || rm -f "$tmp/first.json"
  for ((try = 1; try <= attempts; try++)); do
    if ! git fetch --quiet "$remote" "$branch"; then
      sleep "$try"
      continue
    fi
    tip=$(git rev-parse FETCH_HEAD)
    if git merge-base --is-ancestor HEAD "$tip"; then
      say "the state is in $branch ($(git rev-parse --short "$tip"))"
      rm -rf "$tmp"
      return 0
    fi
    if ! git merge-base --is-ancestor "$tip" HEAD; then
      base=$(git merge-base HEAD "$tip")
      say "$branch moved on to $(git rev-parse --short "$tip") meanwhile: merging this apply's records onto it"
      git show "HEAD:$state" >"$tmp/ours.json" || return 1
      rm -f "$tmp/base.json"
      git show "$base:$state" >"$tmp/base.json" 2>/dev/null || rm -f "$tmp/base.json"
      git reset --quiet --hard "$tip"
      mkdir -p "$(dirname "$state")"
      why="roster could not merge the states (see above)"
      if [ -e "$tmp/base.json" ]; then
        roster state merge --state "$state" "$tmp/ours.json" --base "$tmp/base.json" || break
      else
        roster state merge --state "$state" "$tmp/ours.json" || break
      fi
      why="the merged state could not be committed"
      commit_state || break
      why="the push was rejected $attempts times"
    fi
    if git push --quiet "$remote" "HEAD:refs/heads/$branch"; then
      say "pushed the state to $branch ($(git rev-parse --short HEAD))"
      rm -rf "$tmp"
      return 0
    fi
    sleep "$try"
  done
  mkdir -p "$out"
  [ -e "$tmp/first.json" ] && cp "$tmp/first.json" "$out/unpushed.state.json"
  fail "the state was not pushed to $branch: $why. It is kept in $out/unpushed.state.json: merge it into $branch's state with \`roster state merge $out/unpushed.state.json\` and commit it, or the next apply plans again what this one recorded"
  rm -rf "$tmp"
  return 1
}

cmd_push() {
  commit_state || { fail "could not commit the state"; return 1; }
  push_state
}

cmd_apply() {
  local branch=${ROSTER_BRANCH:?set ROSTER_BRANCH to the branch applies run from}
  local code=0 reviewed=${ROSTER_REVIEWED_PLAN:-}
  mkdir -p "$out"
  # The latest commit of the branch, not the one that triggered the job: an
  # apply queued behind another starts from the state that one pushed.
  git fetch --quiet "$remote" "$branch" || { fail "cannot fetch $branch"; return 1; }
  git checkout --quiet -B "$branch" FETCH_HEAD || return 1
  local at
  at=$(git rev-parse --short HEAD)
  if [ -n "$reviewed" ] && [ -f "$reviewed" ]; then
    say "applying the plan reviewed on the pull request ($reviewed) on $branch at $at"
    run_roster apply "${args[@]}" "$reviewed" || code=$?
    if [ "$code" -eq 1 ]; then
      # Exit 1: nothing was applied. roster said why above (the input or the
      # state moved on since the review, or it is over the safety threshold).
      say "the reviewed plan was not applied (see above): planning again on $branch at $at"
      code=0
      run_roster apply "${args[@]}" --yes || code=$?
    fi
  else
    say "no reviewed plan for this commit: planning on $branch at $at"
    run_roster apply "${args[@]}" --yes || code=$?
  fi
  case $code in
    0) say "apply finished" ;;
    3) say "apply finished with failed or unverified users (exit 3); what it did is recorded" ;;
    *) say "apply failed (exit $code)" ;;
  esac
  if ! cmd_push; then
    [ "$code" -ne 0 ] && return "$code"
    return 1
  fi
  return "$code"
}

case "${1:-}" in
  plan) cmd_plan ;;
  apply) cmd_apply ;;
  push) cmd_push ;;
  *)
    echo "usage: $0 plan|apply|push" >&2
    exit 1
    ;;
esac
