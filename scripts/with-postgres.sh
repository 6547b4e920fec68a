#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL 15 cluster: installs postgresql-15 (Debian) when it is missing, initdb's a
# cluster in a temp dir as an unprivileged user, listens on 127.0.0.1 only (a free port, password auth), starts it with
# synchronous_commit=on, exports its connection string as HEALTHGRPC_TEST_PG for the command, stops and removes it at exit.
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

dir=$(mktemp -d "${TMPDIR:-/tmp}/healthgrpc-pg.XXXXXX")
chmod 700 "$dir"
[[ ${#run_as[@]} -eq 0 ]] || chown hgtest "$dir"
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$password" > "$dir/pwfile"
[[ ${#run_as[@]} -eq 0 ]] || chown hgtest "$dir/pwfile"

stop() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${run_as[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
  --auth-local=scram-sha-256 --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c synchronous_commit=on -c fsync=on -c max_connections=300" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export HEALTHGRPC_TEST_PG="Host=127.0.0.1;Port=$port;Username=postgres;Password=$password;Database=postgres"
# For tests that stop and restart the server (pg_ctl -D ... stop -m immediate / start).
export HEALTHGRPC_TEST_PG_CTL="${run_as[*]} $pg_bin/pg_ctl -D $dir/data -l $dir/server.log"
echo "PostgreSQL 15 on 127.0.0.1:$port (cluster $dir)" >&2

status=0
"$@" || status=$?
exit $status
