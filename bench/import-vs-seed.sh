#!/usr/bin/env bash
# The import benchmark (100,000 rows, apply, fresh database) right after seeding as many
# alumni into a scratch database, as a yardstick of how fast this host is at the moment (see
# docs/PERFORMANCE.md). Needs the mariadb client; run through `task bench-import`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS alumni_seed_yardstick"
./bin/alumnid --db-dsn 'root@tcp(127.0.0.1:3306)/alumni_seed_yardstick' migrate up --create-database >/dev/null
./bin/alumnid --db-dsn 'root@tcp(127.0.0.1:3306)/alumni_seed_yardstick' seed --alumni 100000 | tail -1
mariadb -uroot -h127.0.0.1 -e "DROP DATABASE alumni_seed_yardstick"
go test ./internal/importer/ -run '^$' -bench Import -benchtime 1x 2>&1 | grep Benchmark
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
