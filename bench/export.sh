#!/usr/bin/env bash
# Times exports of every record of a large database through `alumnid serve` and reports the
# server's peak memory (VmHWM) and the CPU time the server and MariaDB spent. Run by
# `task bench-export`, from the repository root, after `task build`. Needs curl, jq and the
# mariadb client.
#
#   DB        database name (default alumni_1m); created and seeded with 1,000,000 alumni
#             when it does not exist. An existing database is only read, except for one user
#             and the audit events of the exports.
#   RUNS      exports per format (default 3)
#   FORMATS   formats to time (default "csv")
#   CHUNK     records per export query (default: the server's, 2000)
#   QUERY     filters to add to the export's query string, e.g. country=US (default none)
#   ADDR      listen address of the server (default 127.0.0.1:8097)
set -euo pipefail

DB=${DB:-alumni_1m}
RUNS=${RUNS:-3}
FORMATS=${FORMATS:-csv}
ADDR=${ADDR:-127.0.0.1:8097}
QUERY=${QUERY:-}
DSN="root@tcp(127.0.0.1:3306)/$DB"
EMAIL=export-bench@bench.alumnid.test
PASSWORD='violet kestrel sings over quiet harbours'
BIN=./bin/alumnid
SERVE=("$BIN" --db-dsn "$DSN" --log-format text serve --http-addr "$ADDR" --jwt-key-file bin/bench-jwt.pem)
if [ -n "${CHUNK:-}" ]; then SERVE+=(--export-chunk "$CHUNK"); fi

if ! mariadb --user=root --host=127.0.0.1 -N -e "SELECT 1 FROM \`$DB\`.alumni LIMIT 1" >/dev/null 2>&1; then
  echo "== creating $DB with 1,000,000 alumni (about a minute)"
  $BIN --db-dsn "$DSN" migrate up --create-database
  $BIN --db-dsn "$DSN" seed --alumni 1000000
fi
source bench/million.sh
$BIN --db-dsn "$DSN" migrate up
allow_password_admins "$DB"
echo "== $DB: $(mariadb --user=root --host=127.0.0.1 -N -e "SELECT COUNT(*) FROM \`$DB\`.alumni") alumni; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

$BIN keygen --out bin/bench-jwt.pem
echo "$PASSWORD" | $BIN --db-dsn "$DSN" user create --email "$EMAIL" --role admin >/dev/null 2>&1 ||
  echo "$PASSWORD" | $BIN --db-dsn "$DSN" user reset-password --email "$EMAIL" >/dev/null

PID=
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
trap stop EXIT
start() {
  "${SERVE[@]}" > bin/bench-export-server.log 2>&1 &
  PID=$!
  for _ in $(seq 1 1200); do curl -sf "http://$ADDR/readyz" >/dev/null && return; sleep 0.1; done # the search index loads first (~50 s for a million)
  echo "the server did not start: see bin/bench-export-server.log" >&2
  exit 1
}

# Sign in on a first server, then measure a fresh one: signing in hashes a password with
# argon2id (19 MiB), which would otherwise be the peak. The session and key carry over.
start
TOKEN=$(curl -sf "http://$ADDR/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | jq -r .accessToken)
stop
start

hwm() { awk '/^VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$PID/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks, user + system
TCK=$(getconf CLK_TCK)
MARIADB=$(pgrep -x mariadbd || pgrep -x mysqld || true)

echo "== server pid $PID, peak RSS after start: $(hwm)"
for format in $FORMATS; do
  for run in $(seq 1 "$RUNS"); do
    s0=$(cpu "$PID")
    m0=$([ -n "$MARIADB" ] && cpu "$MARIADB" || echo 0)
    out=$(curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN" \
      -w "%{http_code}, %{size_download} bytes in %{time_total} s (first byte after %{time_starttransfer} s)" \
      "http://$ADDR/api/v1/alumni/export?format=$format${QUERY:+&$QUERY}")
    s1=$(cpu "$PID")
    m1=$([ -n "$MARIADB" ] && cpu "$MARIADB" || echo 0)
    echo "$format run $run: $out; CPU: server $(echo "scale=1; ($s1 - $s0) / $TCK" | bc) s, mariadb $(echo "scale=1; ($m1 - $m0) / $TCK" | bc) s"
  done
  echo "   peak RSS so far: $(hwm)"
done
mariadb --user=root --host=127.0.0.1 -N -e "SELECT CONCAT('   last audit event: ', action, ' rows ',
  JSON_EXTRACT(changes, '\$[3].after'), ' complete ', JSON_EXTRACT(changes, '\$[4].after'))
  FROM \`$DB\`.audit_events WHERE action = 'alumni.export' ORDER BY id DESC LIMIT 1"
