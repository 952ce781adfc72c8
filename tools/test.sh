#!/usr/bin/env bash
# The whole test suite, as CI runs it: unit tests, black-box HTTP tests on SQLite,
# PostgreSQL and MariaDB, and client interop (openstack CLI, keystoneauth1,
# keystonemiddleware, Python Keystone) in a venv this script builds.
#   tools/test.sh            everything
#   SKIP_INTEROP=1 tools/test.sh   Rust tests only
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

log() { printf '\n== %s\n' "$*"; }

# Disk: a cold run writes several GiB (the debug build of the tests, the fuzz build with
# AddressSanitizer, the Python environments). Say what is free at the start and before the fuzz
# build, so a run that dies of a full disk says so in its log rather than as a linker crash.
disk_free_gib() { df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1048576 }'; }
log "disk: $(disk_free_gib) GiB free in $PWD"

# System packages the postgres/mysql features link against, the database servers, and
# OpenLDAP's slapd + ldap-utils for the LDAP domain tests (tests/api/ldap.rs starts its own
# slapd per test; the package's system slapd on port 389 is stopped, nothing uses it), and
# the headers python-ldap builds against for the peer venv's LDAP driver; RabbitMQ and
# systemd-analyze for the minicloud scenario (tools/minicloud); chromium (and its
# chromedriver) for the WebSSO browser test (tests/api/federation_websso.rs, driven by npm
# playwright-core from tests/oidc/package-lock.json).
need=()
for pkg in pkg-config libpq-dev libmariadb-dev libsqlite3-dev python3-venv slapd ldap-utils \
    libldap2-dev libsasl2-dev python3-dev rabbitmq-server systemd chromium chromium-driver; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Where the package's postinst started a system slapd, stop it: the tests run their own.
if [ -x /etc/init.d/slapd ]; then /etc/init.d/slapd stop >/dev/null 2>&1 || true; fi

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  log "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
# RabbitMQ: Heat's RPC in the minicloud scenario (tools/minicloud)
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  log "starting RabbitMQ"
  rabbitmq-server -detached || true
fi
for i in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && break
  sleep 1
done

# The OpenID provider the OIDC federation tests start (tests/oidc): the npm package
# oidc-provider, and playwright-core for the WebSSO browser test, pinned in
# tests/oidc/package-lock.json. The tests install it themselves on
# first use; doing it here makes a registry failure show as what it is.
if ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
oidc_dir="${CARGO_TARGET_DIR:-$PWD/target}/oidc-provider"
if ! cmp -s tests/oidc/package-lock.json "$oidc_dir/package-lock.json" ||
  [[ ! -f $oidc_dir/node_modules/oidc-provider/package.json ]]; then
  log "OpenID provider for the OIDC tests (npm ci)"
  mkdir -p "$oidc_dir"
  cp tests/oidc/package.json tests/oidc/package-lock.json "$oidc_dir/"
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

FEATURES="--features postgres,mysql"

