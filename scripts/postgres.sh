#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (there is no systemd to run one for us).
#
#   scripts/postgres.sh start <dir>   initialise a cluster in <dir> (if needed), start it and
#                                     print its URL: postgres://postgres@127.0.0.1:<port>/nubo_test
#   scripts/postgres.sh stop <dir>    stop it (fast shutdown) and remove <dir>
#
# The server runs as the `postgres` system user (PostgreSQL refuses root), listens on
# 127.0.0.1 only, on a port nothing else listens on (from 55432 up), keeps its unix socket in
# <dir>, trusts local and 127.0.0.1 connections and runs with fsync off: test data only.
# `start` on a <dir> whose server already runs just prints the URL again. <dir> must be empty
# or made by this script (marker file .nubo-postgres): `stop` removes only such a directory.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

if (( $# != 2 )) || [[ $1 != start && $1 != stop ]]; then
  echo "usage: $0 start|stop <dir>" >&2
  exit 2
fi
action=$1
dir=$2

[[ $EUID -eq 0 ]] || die "must run as root (it runs PostgreSQL as the postgres user with runuser)"
id -u postgres >/dev/null 2>&1 || die "no 'postgres' system user: install Debian's postgresql package"

# The newest PostgreSQL server installed under /usr/lib/postgresql/<version>/bin.
shopt -s nullglob
versions=()
for initdb in /usr/lib/postgresql/*/bin/initdb; do
  versions+=("$(basename "$(dirname "$(dirname "$initdb")")")")
done
shopt -u nullglob
(( ${#versions[@]} )) || die "no PostgreSQL server under /usr/lib/postgresql: install Debian's postgresql package"
version=$(printf '%s\n' "${versions[@]}" | sort -V | tail -n 1)
bin=/usr/lib/postgresql/$version/bin

marker_name=.nubo-postgres
first_port=55432
last_port=55631

url_for() { echo "postgres://postgres@127.0.0.1:$1/nubo_test"; }

# as_pg CMD...: runs CMD as the postgres user, without our lock fd (the postmaster that
# pg_ctl starts would otherwise hold the lock for as long as it runs).
as_pg() { runuser -u postgres -- "$@" {lock_fd}>&-; }

lock_dir() {
  exec {lock_fd}>>"$dir/$marker_name"
  flock "$lock_fd"
}

is_running() { [[ -f $data/postmaster.pid ]] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

# The port of the running server, from line 4 of postmaster.pid.
running_port() { sed -n 4p "$data/postmaster.pid"; }

port_free() { [[ -z $(ss -Hltn "sport = :$1") ]]; }

show_log_tail() {
  echo "postgres.sh: last lines of $1:" >&2
  tail -n 30 "$1" >&2 || true
}

start() {
  mkdir -p -- "$dir"
  dir=$(cd -- "$dir" && pwd -P)
  [[ $dir != / ]] || die "refusing to use /"
  cd /   # the postgres user may not be able to enter our working directory
  # These characters would break postgresql.conf quoting or the socket directory list.
  [[ $dir != *[\',\\\"]* ]] || die "directory name must not contain quotes, commas or backslashes: $dir"
  # A unix socket path must fit in 107 bytes: <dir>/.s.PGSQL.<port>
  (( ${#dir} + 17 <= 107 )) || die "directory path too long for a unix socket: $dir"
  if [[ ! -f $dir/$marker_name ]]; then
    # Re-checking the marker covers a concurrent `start` that has just created it.
    if [[ -n $(ls -A -- "$dir") && ! -f $dir/$marker_name ]]; then
      die "$dir is neither empty nor made by $0"
    fi
    : >>"$dir/$marker_name"
  fi
  lock_dir

  data=$dir/data
  log=$dir/postgres.log

  if is_running; then
    url_for "$(running_port)"
    return
  fi

  chown postgres:postgres "$dir"
  chmod 700 "$dir"
  as_pg test -w "$dir" -a -x "$dir" \
    || die "the postgres user cannot use $dir (is one of its parent directories closed to others?)"

  if [[ ! -f $data/PG_VERSION ]]; then
    rm -rf -- "$data"   # a half-made cluster from an interrupted initdb
    if ! as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-locale -E UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1; then
      show_log_tail "$dir/initdb.log"
      die "initdb failed"
    fi
    printf '%s\n' \
      '# written by scripts/postgres.sh: a throwaway test server' \
      'local all all trust' \
      'host  all all 127.0.0.1/32 trust' >"$data/pg_hba.conf"
    printf '%s\n' \
      '' \
      '# appended by scripts/postgres.sh: a throwaway test server' \
      "listen_addresses = '127.0.0.1'" \
      "unix_socket_directories = '$dir'" \
      'fsync = off' \
      'synchronous_commit = off' \
      'full_page_writes = off' \
      "include 'nubo-port.conf'" >>"$data/postgresql.conf"
  fi

  # Another process may take a port between our check and the bind: then try the next one.
  local port=$first_port started=0 log_size
  while (( port <= last_port )); do
    if ! port_free "$port"; then
      port=$((port + 1))
      continue
    fi
    printf 'port = %d\n' "$port" >"$data/nubo-port.conf"
    chown postgres:postgres "$data/pg_hba.conf" "$data/postgresql.conf" "$data/nubo-port.conf"
    log_size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >>"$dir/pg_ctl.log" 2>&1; then
      started=1
      break
    fi
    if tail -c +"$((log_size + 1))" "$log" 2>/dev/null | grep -q 'could not bind\|already in use'; then
      port=$((port + 1))
      continue
    fi
    show_log_tail "$log"
    die "PostgreSQL did not start (pg_ctl output: $dir/pg_ctl.log)"
  done
  (( started )) || die "no free port between $first_port and $last_port"

  local exists
  exists=$(as_pg "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -tA \
    -c "select 1 from pg_database where datname = 'nubo_test'")
  if [[ $exists != 1 ]]; then
    as_pg "$bin/createdb" -h "$dir" -p "$port" -U postgres nubo_test
  fi
  url_for "$port"
}

# is_our_postmaster PID: the process is a postgres whose command line names our data dir
# (guards against the PID having been reused by something else).
is_our_postmaster() {
  [[ -r /proc/$1/cmdline ]] || return 1
  tr '\0' '\n' <"/proc/$1/cmdline" | grep -qxF -- "$data"
}

wait_gone() {  # wait_gone PID SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    is_our_postmaster "$1" || return 0
    sleep 0.1
  done
  return 1
}

stop() {
  [[ -e $dir ]] || return 0
  dir=$(cd -- "$dir" && pwd -P)
  [[ -f $dir/$marker_name ]] || die "$dir was not made by $0 start; not removing it"
  lock_dir
  data=$dir/data
  cd /

  if [[ -f $data/postmaster.pid ]]; then
    local pid
    pid=$(head -n 1 "$data/postmaster.pid")
    if is_running; then
      as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >>"$dir/pg_ctl.log" 2>&1 || true
    fi
    # pg_ctl returns once postmaster.pid is gone, a moment before the process exits; if a
    # fast shutdown did not work, fall back to immediate shutdown, then to SIGKILL.
    if [[ $pid =~ ^[0-9]+$ ]] && ! wait_gone "$pid" 10; then
      kill -QUIT "$pid" 2>/dev/null || true
      if ! wait_gone "$pid" 10; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || die "postmaster $pid of $data does not exit"
      fi
    fi
  fi
  rm -rf -- "$dir"
}

"$action"
