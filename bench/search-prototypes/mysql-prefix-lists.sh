#!/usr/bin/env bash
# Prototype A of docs/SEARCH.md: precomputed ranked lists per word prefix in MySQL
# (PERFORMANCE.md's own proposal), measured on alumni_1m. It builds a scratch table of every
# 2- and 3-letter prefix of every public search word (kind 'p', what every reader may match),
# keyed so that the first page of a one-word search in relevance order is one index range, then
# times the query shapes the issue names with the server's own clock (ANALYZE-free: each
# statement run 5 times, the median reported). Needs the mariadb client and a seeded alumni_1m.
# Drops the scratch table at the end (KEEP=1 keeps it; REUSE=1 times an existing one).
set -euo pipefail
DB=${DB:-alumni_1m}
q() { mariadb -uroot -h127.0.0.1 -N "$DB" -e "$1"; }

if [ "${REUSE:-}" = 1 ] && [ -n "$(q "SHOW TABLES LIKE 'proto_prefix'")" ]; then
  echo "reusing proto_prefix"
else
echo "building proto_prefix (2- and 3-letter prefixes, kind p)…"
start=$(date +%s.%N)
q "DROP TABLE IF EXISTS proto_prefix"
q "CREATE TABLE proto_prefix (
  prefix VARCHAR(3) NOT NULL, score TINYINT NOT NULL,
  last_name VARCHAR(100) NOT NULL, first_name VARCHAR(100) NOT NULL,
  public_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, alumnus_id BIGINT NOT NULL,
  PRIMARY KEY (prefix, score DESC, last_name, first_name, public_id), KEY ix_proto_prefix_alumnus (alumnus_id, prefix)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci"
for n in 2 3; do
  q "INSERT IGNORE INTO proto_prefix
     SELECT LEFT(t.term, $n), MAX(t.weight), a.last_name, a.first_name, a.public_id, a.id
     FROM alumni_terms t JOIN alumni a ON a.id = t.alumnus_id
     WHERE t.kind = 'p' AND CHAR_LENGTH(t.term) >= $n AND a.deleted_at IS NULL
     GROUP BY LEFT(t.term, $n), a.id"
done
end=$(date +%s.%N)
echo "build: $(echo "$end - $start" | bc) s; rows: $(q 'SELECT COUNT(*) FROM proto_prefix'); size: $(q "SELECT ROUND((data_length+index_length)/1048576) FROM information_schema.tables WHERE table_schema='$DB' AND table_name='proto_prefix'") MiB"
fi

time_it() { # name, statement
  local times=()
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s%N)
    q "$2" >/dev/null
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
  done
  printf '%-48s median %5s ms  (runs: %s)\n' "$1" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)" "${times[*]}"
}

time_it "baseline: SELECT 1 (the client's own start-up)" "SELECT 1"
time_it "prefix 'ma', relevance, page 1" "SELECT alumnus_id FROM proto_prefix WHERE prefix = 'ma' ORDER BY score DESC, last_name, first_name, public_id LIMIT 26"
time_it "prefix 'mar', relevance, page 1" "SELECT alumnus_id FROM proto_prefix WHERE prefix = 'mar' ORDER BY score DESC, last_name, first_name, public_id LIMIT 26"
time_it "prefix 'ma', relevance, page 10 (keyset)" "SELECT alumnus_id FROM proto_prefix WHERE prefix = 'ma' ORDER BY score DESC, last_name, first_name, public_id LIMIT 234, 26"
time_it "prefix 'ma' + country=NZ, page 1" "SELECT p.alumnus_id FROM proto_prefix p JOIN alumni a ON a.id = p.alumnus_id WHERE p.prefix = 'ma' AND a.country = 'NZ' ORDER BY p.score DESC, p.last_name, p.first_name, p.public_id LIMIT 26"
time_it "prefix 'ma' + 3 filters, page 1" "SELECT p.alumnus_id FROM proto_prefix p JOIN alumni a ON a.id = p.alumnus_id WHERE p.prefix = 'ma' AND a.country = 'US' AND a.status = 'active' AND EXISTS (SELECT 1 FROM degrees d WHERE d.alumnus_id = a.id AND d.graduation_year BETWEEN 1990 AND 2010) ORDER BY p.score DESC, p.last_name, p.first_name, p.public_id LIMIT 26"
time_it "two words 'mar eng', page 1" "SELECT p.alumnus_id FROM proto_prefix p WHERE p.prefix = 'mar' AND EXISTS (SELECT 1 FROM proto_prefix p2 WHERE p2.prefix = 'eng' AND p2.alumnus_id = p.alumnus_id) ORDER BY p.score DESC, p.last_name, p.first_name, p.public_id LIMIT 26"
time_it "facet country over prefix 'ma'" "SELECT a.country, COUNT(*) FROM proto_prefix p JOIN alumni a ON a.id = p.alumnus_id WHERE p.prefix = 'ma' GROUP BY a.country"
time_it "count of prefix 'ma'" "SELECT COUNT(*) FROM proto_prefix WHERE prefix = 'ma'"

[ "${KEEP:-}" = 1 ] || q "DROP TABLE proto_prefix"
