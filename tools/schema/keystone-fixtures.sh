#!/usr/bin/env bash
# Regenerates keystone-rs/tests/fixtures/keystone-schema-{sqlite,postgres,mysql}.txt: the
# schema descriptions (tests/db/catalog.rs) of databases built by Python Keystone's own
# `keystone-manage db_sync`. tests/db compares keystone-rs's migrations against them, so run
# this when Keystone's schema changes (a new release with new alembic revisions).
#
# Needs: keystone-manage ($KEYSTONE_MANAGE, default the peer venv), and for PostgreSQL/MySQL
# the Python drivers in a directory named by $KSRS_PEER_PYTHONPATH, e.g.
#   /opt/peer/venv/bin/pip install --target /var/tmp/ksdrivers psycopg2-binary pymysql
# plus psql/mysql clients and the servers of KSRS_TEST_POSTGRES_URL / KSRS_TEST_MYSQL_URL.
set -euo pipefail

MANAGE=${KEYSTONE_MANAGE:-/opt/peer/venv/bin/keystone-manage}
DRIVERS=${KSRS_PEER_PYTHONPATH:-}
PG=${KSRS_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432}
MY=${KSRS_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}
root=$(cd "$(dirname "$0")/../.." && pwd)
fixtures=$root/keystone-rs/tests/fixtures
work=$(mktemp -d)
name=ksrs_fixture_$$
cleanup() {
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
    mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

db_sync() { # sqlalchemy-url
    printf '[DEFAULT]\n[database]\nconnection = %s\n' "$1" >"$work/keystone.conf"
    if ! PYTHONPATH=$DRIVERS "$MANAGE" --config-file "$work/keystone.conf" db_sync >"$work/log" 2>&1; then
        cat "$work/log" >&2
        exit 1
    fi
}

describe() { # keystone-rs-url output-file
    (cd "$root" && KSRS_DESCRIBE_URL=$1 KSRS_DESCRIBE_OUT=$2 \
        cargo test -q -p keystone-rs --features postgres,mysql --test db \
        write_keystone_schema_fixture -- --ignored --exact >/dev/null)
    echo "wrote $2 ($(wc -l <"$2") lines)"
}

db_sync "sqlite:///$work/keystone.db"
describe "sqlite:///$work/keystone.db" "$fixtures/keystone-schema-sqlite.txt"

psql -q "$PG/postgres" -c "CREATE DATABASE $name"
db_sync "postgresql+psycopg2://${PG#*://}/$name"
describe "$PG/$name" "$fixtures/keystone-schema-postgres.txt"

mysql -h 127.0.0.1 -uroot -e "CREATE DATABASE $name"
db_sync "mysql+pymysql://${MY#*://}/$name?charset=utf8"
describe "$MY/$name" "$fixtures/keystone-schema-mysql.txt"
