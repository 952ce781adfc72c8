"""Unified limits from the clients' side: the `openstack` CLI's `registered limit` and
`limit` commands, and a real oslo.limit `Enforcer` (PyPI) configured as a service
configures it (`[oslo_limit]`: its endpoint_id and keystoneauth options in its own config
file) enforcing a project's usage against limits stored in keystone-rs. oslo.limit follows
the flat model only; with `strict_two_level` it refuses to enforce (checked below).

The mixed-fleet case runs Python Keystone 30.0.0 and keystone-rs on ONE SQLite database and
one key repository: limits and domain configuration written by either read identically on
the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")

# Runs in its own interpreter, as a service process would: oslo.config's global CONF reads
# the service's config file, oslo.limit reads its [oslo_limit] section from it.
ENFORCE_SCRIPT = textwrap.dedent("""
    import json, sys
    from oslo_config import cfg
    from oslo_limit import exception, limit, opts

    conf_file, project_id, usage, deltas = sys.argv[1:5]
    opts.register_opts(cfg.CONF)
    cfg.CONF(["--config-file", conf_file], project="fake-service")
    usage = json.loads(usage)
    try:
        enforcer = limit.Enforcer(lambda p, names: {n: usage.get(n, 0) for n in names})
        enforcer.enforce(project_id, json.loads(deltas))
        print(json.dumps({"ok": True}))
    except exception.ProjectOverLimit as e:
        print(json.dumps({"ok": False, "over": sorted(
            [o.resource_name, o.limit, o.current_usage, o.delta] for o in e.over_limit_info_list)}))
    except Exception as e:
        print(json.dumps({"error": type(e).__name__, "message": str(e)}))
