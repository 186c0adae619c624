#!/usr/bin/env bash
# Freshness across replicas (issue 16: "a create, update, delete, restore or consent change shows
# in search, facets and reports within 1 s (p99), measured with the change made through one
# replica and read through another"): two `alumnid serve` on the same database, A (changes) and
# B (reads), and bench/freshness, which makes N changes through A and polls B until each shows
# in search, facets and a filtered report. Run through `task bench-freshness`; the table is
# written to bin/bench-freshness/results.md.
#
# Settings (environment): BENCH_DB (alumni_1m), BENCH_ALUMNI (1000000; seeded up to that many),
# N (200 changes; here N counts changes, not alumni), TIMEOUT (10s: a change B has not shown by
# then counts as not shown), ADDR_A (127.0.0.1:8092), ADDR_B (127.0.0.1:8093).
# Needs: curl, jq, the mariadb client; MariaDB on 127.0.0.1:3306 (root).
set -euo pipefail
cd "$(dirname "$0")/.."

CHANGES=${N:-200}
DB=${BENCH_DB:-alumni_1m}
DSN="root@tcp(127.0.0.1:3306)/$DB"
N=${BENCH_ALUMNI:-1000000}
TIMEOUT=${TIMEOUT:-10s}
ADDR_A=${ADDR_A:-127.0.0.1:8092}
ADDR_B=${ADDR_B:-127.0.0.1:8093}
PASSWORD='bench: violet kestrel sings over quiet harbours'
out=bin/bench-freshness
mkdir -p "$out"

source bench/serve.sh
bench_prepare
go build -o /dev/null ./bench/freshness # compile errors before the replicas load
# Both replicas load the search index at the same time (a million: ~50 s, on the same two cores).
bench_start "$ADDR_A" "$out/server-a.log"
a=$bench_last_pid
bench_start "$ADDR_B" "$out/server-b.log"
b=$bench_last_pid
bench_wait "$ADDR_A" "$out/server-a.log" $a
bench_wait "$ADDR_B" "$out/server-b.log" $b

echo "== $CHANGES changes through A ($ADDR_A), read through B ($ADDR_B)"
status=0
go run ./bench/freshness -a "http://$ADDR_A" -b "http://$ADDR_B" -email bench-admin@bench.alumnid.test \
  -password "$PASSWORD" -n "$CHANGES" -timeout "$TIMEOUT" -out "$out/results.md" || status=$?
for r in a b; do
  echo "server log: $out/server-$r.log (errors: $(grep -c '"level":"ERROR"' "$out/server-$r.log" || true))"
done
exit $status
