"""The real `openstack` CLI (python-openstackclient over keystoneauth1/openstacksdk) as the
bootstrap admin: what an operator types first against a new Keystone."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import clients
import servers

# The CLI installed next to the interpreter running the tests (the interop venv).
OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture
def openstack(os_env, tmp_path):
    """Runs `openstack ARGS -f json` (or without -f for commands that print nothing) and
    returns the parsed output; fails with the CLI's stderr when it exits non-zero."""

    def run(*args: str, output_json: bool = True):
        cmd = [OPENSTACK, *args, *(["-f", "json"] if output_json else [])]
        # cwd: a clouds.yaml lying in the checkout must not be picked up
        result = subprocess.run(cmd, env=os_env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout) if output_json else result.stdout

    return run


def parse_time(value: str) -> datetime:
    # the CLI prints 2026-01-02T03:04:05+0000, the API 2026-01-02T03:04:05.000000Z
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(microsecond=0)


def test_token_issue(openstack, keystone):
    issued = openstack("token", "issue")
    assert set(issued) == {"id", "expires", "project_id", "user_id"}

    resp = clients.admin_session(keystone.auth_url).get(
        f"{keystone.auth_url}/auth/tokens", headers={"X-Subject-Token": issued["id"]},
        raise_exc=False)
    assert resp.status_code == 200, resp.text
    token = resp.json()["token"]
    assert token["user"]["id"] == issued["user_id"]
    assert token["user"]["name"] == servers.ADMIN_USER
    assert token["project"]["id"] == issued["project_id"]
    assert token["project"]["name"] == servers.ADMIN_PROJECT
    assert parse_time(token["expires_at"]) == parse_time(issued["expires"])
    assert servers.ADMIN_ROLE in {r["name"] for r in token["roles"]}


def test_token_revoke(openstack, keystone):
    issued = openstack("token", "issue")
    assert openstack("token", "revoke", issued["id"], output_json=False).strip() == ""

    admin = clients.admin_session(keystone.auth_url)
    resp = admin.get(f"{keystone.auth_url}/auth/tokens",
                     headers={"X-Subject-Token": issued["id"]}, raise_exc=False)
    assert resp.status_code == 404, resp.text
    assert resp.json()["error"]["code"] == 404
    # and the revoked token no longer authenticates anything
    resp = admin.get(f"{keystone.auth_url}/auth/tokens",
                     headers={"X-Auth-Token": issued["id"], "X-Subject-Token": issued["id"]},
                     authenticated=False, raise_exc=False)
    assert resp.status_code == 401, resp.text


def identity_endpoints_expected(keystone) -> set[tuple[str, str, str]]:
    """(interface, region, url) of what bootstrap registered for the identity service."""
    return {(interface, servers.REGION, keystone.auth_url)
            for interface in ("public", "internal", "admin")}


def test_catalog_list(openstack, keystone):
    catalog = openstack("catalog", "list")
    identity = [entry for entry in catalog if entry["Type"] == "identity"]
    assert len(identity) == 1, catalog
    assert identity[0]["Name"] == "keystone"
    endpoints = identity[0]["Endpoints"]
    assert {(e["interface"], e["region"], e["url"]) for e in endpoints} == \
        identity_endpoints_expected(keystone)
    assert all(e["region_id"] == servers.REGION for e in endpoints)
    if keystone.started_here:
        assert len(catalog) == 1, "bootstrap registers the identity service only"


def test_endpoint_list(openstack, keystone):
    endpoints = openstack("endpoint", "list")
    identity = [e for e in endpoints if e["Service Type"] == "identity"]
    assert {(e["Interface"], e["Region"], e["URL"]) for e in identity} == \
        identity_endpoints_expected(keystone)
    assert all(e["Service Name"] == "keystone" and e["Enabled"] is True for e in identity)
    assert all(len(e["ID"]) == 32 for e in identity)
    if keystone.started_here:
        assert len(endpoints) == 3

    # the same endpoints, by id, as the token's catalog shows them
    catalog = openstack("catalog", "list")
    catalog_ids = {e["id"] for entry in catalog if entry["Type"] == "identity"
                   for e in entry["Endpoints"]}
    assert {e["ID"] for e in identity} == catalog_ids


def test_endpoint_list_filtered_by_interface(openstack, keystone):
    public = openstack("endpoint", "list", "--service", "identity", "--interface", "public")
    assert [(e["Interface"], e["URL"]) for e in public] == [("public", keystone.auth_url)]
