#!/usr/bin/env bash
# Import into PostgreSQL and MariaDB against the tools a user compares with, interleaved A/B in one
# run: `dataport import` of a bundle of ROWS visit rows (10 columns, one subject) into an empty
# table, a second import of it (all unchanged), and `psql \copy ... CSV` / `LOAD DATA LOCAL INFILE`
# of the same rows into the same empty table. Prints wall time and the client's user+sys CPU
# (rusage of the measured process; the server's CPU is in neither) per round, then the medians.
#
#   swift build -c release --product dataport
#   DATAPORT_PG_URL=postgresql://dataport@127.0.0.1:54329/dataport_billing \
#   DATAPORT_MYSQL_URL=mysql://dataport@127.0.0.1:33069/dataport scripts/sql-import-bench.sh
#
# ROWS (default 1000000), ROUNDS (3), STORES ("postgresql mysql"), DATAPORT (.build/release/dataport),
# DIR (/tmp/sql-import-bench: the source store, bundle and CSV are kept there between runs).
set -euo pipefail
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
STORES=${STORES:-postgresql mysql}
DP=$(realpath "${DATAPORT:-.build/release/dataport}")
DIR=${DIR:-/tmp/sql-import-bench}
mkdir -p "$DIR"
TAG=bench_$$

fields='[{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "started_at", "type": "timestamp"},
  {"name": "ip", "type": "string"}, {"name": "user_agent", "type": "string"}, {"name": "os", "type": "string"},
  {"name": "referrer", "type": "string"}, {"name": "path", "type": "string"}, {"name": "duration_ms", "type": "integer"},
  {"name": "amount", "type": "decimal"}]'
config() { # type options
  cat <<EOF
{"version": "1", "controller": {"name": "Bench Ltd", "contact": "privacy@bench.example"},
 "stores": [{"name": "app", "type": "$1", "options": $2, "datasets": [
   {"name": "account", "table": "users", "category": "account", "description": "Account", "purposes": ["service"],
    "legalBasis": "contract", "origin": "provided", "key": "id",
    "match": [{"field": "email", "identity": "email"}], "yields": [{"identity": "user_id", "field": "id"}],
    "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "name", "type": "string"}]},
   {"name": "visits", "table": "visits", "category": "website-usage", "description": "Visits", "purposes": ["analytics"],
    "legalBasis": "consent", "origin": "observed", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
    "fields": $fields}]}]}
EOF
}

# The source: the benchmark's SQLite store (one subject with ROWS visits), its bundle, and the same
# rows as CSV (psql) and as tab-separated wall-clock text (LOAD DATA).
src=$DIR/source-$ROWS.db
bundle=$DIR/bundle-$ROWS.zip
if [ ! -f "$bundle" ]; then
  rm -f "$src"
  sqlite3 "$src" <<EOF
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);
CREATE TABLE visits (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, started_at TEXT NOT NULL, ip TEXT, user_agent TEXT,
  os TEXT, referrer TEXT, path TEXT, duration_ms INTEGER, amount TEXT);
INSERT INTO users SELECT value, 'user' || value || '@bench.example', 'User ' || value FROM generate_series(1, 51);
INSERT INTO visits (user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount)
  SELECT 1, strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + value * 37, 'unixepoch'), '203.0.113.' || (value % 250),
    'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Linux',
    CASE value % 3 WHEN 0 THEN NULL ELSE 'https://search.example/?q=term' || (value % 1000) END,
    '/products/' || (value % 5000) || '?page=' || (value % 7), value % 60000, (value % 100000) || '.' || printf('%02d', value % 100)
  FROM generate_series(1, $ROWS);
EOF
  config sqlite "{\"path\": \"$src\"}" > "$DIR/source.json"
  "$DP" export --config "$DIR/source.json" --subject email=user1@bench.example --generated-at 2026-01-01T00:00:00Z --quiet --output "$bundle"
fi
q="SELECT id, user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount FROM visits WHERE user_id = 1 ORDER BY id"
[ -f "$DIR/visits-$ROWS.csv" ] || sqlite3 -csv "$src" "$q" > "$DIR/visits-$ROWS.csv"
[ -f "$DIR/visits-$ROWS.tsv" ] || sqlite3 -separator $'\t' -cmd '.nullvalue \N' "$src" \
  "SELECT id, user_id, replace(replace(started_at, 'T', ' '), 'Z', ''), ip, user_agent, os, referrer, path, duration_ms, amount FROM visits WHERE user_id = 1 ORDER BY id" \
  > "$DIR/visits-$ROWS.tsv"

