#!/usr/bin/env bash
# Measures search, lists, one-record reads, facets and analytics on 1,000,000 alumni with
# vegeta (pinned in tools/go.mod): 64 concurrent clients, each sending its next request when
# the last one is answered, for DURATION per scenario. Run through `task bench-scale`.
# Needs: curl, jq, the mariadb client; MariaDB on 127.0.0.1:3306 (root).
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${BENCH_DB:-alumni_1m}
DSN="root@tcp(127.0.0.1:3306)/$DB"
N=${BENCH_ALUMNI:-1000000}
DURATION=${DURATION:-20s}
CLIENTS=${CLIENTS:-64}
ADDR=127.0.0.1:8088
VEGETA="go tool -modfile=tools/go.mod vegeta"
PASSWORD='bench: violet kestrel sings over quiet harbours'
out=bin/bench-scale
mkdir -p "$out"

source bench/serve.sh
bench_prepare
bench_ids 5000
bench_serve $ADDR "$out/server.log"

# targets NAME ROLE: reads request paths (one per line) from stdin and writes a vegeta target file.
targets() { bench_targets $ADDR "$1" "$2"; }

sed 's#^#/api/v1/alumni/#' "$out/ids.txt" | targets get-one admin
cat <<'PATHS' | targets list-filtered admin
/api/v1/alumni?country=DE
/api/v1/alumni?status=lost_contact
/api/v1/alumni?program=History
/api/v1/alumni?graduationYearFrom=2010&graduationYearTo=2015
/api/v1/alumni?faculty=Faculty%20of%20Engineering&sort=-graduationYear
/api/v1/alumni?industry=Software&sort=lastName
/api/v1/alumni?tag=volunteer
/api/v1/alumni?sort=-updatedAt
/api/v1/alumni?country=US&status=active&sort=-graduationYear
/api/v1/alumni?city=Chicago
PATHS
printf '%s\n' /api/v1/alumni?q=smith /api/v1/alumni?q=garcia /api/v1/alumni?q=maria /api/v1/alumni?q=wang \
  /api/v1/alumni?q=johnson /api/v1/alumni?q=patel | targets search-common admin
printf '%s\n' /api/v1/alumni?q=okonkwo /api/v1/alumni?q=mcallister /api/v1/alumni?q=grosser /api/v1/alumni?q=ibanez \
  /api/v1/alumni?q=chatterjee /api/v1/alumni?q=lefevre | targets search-rare admin
printf '%s\n' '/api/v1/alumni?q=smith&country=US' '/api/v1/alumni?q=garcia&graduationYearFrom=2015' \
  '/api/v1/alumni?q=okonkwo&status=active' '/api/v1/alumni?q=maria&sort=lastName' \
  '/api/v1/alumni?q=mar&sort=lastName' '/api/v1/alumni?q=chen&program=History' | targets search-filtered admin
printf '%s\n' /api/v1/alumni?q=mar /api/v1/alumni?q=jo /api/v1/alumni?q=sch | targets search-prefix admin
printf '%s\n' /api/v1/alumni/facets '/api/v1/alumni/facets?q=okonkwo' '/api/v1/alumni/facets?q=smith' \
  '/api/v1/alumni/facets?program=History' | targets facets admin
for r in overview graduation-years programs geography employment activity data-quality; do
  echo "/api/v1/analytics/$r"
done | targets analytics viewer
printf '%s\n' '/api/v1/analytics/overview?country=DE' '/api/v1/analytics/employment?program=History' \
  '/api/v1/analytics/geography?graduationYearFrom=2020' | targets analytics-filtered admin

printf '| Scenario | Requests/s | p50 | p95 | p99 | Errors |\n|---|---|---|---|---|---|\n' > "$out/results.md"
for scenario in get-one list-filtered search-common search-rare search-filtered search-prefix facets analytics analytics-filtered; do
  echo "== $scenario ($CLIENTS clients, $DURATION)"
  $VEGETA attack -targets "$out/$scenario.targets" -rate 0 -max-workers "$CLIENTS" -workers "$CLIENTS" \
    -duration "$DURATION" -timeout 30s > "$out/$scenario.bin"
  $VEGETA report -type json < "$out/$scenario.bin" > "$out/$scenario.json"
  $VEGETA report < "$out/$scenario.bin" | sed -n '1,8p'
  jq -r --arg s "$scenario" '"| \($s) | \(.throughput | floor) | \(.latencies["50th"] / 1e6 | floor) ms | \(.latencies["95th"] / 1e6 | floor) ms | \(.latencies["99th"] / 1e6 | floor) ms | \((1 - .success) * .requests | floor) |"' \
    "$out/$scenario.json" >> "$out/results.md"
done
echo
cat "$out/results.md"
