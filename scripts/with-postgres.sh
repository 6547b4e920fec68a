#!/usr/bin/env bash
# Runs a command with throw-away PostgreSQL 15 clusters: installs postgresql-15 (Debian) when it is missing, initdb's
# each cluster in a temp dir as an unprivileged user, listens on 127.0.0.1 only (a free port, password auth), starts it
# with synchronous_commit=on, stops and removes both at exit. Two clusters:
#   HEALTHGRPC_TEST_PG (+ HEALTHGRPC_TEST_PG_CTL)              the shared one every test project uses in parallel;
#   HEALTHGRPC_TEST_PG_FAULT (+ HEALTHGRPC_TEST_PG_FAULT_CTL)  a small one only the fault tests stop and restart
#                                                              (pg_ctl stop -m immediate), so they never hit the shared one.
#   scripts/with-postgres.sh dotnet test tests/HealthGrpc.Storage.Postgres.Tests -c Release
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x "$pg_bin/initdb" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "PostgreSQL 15 is missing ($pg_bin/initdb) and installing it needs root: apt-get install postgresql-15" >&2
    exit 1
  fi
  echo "installing postgresql-15 (Debian package)" >&2
  # Only the binaries: no default cluster is created or started by the package.
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
    || echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi

# initdb refuses to run as root: run the cluster as an unprivileged system user that owns the temp dir.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  id -u hgtest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin hgtest
  run_as=(runuser -u hgtest --)
fi

dirs=()
stop() {
  for dir in "${dirs[@]}"; do
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  done
}
trap stop EXIT

# start_cluster VARIABLE MAX_CONNECTIONS [SETTING...]: a new cluster whose connection string is exported as VARIABLE
# and whose pg_ctl command line (for tests that stop and restart it) as VARIABLE_CTL.
start_cluster() {
  local variable=$1 max_connections=$2
  shift 2
  local dir password port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/healthgrpc-pg.XXXXXX")
  dirs+=("$dir")
  chmod 700 "$dir"
  [[ ${#run_as[@]} -eq 0 ]] || chown hgtest "$dir"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$password" > "$dir/pwfile"
  [[ ${#run_as[@]} -eq 0 ]] || chown hgtest "$dir/pwfile"

  "${run_as[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"

  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # In postgresql.conf rather than on pg_ctl's command line, so a restart by the tests (pg_ctl ... start) listens where
  # it did, with the same settings.
  printf '%s\n' "listen_addresses = '127.0.0.1'" "port = $port" "unix_socket_directories = '$dir'" \
    "synchronous_commit = on" "fsync = on" "max_connections = $max_connections" "$@" >> "$dir/data/postgresql.conf"
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }

  export "$variable=Host=127.0.0.1;Port=$port;Username=postgres;Password=$password;Database=postgres"
  # For tests that stop and restart the server (pg_ctl -D ... stop -m immediate / start).
  export "${variable}_CTL=${run_as[*]} $pg_bin/pg_ctl -D $dir/data -l $dir/server.log"
  echo "PostgreSQL 15 on 127.0.0.1:$port (cluster $dir, $variable)" >&2
}

start_cluster HEALTHGRPC_TEST_PG 300
start_cluster HEALTHGRPC_TEST_PG_FAULT 60 "shared_buffers = 16MB"

status=0
"$@" || status=$?
exit $status