""")


def oslo_limit_conf(path: Path, auth_url: str, endpoint_id: str) -> Path:
    path.write_text(textwrap.dedent(f"""
        [oslo_limit]
        endpoint_id = {endpoint_id}
        auth_type = password
        auth_url = {auth_url}
        username = {servers.ADMIN_USER}
        password = {servers.ADMIN_PASSWORD}
        user_domain_id = {servers.DOMAIN_ID}
        project_name = {servers.ADMIN_PROJECT}
        project_domain_id = {servers.DOMAIN_ID}
    """))
    return path


def enforce(conf: Path, project_id: str, usage: dict, deltas: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", ENFORCE_SCRIPT, str(conf), project_id, json.dumps(usage),
         json.dumps(deltas)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def openstack(os_env, tmp_path):
    def run(*args: str, output_json: bool = True):
        cmd = [OPENSTACK, *args, *(["-f", "json"] if output_json else [])]
        result = subprocess.run(cmd, env=os_env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout) if output_json and result.stdout.strip() else result.stdout

    return run


def test_cli_and_oslo_limit_enforcer(openstack, keystone, tmp_path):
    svc = openstack("service", "create", "--name", "fake-compute", "fake-compute")
    ep = openstack("endpoint", "create", "--region", servers.REGION, svc["id"], "public",
                   "http://fake-compute.example/v2")
    project = openstack("project", "create", "--domain", servers.DOMAIN_ID, "limited")

    cores = openstack("registered", "limit", "create", "--service", svc["id"],
                      "--region", servers.REGION, "--default-limit", "10",
                      "--description", "virtual cores", "cores")
    assert cores["default_limit"] == 10 and cores["resource_name"] == "cores"
    ram = openstack("registered", "limit", "create", "--service", svc["id"],
                    "--region", servers.REGION, "--default-limit", "2048", "ram")
    listed = openstack("registered", "limit", "list", "--service", svc["id"])
    assert sorted(r["Resource Name"] for r in listed) == ["cores", "ram"]
    shown = openstack("registered", "limit", "show", cores["id"])
    assert shown["description"] == "virtual cores"
    openstack("registered", "limit", "set", "--default-limit", "2000", ram["id"],
              output_json=False)
    assert openstack("registered", "limit", "show", ram["id"])["default_limit"] == 2000

    limit = openstack("limit", "create", "--service", svc["id"], "--region", servers.REGION,
                      "--project", project["id"], "--resource-limit", "4", "cores")
    assert limit["resource_limit"] == 4 and limit["project_id"] == project["id"]
    listed = openstack("limit", "list", "--project", project["id"])
    assert [(r["Resource Name"], r["Resource Limit"]) for r in listed] == [("cores", 4)]
    openstack("limit", "set", "--resource-limit", "5", limit["id"], output_json=False)
    assert openstack("limit", "show", limit["id"])["resource_limit"] == 5

    # The enforcer: the project's own limit for cores (5), the registered default for ram.
    conf = oslo_limit_conf(tmp_path / "fake-service.conf", keystone.auth_url, ep["id"])
    assert enforce(conf, project["id"], {"cores": 3}, {"cores": 2}) == {"ok": True}
    assert enforce(conf, project["id"], {"cores": 3}, {"cores": 3}) == {
        "ok": False, "over": [["cores", 5, 3, 3]]}
    assert enforce(conf, project["id"], {"ram": 1990}, {"ram": 10}) == {"ok": True}
    assert enforce(conf, project["id"], {"ram": 1990, "cores": 0}, {"ram": 11, "cores": 6}) == {
        "ok": False, "over": [["cores", 5, 0, 6], ["ram", 2000, 1990, 11]]}
    # Another project has no limit of its own: the defaults apply.
    other = openstack("project", "create", "--domain", servers.DOMAIN_ID, "unlimited")
    assert enforce(conf, other["id"], {"cores": 9}, {"cores": 1}) == {"ok": True}
    assert enforce(conf, other["id"], {"cores": 9}, {"cores": 2})["ok"] is False

    # Deleting the project deletes its limit; the registered limits then go too.
    openstack("limit", "delete", limit["id"], output_json=False)
    assert openstack("limit", "list", "--project", project["id"]) in ([], "")
    openstack("registered", "limit", "delete", cores["id"], ram["id"], output_json=False)
    openstack("project", "delete", project["id"], other["id"], output_json=False)
    openstack("endpoint", "delete", ep["id"], output_json=False)
    openstack("service", "delete", svc["id"], output_json=False)


def test_oslo_limit_refuses_strict_two_level(tmp_path):
    """oslo.limit knows the model only as `strict-two-level`; Keystone (and keystone-rs)
    name it `strict_two_level`, so the Enforcer does not enforce under it."""
    if os.environ.get("KEYSTONE_URL"):
        pytest.skip("needs a keystone-rs it starts itself")
    server = servers.KeystoneRs(servers.keystone_rs_binary(), tmp_path / "strict",
                                extra_conf="[unified_limit]\nenforcement_model = strict_two_level\n")
    server.prepare()
    server.start()
    try:
        session = clients.admin_session(server.base_url + "/v3")
        model = session.get(server.base_url + "/v3/limits/model").json()
        assert model["model"]["name"] == "strict_two_level"
        eps = session.get(server.base_url + "/v3/endpoints").json()["endpoints"]
        conf = oslo_limit_conf(tmp_path / "svc.conf", server.base_url + "/v3", eps[0]["id"])
        result = enforce(conf, "anything", {}, {"cores": 1})
        assert result == {"error": "ValueError",
                          "message": "enforcement model strict_two_level is not supported"}
    finally:
        server.stop()


# --- mixed fleet: one database, two implementations ----------------------------------------

@pytest.fixture(scope="module")
def shared_fleet(tmp_path_factory):
    if os.environ.get("INTEROP_SKIP_MIXED") == "1":
        pytest.skip("INTEROP_SKIP_MIXED=1")
    with servers.mixed_fleet(tmp_path_factory.mktemp("py-limits"),
                             tmp_path_factory.mktemp("rs-limits")) as fleet:
        yield fleet


def relinked(body, base_url: str):
    """The body with the server's own base URL taken out of its links."""
    return json.loads(json.dumps(body).replace(base_url, "<base>"))


