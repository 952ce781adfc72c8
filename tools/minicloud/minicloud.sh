#!/usr/bin/env bash
# minicloud: a cloud in a box. keystone-rs, then Placement, Heat (API, CFN API, engine over
# RabbitMQ) and Glance (file store) from PyPI, deployed the way devstack deploys them: the
# same keystone-manage steps in the same order, the same accounts made with the same
# `openstack` commands, the same service configuration. Each step names the devstack
# function it mirrors (devstack's lib/keystone, lib/placement, lib/glance, functions-common,
# and heat's devstack/lib/heat).
#
#   tools/minicloud/minicloud.sh up DIR     deploy into DIR (a new directory), leave it running
#   tools/minicloud/minicloud.sh down DIR   stop everything `up` started in DIR
#
# `up` prints `source DIR/openrc` at the end: it sets OS_CLIENT_CONFIG_FILE to DIR/clouds.yaml
# (devstack's clouds: devstack, devstack-admin, devstack-system-admin, …) and PATH to the venv.
# Needs: the keystone-rs binary (KEYSTONE_RS_BIN, else target/debug/keystone-rs), the venvs
# of tools/minicloud/setup_venv.sh (MINICLOUD_VENV, MINICLOUD_CLIENTS_VENV), RabbitMQ on
# 127.0.0.1:5672 (guest/guest;
# started with `rabbitmq-server -detached` when down) and rabbitmqctl, for Heat's own vhost.
# Every service listens on 127.0.0.1 on a free port, so several miniclouds run side by side.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

