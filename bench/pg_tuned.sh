#!/usr/bin/env bash
# A scratch PostgreSQL server configured as docs/operations.md advises for production (memory sized to the
# machine), for benchmarks: bench/pg_tuned.sh start|stop|url. It leaves the machine's own server alone.
#   PGBIN       PostgreSQL binaries (default: the newest under /usr/lib/postgresql/*/bin)
#   PGTUNED_DIR data directory (default: /tmp/interdict-pg-tuned), PGTUNED_PORT (default: 5433)
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
DIR=${PGTUNED_DIR:-/tmp/interdict-pg-tuned}
PORT=${PGTUNED_PORT:-5433}
RAM_MB=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
SHARED_MB=$((RAM_MB / 4))       # 25 % of RAM
CACHE_MB=$((RAM_MB * 3 / 4))    # 75 % of RAM
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

case "${1:-}" in
  start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
      mkdir -p "$DIR" && { [ "$(id -u)" != 0 ] || chown postgres "$DIR"; }
      as_pg "$PGBIN/initdb -D $DIR -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null"
    fi
    as_pg "$PGBIN/pg_ctl -D $DIR -l $DIR/server.log -w start -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1 \
      -c shared_buffers=${SHARED_MB}MB -c effective_cache_size=${CACHE_MB}MB -c work_mem=16MB \
      -c maintenance_work_mem=512MB -c random_page_cost=1.1 -c max_wal_size=4GB -c jit=off'" >/dev/null
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres (shared_buffers ${SHARED_MB}MB)"
    ;;
  stop)
    as_pg "$PGBIN/pg_ctl -D $DIR -m fast stop" >/dev/null && echo stopped
    ;;
  url)
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
