"""OS-EP-FILTER and policy blobs through the real `openstack` CLI, and a mixed fleet where
Python Keystone 30.0.0 and keystone-rs serve one shared database: endpoint groups and
associations written by either read identically on the other, and a project's filtered
catalog is the same in both."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture
def openstack(os_env, tmp_path):
    """`openstack ARGS [-f json]`: parsed output, or the failure with the CLI's stderr."""

    def run(*args: str, output_json: bool = True):
        cmd = [OPENSTACK, *args, *(["-f", "json"] if output_json else [])]
        result = subprocess.run(cmd, env=os_env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout) if output_json else result.stdout

    return run


def catalog_endpoint_ids(catalog: list) -> set[str]:
    """`openstack catalog list` rows: endpoints as text lines `interface: url` per service;
    the API body's endpoints carry ids."""
    return {e["id"] for s in catalog for e in s["endpoints"]}


def test_endpoint_groups_and_project_endpoints_with_the_cli(openstack, keystone, tmp_path):
    service = openstack("service", "create", "--name", "nova-epf", "compute")
    public = openstack("endpoint", "create", "--region", servers.REGION, service["id"],
                       "public", "http://nova.example/v2.1")
    internal = openstack("endpoint", "create", service["id"], "internal",
                         "http://nova.internal/v2.1")
    project = openstack("project", "create", "--domain", servers.DOMAIN_ID, "epf-cli")

    # project <-> endpoint
    openstack("endpoint", "add", "project", public["id"], project["id"], output_json=False)
    listed = openstack("endpoint", "list", "--project", project["id"])
    assert [e["ID"] for e in listed] == [public["id"]]
    projects = openstack("project", "list", "--endpoint", public["id"]) \
        if False else None  # noqa: the CLI has no such filter; the API is checked below
    admin = clients.admin_session(keystone.auth_url)
    resp = admin.get(f"{keystone.auth_url}/OS-EP-FILTER/endpoints/{public['id']}/projects")
    assert [p["id"] for p in resp.json()["projects"]] == [project["id"]]
    openstack("endpoint", "remove", "project", public["id"], project["id"], output_json=False)
    assert openstack("endpoint", "list", "--project", project["id"]) == []

    # endpoint groups
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"service_id": service["id"]}))
    group = openstack("endpoint", "group", "create", "--description", "nova everywhere",
                      "nova-group", str(filters))
    assert group["name"] == "nova-group"
    assert group["filters"] == {"service_id": service["id"]}
    shown = openstack("endpoint", "group", "show", group["id"])
    assert shown["description"] == "nova everywhere"
    assert group["id"] in {g["ID"] for g in openstack("endpoint", "group", "list")}

    only_internal = tmp_path / "internal.json"
    only_internal.write_text(json.dumps({"service_id": service["id"], "interface": "internal"}))
    openstack("endpoint", "group", "set", "--name", "nova-internal", "--filters",
              str(only_internal), group["id"], output_json=False)
    shown = openstack("endpoint", "group", "show", group["id"])
    assert shown["name"] == "nova-internal"
    assert shown["filters"] == {"service_id": service["id"], "interface": "internal"}

    openstack("endpoint", "group", "add", "project", group["id"], project["id"],
              output_json=False)
    by_project = openstack("endpoint", "group", "list", "--project", project["id"])
    assert [g["ID"] for g in by_project] == [group["id"]]
    by_group = openstack("endpoint", "group", "list", "--endpointgroup", group["id"])
    assert [p["ID"] for p in by_group] == [project["id"]]
    assert [e["ID"] for e in openstack("endpoint", "list", "--project", project["id"])] \
        == [internal["id"]]
    openstack("endpoint", "group", "remove", "project", group["id"], project["id"],
              output_json=False)
    assert openstack("endpoint", "group", "list", "--project", project["id"]) == []
    openstack("endpoint", "group", "delete", group["id"], output_json=False)
    assert group["id"] not in {g["ID"] for g in openstack("endpoint", "group", "list")}

    openstack("project", "delete", project["id"], output_json=False)
    openstack("service", "delete", service["id"], output_json=False)