usage() { echo "usage: $0 up|down DIR" >&2; exit 2; }
[[ $# == 2 ]] || usage
ACTION=$1
DIR=$(realpath -m "$2")

VENV=${MINICLOUD_VENV:-$REPO/target/minicloud-venv}
CLIENTS_VENV=${MINICLOUD_CLIENTS_VENV:-$REPO/target/minicloud-clients}
KEYSTONE_RS_BIN=${KEYSTONE_RS_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/keystone-rs}

log() { printf '[minicloud %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes: each service runs in its own session (setsid), its pid in DIR/pids, its output in
# DIR/logs; `down` signals each process group it recorded, and only those.

start_process() {  # NAME CMD...
  local name=$1; shift
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$DIR/pids/$name.pid"
}

stop_all() {
  local pidfile pid
  for pidfile in "$DIR"/pids/*.pid; do
    [[ -e $pidfile ]] || continue
    pid=$(<"$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pidfile in "$DIR"/pids/*.pid; do
    [[ -e $pidfile ]] || continue
    pid=$(<"$pidfile")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

wait_for_http() {  # NAME URL: any HTTP answer (even 401) means the server is up
  local name=$1 url=$2 pid
  pid=$(<"$DIR/pids/$name.pid")
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null -m 5 "$url"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$DIR/logs/$name.log" >&2; die "$name exited"; }
    sleep 0.2
  done
  tail -n 40 "$DIR/logs/$name.log" >&2
  die "$name did not answer on $url within 60 s"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# devstack's inifile helper (inc/ini-config: iniset FILE SECTION OPTION VALUE)
iniset() { "$VENV/bin/python" "$HERE/iniset.py" "$@"; }

# A WSGI application under gunicorn (devstack: write_uwsgi_config + run_process). oslo.config
# reads the process's argv when the application does not pass its own (heat), so the worker
# gets the service's config file there, as uWSGI's `pyargv` would give it; the master keeps
# its own argv, so SIGHUP (reload: a new worker reads the config again) works.
start_wsgi() {  # NAME PORT MODULE:APP CONF_FILE THREADS [ENV=VALUE…]
  local name=$1 port=$2 app=$3 conf=$4 threads=$5; shift 5
  cat > "$DIR/etc/$name-gunicorn.py" <<EOF
bind = "127.0.0.1:$port"
workers = 1
worker_class = "gthread"
threads = $threads
timeout = 120
accesslog = "-"
# gunicorn's control socket is one path per user: several miniclouds would share it
control_socket_disable = True


def post_fork(server, worker):
    import sys
    sys.argv[1:] = ["--config-file", "$conf"]
EOF
  start_process "$name" env "$@" "$VENV/bin/gunicorn" -c "$DIR/etc/$name-gunicorn.py" "$app"
}

# ---------------------------------------------------------------------------------------------
# devstack's settings (stackrc, lib/keystone): the names of the things it creates.
REGION_NAME=RegionOne
SERVICE_DOMAIN_NAME=Default
SERVICE_PROJECT_NAME=service
ADMIN_PASSWORD=${ADMIN_PASSWORD:-secretadmin}
SERVICE_PASSWORD=${SERVICE_PASSWORD:-secretservice}
KEYSTONE_PASSWORD_HASH_ROUNDS=4
# heat's devstack/lib/heat: HEAT_ENGINE_WORKERS = max(2, nproc / 4)
HEAT_ENGINE_WORKERS=$(( ($(nproc) / 4) < 2 ? 2 : ($(nproc) / 4) ))

# `openstack` as devstack runs it (functions-common: `openstack --os-cloud devstack-system-admin`)
osc() { "$CLIENTS_VENV/bin/openstack" --os-cloud devstack-system-admin "$@" 2>>"$DIR/logs/openstack.log"; }

# devstack's async_run/async_wait (inc/async): independent calls run side by side
declare -A ASYNC=()
async_run() { local name=$1; shift; "$@" >/dev/null & ASYNC[$name]=$!; }
async_wait() {
  local name
  for name in "$@"; do
    wait "${ASYNC[$name]}" || die "async step $name failed (see $DIR/logs/openstack.log)"
    unset "ASYNC[$name]"
  done
}

# --- functions-common: the get_or_create_* helpers, the same commands --------------------
get_or_create_domain() { osc domain create "$1" ${2:+--description "$2"} --or-show -f value -c id; }
get_or_create_project() { osc project create "$1" --domain="$2" --or-show -f value -c id; }
get_or_create_role() { osc role create "$1" --or-show -f value -c id; }
get_or_create_group() { osc group create "$1" --domain "$2" --description "$3" --or-show -f value -c id; }
get_or_create_user() {  # NAME PASSWORD DOMAIN [EMAIL]
  osc user create "$1" --password "$2" --domain="$3" ${4:+--email="$4"} --or-show -f value -c id
}
_get_domain_args() { echo ${1:+--user-domain "$1"} ${2:+--project-domain "$2"}; }
get_or_add_user_project_role() {  # ROLE USER PROJECT [USER_DOMAIN PROJECT_DOMAIN]
  # shellcheck disable=SC2046 # the domain arguments are separate words, as in devstack
  osc role add "$1" --user "$2" --project "$3" $(_get_domain_args "${4:-}" "${5:-}")
  # shellcheck disable=SC2046
  osc role assignment list --role "$1" --user "$2" --project "$3" \
    $(_get_domain_args "${4:-}" "${5:-}") -c Role -f value
}
get_or_add_user_domain_role() {
  osc role add "$1" --user "$2" --domain "$3"
  osc role assignment list --role "$1" --user "$2" --domain "$3" -c Role -f value
}
get_or_add_user_system_role() {
  osc role add "$1" --user "$2" --system "$3"
  osc role assignment list --role "$1" --user "$2" --system "$3" -c Role -f value
}
get_or_add_group_project_role() {
  osc role add "$1" --group "$2" --project "$3"
  osc role assignment list --role "$1" --group "$2" --project "$3" -c Role -f value
}
get_or_create_service() {  # NAME TYPE DESCRIPTION
  osc service show "$2" -f value -c id 2>/dev/null ||
    osc service create "$2" --name "$1" --description="$3" -f value -c id
}
_get_or_create_endpoint_with_interface() {  # SERVICE INTERFACE URL REGION
  local endpoint_id
  endpoint_id=$(osc endpoint list --service "$1" --interface "$2" --region "$4" -c ID -f value)
  if [[ -z $endpoint_id ]]; then
    endpoint_id=$(osc endpoint create "$1" "$2" "$3" --region "$4" -f value -c id)
  fi
  echo "$endpoint_id"
}
get_or_create_endpoint() { _get_or_create_endpoint_with_interface "$1" public "$3" "$2"; }

# lib/keystone create_service_user: the user in the service project with the `service` role
# (and, when given, a second role)
create_service_user() {
  get_or_create_user "$1" "$SERVICE_PASSWORD" "$SERVICE_DOMAIN_NAME" >/dev/null
  get_or_add_user_project_role service "$1" "$SERVICE_PROJECT_NAME" \
    "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME" >/dev/null
  if [[ -n ${2:-} ]]; then
    get_or_add_user_project_role "$2" "$1" "$SERVICE_PROJECT_NAME" \
      "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME" >/dev/null
  fi
}

# lib/keystone configure_keystoneauth + configure_keystone_authtoken_middleware
configure_keystone_authtoken_middleware() {  # CONF USER [SECTION] [SERVICE_TYPE]
  local conf=$1 user=$2 section=${3:-keystone_authtoken} service_type=${4:-}
  iniset "$conf" "$section" auth_type password
  iniset "$conf" "$section" interface public
  iniset "$conf" "$section" auth_url "$KEYSTONE_SERVICE_URI"
  iniset "$conf" "$section" username "$user"
  iniset "$conf" "$section" password "$SERVICE_PASSWORD"
  iniset "$conf" "$section" user_domain_name "$SERVICE_DOMAIN_NAME"
  iniset "$conf" "$section" project_name "$SERVICE_PROJECT_NAME"
  iniset "$conf" "$section" project_domain_name "$SERVICE_DOMAIN_NAME"
  iniset "$conf" "$section" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
  # devstack also sets memcached_servers (no memcached here: keystonemiddleware caches in
  # process, same token_cache_time) and cafile (no TLS here)
  if [[ -n $service_type ]]; then
    iniset "$conf" "$section" service_type "$service_type"
  fi
  # keystonemiddleware's recommended setting (its default, False, is deprecated): a service
  # token must carry one of service_token_roles (`service`)
  iniset "$conf" "$section" service_token_roles_required true
}

# ---------------------------------------------------------------------------------------------
ensure_rabbitmq() {
  if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    log "starting RabbitMQ"
    rabbitmq-server -detached || true
    for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  fi
  rabbitmqctl -q await_startup >/dev/null 2>&1 || rabbitmqctl -q wait --timeout 60 >/dev/null 2>&1 || true
}

write_clouds_yaml() {
  # functions-common write_clouds_yaml: the clouds devstack writes (minus the TLS ones)
  local cloud user project scope
  {
    echo "clouds:"
    while read -r cloud user project scope; do
      cat <<EOF
  $cloud:
    region_name: $REGION_NAME
    identity_api_version: '3'
    auth:
      auth_url: $KEYSTONE_SERVICE_URI
      username: $user
      password: $ADMIN_PASSWORD
      user_domain_id: default
EOF
      if [[ $scope == system ]]; then
        echo "      system_scope: all"
      else
        printf '      project_name: %s\n      project_domain_id: default\n' "$project"
      fi
    done <<EOF
devstack demo demo project
devstack-admin admin admin project
devstack-admin-demo admin demo project
devstack-alt alt_demo alt_demo project
devstack-alt-member alt_demo_member alt_demo project
devstack-alt-reader alt_demo_reader alt_demo project
devstack-reader demo_reader demo project
devstack-system-admin admin - system
devstack-system-member system_member - system
devstack-system-reader system_reader - system
EOF
  } > "$DIR/clouds.yaml"
}

# --- keystone ----------------------------------------------------------------------------
configure_keystone() {
  # lib/keystone configure_keystone, every line devstack writes with its default settings
  # (keystone-rs accepts them all; it has no [cache] backend, no notifications, no uWSGI)
  local conf=$KEYSTONE_CONF
  iniset "$conf" identity driver sql
  iniset "$conf" identity password_hash_rounds $KEYSTONE_PASSWORD_HASH_ROUNDS
  iniset "$conf" assignment driver sql
  iniset "$conf" role driver sql
  iniset "$conf" resource driver sql
  iniset "$conf" cache enabled True
  iniset "$conf" cache backend dogpile.cache.memcached
  iniset "$conf" cache memcache_servers localhost:11211
  iniset "$conf" api response_validation error
  iniset "$conf" oslo_messaging_notifications transport_url "$TRANSPORT_URL"  # iniset_rpc_backend
  iniset "$conf" DEFAULT public_endpoint "$KEYSTONE_SERVICE_URI"
  iniset "$conf" token provider fernet
  iniset "$conf" database connection "sqlite:///$DIR/data/keystone.db"
  iniset "$conf" DEFAULT debug True
  iniset "$conf" DEFAULT max_token_size 16384
  iniset "$conf" fernet_tokens key_repository "$DIR/etc/keystone/fernet-keys/"
  iniset "$conf" credential key_repository "$DIR/etc/keystone/credential-keys/"
  iniset "$conf" oslo_policy policy_file policy.yaml
  iniset "$conf" oslo_policy enforce_new_defaults true
}

init_keystone() {
  # lib/keystone init_keystone, through keystone-rs's keystone-manage entry point
  keystone-manage --config-file "$KEYSTONE_CONF" db_sync
  rm -rf "$DIR/etc/keystone/fernet-keys/"
  keystone-manage --config-file "$KEYSTONE_CONF" fernet_setup
  rm -rf "$DIR/etc/keystone/credential-keys/"
  keystone-manage --config-file "$KEYSTONE_CONF" credential_setup
}

bootstrap_keystone() {
  # lib/keystone bootstrap_keystone (KEYSTONE_ADMIN_ENDPOINT is False by default)
  keystone-manage --config-file "$KEYSTONE_CONF" bootstrap \
    --bootstrap-username admin \
    --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-project-name admin \
    --bootstrap-role-name admin \
    --bootstrap-service-name keystone \
    --bootstrap-region-id "$REGION_NAME" \
    --bootstrap-public-url "$KEYSTONE_SERVICE_URI"
}

start_keystone() {
  # lib/keystone start_keystone (devstack: uWSGI behind Apache at /identity; here keystone-rs
  # serves on its own port)
  start_process keystone "$KEYSTONE_RS_BIN" serve --config-file "$KEYSTONE_CONF" \
    --bind "127.0.0.1:$KEYSTONE_PORT"
  wait_for_http keystone "$KEYSTONE_SERVICE_URI/v3"
}

create_keystone_accounts() {
  # lib/keystone create_keystone_accounts, step for step (async_run groups as devstack's)
  local admin_project admin_user demo_project demo_user invis_project alt_demo_project
  local alt_demo_user alt_demo_member alt_demo_reader demo_reader system_member_user
  local system_reader_user admin_group non_admin_group
  admin_project=$(osc project show admin -f value -c id)
  admin_user=$(osc user show admin -f value -c id)
  async_run ks-domain-role get_or_add_user_domain_role admin "$admin_user" default
  get_or_create_domain "$SERVICE_DOMAIN_NAME" >/dev/null
  async_run ks-project get_or_create_project "$SERVICE_PROJECT_NAME" "$SERVICE_DOMAIN_NAME"
  async_run ks-service get_or_create_role service
  async_run ks-reseller get_or_create_role ResellerAdmin
  async_run ks-anotherrole get_or_create_role anotherrole
  invis_project=$(get_or_create_project invisible_to_admin default)
  demo_project=$(get_or_create_project demo default)
  demo_user=$(get_or_create_user demo "$ADMIN_PASSWORD" default demo@example.com)
  async_wait ks-domain-role ks-project ks-service ks-reseller ks-anotherrole

  async_run ks-demo-member get_or_add_user_project_role member "$demo_user" "$demo_project"
  async_run ks-demo-admin get_or_add_user_project_role admin "$admin_user" "$demo_project"
  async_run ks-demo-another get_or_add_user_project_role anotherrole "$demo_user" "$demo_project"
  async_run ks-demo-invis get_or_add_user_project_role member "$demo_user" "$invis_project"
  demo_reader=$(get_or_create_user demo_reader "$ADMIN_PASSWORD" default demo_reader@example.com)
  async_run ks-demo-reader get_or_add_user_project_role reader "$demo_reader" "$demo_project"
  alt_demo_project=$(get_or_create_project alt_demo default)
  alt_demo_user=$(get_or_create_user alt_demo "$ADMIN_PASSWORD" default alt_demo@example.com)
  async_run ks-alt-admin get_or_add_user_project_role admin "$alt_demo_user" "$alt_demo_project"
  async_run ks-alt-another get_or_add_user_project_role anotherrole "$alt_demo_user" "$alt_demo_project"
  alt_demo_member=$(get_or_create_user alt_demo_member "$ADMIN_PASSWORD" default alt_demo_member@example.com)
  async_run ks-alt-member-user get_or_add_user_project_role member "$alt_demo_member" "$alt_demo_project"
  alt_demo_reader=$(get_or_create_user alt_demo_reader "$ADMIN_PASSWORD" default alt_demo_reader@example.com)
  async_run ks-alt-reader-user get_or_add_user_project_role reader "$alt_demo_reader" "$alt_demo_project"
  system_member_user=$(get_or_create_user system_member "$ADMIN_PASSWORD" default system_member@example.com)
  async_run ks-system-member get_or_add_user_system_role member "$system_member_user" all
  system_reader_user=$(get_or_create_user system_reader "$ADMIN_PASSWORD" default system_reader@example.com)
  async_run ks-system-reader get_or_add_user_system_role reader "$system_reader_user" all
  admin_group=$(get_or_create_group admins default "openstack admin group")
  non_admin_group=$(get_or_create_group nonadmins default "non-admin group")
  async_run ks-group-memberdemo get_or_add_group_project_role member "$non_admin_group" "$demo_project"
  async_run ks-group-anotherdemo get_or_add_group_project_role anotherrole "$non_admin_group" "$demo_project"
  async_run ks-group-memberalt get_or_add_group_project_role member "$non_admin_group" "$alt_demo_project"
  async_run ks-group-anotheralt get_or_add_group_project_role anotherrole "$non_admin_group" "$alt_demo_project"
  async_run ks-group-admin get_or_add_group_project_role admin "$admin_group" "$admin_project"
  async_wait ks-demo-member ks-demo-admin ks-demo-another ks-demo-invis ks-demo-reader
  async_wait ks-alt-admin ks-alt-another ks-alt-member-user ks-alt-reader-user
  async_wait ks-system-member ks-system-reader
  async_wait ks-group-memberdemo ks-group-anotherdemo ks-group-memberalt ks-group-anotheralt ks-group-admin
}

# --- placement (devstack lib/placement) ---------------------------------------------------
create_placement_accounts() {
  create_service_user placement admin
  get_or_create_service placement placement "Placement Service" >/dev/null
  get_or_create_endpoint placement "$REGION_NAME" "$PLACEMENT_URL" >/dev/null
}

configure_placement() {
  # create_placement_conf + configure_placement (ENFORCE_NEW_DEFAULTS is True in devstack)
  local conf=$DIR/etc/placement/placement.conf
  iniset "$conf" placement_database connection "sqlite:///$DIR/data/placement.db"
  iniset "$conf" DEFAULT debug false
  iniset "$conf" api auth_strategy keystone
  configure_keystone_authtoken_middleware "$conf" placement
  iniset "$conf" oslo_policy enforce_new_defaults True
}

init_placement() { "$VENV/bin/placement-manage" --config-file "$DIR/etc/placement/placement.conf" db sync; }

start_placement() {
  start_wsgi placement "$PLACEMENT_PORT" placement.wsgi.api:application \
    "$DIR/etc/placement/placement.conf" 1 OS_PLACEMENT_CONFIG_DIR="$DIR/etc/placement"
}

# --- glance (devstack lib/glance) -----------------------------------------------------------
create_glance_accounts() {
  create_service_user glance admin
  get_or_create_service glance image "Glance Image Service" >/dev/null
  get_or_create_endpoint image "$REGION_NAME" "$GLANCE_URL" >/dev/null
}

configure_glance() {
  local conf=$DIR/etc/glance/glance-api.conf
  iniset "$conf" DEFAULT debug false
  iniset "$conf" database connection "sqlite:///$DIR/data/glance.db"
  iniset "$conf" DEFAULT image_cache_dir "$DIR/data/glance/cache/"
  iniset "$conf" DEFAULT image_cache_driver centralized_db
  iniset "$conf" oslo_concurrency lock_path "$DIR/data/glance/locks"
  iniset "$conf" paste_deploy flavor keystone+cachemanagement
  configure_keystone_authtoken_middleware "$conf" glance
  iniset "$conf" oslo_messaging_notifications driver messagingv2
  iniset "$conf" DEFAULT transport_url "$TRANSPORT_URL"  # iniset_rpc_backend
  iniset "$conf" DEFAULT show_image_direct_url False
  iniset "$conf" DEFAULT show_multiple_locations False
  iniset "$conf" image_format require_image_format_match True
  # configure_glance_store, single file store (GLANCE_ENABLE_MULTIPLE_STORES=False)
  iniset "$conf" glance_store filesystem_store_datadir "$DIR/data/glance/images/"
  # the staging area of image upload and import (glance's default, /tmp/staging/, would be
  # shared by every minicloud on the machine)
  iniset "$conf" DEFAULT node_staging_uri "file://$DIR/data/glance/staging/"
  iniset "$conf" cors allowed_origin "http://127.0.0.1"
  iniset "$conf" DEFAULT public_endpoint "$GLANCE_URL"
  cp -p "$VENV/etc/glance/glance-api-paste.ini" "$DIR/etc/glance/glance-api-paste.ini"
  iniset "$DIR/etc/glance/glance-image-import.conf" image_import_opts image_import_plugins "[]"
  iniset "$DIR/etc/glance/glance-image-import.conf" inject_metadata_properties ignore_user_roles admin
  iniset "$DIR/etc/glance/glance-image-import.conf" inject_metadata_properties inject ""
  iniset "$conf" DEFAULT worker_self_reference_url "$GLANCE_URL"
  iniset "$conf" oslo_policy enforce_new_defaults true
  iniset "$conf" DEFAULT enforce_secure_rbac true
  mkdir -p "$DIR/data/glance/images" "$DIR/data/glance/staging" "$DIR/data/glance/cache" "$DIR/data/glance/locks"
}

init_glance() {
  "$VENV/bin/glance-manage" --config-file "$DIR/etc/glance/glance-api.conf" db_sync
}

start_glance() {
  start_wsgi glance "$GLANCE_PORT" glance.wsgi.api:application \
    "$DIR/etc/glance/glance-api.conf" 4 OS_GLANCE_CONFIG_DIR="$DIR/etc/glance"
}

# --- heat (heat's devstack/lib/heat) ---------------------------------------------------------
create_heat_accounts() {
  create_service_user heat admin
  get_or_create_service heat orchestration "Heat Orchestration Service" >/dev/null
  get_or_create_endpoint orchestration "$REGION_NAME" "$HEAT_URL/v1/\$(project_id)s" >/dev/null
  get_or_create_service heat-cfn cloudformation "Heat CloudFormation Service" >/dev/null
  get_or_create_endpoint cloudformation "$REGION_NAME" "$HEAT_CFN_URL/v1" >/dev/null
  get_or_create_role heat_stack_user >/dev/null
  local domain_id
  domain_id=$(get_or_create_domain heat 'Owns users and projects created by heat')
  iniset "$HEAT_CONF" DEFAULT stack_user_domain_id "$domain_id"
  get_or_create_user heat_domain_admin "$SERVICE_PASSWORD" heat >/dev/null
  get_or_add_user_domain_role admin heat_domain_admin heat >/dev/null
  iniset "$HEAT_CONF" DEFAULT stack_domain_admin heat_domain_admin
  iniset "$HEAT_CONF" DEFAULT stack_domain_admin_password "$SERVICE_PASSWORD"
}

configure_heat() {
  local conf=$HEAT_CONF
  cp "$VENV/etc/heat/api-paste.ini" "$DIR/etc/heat/api-paste.ini"
  iniset "$conf" DEFAULT transport_url "$TRANSPORT_URL"  # iniset_rpc_backend
  iniset "$conf" oslo_messaging_notifications driver messagingv2
  iniset "$conf" DEFAULT heat_metadata_server_url "$HEAT_CFN_URL"
  iniset "$conf" DEFAULT heat_waitcondition_server_url "$HEAT_CFN_URL/v1/waitcondition"
  iniset "$conf" database connection "sqlite:///$DIR/data/heat.db"
  iniset "$conf" DEFAULT auth_encryption_key "767c3ed056cbaa3b9dfedb8c6f825bf0"
  iniset "$conf" DEFAULT region_name_for_services "$REGION_NAME"
  iniset "$conf" DEFAULT debug false
  iniset "$conf" DEFAULT num_engine_workers "$HEAT_ENGINE_WORKERS"
  iniset "$conf" DEFAULT hidden_stack_tags hidden
  iniset "$conf" paste_deploy api_paste_config "$DIR/etc/heat/api-paste.ini"
  configure_keystone_authtoken_middleware "$conf" heat
  configure_keystone_authtoken_middleware "$conf" heat ec2authtoken
  iniset "$conf" DEFAULT deferred_auth_method trusts
  iniset "$conf" trustee auth_type password
  iniset "$conf" trustee auth_url "$KEYSTONE_SERVICE_URI"
  iniset "$conf" trustee username heat
  iniset "$conf" trustee password "$SERVICE_PASSWORD"
  iniset "$conf" trustee user_domain_id default
  iniset "$conf" clients_keystone auth_uri "$KEYSTONE_SERVICE_URI"
  iniset "$conf" cache enabled True
  iniset "$conf" cache backend dogpile.cache.memory
  iniset "$conf" volumes backups_enabled false
  iniset "$conf" oslo_policy enforce_new_defaults true
  mkdir -p "$DIR/etc/heat/environment.d" "$DIR/etc/heat/templates"
  cp "$VENV"/etc/heat/environment.d/* "$DIR/etc/heat/environment.d/"
  cp "$VENV"/etc/heat/templates/* "$DIR/etc/heat/templates/"
  iniset "$conf" DEFAULT environment_dir "$DIR/etc/heat/environment.d"
  iniset "$conf" DEFAULT template_dir "$DIR/etc/heat/templates"
}

init_heat() { "$VENV/bin/heat-manage" --config-file "$HEAT_CONF" db_sync; }

start_heat() {
  # heat's devstack start_heat: heat-engine, heat-api and heat-api-cfn (uWSGI with 4 threads)
  start_process heat-engine "$VENV/bin/heat-engine" --config-file "$HEAT_CONF"
  start_wsgi heat-api "$HEAT_PORT" heat.wsgi.api:application "$HEAT_CONF" 4
  start_wsgi heat-api-cfn "$HEAT_CFN_PORT" heat.wsgi.cfn:application "$HEAT_CONF" 1
}

# ---------------------------------------------------------------------------------------------
up() {
  [[ -x $KEYSTONE_RS_BIN ]] || die "no keystone-rs binary at $KEYSTONE_RS_BIN (cargo build first)"
  [[ -x $VENV/bin/gunicorn && -x $CLIENTS_VENV/bin/openstack ]] ||
    die "no venvs at $VENV and $CLIENTS_VENV (tools/minicloud/setup_venv.sh first)"
  [[ ! -e $DIR/pids ]] || die "$DIR already holds a minicloud (down it first)"
  mkdir -p "$DIR"/{etc/keystone,etc/placement,etc/glance,etc/heat,data,logs,pids,bin}
  : > "$DIR/logs/openstack.log"
  # keystone-rs's keystone-manage alias: the binary under the name keystone-manage
  ln -sf "$(realpath "$KEYSTONE_RS_BIN")" "$DIR/bin/keystone-manage"
  export PATH="$DIR/bin:$PATH"
  unset "${!OS_@}" 2>/dev/null || true
  export OS_CLIENT_CONFIG_FILE=$DIR/clouds.yaml

  KEYSTONE_PORT=$(free_port); PLACEMENT_PORT=$(free_port); GLANCE_PORT=$(free_port)
  HEAT_PORT=$(free_port); HEAT_CFN_PORT=$(free_port)
  KEYSTONE_SERVICE_URI=http://127.0.0.1:$KEYSTONE_PORT
  PLACEMENT_URL=http://127.0.0.1:$PLACEMENT_PORT
  GLANCE_URL=http://127.0.0.1:$GLANCE_PORT
  HEAT_URL=http://127.0.0.1:$HEAT_PORT
  HEAT_CFN_URL=http://127.0.0.1:$HEAT_CFN_PORT
  KEYSTONE_CONF=$DIR/etc/keystone/keystone.conf
  HEAT_CONF=$DIR/etc/heat/heat.conf

  # Heat's RPC (and Glance's notifications) in a vhost of their own: several miniclouds
  # share the machine's RabbitMQ without hearing each other's engines.
  ensure_rabbitmq
  local vhost
  vhost=minicloud-$(basename "$DIR")-$$
  rabbitmqctl -q add_vhost "$vhost" >/dev/null
  rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
  echo "$vhost" > "$DIR/rabbitmq-vhost"
  TRANSPORT_URL="rabbit://guest:guest@127.0.0.1:5672/$vhost"

  # stack.sh's order: configure, init and start keystone, bootstrap, then the accounts
  log "keystone: configure_keystone, init_keystone (db_sync, fernet_setup, credential_setup)"
  configure_keystone
  init_keystone
  log "keystone: bootstrap_keystone, start_keystone"
  bootstrap_keystone
  start_keystone
  write_clouds_yaml
  log "keystone: create_keystone_accounts"
  create_keystone_accounts
  log "services: create_{placement,glance,heat}_accounts"
  # stack.sh: configure every service, then (with keystone up) create their accounts
  configure_placement & local p1=$!
  configure_glance & local p2=$!
  configure_heat & local p3=$!
  wait $p1 && wait $p2 && wait $p3 || die "configuring the services failed"
  create_placement_accounts & p1=$!
  create_glance_accounts & p2=$!
  create_heat_accounts & p3=$!
  wait $p1 && wait $p2 && wait $p3 || die "creating the service accounts failed (see $DIR/logs/openstack.log)"

  log "services: init (db sync) and start"
  init_placement >>"$DIR/logs/placement-manage.log" 2>&1 || die "placement-manage db sync failed"
  init_glance >>"$DIR/logs/glance-manage.log" 2>&1 || die "glance-manage db_sync failed"
  init_heat >>"$DIR/logs/heat-manage.log" 2>&1 || die "heat-manage db_sync failed"
  start_placement
  start_glance
  start_heat
  wait_for_http placement "$PLACEMENT_URL/"
  wait_for_http glance "$GLANCE_URL/"
  wait_for_http heat-api "$HEAT_URL/"
  wait_for_http heat-api-cfn "$HEAT_CFN_URL/"

  cat > "$DIR/openrc" <<EOF
export PATH="$DIR/bin:$CLIENTS_VENV/bin:\$PATH"
export OS_CLIENT_CONFIG_FILE="$DIR/clouds.yaml"
export OS_CLOUD=devstack
export MINICLOUD_KEYSTONE_URL="$KEYSTONE_SERVICE_URI"
export MINICLOUD_PLACEMENT_URL="$PLACEMENT_URL"
export MINICLOUD_GLANCE_URL="$GLANCE_URL"
export MINICLOUD_HEAT_URL="$HEAT_URL"
export MINICLOUD_ADMIN_PASSWORD="$ADMIN_PASSWORD"
export MINICLOUD_SERVICE_PASSWORD="$SERVICE_PASSWORD"
EOF
  log "up: keystone $KEYSTONE_SERVICE_URI, placement $PLACEMENT_URL, glance $GLANCE_URL, heat $HEAT_URL"
  echo "source $DIR/openrc"
}

down() {
  stop_all
  if [[ -f $DIR/rabbitmq-vhost ]]; then
    rabbitmqctl -q delete_vhost "$(<"$DIR/rabbitmq-vhost")" >/dev/null 2>&1 || true
    rm -f "$DIR/rabbitmq-vhost"
  fi
  rmdir "$DIR/pids" 2>/dev/null || true
}

case $ACTION in
  up)
    # a failed `up` leaves nothing running
    trap 'status=$?; if ((status)); then down; fi' EXIT
    up
    ;;
  down) down ;;
  *) usage ;;
esac
