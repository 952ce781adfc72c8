#!/usr/bin/env bash
# The minicloud scenario from a fresh clone: builds keystone-rs when there is no binary yet,
# the services' and clients' venvs (setup_venv.sh), starts RabbitMQ when it is down, then runs the tests in
# tools/minicloud/tests, which deploy the cloud (minicloud.sh up), exercise it and take it
# down. Arguments go to pytest. Exit status = pytest's.
#   tools/minicloud/run.sh
#   tools/minicloud/run.sh -k heat
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export KEYSTONE_RS_BIN=${KEYSTONE_RS_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/keystone-rs}
if [[ ! -x $KEYSTONE_RS_BIN ]]; then
  (cd "$REPO" && cargo build --locked --bin keystone-rs)
fi
venvs=$("$HERE/setup_venv.sh")
eval "$(tail -n 2 <<< "$venvs")"
export MINICLOUD_VENV MINICLOUD_CLIENTS_VENV
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  command -v rabbitmq-server >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; }
  rabbitmq-server -detached
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
fi
set +e
"$MINICLOUD_CLIENTS_VENV/bin/python" -m pytest -q -c "$HERE/tests/pytest.ini" "$HERE/tests" "$@"
exit $?