def test_a_project_catalog_follows_its_associations(openstack, keystone):
    admin = clients.admin_session(keystone.auth_url)
    token, body = clients.issue_token(keystone.auth_url, "project")
    project_id = body["token"]["project"]["id"]
    full = catalog_endpoint_ids(body["token"]["catalog"])
    identity_public = next(e["id"] for s in body["token"]["catalog"] if s["type"] == "identity"
                           for e in s["endpoints"] if e["interface"] == "public")
    openstack("endpoint", "add", "project", identity_public, project_id, output_json=False)
    try:
        _, filtered = clients.issue_token(keystone.auth_url, "project")
        assert catalog_endpoint_ids(filtered["token"]["catalog"]) == {identity_public}
        # the CLI itself still finds its identity endpoint in the filtered catalog
        rows = openstack("catalog", "list")
        assert [r["Type"] for r in rows] == ["identity"]
    finally:
        openstack("endpoint", "remove", "project", identity_public, project_id,
                  output_json=False)
    _, again = clients.issue_token(keystone.auth_url, "project")
    assert catalog_endpoint_ids(again["token"]["catalog"]) == full
    del admin, token


def test_policy_blobs_with_the_cli(openstack, tmp_path):
    blob = tmp_path / "policy.json"
    blob.write_text('{"compute:get": ""}')
    created = openstack("policy", "create", "--type", "application/json", str(blob))
    assert created["type"] == "application/json"
    # the CLI shows the blob as `rules`
    assert json.loads(created["rules"]) == {"compute:get": ""}
    assert created["id"] in {p["ID"] for p in openstack("policy", "list")}
    openstack("policy", "set", "--type", "text/plain", created["id"], output_json=False)
    assert openstack("policy", "show", created["id"])["type"] == "text/plain"
    openstack("policy", "delete", created["id"], output_json=False)
    assert created["id"] not in {p["ID"] for p in openstack("policy", "list")}


# ---- mixed fleet on one database ---------------------------------------------------------

mixed = pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                           reason="INTEROP_SKIP_MIXED=1")


@pytest.fixture(scope="module")
def shared_fleet(tmp_path_factory):
    """Python Keystone makes the deployment; keystone-rs serves the same SQLite file with the
    same keys. keystone-rs's validation cache is off: Python's writes move no change marker
    (api-ref/DEVIATIONS.md, README), and this test compares answers right after them."""
    if os.environ.get("INTEROP_SKIP_MIXED") == "1":
        pytest.skip("INTEROP_SKIP_MIXED=1")
    with servers.mixed_fleet(tmp_path_factory.mktemp("py-epf"),
                             tmp_path_factory.mktemp("rs-epf"),
                             rs_conf=servers.NO_VALIDATION_CACHE) as fleet:
        yield fleet


def api(server, method: str, path: str, body: dict | None = None) -> requests.Response:
    token, _ = clients.issue_token(server.base_url + "/v3", "project")
    return requests.request(method, f"{server.base_url}/v3{path}", json=body,
                            headers={"X-Auth-Token": token}, timeout=30)


def without_base(value, python, rs):
    """The JSON with each server's base URL masked: links name the server answering, and
    bootstrap's endpoint URLs name the Python one."""
    text = json.dumps(value)
    return json.loads(text.replace(python.base_url, "PY").replace(rs.base_url, "PY"))


def same_on_both(python, rs, path: str, sort_key: str | None = None) -> dict:
    a = api(python, "GET", path)
    b = api(rs, "GET", path)
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    ja, jb = without_base(a.json(), python, rs), without_base(b.json(), python, rs)
    if sort_key:
        for j in (ja, jb):
            j[sort_key].sort(key=lambda m: m["id"])
    assert ja == jb, f"{path}\npython:     {json.dumps(ja)}\nkeystone-rs: {json.dumps(jb)}"
    return ja


def normalised_catalog(catalog: list) -> list:
    catalog = copy.deepcopy(catalog)
    for s in catalog:
        s["endpoints"].sort(key=lambda e: e["id"])
    catalog.sort(key=lambda s: s["id"])
    return catalog


