#!/usr/bin/env bash
# The load test of docs/RELIABILITY.md: one alumnid on 1,000,000 seeded alumni (database
# alumni_1m, seeded the first time, ~20 min), driven by bench/load (simulated users by role with
# think time) at each of CLIENTS for DURATION after a RAMP. Run through `task load`.
# SERVER_GOMEMLIMIT (e.g. 800MiB) sets the server's GOMEMLIMIT only (OPERATIONS.md).
# Needs: curl, the mariadb client; MariaDB on 127.0.0.1:3306 (root).
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${LOAD_DB:-alumni_1m}
DSN="root@tcp(127.0.0.1:3306)/$DB"
N=${LOAD_ALUMNI:-1000000}
CLIENTS=${CLIENTS:-100 500 1000}
DURATION=${DURATION:-2m}
RAMP=${RAMP:-60s}
THINK=${THINK:-5s}
ADDR=127.0.0.1:8088
METRICS=127.0.0.1:9098
PASSWORD='load: amber heron glides past the lighthouse'
out=bin/load
mkdir -p "$out"

source bench/million.sh
prepare_database "$DB" "$DSN" "$N"

# Accounts: 50 staff, 20 viewers, 200 alumni with their own records (created once).
account() { # email role [alumnus-id]
  echo "$PASSWORD" | ./bin/alumnid --db-dsn "$DSN" user create --email "$1" --role "$2" ${3:+--alumnus-id "$3"} >/dev/null 2>&1 || true
}
if [ ! -s "$out/alumni.txt" ] || [ "$(mariadb -uroot -h127.0.0.1 -N -e "SELECT COUNT(*) FROM $DB.users WHERE email LIKE 'load-%'")" -lt 270 ]; then
  echo "creating load accounts"
  for i in $(seq 0 49); do account "load-staff-$i@load.alumnid.test" staff; done
  for i in $(seq 0 19); do account "load-viewer-$i@load.alumnid.test" viewer; done
  mariadb -uroot -h127.0.0.1 -N -e "SELECT public_id FROM $DB.alumni WHERE deleted_at IS NULL AND directory_consent ORDER BY RAND() LIMIT 200" |
    awk '{ printf "load-alumnus-%d@load.alumnid.test %s\n", NR-1, $1 }' > "$out/alumni.txt"
  while read -r email id; do account "$email" alumnus "$id"; done < "$out/alumni.txt"
fi
mariadb -uroot -h127.0.0.1 -N -e "SELECT public_id FROM $DB.alumni WHERE deleted_at IS NULL ORDER BY RAND() LIMIT 20000" > "$out/ids.txt"
[ -f bin/bench-jwt.pem ] || ./bin/alumnid keygen --out bin/bench-jwt.pem >/dev/null

GOMEMLIMIT=${SERVER_GOMEMLIMIT:-} ./bin/alumnid --db-dsn "$DSN" serve --http-addr $ADDR --metrics-addr $METRICS --jwt-key-file bin/bench-jwt.pem \
  --log-level warn > "$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.2; done # the search index loads first (~50 s for a million)

go build -o bin/load-gen ./bench/load
for n in $CLIENTS; do
  echo "== $n clients: ramp $RAMP, then $DURATION"
  ./bin/load-gen -base "http://$ADDR" -metrics "http://$METRICS/metrics" -password "$PASSWORD" \
    -ids "$out/ids.txt" -alumni "$out/alumni.txt" -clients "$n" -duration "$DURATION" -ramp "$RAMP" -think "$THINK" \
    -out "$out/report-$n.md" 2> "$out/load-$n.log"
  awk '/^VmHWM/ {hwm = $2} /^VmRSS/ {rss = $2} END {printf "\nServer memory: peak resident so far %.0f MiB, resident now %.0f MiB (VmHWM, VmRSS).\n", hwm / 1024, rss / 1024}' \
    "/proc/$server/status" | tee -a "$out/report-$n.md"
done
echo "server log: $out/server.log (errors: $(grep -c '"level":"ERROR"' "$out/server.log" || true))"