# The black-box tests give each test server a database of its own on PostgreSQL and MariaDB
# and leave it there (one run leaves about 330 on each server, 3 GiB on PostgreSQL); this
# machine's servers outlive the run, so they are dropped before and after the suites.
drop_test_databases() {
  local db
  for db in $(psql -h 127.0.0.1 -U postgres -d test -Atc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'ks\\_test\\_%'" 2>/dev/null); do
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
      >/dev/null 2>&1 || true
  done
  for db in $(mariadb -h 127.0.0.1 -u root -Nse \
    "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'ks\\_test\\_%'" \
    2>/dev/null); do
    mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
}

# The house rules (imports run one way, each table written by its owner): seconds, so first.
log "house rules (tools/house.py)"
python3 tools/house.py

if [[ ${SKIP_INTEROP:-0} != 1 ]]; then
  # The Python side: clients for the interop tests, and upstream Keystone, whose
  # keystone-manage the schema tests use to build real Keystone databases to adopt.
  log "python environments"
  eval "$(tests/interop/setup_venv.sh | grep -E '^INTEROP_(PEER_)?VENV=')"
  export INTEROP_VENV INTEROP_PEER_VENV
  if [[ -n ${INTEROP_PEER_VENV:-} ]]; then
    export KEYSTONE_MANAGE=$INTEROP_PEER_VENV/bin/keystone-manage
    drivers=$PWD/target/peer-drivers
    if [[ ! -d $drivers/psycopg2 || ! -d $drivers/pymysql ]]; then
      "$INTEROP_PEER_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        --target "$drivers" -c tests/interop/constraints.txt psycopg2-binary pymysql
    fi
    export KSRS_PEER_PYTHONPATH=$drivers
  fi
fi

log "build"
cargo build --locked $FEATURES --bins --tests

# Real OpenStack services against keystone-rs, deployed as devstack does (5 to 7 min on
# 2 cores, 70 s more when the venvs are built from scratch). Mostly waiting on services
# starting and on Heat's engine, so it runs beside the black-box tests rather than after
# them (on its own SQLite files and free ports); its result is read before the interop step.
minicloud_pid=
minicloud_log="${CARGO_TARGET_DIR:-$PWD/target}/minicloud.log"
if [[ ${SKIP_INTEROP:-0} != 1 ]]; then
  log "minicloud: Placement, Heat and Glance from PyPI against keystone-rs (tools/minicloud), in the background (log: $minicloud_log)"
  KEYSTONE_RS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/keystone-rs" \
    tools/minicloud/run.sh >"$minicloud_log" 2>&1 &
  minicloud_pid=$!
  trap '[[ -n $minicloud_pid ]] && kill "$minicloud_pid" 2>/dev/null; true' EXIT
fi

log "unit and black-box tests (SQLite)"
cargo test --locked $FEATURES -- --test-threads 2

# The token conformance a second time on the other token format: the token, auth,
# revocation and delegation tests with `[token] provider = jws`, on each database (about 10 s on
# SQLite, 30 s on PostgreSQL and MariaDB).
JWS_TESTS="tokens:: revocation:: auth_routes:: trust:: application_credentials:: oauth1:: oauth2:: mtls:: jws::"
log "token tests with [token] provider = jws (SQLite)"
# shellcheck disable=SC2086 # the filters are separate words
KEYSTONE_TEST_TOKEN_PROVIDER=jws \
  cargo test --locked $FEATURES --test api -- --test-threads 2 $JWS_TESTS

log "black-box tests (PostgreSQL)"
drop_test_databases
KEYSTONE_TEST_DATABASE=postgresql://postgres@127.0.0.1:5432/test \
  cargo test --locked $FEATURES --test api -- --test-threads 2
log "token tests with [token] provider = jws (PostgreSQL)"
# shellcheck disable=SC2086
KEYSTONE_TEST_TOKEN_PROVIDER=jws KEYSTONE_TEST_DATABASE=postgresql://postgres@127.0.0.1:5432/test \
  cargo test --locked $FEATURES --test api -- --test-threads 2 $JWS_TESTS

log "black-box tests (MariaDB)"
KEYSTONE_TEST_DATABASE=mysql://root@127.0.0.1:3306/test \
  cargo test --locked $FEATURES --test api -- --test-threads 2
log "token tests with [token] provider = jws (MariaDB)"
# shellcheck disable=SC2086
KEYSTONE_TEST_TOKEN_PROVIDER=jws KEYSTONE_TEST_DATABASE=mysql://root@127.0.0.1:3306/test \
  cargo test --locked $FEATURES --test api -- --test-threads 2 $JWS_TESTS
drop_test_databases

if [[ -n $minicloud_pid ]]; then
  log "minicloud (started after the build): waiting for its result"
  if wait "$minicloud_pid"; then
    minicloud_pid=
    tail -n 25 "$minicloud_log"
  else
    minicloud_pid=
    cat "$minicloud_log"
    echo "minicloud failed" >&2
    exit 1
  fi
fi

if [[ ${SKIP_INTEROP:-0} != 1 ]]; then
  log "client interop"
  KEYSTONE_RS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/keystone-rs" tests/interop/run.sh
  log "keystonemiddleware interop on JWS tokens"
  INTEROP_TOKEN_PROVIDER=jws KEYSTONE_RS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/keystone-rs" \
    tests/interop/run.sh -k "auth_token_middleware"
fi

# API fuzzing against api-ref/openapi.yaml (a bounded run: about 7,000 requests, 75 s; the README's
# full run used --max-examples 200).
log "API fuzzing (schemathesis, ${SCHEMATHESIS_EXAMPLES:-25} examples per operation)"
KEYSTONE_RS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/keystone-rs" \
  tools/schemathesis.sh --max-examples "${SCHEMATHESIS_EXAMPLES:-25}"
# A short fuzz run of every target (FUZZ_SECONDS each, 15 by default; 0 skips it): mostly a
# check that the targets build and their seeds pass (about 100 s). The instrumented build of every
# dependency took 6 min on 2 cores (November 2026); tools/fuzz.sh runs longer campaigns.
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
if [[ $FUZZ_SECONDS != 0 ]]; then
  # The instrumented build needs a few GiB more; the debug build's incremental caches are not
  # needed by anything after this point, so they go first when the disk is short.
  if (($(disk_free_gib) < 8)); then
    log "disk: $(disk_free_gib) GiB free; removing the incremental build caches before the fuzz build"
    rm -rf "${CARGO_TARGET_DIR:-$PWD/target}/debug/incremental"
  fi
  log "fuzz smoke run (${FUZZ_SECONDS}s per target; $(disk_free_gib) GiB free)"
  tools/fuzz.sh "$FUZZ_SECONDS"
fi
log "dependency advisories (cargo audit against tools/audit's snapshot)"
tools/audit.sh
log "all tests passed"