@mixed
def test_endpoint_groups_written_by_either_read_the_same_on_both(shared_fleet):
    python, rs = shared_fleet
    service = api(python, "POST", "/services", {"service": {"type": "volume", "name": "c"}})
    service_id = service.json()["service"]["id"]
    for interface in ("public", "internal"):
        r = api(python, "POST", "/endpoints", {"endpoint": {
            "service_id": service_id, "interface": interface, "url": f"http://c/{interface}",
            "region_id": servers.REGION}})
        assert r.status_code == 201, r.text
    by_python = api(python, "POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "py", "filters": {"interface": "public", "service_id": service_id}}})
    assert by_python.status_code == 201, by_python.text
    by_rs = api(rs, "POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "rs", "description": "from keystone-rs", "filters": {"region_id": None}}})
    assert by_rs.status_code == 201, by_rs.text
    for created in (by_python, by_rs):
        group_id = created.json()["endpoint_group"]["id"]
        same_on_both(python, rs, f"/OS-EP-FILTER/endpoint_groups/{group_id}")
        same_on_both(python, rs, f"/OS-EP-FILTER/endpoint_groups/{group_id}/endpoints",
                     "endpoints")
    same_on_both(python, rs, "/OS-EP-FILTER/endpoint_groups", "endpoint_groups")
    r = api(rs, "PATCH", f"/OS-EP-FILTER/endpoint_groups/{by_python.json()['endpoint_group']['id']}",
            {"endpoint_group": {"description": "edited by keystone-rs"}})
    assert r.status_code == 200, r.text
    same_on_both(python, rs, f"/OS-EP-FILTER/endpoint_groups/{by_python.json()['endpoint_group']['id']}")


@mixed
def test_a_filtered_catalog_is_the_same_on_both(shared_fleet):
    python, rs = shared_fleet
    _, issued = clients.issue_token(python.base_url + "/v3", "project")
    project_id = issued["token"]["project"]["id"]
    endpoints = api(python, "GET", "/endpoints").json()["endpoints"]
    identity_admin = next(e["id"] for e in endpoints if e["interface"] == "admin")
    group = api(rs, "POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "public-only", "filters": {"interface": "public"}}}).json()["endpoint_group"]
    # One association written by each implementation.
    r = api(python, "PUT", f"/OS-EP-FILTER/projects/{project_id}/endpoints/{identity_admin}")
    assert r.status_code == 204, r.text
    r = api(rs, "PUT", f"/OS-EP-FILTER/endpoint_groups/{group['id']}/projects/{project_id}")
    assert r.status_code == 204, r.text
    for server in (python, rs):
        assert api(server, "GET", f"/OS-EP-FILTER/projects/{project_id}/endpoints/"
                   f"{identity_admin}").status_code == 204
    same_on_both(python, rs, f"/OS-EP-FILTER/projects/{project_id}/endpoints", "endpoints")
    same_on_both(python, rs, f"/OS-EP-FILTER/projects/{project_id}/endpoint_groups",
                 "endpoint_groups")
    same_on_both(python, rs, f"/OS-EP-FILTER/endpoint_groups/{group['id']}/projects",
                 "projects")

    catalogs = {}
    for issuer in (python, rs):
        token, body = clients.issue_token(issuer.base_url + "/v3", "project")
        catalogs[(type(issuer).__name__, "issued")] = normalised_catalog(body["token"]["catalog"])
        for validator in (python, rs):
            resp = clients.validate_token(validator.base_url + "/v3", token, token)
            assert resp.status_code == 200, resp.text
            catalogs[(type(issuer).__name__, type(validator).__name__)] = \
                normalised_catalog(resp.json()["token"]["catalog"])
            resp = requests.get(f"{validator.base_url}/v3/auth/catalog",
                                headers={"X-Auth-Token": token}, timeout=30)
            assert resp.status_code == 200, resp.text
            catalogs[(type(issuer).__name__, type(validator).__name__, "auth")] = \
                normalised_catalog(resp.json()["catalog"])
    first = next(iter(catalogs.values()))
    assert all(c == first for c in catalogs.values()), catalogs
    interfaces = {e["interface"] for s in first for e in s["endpoints"]}
    assert interfaces == {"public", "admin"}, first
    assert len(catalog_endpoint_ids(first)) < len(endpoints)

    # And both drop the filter when the associations go (one removed by each).
    assert api(rs, "DELETE", f"/OS-EP-FILTER/projects/{project_id}/endpoints/"
               f"{identity_admin}").status_code == 204
    assert api(python, "DELETE", f"/OS-EP-FILTER/endpoint_groups/{group['id']}/projects/"
               f"{project_id}").status_code == 204
    for issuer in (python, rs):
        _, body = clients.issue_token(issuer.base_url + "/v3", "project")
        assert len(catalog_endpoint_ids(body["token"]["catalog"])) == len(
            [e for e in endpoints if e["enabled"]])
