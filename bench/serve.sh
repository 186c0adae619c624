# Sourced by the benchmarks that drive `alumnid serve` over HTTP (scale.sh, openloop.sh,
# freshness.sh). The caller sets DB, DSN, N, PASSWORD and out (the output folder) first, and
# runs from the repository's root.
#
#   bench_prepare              migrate DB and seed it up to N alumni (bench/million.sh), make the
#                              accounts bench-admin@ and bench-viewer@bench.alumnid.test with
#                              PASSWORD, and the token key bin/bench-jwt.pem
#   bench_ids COUNT            COUNT random live record ids into $out/ids.txt
#   bench_serve ADDR LOG       start `alumnid serve` on ADDR (log in LOG), stopped when the
#                              script exits; returns once /readyz answers (bench_start and
#                              bench_wait do the two halves, to start several servers at once)
#   bench_login ADDR ROLE      print an access token of the bench account with ROLE
#   bench_targets ADDR NAME ROLE
#                              read request paths (one per line) from stdin and write the vegeta
#                              target file $out/NAME.targets (GET, bearer token of ROLE)
# shellcheck shell=bash disable=SC2154 # DB, DSN, N, PASSWORD and out are the caller's

source bench/million.sh

BENCH_READY_TIMEOUT=${BENCH_READY_TIMEOUT:-300} # seconds; the index of a million loads in ~50 s
bench_pids=()

bench_prepare() {
  local role email
  prepare_database "$DB" "$DSN" "$N"
  for role in admin viewer; do
    email="bench-$role@bench.alumnid.test"
    echo "$PASSWORD" | ./bin/alumnid --db-dsn "$DSN" user create --email "$email" --role $role >/dev/null 2>&1 ||
      echo "$PASSWORD" | ./bin/alumnid --db-dsn "$DSN" user reset-password --email "$email" >/dev/null
  done
  [ -f bin/bench-jwt.pem ] || ./bin/alumnid keygen --out bin/bench-jwt.pem >/dev/null
}

bench_ids() {
  mariadb -uroot -h127.0.0.1 -N -e \
    "SELECT public_id FROM $DB.alumni WHERE deleted_at IS NULL ORDER BY RAND() LIMIT $1" > "$out/ids.txt"
}

bench_stop() {
  local pid
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# bench_start ADDR LOG: starts `alumnid serve` on ADDR in the background (its pid in
# bench_last_pid), stopped when the script exits, with BENCH_SERVE_ARGS besides (e.g.
# "--metrics-addr 127.0.0.1:9097 --profiling" to take a CPU profile during a run), and
# SERVER_GOMEMLIMIT as its GOMEMLIMIT (the server's only).
# bench_wait ADDR LOG PID: waits for its /readyz.
bench_start() {
  # shellcheck disable=SC2086 # BENCH_SERVE_ARGS is a list of arguments
  GOMEMLIMIT=${SERVER_GOMEMLIMIT:-} ./bin/alumnid --db-dsn "$DSN" serve --http-addr "$1" --jwt-key-file bin/bench-jwt.pem \
    --log-level warn ${BENCH_SERVE_ARGS:-} > "$2" 2>&1 &
  bench_last_pid=$!
  bench_pids+=("$bench_last_pid")
  trap bench_stop EXIT
}

bench_wait() {
  local addr=$1 log=$2 pid=$3 i
  for ((i = 0; i < BENCH_READY_TIMEOUT * 5; i++)); do # the search index loads first
    curl -sf "http://$addr/readyz" >/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "alumnid serve on $addr exited; the end of $log:" >&2
      tail -20 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "alumnid serve on $addr not ready after $BENCH_READY_TIMEOUT s (see $log)" >&2
  return 1
}

bench_serve() {
  bench_start "$1" "$2"
  bench_wait "$1" "$2" "$bench_last_pid"
}

bench_login() {
  curl -sf "http://$1/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench-$2@bench.alumnid.test\",\"password\":\"$PASSWORD\"}" | jq -r .accessToken
}

bench_targets() {
  local addr=$1 token path
  token=$(bench_login "$addr" "$3")
  if [ -z "$token" ] || [ "$token" = null ]; then
    echo "sign-in as bench-$3 failed on $addr" >&2
    return 1
  fi
  while read -r path; do
    printf 'GET http://%s%s\nAuthorization: Bearer %s\n\n' "$addr" "$path" "$token"
  done > "$out/$2.targets"
}