# "wall user+sys" of a command (its exit status must be 0).
measure() {
  /usr/bin/time -f "%e %U %S" "$@" > "$DIR/last.out" 2> "$DIR/last.err" || { cat "$DIR/last.err" >&2; exit 1; }
  tail -1 "$DIR/last.err" | awk '{ printf "%.2f %.2f", $1, $2 + $3 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

report() { # name file-with-"wall cpu"-lines reference-file
  local w c rw
  w=$(cut -d' ' -f1 "$2" | median); c=$(cut -d' ' -f2 "$2" | median); rw=$(cut -d' ' -f1 "$3" | median)
  printf "  %-34s wall %7.2f s  cpu %7.2f s  %5.2fx reference\n" "$1" "$w" "$c" "$(awk -v a="$w" -v b="$rw" 'BEGIN { print a / b }')"
}

for store in $STORES; do
  : > "$DIR/$store.import"; : > "$DIR/$store.again"; : > "$DIR/$store.ref"
  case $store in
  postgresql)
    base=${DATAPORT_PG_URL:?set DATAPORT_PG_URL}
    url="$base$([[ $base == *\?* ]] && echo '&' || echo '?')options=-csearch_path%3D$TAG"
    psql "$base" -Xq -c "CREATE SCHEMA $TAG"
    trap 'psql "$base" -Xq -c "DROP SCHEMA IF EXISTS $TAG CASCADE"' EXIT
    empty() {
      psql "$url" -Xq -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS users, visits, dataport_id_map;
        CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, name text);
        CREATE TABLE visits (id integer PRIMARY KEY, user_id integer NOT NULL, started_at timestamptz NOT NULL, ip text,
          user_agent text, os text, referrer text, path text, duration_ms integer, amount numeric(12,2));
        CREATE INDEX visits_user ON visits (user_id);"
    }
    reference=(psql "$url" -Xq -v ON_ERROR_STOP=1 -c "\\copy visits FROM '$DIR/visits-$ROWS.csv' CSV")
    count() { psql "$url" -XAtc "SELECT count(*) FROM visits"; }
    refname='psql \copy visits FROM csv'
    ;;
  mysql)
    base=${DATAPORT_MYSQL_URL:?set DATAPORT_MYSQL_URL}
    hostport=${base#mysql://}; user=${hostport%%@*}; hostport=${hostport#*@}; hostport=${hostport%%/*}
    my=(mariadb -u "$user" -h "${hostport%%:*}" -P "${hostport##*:}" --local-infile=1)
    "${my[@]}" -e "CREATE DATABASE $TAG"
    trap '"${my[@]}" -e "DROP DATABASE IF EXISTS $TAG"' EXIT
    url="mysql://$user@$hostport/$TAG"
    empty() {
      "${my[@]}" "$TAG" -e "DROP TABLE IF EXISTS users, visits, dataport_id_map;
        CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
        CREATE TABLE visits (id INT PRIMARY KEY, user_id INT NOT NULL, started_at DATETIME(6) NOT NULL, ip VARCHAR(45),
          user_agent TEXT, os VARCHAR(64), referrer TEXT, path TEXT, duration_ms INT, amount DECIMAL(12,2), KEY visits_user (user_id))
          ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
    }
    reference=("${my[@]}" "$TAG" -e "LOAD DATA LOCAL INFILE '$DIR/visits-$ROWS.tsv' INTO TABLE visits CHARACTER SET utf8mb4")
    count() { "${my[@]}" "$TAG" -N -e "SELECT count(*) FROM visits"; }
    refname='LOAD DATA LOCAL INFILE (tsv)'
    ;;
  esac
  config "$store" "{\"url\": \"$url\"}" > "$DIR/$store.json"
  for round in $(seq "$ROUNDS"); do
    empty; measure "$DP" import --quiet "$bundle" --config "$DIR/$store.json" >> "$DIR/$store.import"; echo >> "$DIR/$store.import"
    [ "$(count)" = "$ROWS" ] || { echo "$store: import left $(count) rows" >&2; exit 1; }
    measure "$DP" import --quiet "$bundle" --config "$DIR/$store.json" >> "$DIR/$store.again"; echo >> "$DIR/$store.again"
    empty; measure "${reference[@]}" >> "$DIR/$store.ref"; echo >> "$DIR/$store.ref"
    [ "$(count)" = "$ROWS" ] || { echo "$store: reference left $(count) rows" >&2; exit 1; }
    echo "$store round $round: import $(tail -1 "$DIR/$store.import"), again $(tail -1 "$DIR/$store.again"), reference $(tail -1 "$DIR/$store.ref") (wall cpu)"
  done
  echo "$store, $ROWS rows, median of $ROUNDS interleaved rounds:"
  report "$refname" "$DIR/$store.ref" "$DIR/$store.ref"
  report "dataport import into empty table" "$DIR/$store.import" "$DIR/$store.ref"
  report "dataport import again (unchanged)" "$DIR/$store.again" "$DIR/$store.ref"
  trap - EXIT
  case $store in
  postgresql) psql "$base" -Xq -c "DROP SCHEMA IF EXISTS $TAG CASCADE" ;;
  mysql) "${my[@]}" -e "DROP DATABASE IF EXISTS $TAG" ;;
  esac
done
