"""What a cloud relies on Keystone for, seen through each service's keystonemiddleware:
revoked tokens and disabled projects are refused, and a service whose password changed
authenticates again. (Runs after the scenario: the file sorts last.)

keystonemiddleware caches a validated token for token_cache_time (300 s, devstack does not
change it): a token it has already accepted is refused once that window ends (the last test,
on a token revoked at the start of the session); the other tokens below reach each service
for the first time after the change, so the refusal is immediate."""

import os
import signal
import time
import uuid

import pytest

SERVICES = {"placement": "/resource_providers", "glance": "/v2/images",
            "heat": "/v1/{project_id}/stacks"}
# keystonemiddleware's token_cache_time default, which devstack keeps
TOKEN_CACHE_TIME = 300
HEADERS = {"placement": {"OpenStack-API-Version": "placement 1.39"}}


def ask(cloud, service, token, project_id):
    path = SERVICES[service].format(project_id=project_id)
    return cloud.get(service, path, token, **HEADERS.get(service, {}))


def user_in_new_project(cloud, role="admin"):
    """A project and a user holding `role` on it, with a clouds.yaml-free login."""
    name = f"neg-{uuid.uuid4().hex[:8]}"
    project = cloud.osc("devstack-system-admin", "project", "create", "--domain", "default",
                        name)
    cloud.osc("devstack-system-admin", "user", "create", "--domain", "default", "--password",
              "neg-password", name)
    cloud.osc("devstack-system-admin", "role", "add", "--user", name, "--project", name,
              role, json_out=False)
    env = {"OS_AUTH_URL": cloud.urls["keystone"], "OS_USERNAME": name,
           "OS_PASSWORD": "neg-password", "OS_PROJECT_NAME": name,
           "OS_USER_DOMAIN_ID": "default", "OS_PROJECT_DOMAIN_ID": "default",
           "OS_IDENTITY_API_VERSION": "3"}
    return name, project, env


def issue(cloud, env):
    import json
    import subprocess
    full = {k: v for k, v in cloud.env.items() if k != "OS_CLIENT_CONFIG_FILE"}
    full.update(env)
    done = subprocess.run(["openstack", "token", "issue", "-f", "json"], env=full,
                          capture_output=True, text=True, timeout=120)
    return done, (json.loads(done.stdout) if done.returncode == 0 else None)


def test_each_service_accepts_then_refuses_a_revoked_token(cloud):
    name, project, env = user_in_new_project(cloud)
    # an admin of its project: allowed to list at every service
    _, first = issue(cloud, env)
    for service in SERVICES:
        assert ask(cloud, service, first["id"], project["id"]).status_code == 200, service
    # a second token, revoked before any service saw it
    _, second = issue(cloud, env)
    cloud.osc("devstack-system-admin", "token", "revoke", second["id"], json_out=False)
    for service in SERVICES:
        answer = ask(cloud, service, second["id"], project["id"])
        assert answer.status_code == 401, (service, answer.status_code, answer.text)


def test_a_disabled_projects_users_are_refused(cloud):
    name, project, env = user_in_new_project(cloud)
    _, token = issue(cloud, env)
    cloud.osc("devstack-system-admin", "project", "set", "--disable", project["id"],
              json_out=False)
    for service in SERVICES:
        answer = ask(cloud, service, token["id"], project["id"])
        assert answer.status_code == 401, (service, answer.status_code, answer.text)
    refused, _ = issue(cloud, env)
    assert refused.returncode != 0 and "401" in refused.stderr


def test_a_service_whose_password_changed_authenticates_again(cloud):
    """Placement's password changed in Keystone (which revokes placement's own tokens) and in
    placement.conf, then placement reloaded (SIGHUP: gunicorn's new worker reads the new
    file): users are served again, the middleware authenticating with the new password."""
    conf = cloud.conf("placement/placement.conf")
    demo = cloud.token("devstack-admin")
    headers = HEADERS["placement"]

    def served(token):
        return cloud.get("placement", "/resource_providers", token, **headers).status_code

    assert served(demo["id"]) == 200
    new_password = f"rotated-{uuid.uuid4().hex[:8]}"
    cloud.osc("devstack-system-admin", "user", "set", "--password", new_password, "placement",
              json_out=False)
    # Keystone revoked placement's own token with the password change: the middleware cannot
    # validate a token it has not seen and cannot log in again with the old password
    # (keystonemiddleware answers 503 when its own authentication fails)
    before = cloud.token("devstack-admin")
    assert served(before["id"]) == 503
    text = conf.read_text()
    old_password = cloud.env["MINICLOUD_SERVICE_PASSWORD"]
    assert f"password = {old_password}" in text
    conf.write_text(text.replace(f"password = {old_password}", f"password = {new_password}"))
    pid = int((cloud.dir / "pids" / "placement.pid").read_text())
    os.kill(pid, signal.SIGHUP)
    fresh = cloud.token("devstack-admin")
    deadline = time.monotonic() + 60
    while served(fresh["id"]) != 200:
        assert time.monotonic() < deadline, "placement did not serve with its new password"
        time.sleep(1)


def test_service_tokens_need_the_service_role(cloud):
    """service_token_roles_required = true: a request carrying a user's token and a service
    token (X-Service-Token, as one service calling another on a user's behalf sends) is
    served only when the service token holds the `service` role."""
    user = cloud.token("devstack-admin")
    service_env = {"OS_AUTH_URL": cloud.urls["keystone"], "OS_USERNAME": "glance",
                   "OS_PASSWORD": cloud.env["MINICLOUD_SERVICE_PASSWORD"],
                   "OS_PROJECT_NAME": "service", "OS_USER_DOMAIN_ID": "default",
                   "OS_PROJECT_DOMAIN_ID": "default", "OS_IDENTITY_API_VERSION": "3"}
    _, service = issue(cloud, service_env)
    not_a_service = cloud.token("devstack")
    # (glance's paste pipeline sets delay_auth_decision: glance itself looks at the user's
    # token only, so it serves whatever the service token is)
    for name in ("placement", "heat"):
        path = SERVICES[name].format(project_id=user["project_id"])
        headers = HEADERS.get(name, {})
        served = cloud.get(name, path, user["id"], **headers,
                           **{"X-Service-Token": service["id"]})
        assert served.status_code == 200, (name, served.status_code, served.text)
        refused = cloud.get(name, path, user["id"], **headers,
                            **{"X-Service-Token": not_a_service["id"]})
        assert refused.status_code == 401, (name, refused.status_code, refused.text)


@pytest.mark.last
def test_a_cached_revoked_token_is_refused_within_token_cache_time(cloud):
    token, revoked_at = cloud.revoked_while_cached
    waiting = set(SERVICES)
    while waiting:
        for service in sorted(waiting):
            if ask(cloud, service, token["id"], token["project_id"]).status_code == 401:
                waiting.discard(service)
        elapsed = time.monotonic() - revoked_at
        assert elapsed < TOKEN_CACHE_TIME + 30, f"{waiting} still accept it after {elapsed:.0f} s"
        if waiting:
            time.sleep(5)
