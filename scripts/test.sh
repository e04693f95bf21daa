#!/usr/bin/env bash
# The whole Nubo test suite, run by `./nubo test` (which puts Node 24 on PATH first).
# Steps, in order, stopping at the first failure:
#   1. typecheck   npx tsc --noEmit -p .
#   2. lint        npx eslint .
#   3. unit        test/unit/**/*.test.ts (must find files)
#   4. functional  test/functional/**/*.test.ts on SQLite (each test makes its own state dir)
#   5. pg          the suites that must also pass on PostgreSQL, against a throwaway server
#                  from scripts/postgres.sh (NUBO_TEST_DATABASE_URL):
#                  test/functional/**/*.pg.test.ts, test/functional/identity/**/*.test.ts,
#                  test/functional/cli/**/*.test.ts
#   6. system      test/system/**/*.test.ts: real guests under libvirt (QEMU TCG), one file at a
#                  time. libvirtd is started with scripts/libvirt.sh when it does not run, and
#                  then stopped again at the end of the step. The tests build (or reuse) the
#                  cached guest image .cache/images/nubo-tiny-<hash>.qcow2.
# A test step whose files do not exist yet is skipped with "no tests in <glob>".
#
# For developers: NUBO_TEST_ONLY=unit|functional|pg|system runs just that one step, e.g.
#   NUBO_TEST_ONLY=pg ./nubo test
# Arguments are passed to every `node --test`, e.g. ./nubo test --test-name-pattern=token
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

die() { echo "nubo test: $*" >&2; exit 1; }
header() { printf '\n===== %s\n' "$*"; }

only=${NUBO_TEST_ONLY:-}
case $only in
  '' | unit | functional | pg | system) ;;
  *) die "NUBO_TEST_ONLY must be unit, functional, pg or system (got '$only')" ;;
esac

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
(( node_major >= 24 )) || die "needs Node >= 24 on PATH (found $(node -v 2>/dev/null || echo none)); run it as ./nubo test"

node_args=("$@")

# collect GLOB...: sets `files` to the sorted, de-duplicated files matching any GLOB.
collect() {
  local pattern f
  local -a found=()
  shopt -s globstar nullglob
  for pattern in "$@"; do
    for f in $pattern; do
      if [[ -f $f ]]; then found+=("$f"); fi
    done
  done
  shopt -u globstar nullglob
  files=()
  if (( ${#found[@]} )); then
    mapfile -t files < <(printf '%s\n' "${found[@]}" | sort -u)
  fi
}

step_typecheck() {
  header "typecheck: tsc --noEmit -p ."
  npx --no -- tsc --noEmit -p .
}

step_lint() {
  header "lint: eslint ."
  npx --no -- eslint .
}

step_unit() {
  local glob='test/unit/**/*.test.ts'
  header "unit tests: $glob"
  collect "$glob"
  (( ${#files[@]} )) || die "no tests in $glob (the unit step must find tests)"
  node --test --test-reporter=spec "${node_args[@]}" "${files[@]}"
}

step_functional() {
  local glob='test/functional/**/*.test.ts'
  header "functional tests on SQLite: $glob"
  collect "$glob"
  if (( ! ${#files[@]} )); then
    echo "no tests in $glob"
    return
  fi
  # Whatever the caller's environment says, this step is the SQLite one.
  env -u NUBO_TEST_DATABASE_URL \
    node --test --test-concurrency=1 --test-reporter=spec "${node_args[@]}" "${files[@]}"
}

pg_dir=
stop_postgres() {
  [[ -n $pg_dir ]] || return 0
  bash scripts/postgres.sh stop "$pg_dir" || echo "nubo test: could not stop PostgreSQL in $pg_dir" >&2
  pg_dir=
}

step_pg() {
  local globs=('test/functional/**/*.pg.test.ts' 'test/functional/identity/**/*.test.ts'
    'test/functional/cli/**/*.test.ts')
  header "functional tests on PostgreSQL: ${globs[*]}"
  collect "${globs[@]}"
  if (( ! ${#files[@]} )); then
    echo "no tests in ${globs[*]}"
    return
  fi
  # The server is stopped and its directory removed however this step ends (failure, Ctrl-C).
  trap stop_postgres EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pg_dir=$(mktemp -d -t nubo-pg.XXXXXXXX)
  local url
  url=$(bash scripts/postgres.sh start "$pg_dir")
  echo "PostgreSQL: $url"
  NUBO_TEST_DATABASE_URL=$url \
    node --test --test-concurrency=1 --test-reporter=spec "${node_args[@]}" "${files[@]}"
  stop_postgres
  trap - EXIT INT TERM
}

libvirt_started=0
stop_libvirt() {
  (( libvirt_started )) || return 0
  bash scripts/libvirt.sh stop || echo "nubo test: could not stop libvirtd (scripts/libvirt.sh stop)" >&2
  libvirt_started=0
}

step_system() {
  local glob='test/system/**/*.test.ts'
  header "system tests (libvirt, QEMU TCG): $glob"
  collect "$glob"
  if (( ! ${#files[@]} )); then
    echo "no tests in $glob"
    return
  fi
  # Stop libvirtd afterwards only if this step started it, however the step ends.
  if ! bash scripts/libvirt.sh status >/dev/null 2>&1; then
    trap stop_libvirt EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    libvirt_started=1
    bash scripts/libvirt.sh start
  fi
  node --test --test-concurrency=1 --test-reporter=spec "${node_args[@]}" "${files[@]}"
  stop_libvirt
  trap - EXIT INT TERM
}

case $only in
  '')
    step_typecheck
    step_lint
    step_unit
    step_functional
    step_pg
    step_system
    echo
    echo "nubo test: all steps passed"
    ;;
  *)
    "step_$only"
    echo
    echo "nubo test: all steps passed (NUBO_TEST_ONLY=$only)"
    ;;
esac
