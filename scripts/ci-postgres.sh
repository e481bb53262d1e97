#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL cluster for the Postgres checkpointer tests.
#
#   scripts/ci-postgres.sh start [DIR] [PORT]   prints the URL to export as DIALOGPAINT_TEST_POSTGRES_URL
#   scripts/ci-postgres.sh stop  [DIR]
#
# Needs Debian's postgresql package (apt-get install -y postgresql). The cluster lives in DIR (default
# /tmp/dialogpaint-pg), listens on 127.0.0.1 only, trusts local connections, and is owned by the
# postgres user because initdb refuses to run as root.
set -euo pipefail

action="${1:-start}"
dir="${2:-/tmp/dialogpaint-pg}"
port="${3:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [[ -z "$bin" ]]; then
    echo "ci-postgres: no PostgreSQL server found; apt-get install -y postgresql" >&2
    exit 1
fi
as_postgres() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        mkdir -p "$dir"
        [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
        as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >"$dir/initdb.log"
    fi
    if ! as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" >/dev/null
    fi
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'dialogpaint'" | grep -q 1 ||
        as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres dialogpaint
    echo "postgresql://postgres@127.0.0.1:$port/dialogpaint"
    ;;
stop)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
*)
    echo "usage: $0 start|stop [DIR] [PORT]" >&2
    exit 2
    ;;
esac
