#!/usr/bin/env bash
# Starts a throwaway MariaDB server for DataPort's MySQL tests.
#
#   eval "$(.ci/start-mariadb.sh)"     # sets DATAPORT_MYSQL_URL
#
# Installs nothing: the caller runs `apt-get install mariadb-server` first. The data folder is a
# temporary folder under /tmp; the server listens only on 127.0.0.1:33069 (its socket lives in the
# data folder), and has a user `dataport` (no password, loopback only) who may create databases
# (tests create uniquely named ones) and owns the database `dataport`. If a server already answers
# on that port it is reused. The only line on stdout is the `export DATAPORT_MYSQL_URL=...` line;
# progress and errors go to stderr. Stop it with: kill "$(cat "$(cat /tmp/dataport-mariadb-33069.dir)/pid")"
set -euo pipefail

HOST=127.0.0.1
PORT="${DATAPORT_MYSQL_PORT:-33069}"
USER_NAME=dataport
DB=dataport
URL="mysql://${USER_NAME}@${HOST}:${PORT}/${DB}"
STATE="/tmp/dataport-mariadb-${PORT}.dir"
LOCK="/tmp/dataport-mariadb-${PORT}.lock"

log() { echo "start-mariadb: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_bin() {
    for n in "$@"; do
        if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return 0; fi
        for d in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
            [ -x "$d/$n" ] && { echo "$d/$n"; return 0; }
        done
    done
    return 1
}
INSTALL_DB="$(find_bin mariadb-install-db mysql_install_db)" || die "mariadb-install-db not found; install MariaDB first (apt-get install mariadb-server)"
SERVER="$(find_bin mariadbd mysqld)" || die "mariadbd not found; install mariadb-server"
CLIENT="$(find_bin mariadb mysql)" || die "the mariadb client not found; install mariadb-client"

admin() { "$CLIENT" --no-defaults --protocol=tcp -h "$HOST" -P "$PORT" -u root "$@"; }
alive() { admin -N -e "SELECT 1" >/dev/null 2>&1; }

# One starter at a time (tests may call this script concurrently).
exec 9>"$LOCK"
flock -w 120 9 || die "timed out waiting for $LOCK"

if alive; then
    log "reusing the server already running on $HOST:$PORT"
else
    DIR="$(mktemp -d /tmp/dataport-mariadb.XXXXXX)"
    chmod 755 "$DIR"
    log "creating a throwaway data folder in $DIR"
    "$INSTALL_DB" --no-defaults --datadir="$DIR/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db >"$DIR/install.log" 2>&1 \
        || { cat "$DIR/install.log" >&2; die "mariadb-install-db failed"; }
    # 9>&-: the server must not inherit the lock, or it would hold it for its whole life.
    "$SERVER" --no-defaults --datadir="$DIR/data" --user="$(id -un)" --bind-address="$HOST" --port="$PORT" \
        --socket="$DIR/sock" --pid-file="$DIR/pid" --log-error="$DIR/server.log" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --innodb-flush-log-at-trx-commit=0 --skip-log-bin </dev/null >/dev/null 2>&1 9>&- &
    for _ in $(seq 1 120); do
        alive && break
        kill -0 $! 2>/dev/null || { cat "$DIR/server.log" >&2 || true; die "mariadbd exited"; }
        sleep 0.5
    done
    alive || { cat "$DIR/server.log" >&2 || true; die "mariadbd did not answer on $HOST:$PORT"; }
    echo "$DIR" >"$STATE"
    log "started; stop with: kill \$(cat $DIR/pid)"
fi

# The user and its database, created once. The user may create the tests' own databases.
admin -e "CREATE USER IF NOT EXISTS '$USER_NAME'@'127.0.0.1' IDENTIFIED BY '';
          CREATE USER IF NOT EXISTS '$USER_NAME'@'localhost' IDENTIFIED BY '';
          CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4;
          GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'127.0.0.1';
          GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'localhost';" \
    || die "cannot create the $USER_NAME user"

echo "export DATAPORT_MYSQL_URL=$URL"
