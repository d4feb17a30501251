#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for DataPort's PostgreSQL tests and loads the sample
# billing database (Samples/billing-postgres.sql).
#
#   eval "$(.ci/start-postgres.sh)"     # sets DATAPORT_PG_URL
#
# Installs nothing: the caller runs `apt-get install postgresql` first. The cluster lives in a
# temporary folder, listens only on 127.0.0.1:54329 with trust auth for loopback, and has a role
# `dataport` owning the database `dataport_billing`. If a server already answers on that port it
# is reused (the sample is loaded only when the database does not exist yet; set
# DATAPORT_PG_RELOAD=1 to reload it). The only line on stdout is the `export DATAPORT_PG_URL=...`
# line; progress and errors go to stderr. Stop it with: pg_ctl -D "$(cat /tmp/dataport-pg-54329.dir)/data" stop
set -euo pipefail

HOST=127.0.0.1
PORT="${DATAPORT_PG_PORT:-54329}"
ROLE=dataport
DB=dataport_billing
URL="postgresql://${ROLE}@${HOST}:${PORT}/${DB}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SQL="$HERE/../Samples/billing-postgres.sql"
STATE="/tmp/dataport-pg-${PORT}.dir"
LOCK="/tmp/dataport-pg-${PORT}.lock"

log() { echo "start-postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Find the server binaries: the versioned Debian folder first, then PATH.
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$BIN" ] && [ ! -x "$BIN/initdb" ] && BIN=""
if [ -z "$BIN" ]; then
    command -v initdb >/dev/null 2>&1 || die "initdb not found; install PostgreSQL first (apt-get install postgresql)"
    BIN="$(dirname "$(readlink -f "$(command -v initdb)")")"
fi
command -v psql >/dev/null 2>&1 || die "psql not found; install postgresql-client"
[ -r "$SQL" ] || die "cannot read $SQL"

# The server refuses to run as root: run server commands as `postgres` when we are root.
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server"
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres "$@"; }

# One starter at a time (tests may call this script concurrently).
exec 9>"$LOCK"
flock -w 120 9 || die "timed out waiting for $LOCK"

if pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; then
    log "reusing the server already running on $HOST:$PORT"
else
    DIR="$(mktemp -d /tmp/dataport-pg.XXXXXX)"
    chmod 755 "$DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
    log "creating a throwaway cluster in $DIR"
    as_server_user "$BIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=trust >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    # Loopback only; the socket lives in the cluster folder, so /var/run/postgresql is not needed.
    cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    cat >"$DIR/data/pg_hba.conf" <<HBA
local   all  all                 trust
host    all  all  127.0.0.1/32   trust
HBA
    # 9>&-: the server must not inherit the lock, or it would hold it for its whole life.
    as_server_user "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >&2 9>&- \
        || { cat "$DIR/server.log" >&2 || true; die "pg_ctl start failed"; }
    echo "$DIR" >"$STATE"
    log "started; stop with: pg_ctl -D $DIR/data stop"
fi

# Role and database, created once.
if [ "$(psql_admin -d postgres -At -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    psql_admin -d postgres -c "CREATE ROLE $ROLE LOGIN"
fi
FRESH=0
if [ "$(psql_admin -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    psql_admin -d postgres -c "CREATE DATABASE $DB OWNER $ROLE ENCODING 'UTF8' TEMPLATE template0"
    FRESH=1
fi
if [ "$FRESH" = 1 ] || [ "${DATAPORT_PG_RELOAD:-0}" = 1 ]; then
    log "loading $(basename "$SQL") into $DB"
    psql -X -q -v ON_ERROR_STOP=1 "$URL" -f "$SQL" >&2 || die "loading $SQL failed"
fi

echo "export DATAPORT_PG_URL=$URL"
