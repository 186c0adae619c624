#!/usr/bin/env bash
# The open-loop search rate of issue 16 (">= 300 searches/s at p95 < 100 ms, reported beside the
# one-record read's rate in the same run"): vegeta sends searches at a fixed rate, whatever the
# answers' latency (open loop: new requests do not wait for old ones), and at the same time, in
# a second attack, one-record reads at GET_RATE. For each rate of RATES it reports both attacks:
# requests sent and answered per second, p50/p95/p99/max, success ratio and status codes. It stops
# raising the rate once the search p95 has exceeded 100 ms at two rates in a row. Run through
# `task bench-openloop`; results in bin/bench-openloop/ (results.md, one JSON report per attack).
#
# Settings (environment): BENCH_DB (alumni_1m), BENCH_ALUMNI (1000000; seeded up to that many),
# RATES ("100 200 300 400 500" searches/s), DURATION (20s per rate), GET_RATE (100 reads/s),
# WARMUP (5s of searches at the first rate before measuring; 0 skips it), MAX_WORKERS (10000),
# ADDR (127.0.0.1:8091), P95_LIMIT_MS (100).
# Needs: curl, jq, the mariadb client; MariaDB on 127.0.0.1:3306 (root).
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${BENCH_DB:-alumni_1m}
DSN="root@tcp(127.0.0.1:3306)/$DB"
N=${BENCH_ALUMNI:-1000000}
RATES=${RATES:-100 200 300 400 500}
DURATION=${DURATION:-20s}
GET_RATE=${GET_RATE:-100}
WARMUP=${WARMUP:-5s}
MAX_WORKERS=${MAX_WORKERS:-10000}
ADDR=${ADDR:-127.0.0.1:8091}
P95_LIMIT_MS=${P95_LIMIT_MS:-100} # the target of issue 16
VEGETA="go tool -modfile=tools/go.mod vegeta"
PASSWORD='bench: violet kestrel sings over quiet harbours'
out=bin/bench-openloop
mkdir -p "$out"
rm -f "$out"/*.bin "$out"/*.json # the reports of an earlier run

source bench/serve.sh
bench_prepare
bench_ids 5000
bench_serve "$ADDR" "$out/server.log"
server=$bench_last_pid

# The search shapes, in turn: 1-, 2- and 3-letter prefixes, common, rare and two-word names,
# a search with one to three filters, the name and class-year orders, and facets.
search_paths() {
  cat <<'PATHS'
/api/v1/alumni?q=j
/api/v1/alumni?q=ma
/api/v1/alumni?q=mar
/api/v1/alumni?q=sch
/api/v1/alumni?q=maria%20garcia
/api/v1/alumni?q=james%20smith
/api/v1/alumni?q=adaeze%20okafor
/api/v1/alumni?q=okonkwo
/api/v1/alumni?q=mar%20eng
/api/v1/alumni?q=smith&country=US
/api/v1/alumni?q=ma&country=US&status=active
/api/v1/alumni?q=jo&country=US&status=active&graduationYearFrom=2010
/api/v1/alumni?q=ma&sort=lastName
/api/v1/alumni?q=jo&sort=-graduationYear
/api/v1/alumni/facets?q=ma
/api/v1/alumni/facets?q=smith&country=US
PATHS
}

# targets: fresh tokens for each rate (access tokens last 15 minutes).
targets() {
  search_paths | bench_targets "$ADDR" search admin
  sed 's#^#/api/v1/alumni/#' "$out/ids.txt" | bench_targets "$ADDR" get-one admin
}

# attack NAME RATE DURATION: an open-loop attack of $out/NAME.targets into $out/NAME-RATE.bin.
attack() {
  $VEGETA attack -targets "$out/$1.targets" -rate "$2/s" -duration "$3" -max-workers "$MAX_WORKERS" \
    -timeout 30s -max-body 0 > "$out/$1-$2.bin"
}

# report NAME RATE: the JSON report of an attack, and a one-line summary of it.
report() {
  $VEGETA report -type json < "$out/$1-$2.bin" > "$out/$1-$2.json"
  jq -r --arg n "$1" --arg r "$2" '"  \($n) at \($r)/s: sent \(.rate * 10 | round / 10)/s, ok \(.throughput * 10 | round / 10)/s, p50 \(.latencies["50th"] / 1e6 * 10 | round / 10) ms, p95 \(.latencies["95th"] / 1e6 * 10 | round / 10) ms, p99 \(.latencies["99th"] / 1e6 * 10 | round / 10) ms, max \(.latencies.max / 1e6 * 10 | round / 10) ms, success \(.success * 100 * 100 | round / 100) %, codes \(.status_codes | to_entries | map("\(.key)×\(.value)") | join(" "))"' \
    "$out/$1-$2.json"
}

# cells JSON: the table cells of one attack.
cells() {
  jq -r '[(.rate | round), (.throughput | round), (.latencies["50th"], .latencies["95th"], .latencies["99th"], .latencies.max
    | . / 1e6 | if . < 10 then (. * 10 | round / 10) else round end | "\(.) ms"),
    "\(.success * 100 * 100 | round / 100) %", (.status_codes | to_entries | map("\(.key): \(.value)") | join(", "))] | join(" | ")' "$1"
}

p95_ms() { jq -r '.latencies["95th"] / 1e6 | floor' "$1"; }

if [ "$WARMUP" != 0 ]; then
  first=${RATES%% *}
  echo "== warm-up: searches at $first/s for $WARMUP"
  targets
  attack search "$first" "$WARMUP"
  rm -f "$out/search-$first.bin"
fi

{
  echo "| Searches asked/s | Search sent/s | Search ok/s | p50 | p95 | p99 | max | Success | Status codes | Get-one sent/s | Get-one ok/s | p50 | p95 | p99 | max | Success | Status codes |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$out/rows.md"
over=0 held='' broke=''
for rate in $RATES; do
  echo "== searches at $rate/s beside one-record reads at $GET_RATE/s, $DURATION"
  targets
  attack search "$rate" "$DURATION" &
  searches=$!
  attack get-one "$GET_RATE" "$DURATION" &
  reads=$!
  wait $searches
  wait $reads
  report search "$rate"
  report get-one "$GET_RATE"
  mv "$out/get-one-$GET_RATE.json" "$out/get-one-beside-$rate.json"
  mv "$out/get-one-$GET_RATE.bin" "$out/get-one-beside-$rate.bin"
  echo "| $rate | $(cells "$out/search-$rate.json") | $(cells "$out/get-one-beside-$rate.json") |" >> "$out/rows.md"
  if [ "$(p95_ms "$out/search-$rate.json")" -ge "$P95_LIMIT_MS" ]; then
    over=$((over + 1))
    [ $over -eq 1 ] && broke=$rate
    if [ $over -ge 2 ]; then
      echo "  search p95 over $P95_LIMIT_MS ms at two rates in a row: stopping"
      break
    fi
  else
    over=0 broke=''
    # held: the highest rate whose searches were all answered (2xx), in time, at the rate asked
    if [ "$(jq --argjson r "$rate" '.success == 1 and .throughput >= 0.95 * $r' "$out/search-$rate.json")" = true ]; then
      held=$rate
    fi
  fi
  sleep 2 # let the server drain before the next rate
done

{
  echo "Open-loop searches (16 shapes in turn, vegeta -rate) beside one-record reads at $GET_RATE/s, $DURATION per rate; database $DB, $(date -u +%Y-%m-%d)."
  echo
  cat "$out/rows.md"
  echo
  echo "Highest search rate held (p95 < $P95_LIMIT_MS ms, every request 2xx, at least 95 % of the rate answered): ${held:-none}${held:+/s}."
  if [ $over -ge 2 ]; then
    echo "Broke at $broke/s: search p95 over $P95_LIMIT_MS ms there and at the next rate."
  elif [ $over -eq 1 ]; then
    echo "Search p95 over $P95_LIMIT_MS ms at the last rate tried ($broke/s) only."
  fi
  awk '/^VmHWM/ {hwm = $2} /^VmRSS/ {rss = $2} END {printf "\nServer memory: peak resident %.0f MiB, resident at the end %.0f MiB (VmHWM, VmRSS).\n", hwm / 1024, rss / 1024}' \
    "/proc/$server/status"
} > "$out/results.md"
rm -f "$out/rows.md"
echo
cat "$out/results.md"
errors=$(grep -c '"level":"ERROR"' "$out/server.log" || true)
echo "server log: $out/server.log (errors: $errors)"