@pytest.mark.mixed_fleet
def test_limits_written_by_either_read_identically(shared_fleet):
    python, rs = shared_fleet
    py = clients.admin_session(python.base_url + "/v3")
    ks = clients.admin_session(rs.base_url + "/v3")

    def post(session, server, path, body):
        resp = session.post(server.base_url + path, json=body, raise_exc=False)
        assert resp.status_code == 201, f"{path}: {resp.status_code} {resp.text}"
        return resp.json()

    svc = post(py, python, "/v3/services", {"service": {"type": "fleet-compute"}})["service"]
    project = post(ks, rs, "/v3/projects",
                   {"project": {"name": "fleet", "domain_id": servers.DOMAIN_ID}})["project"]
    # Registered limits by Python Keystone, limits by keystone-rs, and the other way round.
    post(py, python, "/v3/registered_limits", {"registered_limits": [
        {"service_id": svc["id"], "resource_name": "cores", "default_limit": 10},
        {"service_id": svc["id"], "region_id": servers.REGION, "resource_name": "cores",
         "default_limit": 8, "description": "regional"}]})
    post(ks, rs, "/v3/registered_limits", {"registered_limits": [
        {"service_id": svc["id"], "resource_name": "ram", "default_limit": 512}]})
    post(ks, rs, "/v3/limits", {"limits": [
        {"service_id": svc["id"], "resource_name": "cores", "resource_limit": 5,
         "project_id": project["id"]},
        {"service_id": svc["id"], "resource_name": "cores", "resource_limit": 7,
         "domain_id": servers.DOMAIN_ID, "description": "the domain's"}]})
    post(py, python, "/v3/limits", {"limits": [
        {"service_id": svc["id"], "region_id": servers.REGION, "resource_name": "cores",
         "resource_limit": 6, "project_id": project["id"]},
        {"service_id": svc["id"], "resource_name": "ram", "resource_limit": 256,
         "project_id": project["id"]}]})

    paths = ["/v3/registered_limits", "/v3/limits", f"/v3/limits?project_id={project['id']}",
             f"/v3/registered_limits?service_id={svc['id']}&resource_name=cores",
             "/v3/limits/model"]
    for path in paths:
        a = py.get(python.base_url + path)
        b = ks.get(rs.base_url + path)
        assert a.status_code == b.status_code == 200, (path, a.text, b.text)
        body_a, body_b = relinked(a.json(), python.base_url), relinked(b.json(), rs.base_url)
        for key in ("limits", "registered_limits"):
            for body in (body_a, body_b):
                if key in body:
                    body[key].sort(key=lambda x: x["id"])
        assert body_a == body_b, path
    for item in py.get(python.base_url + "/v3/limits").json()["limits"]:
        a = py.get(f"{python.base_url}/v3/limits/{item['id']}")
        b = ks.get(f"{rs.base_url}/v3/limits/{item['id']}")
        # byte for byte once the base URL is the same
        assert a.text.replace(python.base_url, "<base>") == b.text.replace(rs.base_url, "<base>")
    # A duplicate written through the other implementation is refused by both, alike.
    dup = {"limits": [{"service_id": svc["id"], "resource_name": "cores", "resource_limit": 1,
                       "project_id": project["id"]}]}
    a = py.post(python.base_url + "/v3/limits", json=dup, raise_exc=False)
    b = ks.post(rs.base_url + "/v3/limits", json=dup, raise_exc=False)
    assert (a.status_code, a.json()) == (b.status_code, b.json()) == (409, b.json())

    # Domain configuration: written by one, read (without the password) by the other.
    config = {"config": {"ldap": {"url": "ldap://fleet", "password": "fleet-secret",
                                  "user_tree_dn": "ou=Users"}, "identity": {"driver": "ldap"}}}
    resp = py.put(python.base_url + "/v3/domains/default/config", json=config, raise_exc=False)
    assert resp.status_code == 201, resp.text
    for path in ["/v3/domains/default/config", "/v3/domains/default/config/ldap",
                 "/v3/domains/default/config/ldap/url"]:
        a, b = py.get(python.base_url + path), ks.get(rs.base_url + path)
        assert (a.status_code, a.json()) == (b.status_code, b.json()) == (200, a.json()), path
        assert "fleet-secret" not in b.text
    resp = ks.patch(rs.base_url + "/v3/domains/default/config/ldap/url",
                    json={"config": {"url": "ldap://changed"}}, raise_exc=False)
    assert resp.status_code == 200, resp.text
    a = py.get(python.base_url + "/v3/domains/default/config/ldap/url")
    assert a.json() == {"config": {"url": "ldap://changed"}}
    # Deleting the project through keystone-rs removes its limits for both.
    resp = ks.delete(f"{rs.base_url}/v3/projects/{project['id']}", raise_exc=False)
    assert resp.status_code == 204, resp.text
    left = py.get(f"{python.base_url}/v3/limits?project_id={project['id']}").json()["limits"]
    assert left == []
