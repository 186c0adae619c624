# Sourced by the benchmarks that run on a million alumni (load.sh, export.sh; scale.sh,
# openloop.sh and freshness.sh through serve.sh): prepare_database DB DSN N makes MariaDB's
# buffer pool big enough, migrates DB and seeds it up to N alumni; allow_password_admins DB
# lets the benchmarks' admins sign in with a password alone.
# shellcheck shell=bash

prepare_database() {
  local db=$1 dsn=$2 n=$3 pool have
  # A million alumni are about 1.4 GB of InnoDB pages with their indexes; the server's
  # default 128 MB buffer pool turns every query into disk reads.
  pool=$(mariadb -uroot -h127.0.0.1 -N -e 'SELECT @@innodb_buffer_pool_size')
  if [ "$pool" -lt $((2 * 1024 * 1024 * 1024)) ]; then
    echo "raising innodb_buffer_pool_size from $((pool / 1048576)) MB to 4 GB (SET GLOBAL; not persisted)"
    mariadb -uroot -h127.0.0.1 -e 'SET GLOBAL innodb_buffer_pool_size = 4294967296'
  fi
  ./bin/alumnid --db-dsn "$dsn" migrate up --create-database
  allow_password_admins "$db"
  have=$(mariadb -uroot -h127.0.0.1 -N -e "SELECT COUNT(*) FROM $db.alumni")
  if [ "$have" -lt "$n" ]; then
    echo "seeding $((n - have)) alumni into $db (about 20 minutes for a million on 2 vCPUs)"
    ./bin/alumnid --db-dsn "$dsn" seed --alumni $((n - have)) --batch 2000
  fi
}

# allow_password_admins DB: the benchmarks sign their admin in with a password alone, so their
# database turns adminsRequireTotp off. A real installation keeps it on (its default): its
# admins enrol a second factor.
allow_password_admins() {
  mariadb -uroot -h127.0.0.1 -e "INSERT INTO \`$1\`.settings (name, value, updated_at)
    VALUES ('adminsRequireTotp', 'false', UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE value = 'false', updated_at = UTC_TIMESTAMP(6)"
}
